"""The validator: every rule that spans files, on top of the per-file schema checks.

``validate()`` returns the raw inventory with *every* issue found, so that the store IT
manager fixes them all in one pass. Nothing here contacts a host.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from storeops import catalog
from storeops.inventory import HOSTS_FILE, RawInventory, VarsFile, read
from storeops.issues import Issue
from storeops.paths import ROLES_DIR
from storeops.schema import (
    DEVICE_ROLES,
    SCHEMA_OWNED_VARS,
    WORKSTATION_INITIAL_PASSWORD,
    AssetRecord,
    AssetStatus,
    NetworkPlatform,
    Role,
)
from storeops.workstation.register import read_register_file, register_files
from storeops.workstation.settings import (
    WorkstationVars,
    missing_group_settings,
    missing_store_settings,
    read_workstation_vars,
)
from storeops.yamlfiles import VaultPasswords, is_vaulted
from storeops.zones import is_role_or_all

SECRET_NAME_RE = re.compile(
    r"(^|_)(password|passwd|passphrase|secret|token|private_key|psk|community)($|_)"
)
VAULT_REFERENCE_RE = re.compile(r"\bvault_[a-z0-9_]+\b")
PURE_TEMPLATE_RE = re.compile(r"^\s*\{\{.*\}\}\s*$", re.DOTALL)
CONNECTION_VAR_PREFIXES = ("ansible_",)
# Built by roles.yml beside the role groups: servers and workstations, switches and firewalls.
MANAGEMENT_GROUPS = ("linux", "network")
FLOWS_FILE = "flows.yml"


# ---------------------------------------------------------------------------- what roles declare


@dataclass(frozen=True)
class RoleKnowledge:
    """What the roles in ``roles/`` declare: their variables and the vault secrets they use."""

    variables: frozenset[str]
    vault_needs: dict[str, frozenset[str]]  # role name -> vault_* names its defaults reference

    @classmethod
    def scan(cls, roles_dir: Path) -> RoleKnowledge:
        variables: set[str] = set()
        needs: dict[str, frozenset[str]] = {}
        for role in sorted(p for p in roles_dir.glob("*") if p.is_dir()):
            variables |= _argument_spec_options(role / "meta" / "argument_specs.yml")
            referenced: set[str] = set()
            for defaults in (role / "defaults").glob("*.yml"):
                referenced |= set(VAULT_REFERENCE_RE.findall(defaults.read_text()))
            if referenced:
                needs[role.name] = frozenset(referenced)
        return cls(frozenset(variables), needs)


def _argument_spec_options(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    data = yaml.safe_load(path.read_text()) or {}
    names: set[str] = set()
    for entry_point in (data.get("argument_specs") or {}).values():
        names |= set((entry_point or {}).get("options") or {})
    return names


# ---------------------------------------------------------------------------- rules


def _check_endpoints(raw: RawInventory) -> Iterable[Issue]:
    """Two hosts reached at one address and port would be one host."""
    seen: dict[tuple[ipaddress.IPv4Address, int | None], str] = {}
    for name, (group, entry) in raw.host_entries.items():
        if entry.storeops_address is None:
            continue  # its address is checked for duplicates with the store addresses
        endpoint = (entry.ansible_host, entry.ansible_port)
        if endpoint in seen:
            location = f"all.children.stores.children.{group}.hosts.{name}"
            where = f"{entry.ansible_host}" + (
                f" port {entry.ansible_port}" if entry.ansible_port else ""
            )
            yield Issue(
                raw.hosts_path,
                f"{location}.ansible_port" if entry.ansible_port else f"{location}.ansible_host",
                f"duplicate connection {where}: already used by {seen[endpoint]}",
            )
        else:
            seen[endpoint] = name


def _check_platforms(raw: RawInventory) -> Iterable[Issue]:
    """Switches and firewalls name their operating system; other hosts have none."""
    choices = ", ".join(platform.value for platform in NetworkPlatform)
    for name, (group, entry) in raw.host_entries.items():
        location = f"all.children.stores.children.{group}.hosts.{name}.storeops_platform"
        is_device = bool(DEVICE_ROLES.intersection(entry.storeops_roles))
        if is_device and entry.storeops_platform is None:
            yield Issue(
                raw.hosts_path, location, f"missing: a switch or firewall needs one of {choices}"
            )
        elif not is_device and entry.storeops_platform is not None:
            yield Issue(
                raw.hosts_path, location, "only a switch or a firewall has a network platform"
            )


def _check_addresses(raw: RawInventory) -> Iterable[Issue]:
    seen: dict[ipaddress.IPv4Address, str] = {}
    for name, (group, entry) in raw.host_entries.items():
        location = f"all.children.stores.children.{group}.hosts.{name}"
        address, key = entry.address, entry.address_key
        if address in seen:
            yield Issue(
                raw.hosts_path,
                f"{location}.{key}",
                f"duplicate address {address}: already used by {seen[address]}",
            )
        else:
            seen[address] = name
        stored = raw.stores.get(raw.store_code_of_group(group))
        if stored is None:
            continue
        store, _ = stored
        zone = store.zones.get(entry.storeops_zone)
        if zone is None:
            known = ", ".join(sorted(store.zones))
            yield Issue(
                raw.hosts_path,
                f"{location}.storeops_zone",
                f"unknown zone {entry.storeops_zone!r} (store {store.code} has: {known})",
            )
        if address not in store.network:
            yield Issue(
                raw.hosts_path,
                f"{location}.{key}",
                f"{address} is outside store {store.code}'s network {store.network}",
            )
        elif zone is not None and address not in zone.subnet:
            yield Issue(
                raw.hosts_path,
                f"{location}.{key}",
                f"{address} is outside zone {entry.storeops_zone} ({zone.subnet})",
            )


def _check_subnets(raw: RawInventory) -> Iterable[Issue]:
    placed: list[tuple[ipaddress.IPv4Network, str]] = []
    for code, (store, path) in sorted(raw.stores.items()):
        for network, owner in placed:
            if store.network.overlaps(network):
                yield Issue(
                    path, "store.network", f"{store.network} overlaps {owner}'s network {network}"
                )
        placed.append((store.network, f"store {code}"))
        zones = sorted(store.zones.items())
        for index, (name, zone) in enumerate(zones):
            field = f"store.zones.{name}.subnet"
            if not zone.subnet.subnet_of(store.network):
                yield Issue(
                    path, field, f"{zone.subnet} is not inside the store network {store.network}"
                )
            for other_name, other in zones[:index]:
                if zone.subnet.overlaps(other.subnet):
                    yield Issue(
                        path, field, f"{zone.subnet} overlaps zone {other_name} ({other.subnet})"
                    )
        vlans: dict[int, str] = {}
        for name, zone in zones:
            if zone.vlan in vlans:
                yield Issue(
                    path,
                    f"store.zones.{name}.vlan",
                    f"VLAN {zone.vlan} is also zone {vlans[zone.vlan]}'s",
                )
            vlans[zone.vlan] = name


def _check_store_roles(raw: RawInventory) -> Iterable[Issue]:
    for group in raw.store_groups:
        entries = [*raw.host_entries.values(), *raw.duplicate_entries]
        roles = {
            role
            for (host_group, entry) in entries
            if host_group == group
            for role in entry.storeops_roles
        }
        for required in (Role.DMS, Role.DB):
            if required not in roles:
                yield Issue(
                    raw.hosts_path,
                    f"all.children.stores.children.{group}.hosts",
                    f"store has no {required.value} host (every store needs a dms and a db host)",
                )


def _check_catalog(raw: RawInventory) -> Iterable[Issue]:
    if raw.group_wide is None:
        return
    releases = raw.group_wide.dms_catalog
    catalog_file = _file_defining(raw, "all", "dms_catalog")
    versions = [release.version for release in releases]
    for index, release in enumerate(releases):
        if versions.index(release.version) != index:
            yield Issue(
                catalog_file, f"dms_catalog[{index}].version", f"{release.version} is listed twice"
            )
        for position, pattern in enumerate(release.upgrade_from):
            if not any(catalog.pattern_matches(pattern, known) for known in versions):
                yield Issue(
                    catalog_file,
                    f"dms_catalog[{index}].upgrade_from[{position}]",
                    f"{pattern!r} names no release in the catalog",
                )
    for code, (store, path) in sorted(raw.stores.items()):
        if catalog.find(releases, store.dms_target_version) is None:
            yield Issue(
                path,
                "store.dms_target_version",
                f"{store.dms_target_version!r} is not in the approved release catalog "
                f"({', '.join(versions)})",
            )
        del code


def _all_stores_read(raw: RawInventory) -> bool:
    """Whether every store of hosts.yml was read: only then may a rule say 'no store has X'."""
    return bool(raw.hosts_readable and raw.stores and len(raw.stores) == len(raw.store_groups))


def _check_pilot(raw: RawInventory) -> Iterable[Issue]:
    if _all_stores_read(raw) and not any(store.pilot for store, _ in raw.stores.values()):
        _first, first_path = min(raw.stores.values(), key=lambda item: item[0].code)
        yield Issue(
            first_path,
            "store.pilot",
            "no store is the pilot: set pilot: true on the store that gets changes first",
        )


def _check_flows_declared(raw: RawInventory) -> Iterable[Issue]:
    """``storeops_flows`` is required; reported in the file it belongs in, not another one."""
    unknown = not raw.root.is_dir() or "all" in raw.unreadable_owners  # reported already
    if unknown or _defines(raw, "all", "storeops_flows"):
        return
    yield Issue(
        raw.root / "group_vars" / "all" / FLOWS_FILE,
        "storeops_flows",
        "missing: the flows allowed inside each store (without them every host "
        "firewall drops everything, the controller's SSH included)",
    )


def _check_flow_names(raw: RawInventory) -> Iterable[Issue]:
    if raw.group_wide is None:
        return
    flows_file = _file_defining(raw, "all", "storeops_flows")
    names = [flow.name for flow in raw.group_wide.storeops_flows]
    for index, name in enumerate(names):
        first = names.index(name)
        if first != index:
            yield Issue(
                flows_file,
                f"storeops_flows[{index}].name",
                f"{name!r} is already the name of storeops_flows[{first}]",
            )


def _check_flow_endpoints(raw: RawInventory) -> Iterable[Issue]:
    """Every endpoint is ``all``, a host role, or a zone of at least one store.

    A zone need not exist in every store (a store without it gets no rule from the flow).
    Checked only once every store could be read: an unreadable store's zones are unknown.
    """
    if raw.group_wide is None or not _all_stores_read(raw):
        return
    flows_file = _file_defining(raw, "all", "storeops_flows")
    zones = sorted({zone for store, _ in raw.stores.values() for zone in store.zones})
    for index, flow in enumerate(raw.group_wide.storeops_flows):
        for side, endpoints in (("from", flow.from_), ("to", flow.to)):
            for position, endpoint in enumerate(endpoints):
                if is_role_or_all(endpoint) or endpoint in zones:
                    continue
                yield Issue(
                    flows_file,
                    f"storeops_flows[{index}].{side}[{position}]",
                    _unknown_endpoint_message(raw, endpoint, zones),
                )


def _unknown_endpoint_message(raw: RawInventory, endpoint: str, zones: list[str]) -> str:
    if endpoint in raw.host_entries:
        return (
            f"{endpoint!r} is a host: flows name zones, host roles or all, "
            "so that they mean the same in every store"
        )
    roles = ", ".join(role.value for role in Role)
    return (
        f"{endpoint!r} is not a zone or a host role of any store "
        f"(zones: {', '.join(zones)}; roles: {roles}; or all)"
    )


def _check_groups_and_hosts(raw: RawInventory) -> Iterable[Issue]:
    if not raw.hosts_readable:
        return  # hosts.yml itself is reported; its groups and hosts are unknown
    roles = (role.value for role in Role)
    known_groups = {"all", "stores", *MANAGEMENT_GROUPS, *raw.store_groups, *roles}
    for vars_file in raw.vars_files:
        if vars_file.owner_is_host and vars_file.owner not in raw.host_entries:
            yield Issue(
                vars_file.path,
                "",
                f"host_vars for {vars_file.owner!r}, which is not in {HOSTS_FILE}",
            )
        if not vars_file.owner_is_host and vars_file.owner not in known_groups:
            yield Issue(
                vars_file.path,
                "",
                f"group_vars for unknown group {vars_file.owner!r} "
                "(groups: all, stores, store_<code> from hosts.yml, the host roles, "
                "linux, network)",
            )


def _check_variables(raw: RawInventory, roles: RoleKnowledge) -> Iterable[Issue]:
    for vars_file in raw.vars_files:
        for name, value in vars_file.variables.items():
            if name in SCHEMA_OWNED_VARS:
                continue
            if name.startswith("vault_"):
                if not _fully_vaulted(value):
                    yield Issue(
                        vars_file.path,
                        name,
                        "secret in plain text: vault_* variables must be encrypted "
                        "(ansible-vault encrypt the file, or encrypt_string the value)",
                    )
                continue
            if name.startswith(CONNECTION_VAR_PREFIXES):
                yield from _check_secret_value(vars_file, name, value)
                continue
            if name not in roles.variables:
                yield Issue(
                    vars_file.path,
                    name,
                    "unknown variable: not in the inventory schema nor in any role's "
                    "meta/argument_specs.yml",
                )
                continue
            yield from _check_secret_value(vars_file, name, value)


def _fully_vaulted(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_fully_vaulted(item) for item in value.values())
    if isinstance(value, list):
        return all(_fully_vaulted(item) for item in value)
    return is_vaulted(value) or not isinstance(value, str)


def _check_secret_value(vars_file: VarsFile, name: str, value: Any) -> Iterable[Issue]:
    """A secret-looking key, at any depth, must be vaulted or a template pointing at the vault."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _check_secret_value(vars_file, f"{name}.{key}", item)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_secret_value(vars_file, f"{name}[{index}]", item)
        return
    key = name.rsplit(".", 1)[-1]
    if not SECRET_NAME_RE.search(key) or key.endswith("_file"):
        return
    if isinstance(value, str) and not is_vaulted(value) and not PURE_TEMPLATE_RE.match(value):
        top = name.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]
        yield Issue(
            vars_file.path,
            name,
            "secret in plain text: move it to an encrypted vault.yml as a vault_* variable "
            f"and reference it here ('{{{{ vault_{top}_... }}}}')"
            if top != name
            else f"secret in plain text: move it to an encrypted vault.yml as vault_{name} "
            f"and set {name}: '{{{{ vault_{name} }}}}'",
        )


