"""The inventory as Ansible itself sees it: hosts, groups and each host's variables.

Used wherever another tool must see exactly what Ansible sees (the pyinfra adapter, the
health check): it asks Ansible's own inventory and variable managers, so group_vars
precedence, the constructed role groups and the vault behave the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storeops.yamlfiles import VaultPasswords


@dataclass(frozen=True)
class AnsibleHost:
    name: str
    groups: tuple[str, ...]  # every group the host is in, 'all' excluded, sorted
    variables: dict[str, Any]  # inventory variables (untemplated), vault values decrypted


def plain(value: Any) -> Any:
    """Ansible's tagged and vaulted values as plain Python values."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)  # an EncryptedString decrypts here; tagged str becomes plain str
    if isinstance(value, bool | int | float) or value is None:
        return value
    return value


def init_plugins() -> None:
    """Ansible's plugin and collection loaders, set up once per process (as its CLI does)."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if not AnsibleCollectionConfig.collection_finder:
        init_plugin_loader()


def load(root: Path | str, passwords: VaultPasswords | None = None) -> dict[str, AnsibleHost]:
    """Every host of the inventory at ``root``, by name."""
    from ansible import constants
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    init_plugins()

    passwords = passwords if passwords is not None else VaultPasswords.from_ansible_config()
    loader = DataLoader()
    loader.set_vault_secrets(passwords.secrets)
    inventory = InventoryManager(loader=loader, sources=[str(Path(root).resolve())])
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts = {}
    for host in inventory.get_hosts():
        host_vars = variables.get_vars(host=host, include_hostvars=False, stage="all")
        # Facts cached by earlier playbook runs (ansible.cfg's fact cache) are not inventory.
        fact_cache = variables._fact_cache
        cached_facts = fact_cache.get(host.name) if fact_cache.contains(host.name) else {}
        for name in [*constants.INTERNAL_STATIC_VARS, *cached_facts, "ansible_facts"]:
            host_vars.pop(name, None)
        groups = sorted(group.name for group in host.get_groups() if group.name != "all")
        hosts[host.name] = AnsibleHost(host.name, tuple(groups), plain(host_vars))
    return hosts
