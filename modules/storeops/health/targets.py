"""What ``storeops health`` checks and against what: the inventory, read as Ansible reads it.

Runs on the controller and contacts nothing. Every host's variables come from Ansible's own
inventory and variable managers (:mod:`storeops.ansible_view`) with the roles' defaults
under them (:mod:`storeops.role_templates`), so the check measures a host against exactly
what the playbooks configured on it (the firewall's table, the backup's status file and
age limit, the patch run's security origins, the DMS port).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storeops.ansible_view import AnsibleHost, load
from storeops.inventory import Inventory
from storeops.paths import find_project, roles_dir
from storeops.role_templates import play_variables, resolve
from storeops.schema import GroupWideVars, HealthSettings, Role
from storeops.validate import load_valid
from storeops.yamlfiles import VaultPasswords

# The roles whose defaults a host's checks read (the role that configured what is checked).
ROLES_READ = ("firewall", "backup", "patching", "dms")
BACKUP_CLIENT_ROLES = frozenset({Role.DB, Role.DMS})  # playbooks/backup.yml: hosts db:dms


@dataclass(frozen=True)
class SshTarget:
    """How the controller reaches a host: Ansible's connection variables as ssh options."""

    address: str
    user: str | None = None
    port: int | None = None
    key: str | None = None
    options: tuple[str, ...] = ()  # ansible_ssh_common_args, split

    def argv(self, connect_timeout: int) -> list[str]:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}"]
        argv += ["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"]
        if self.port is not None:
            argv += ["-p", str(self.port)]
        if self.key:
            argv += ["-i", self.key]
        if self.user:
            argv += ["-l", self.user]
        return [*argv, *self.options, "--", self.address]


@dataclass(frozen=True)
class HostTarget:
    name: str
    store: str
    roles: tuple[Role, ...]
    ssh: SshTarget
    probe: dict[str, Any]  # the host probe's parameters (module_utils/storeops_health.py)
    backup_max_age_hours: float | None = None  # a backup client's limit


@dataclass(frozen=True)
class StoreTarget:
    code: str
    name: str
    dms_target_version: str
    dms_url: str | None  # None: the store has no DMS host
    dms_host: str = ""
    hosts: tuple[HostTarget, ...] = ()
    devices: tuple[str, ...] = ()  # its switches and firewalls, by inventory name


@dataclass(frozen=True)
class HealthPlan:
    inventory: Path
    passwords: VaultPasswords | None
    project: Path
    settings: HealthSettings
    stores: tuple[StoreTarget, ...]
    ca_certificate: str | None = None  # the group's CA the DMS clients trust (PEM)
    hosts_by_name: Mapping[str, HostTarget] = field(default_factory=dict)
    # The inventory as validated and as Ansible sees it: the devices' part reads neither again.
    checked: Inventory | None = None
    view: Mapping[str, AnsibleHost] = field(default_factory=dict)


def _ssh(variables: Mapping[str, Any], name: str) -> SshTarget:
    port = variables.get("ansible_port")
    return SshTarget(
        address=str(variables.get("ansible_host", name)),
        user=variables.get("ansible_user"),
        port=int(port) if port is not None else None,
        key=variables.get("ansible_ssh_private_key_file"),
        options=tuple(shlex.split(str(variables.get("ansible_ssh_common_args", "")))),
    )


def _roles(host: AnsibleHost) -> tuple[Role, ...]:
    return tuple(Role(role) for role in host.variables.get("storeops_roles", ()))


def _host_target(host: AnsibleHost, settings: HealthSettings, roles_root: Path) -> HostTarget:
    roles = _roles(host)
    variables = play_variables(host.name, host.variables, ROLES_READ, roles_root)
    backup_client = bool(BACKUP_CLIENT_ROLES.intersection(roles))
    probe: dict[str, Any] = {
        "mounts": list(settings.mounts),
        "firewall": {
            "family": "inet",  # roles/firewall/templates/etc/nftables.conf.j2
            "table": str(resolve(variables, "firewall_table")),
            "counter": str(resolve(variables, "firewall_drop_counter")),
            "state_dir": str(resolve(variables, "firewall_state_dir")),
        },
        "security_origins": [str(item) for item in resolve(variables, "patching_security_origins")],
        "backup_status": (
            f"{resolve(variables, 'backup_status_dir')}/status.json" if backup_client else None
        ),
    }
    return HostTarget(
        name=host.name,
        store=str(host.variables["store"]["code"]),
        roles=roles,
        ssh=_ssh(host.variables, host.name),
        probe=probe,
        backup_max_age_hours=(
            float(resolve(variables, "backup_max_age_hours")) if backup_client else None
        ),
    )


def _dms_url(host: AnsibleHost, roles_root: Path) -> str:
    """The DMS as the controller reaches it (as roles/patching/vars/main.yml derives it)."""
    variables = play_variables(host.name, host.variables, ("dms",), roles_root)
    address = host.variables.get("ansible_host", host.name)
    return f"http://{address}:{int(resolve(variables, 'dms_http_port'))}"


def _store(
    code: str, members: list[AnsibleHost], settings: HealthSettings, roles_root: Path
) -> StoreTarget:
    store = members[0].variables["store"]
    checked = [h for h in members if set(_roles(h)).intersection(settings.roles)]
    dms = [h for h in members if Role.DMS in _roles(h)]
    devices = [h for h in members if {Role.SWITCH, Role.FIREWALL}.intersection(_roles(h))]
    return StoreTarget(
        code=code,
        name=str(store.get("name", code)),
        dms_target_version=str(store["dms_target_version"]),
        dms_url=_dms_url(dms[0], roles_root) if dms else None,
        dms_host=dms[0].name if dms else "",
        hosts=tuple(_host_target(h, settings, roles_root) for h in checked),
        devices=tuple(h.name for h in devices),
    )


def plan(
    inventory: Path,
    passwords: VaultPasswords | None = None,
    stores: tuple[str, ...] = (),
    checked: Inventory | None = None,
) -> HealthPlan:
    """Every store of the inventory, or only ``stores``; ``checked``: the inventory already
    validated (else it is validated here: InventoryInvalid)."""
    hosts = load(inventory, passwords)
    roles_root = roles_dir(near=inventory)
    if checked is None:
        checked = load_valid(inventory, passwords, roles_root)
    any_host = next(iter(hosts.values()))
    group = GroupWideVars.model_validate(any_host.variables)
    by_store: dict[str, list[AnsibleHost]] = {}
    for host in sorted(hosts.values(), key=lambda h: h.name):
        code = host.variables.get("store", {}).get("code")
        if code is not None and (not stores or code in stores):
            by_store.setdefault(str(code), []).append(host)
    targets = tuple(
        _store(code, members, group.storeops_health, roles_root)
        for code, members in sorted(by_store.items())
    )
    ca = any_host.variables.get("workstation_ca_certificate")
    return HealthPlan(
        inventory=inventory,
        passwords=passwords,
        project=find_project(near=inventory),
        settings=group.storeops_health,
        stores=targets,
        ca_certificate=str(ca) if ca else None,
        hosts_by_name={h.name: h for store in targets for h in store.hosts},
        checked=checked,
        view=hosts,
    )