def _check_required_secrets(raw: RawInventory, roles: RoleKnowledge) -> Iterable[Issue]:
    if raw.unreadable_owners:
        return  # a file that could not be read (or decrypted) is reported; its names are unknown
    defined_for: dict[str, set[str]] = defaultdict(set)  # owner (group/host) -> vault names
    for vars_file in raw.vars_files:
        defined_for[vars_file.owner].update(
            k for k in vars_file.variables if k.startswith("vault_")
        )
    role_names = {role.value for role in Role}
    for role, needed in sorted(roles.vault_needs.items()):
        for name in sorted(needed):
            missing_hosts = [
                host
                for host, (group, entry) in sorted(raw.host_entries.items())
                if (role not in role_names or role in entry.storeops_roles)
                and not any(
                    name in defined_for[owner]
                    for owner in ("all", group, host, *(r.value for r in entry.storeops_roles))
                )
            ]
            if missing_hosts:
                yield Issue(
                    raw.root / "group_vars" / "all" / "vault.yml",
                    name,
                    f"missing vault variable: role {role} needs it for {', '.join(missing_hosts)}",
                )


def _file_defining(raw: RawInventory, owner: str, variable: str) -> Path:
    for vars_file in raw.vars_files:
        if vars_file.owner == owner and variable in vars_file.variables:
            return vars_file.path
    return raw.root / "group_vars" / owner


