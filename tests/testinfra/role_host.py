"""What the role suites (test_common.py, test_mariadb.py, test_dms.py) share: the ``target``
fixture, the host to check, and the role's variables for that host.

A suite uses the fixture by naming it at module level (``target = role_host.target``).

Imported as a top-level module (``import role_host``): pytest puts the directory of each
test file on ``sys.path``, which is ``tests/testinfra`` from the repository root and
``roles/<role>/molecule/default/tests`` under molecule, where a link to this file stands
next to the link to the test file (molecule runs only ``test_*.py``, so not this one).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from storeops.roles import role_defaults


@pytest.fixture(scope="module")
def target(host: Any) -> Any:
    """The host to check: the lab's host, or the molecule scenario's container, both over
    SSH (.config/molecule/create.yml). The suites' name for it, where ``host`` also serves
    to ask Ansible for the host's variables."""
    return host


def rendered(host: Any, template: str) -> Any:
    """A Jinja template rendered by Ansible with the host's variables (one debug call)."""
    return host.ansible("ansible.builtin.debug", json.dumps({"msg": template}))["msg"]


def variables_matching(host: Any, name_pattern: str) -> dict[str, Any]:
    """Every variable of the host whose name matches the regex, templated by Ansible."""
    names = f"query('ansible.builtin.varnames', '{name_pattern}')"
    values: dict[str, Any] = rendered(
        host, f"{{{{ dict({names} | zip(query('ansible.builtin.vars', *{names}))) }}}}"
    )
    return values


def role_variables(host: Any, role: str, name_pattern: str) -> dict[str, Any]:
    """The role's variables for this host: role defaults, overridden by the inventory's
    variables whose names match (all defaults when the connection is not Ansible)."""
    expected = role_defaults(role)
    if host.backend.HAS_RUN_ANSIBLE:
        expected.update(variables_matching(host, name_pattern))
    return expected
