#!/usr/bin/python
"""The state of each account's password in the shadow database, never the password hash
itself: what the hardening and workstation roles need to decide, without copying hashes
into the controller's fact cache or the run history (ansible.builtin.getent returns the
hashes as facts). Runs on the host: Python standard library and Ansible's module utilities
only."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: shadow_status
short_description: Password state and ageing of the accounts, without their hashes
description:
  - Reads the shadow database and returns, per account, whether its password is empty,
    never set, locked or usable, and its ageing fields. The hash itself is never returned,
    so it reaches neither the fact cache nor the run history (ARA), as it would through
    C(ansible.builtin.getent database=shadow).
  - C(empty) is an empty password field (login without a password). C(unset) is a field of
    only C(!) and C(*) (no password was ever set, or the account may not use one).
    C(locked) is a hash behind C(!) (passwd -l). C(usable) is any other field.
  - Read-only, also in check mode.
version_added: "0.1.0"
options:
  names:
    description: Only these accounts (default every account). A name not in the database is absent from the result.
    type: list
    elements: str
  path:
    description: The shadow file.
    type: path
    default: /etc/shadow
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Which accounts have a usable password
  shadow_status:
  register: accounts_passwords

- name: The employee's password state
  shadow_status:
    names: [lwang]
  register: employee_password
"""

RETURN = r"""
accounts:
  description:
    - Account name to its state. Ageing fields are integers in days (last_change and
      expire since 1970-01-01), null when the field is empty.
  returned: always
  type: dict
  sample:
    lwang: {password: usable, last_change: 20792, min_days: 1, max_days: 90, warn_days: 7,
            inactive_days: null, expire_date: null}
"""

import re  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

AGEING_FIELDS = ("last_change", "min_days", "max_days", "warn_days", "inactive_days", "expire_date")


def password_state(field: str) -> str:
    """empty, unset, locked or usable: what the field allows, not what it holds."""
    if field == "":
        return "empty"
    if re.fullmatch(r"[!*]+", field):
        return "unset"
    if field.startswith("!"):
        return "locked"
    return "usable"


def _day(value: str) -> int | None:
    return int(value) if value.strip().lstrip("-").isdigit() else None


def parse(text: str, names: set[str] | None) -> dict[str, dict[str, Any]]:
    accounts: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 2 or not fields[0] or (names is not None and fields[0] not in names):
            continue
        ageing = (fields[2:8] + [""] * 6)[:6]
        accounts[fields[0]] = {"password": password_state(fields[1])} | {
            key: _day(value) for key, value in zip(AGEING_FIELDS, ageing, strict=True)
        }
    return accounts


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str"},
            "path": {"type": "path", "default": "/etc/shadow"},
        },
        supports_check_mode=True,
    )
    names = module.params["names"]
    try:
        with open(module.params["path"], encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        module.fail_json(msg=f"{module.params['path']}: {error.strerror}")
    module.exit_json(changed=False, accounts=parse(text, set(names) if names is not None else None))


if __name__ == "__main__":
    main()