def _defines(raw: RawInventory, owner: str, variable: str) -> bool:
    return any(
        vars_file.owner == owner and variable in vars_file.variables for vars_file in raw.vars_files
    )


# ---------------------------------------------------------------------------- workstations


def _assigned_hosts(ws: WorkstationVars) -> list[str]:
    return sorted(name for name, assigned in ws.hosts.items() if assigned.workstation_owner)


def _check_workstation_hosts(raw: RawInventory, ws: WorkstationVars) -> Iterable[Issue]:
    """A machine's assignment: on a workstation, owner and role together, a catalogue role."""
    roles = ws.group.workstation_roles
    for name, assigned in sorted(ws.hosts.items()):
        path = ws.host_file(name)
        entry = raw.host_entries.get(name)
        if entry is not None and Role.WORKSTATION not in entry[1].storeops_roles:
            held = ", ".join(role.value for role in entry[1].storeops_roles)
            yield Issue(
                path, "", f"workstation_* variables on {name}, which is not a workstation ({held})"
            )
        if assigned.workstation_owner and not assigned.workstation_role:
            yield Issue(path, "workstation_role", "missing: an owner needs a role")
        if assigned.workstation_role and not assigned.workstation_owner:
            yield Issue(path, "workstation_owner", "missing: a role needs an owner")
        if assigned.workstation_owner and not assigned.workstation_asset_tag:
            yield Issue(
                path,
                "workstation_asset_tag",
                "missing: an assigned workstation needs its asset tag",
            )
        if (
            roles is not None
            and assigned.workstation_role
            and assigned.workstation_role not in roles
        ):
            yield Issue(
                path,
                "workstation_role",
                f"{assigned.workstation_role!r} is not a role of the catalogue "
                f"({', '.join(sorted(roles))})",
            )
        admin = ws.group.workstation_admin_user
        if admin is not None and assigned.workstation_owner == admin:
            yield Issue(
                path, "workstation_owner", f"{admin!r} is the IT admin account, not an employee"
            )


