"""Ansible and pyinfra see the same inventory: hosts, groups and variables.

ansible-inventory --list is the reference; pyinfra loads deploys/inventory.py as its CLI
does. Nothing is contacted.

Both run in child processes. pyinfra's CLI package patches the standard library for gevent
when it is imported (``pyinfra_cli/__init__.py``: ``gevent.monkey.patch_all()``); imported
into pytest's process, that patch would swap threads, locks and sockets for every other test
(the device emulators' servers) and breaks pytest-xdist's workers, whose execnet threads then
die with gevent's ``LoopExit: This operation would block forever`` (an INTERNALERROR). So
pyinfra is never imported here: a child loads the inventory and prints it as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

INVENTORIES = ["inventory/lab", "inventory/example-production"]
PYINFRA_ONLY_GROUPS = {"inventory"}  # pyinfra names a group after the inventory file


def _ansible_inventory(inventory: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", inventory, "--list"]
    env = {**os.environ, "ANSIBLE_CACHE_PLUGIN": "memory"}  # inventory only, no cached facts
    output = subprocess.run(
        command, cwd=REPO, env=env, check=True, capture_output=True, text=True
    ).stdout
    listing: dict[str, Any] = json.loads(output)
    return listing


def _ansible_groups(listing: dict[str, Any]) -> dict[str, set[str]]:
    """Group -> every host in it (children flattened), as Ansible computes membership."""

    def members(group: str) -> set[str]:
        entry = listing.get(group, {})
        hosts = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            hosts |= members(child)
        return hosts

    names = set(listing) - {"_meta", "all", "ungrouped"}
    return {name: members(name) for name in names if members(name)}


# Run by the child: pyinfra's CLI loader on deploys/inventory.py (STOREOPS_INVENTORY picks the
# inventory), then every host's data and every group's hosts as JSON (dates as ISO strings,
# as ansible-inventory prints them).
_PYINFRA_DUMP = """
import datetime, json, sys
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory

def iso(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")

with ctx_state.use(State()):
    inventory = make_inventory("deploys/inventory.py")
json.dump(
    {
        "hosts": {host.name: host.data.dict() for host in inventory},
        "groups": {name: [host.name for host in inventory.get_group(name)] for name in inventory.groups},
    },
    sys.stdout,
    default=iso,
)
"""


def _pyinfra_inventory(inventory: str) -> dict[str, Any]:
    """{"hosts": host -> data, "groups": group -> host names}, as pyinfra's CLI loads them."""
    env = {**os.environ, "STOREOPS_INVENTORY": inventory}
    done = subprocess.run(
        [sys.executable, "-c", _PYINFRA_DUMP],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def _comparable(value: Any) -> Any:
    """Values as both tools can show them (inline-vaulted values: ciphertext vs plaintext)."""
    if isinstance(value, dict) and "__ansible_vault" in value:
        return "<vaulted>"
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_same_hosts_groups_and_variables(inventory: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if inventory.endswith("example-production"):
        monkeypatch.setenv(
            "ANSIBLE_VAULT_PASSWORD_FILE",
            str(REPO / "inventory/example-production/EXAMPLE-vault-password.txt"),
        )
    listing = _ansible_inventory(inventory)
    pyinfra = _pyinfra_inventory(inventory)

    ansible_hostvars = listing["_meta"]["hostvars"]
    assert set(pyinfra["hosts"]) == set(ansible_hostvars)

    pyinfra_groups = {
        name: set(hosts)
        for name, hosts in pyinfra["groups"].items()
        if name not in PYINFRA_ONLY_GROUPS
    }
    assert pyinfra_groups == _ansible_groups(listing)

    for name, ansible_vars in ansible_hostvars.items():
        data = pyinfra["hosts"][name]
        for key, value in ansible_vars.items():
            if key.startswith("vault_"):  # decrypted: a value (or a mapping of them), no vault text
                assert isinstance(data[key], str | dict)
                assert data[key]
                assert "ANSIBLE_VAULT" not in json.dumps(data[key])
                continue
            assert _comparable(value) == _comparable(data[key]), f"{name}: {key}"
        assert data["ssh_hostname"] == ansible_vars["ansible_host"]


def test_connection_settings_follow_ansible() -> None:
    data = _pyinfra_inventory("inventory/lab")["hosts"]["sh01-db"]
    assert data["ssh_hostname"] == "10.77.1.41"
    assert data["ssh_user"] == "storeops"
    assert data["ssh_key"] == "lab/.state/ssh/id_ed25519"
    assert data["ssh_known_hosts_file"] == "lab/.state/ssh/known_hosts"
    assert data["ssh_strict_host_key_checking"] == "yes"
    assert data["_sudo"] is True
