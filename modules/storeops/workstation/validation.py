"""The validator's workstation rules: assignments, the catalogue, what a store needs before
its workstations can be provisioned, the asset registers.

Registered with the validator as :data:`RULES`, with the variables the feature's schema owns
(``[project.entry-points."storeops.validators"]`` in pyproject.toml): the core validator
(:mod:`storeops.validate`) never imports a feature.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from storeops.inventory import RawInventory
from storeops.issues import Issue
from storeops.schema import Role
from storeops.validate import FeatureRules
from storeops.workstation.register import read_register_file, register_files
from storeops.workstation.schema import (
    WORKSTATION_INITIAL_PASSWORD,
    WORKSTATION_VAR_LEVELS,
    AssetRecord,
    AssetStatus,
)
from storeops.workstation.settings import (
    WorkstationVars,
    missing_group_settings,
    missing_store_settings,
    read_workstation_vars,
)


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
    dms_hosts_of: dict[str, dict[ipaddress.IPv4Address, str]] = defaultdict(dict)
    for name, (group, entry) in raw.host_entries.items():  # once, not once per store
        if Role.DMS in entry.storeops_roles:
            dms_hosts_of[raw.store_code_of_group(group)][entry.address] = name
    for code, settings in sorted(ws.stores.items()):
        if code not in raw.stores:
            continue
        store = raw.stores[code][0]
        dms_url = settings.workstation_dms_url
        dms_address = _ipv4_or_none(_url_host(dms_url)) if dms_url else None
        dms_hosts = dms_hosts_of[code]
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


def check_workstations(raw: RawInventory) -> Iterable[Issue]:
    """Every workstation rule (registered with the validator: pyproject's entry point)."""
    ws = read_workstation_vars(raw)
    yield from ws.issues
    yield from _check_workstation_hosts(raw, ws)
    yield from _check_workstation_catalogue(ws)
    yield from _check_workstation_required(raw, ws)
    yield from _check_workstation_store_addresses(raw, ws)
    yield from _check_asset_registers(raw, ws)


# The validator's registration (pyproject's entry point): the rules, and the workstation_*
# variables, which are the feature's schema's, not role variables.
RULES = FeatureRules(check=check_workstations, owned_vars=frozenset(WORKSTATION_VAR_LEVELS))