def _check_workstation_catalogue(ws: WorkstationVars) -> Iterable[Issue]:
    roles, tiers = ws.group.workstation_roles, ws.group.workstation_sudo_tiers
    if roles is None or tiers is None:
        return
    for name, spec in sorted(roles.items()):
        if spec.sudo_tier not in tiers:
            yield Issue(
                ws.group_file("workstation_roles"),
                f"workstation_roles.{name}.sudo_tier",
                f"{spec.sudo_tier!r} is not a tier of workstation_sudo_tiers "
                f"({', '.join(sorted(tiers))})",
            )


def _check_workstation_required(raw: RawInventory, ws: WorkstationVars) -> Iterable[Issue]:
    """What an assigned workstation cannot be provisioned without, where it belongs."""
    assigned = _assigned_hosts(ws)
    if not assigned:
        return
    for path, name in missing_group_settings(ws):
        yield Issue(path, name, f"missing: needed by assigned workstations ({', '.join(assigned)})")
    stores = {
        raw.store_code_of_group(raw.host_entries[h][0]) for h in assigned if h in raw.host_entries
    }
    for code in sorted(stores):
        for path, name in missing_store_settings(ws, code):
            yield Issue(path, name, "missing: the store has assigned workstations")
    if not raw.unreadable_owners and not any(
        WORKSTATION_INITIAL_PASSWORD in vars_file.variables for vars_file in raw.vars_files
    ):
        yield Issue(
            raw.root / "group_vars" / "all" / "vault.yml",
            WORKSTATION_INITIAL_PASSWORD,
            "missing vault variable: the first password of new employee accounts",
        )


