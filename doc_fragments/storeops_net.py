"""The connection options net_backup and net_config share (module_utils/storeops_net.py).

Ansible reads this text, not code: ``platform``'s choices repeat the keys of ``PLATFORMS`` in
module_utils/storeops_net.py, and tests/unit/test_platform_lists.py keeps them equal.
"""

from __future__ import annotations


class ModuleDocFragment:
    """``extends_documentation_fragment: [storeops_net]``: how to reach and log in to a device."""

    DOCUMENTATION = r"""
options:
  host:
    description: The device's address.
    type: str
    required: true
  port:
    description: The device's SSH port.
    type: int
    default: 22
  platform:
    description: The device's operating system.
    type: str
    required: true
    choices: [cisco_ios, huawei_vrp]
  username:
    description: The login user.
    type: str
    required: true
  password:
    description: The login password.
    type: str
    required: true
  enable_secret:
    description: The IOS C(enable) secret, when the user logs in unprivileged.
    type: str
    required: false
  timeout:
    description: Seconds to wait for the connection, the login and each command.
    type: int
    default: 30
"""
