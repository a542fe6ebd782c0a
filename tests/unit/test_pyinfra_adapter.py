"""Ansible and pyinfra see the same inventory: hosts, groups and variables.

ansible-inventory --list is the reference; pyinfra loads deploys/inventory.py as its CLI
does. Nothing is contacted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory

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


def _pyinfra_inventory(inventory: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STOREOPS_INVENTORY", inventory)
    monkeypatch.chdir(REPO)
    with ctx_state.use(State()):
        return make_inventory("deploys/inventory.py")


def _comparable(value: Any) -> Any:
    """Values as both tools can show them (inline-vaulted values: ciphertext vs plaintext)."""
    if isinstance(value, dict) and "__ansible_vault" in value:
        return "<vaulted>"
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()  # JSON (ansible-inventory) prints dates as ISO strings
    return value


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_same_hosts_groups_and_variables(inventory: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if inventory.endswith("example-production"):
        monkeypatch.setenv(
            "ANSIBLE_VAULT_PASSWORD_FILE",
            str(REPO / "inventory/example-production/EXAMPLE-vault-password.txt"),
        )
    listing = _ansible_inventory(inventory)
    pyinfra = _pyinfra_inventory(inventory, monkeypatch)

    ansible_hostvars = listing["_meta"]["hostvars"]
    assert {host.name for host in pyinfra} == set(ansible_hostvars)

    pyinfra_groups = {
        name: {host.name for host in pyinfra.get_group(name)}
        for name in set(pyinfra.groups) - PYINFRA_ONLY_GROUPS
    }
    assert pyinfra_groups == _ansible_groups(listing)

    for name, ansible_vars in ansible_hostvars.items():
        data = pyinfra.get_host(name).data.dict()
        for key, value in ansible_vars.items():
            if key.startswith("vault_"):
                assert isinstance(data[key], str)
                assert data[key]
                assert "ANSIBLE_VAULT" not in data[key]
                continue
            assert _comparable(value) == _comparable(data[key]), f"{name}: {key}"
        assert data["ssh_hostname"] == ansible_vars["ansible_host"]


def test_connection_settings_follow_ansible(monkeypatch: pytest.MonkeyPatch) -> None:
    host = _pyinfra_inventory("inventory/lab", monkeypatch).get_host("sh01-db")
    assert host.data.ssh_hostname == "10.77.1.41"
    assert host.data.ssh_user == "storeops"
    assert host.data.ssh_key == "lab/.state/ssh/id_ed25519"
    assert host.data.ssh_known_hosts_file == "lab/.state/ssh/known_hosts"
    assert host.data.ssh_strict_host_key_checking == "yes"
    assert host.data._sudo is True