def _url_host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]


def _ipv4_or_none(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def _check_workstation_store_addresses(raw: RawInventory, ws: WorkstationVars) -> Iterable[Issue]:
    """An address in the DMS URL is the store's DMS host; a printer address is in the store."""
    for code, settings in sorted(ws.stores.items()):
        if code not in raw.stores:
            continue
        store = raw.stores[code][0]
        dms_url = settings.workstation_dms_url
        dms_address = _ipv4_or_none(_url_host(dms_url)) if dms_url else None
        dms_hosts = {
            entry.address: name
            for name, (group, entry) in raw.host_entries.items()
            if raw.store_code_of_group(group) == code and Role.DMS in entry.storeops_roles
        }
        if dms_address is not None and dms_address not in dms_hosts:
            known = ", ".join(f"{name} {address}" for address, name in sorted(dms_hosts.items()))
            yield Issue(
                ws.store_file(code, "workstation_dms_url"),
                "workstation_dms_url",
                f"{dms_address} is not a DMS host of store {code} ({known or 'none'})",
            )
        printer = settings.workstation_printer
        printer_address = _ipv4_or_none(_url_host(printer.uri)) if printer else None
        if printer_address is not None and printer_address not in store.network:
            yield Issue(
                ws.store_file(code, "workstation_printer"),
                "workstation_printer.uri",
                f"{printer_address} is outside store {code}'s network {store.network}",
            )


def _check_asset_record(
    raw: RawInventory, ws: WorkstationVars, path: Path, index: int, record: AssetRecord
) -> Iterable[Issue]:
    """One record: of this file's store, in use on a workstation of it, a catalogue role."""
    store, where = path.stem, f"assets[{index}]"
    if record.store != store:
        yield Issue(path, f"{where}.store", f"{record.store!r} in the register of store {store}")
    entry = raw.host_entries.get(record.host)
    on_workstation = entry is not None and Role.WORKSTATION in entry[1].storeops_roles
    in_store = entry is not None and raw.store_code_of_group(entry[0]) == store
    if record.status is AssetStatus.IN_USE and not (on_workstation and in_store):
        yield Issue(path, f"{where}.host", f"{record.host!r} is not a workstation of store {store}")
    roles = ws.group.workstation_roles
    if roles is not None and record.role not in roles:
        yield Issue(path, f"{where}.role", f"{record.role!r} is not a role of the catalogue")


@dataclass
class _AssetsSeen:
    """What the records read so far claim: serials (all files), tags and hosts (one file)."""

    serials: dict[str, str] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    hosts_in_use: dict[str, str] = field(default_factory=dict)

    def check(self, path: Path, index: int, record: AssetRecord) -> Iterable[Issue]:
        where = f"assets[{index}]"
        if record.asset_tag in self.tags:
            first = self.tags[record.asset_tag]
            yield Issue(
                path, f"{where}.asset_tag", f"{record.asset_tag!r} is already assets[{first}]"
            )
        if record.serial in self.serials:
            owner = self.serials[record.serial]
            yield Issue(
                path, f"{where}.serial", f"{record.serial!r} is already the serial of {owner}"
            )
        in_use = record.status is AssetStatus.IN_USE
        if in_use and record.host in self.hosts_in_use:
            other = self.hosts_in_use[record.host]
            yield Issue(path, f"{where}.host", f"{record.host} is already in use as asset {other}")
        self.tags.setdefault(record.asset_tag, index)
        self.serials.setdefault(record.serial, f"asset {record.asset_tag} ({path.name})")
        if in_use:
            self.hosts_in_use.setdefault(record.host, record.asset_tag)


def _check_asset_registers(raw: RawInventory, ws: WorkstationVars) -> Iterable[Issue]:
    """assets/<store>.yml: a known store, one record per asset tag, one asset per serial."""
    stores = {raw.store_code_of_group(group) for group in raw.store_groups}
    seen = _AssetsSeen()
    for path in register_files(raw.root):
        records, issues = read_register_file(path)
        yield from issues
        if raw.hosts_readable and path.stem not in stores:
            yield Issue(path, "", f"asset register of unknown store {path.stem!r}")
            continue
        seen = _AssetsSeen(serials=seen.serials)
        for index, record in enumerate(records):
            yield from _check_asset_record(raw, ws, path, index, record)
            yield from seen.check(path, index, record)


def _check_workstations(raw: RawInventory) -> Iterable[Issue]:
    ws = read_workstation_vars(raw)
    yield from ws.issues
    yield from _check_workstation_hosts(raw, ws)
    yield from _check_workstation_catalogue(ws)
    yield from _check_workstation_required(raw, ws)
    yield from _check_workstation_store_addresses(raw, ws)
    yield from _check_asset_registers(raw, ws)


def validate(
    root: Path | str, passwords: VaultPasswords | None = None, roles_dir: Path | None = None
) -> RawInventory:
    """Read the inventory and apply every rule; ``raw.issues`` lists all problems found."""
    raw = read(root, passwords)
    roles = RoleKnowledge.scan(roles_dir or ROLES_DIR)
    for rule in (
        _check_addresses(raw),
        _check_endpoints(raw),
        _check_platforms(raw),
        _check_subnets(raw),
        _check_store_roles(raw),
        _check_catalog(raw),
        _check_pilot(raw),
        _check_flows_declared(raw),
        _check_flow_names(raw),
        _check_flow_endpoints(raw),
        _check_groups_and_hosts(raw),
        _check_variables(raw, roles),
        _check_required_secrets(raw, roles),
        _check_workstations(raw),
    ):
        raw.issues.extend(rule)
    raw.issues.sort(key=lambda issue: (str(issue.file), issue.field))
    return raw


def summary(raw: RawInventory) -> str:
    """One line for a valid inventory: stores and hosts by role."""
    by_role: dict[str, int] = defaultdict(int)
    for _group, entry in raw.host_entries.values():
        for role in entry.storeops_roles:
            by_role[role.value] += 1
    roles = ", ".join(f"{by_role[r.value]} {r.value}" for r in Role if by_role[r.value])
    pilots = [code for code, (store, _) in sorted(raw.stores.items()) if store.pilot]
    return (
        f"inventory {raw.root.name} OK: {len(raw.stores)} stores ({', '.join(sorted(raw.stores))}; "
        f"pilot {', '.join(pilots)}), {len(raw.host_entries)} hosts ({roles})"
    )
