"""What one workstation must look like, from the validated inventory, and the checks before.

``storeops workstation`` and the deploys go through the same steps, so that bad input is
refused the same way whether the run starts from the CLI or from ``pyinfra @local``:

1. :func:`load_checked`: the whole inventory validated (``storeops validate``'s rules).
2. :func:`assignment_for`: the host, owner, role and asset tag checked, every problem named.
3. :func:`check_register`: the machine and the asset tag are not someone else's.
4. :func:`plan_for`: everything the deploy applies, as plain values.

Nothing here contacts a host or writes a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storeops.inventory import Host, Inventory, InventoryInvalid, RawInventory, typed_view
from storeops.issues import issues_from_validation_error
from storeops.schema import Role
from storeops.validate import validate
from storeops.workstation.identity import hostname_for
from storeops.workstation.register import AssetRegister
from storeops.workstation.schema import (
    AssetStatus,
    WorkstationGroupVars,
    WorkstationHostVars,
    WorkstationPrinter,
    WorkstationRoleSpec,
    WorkstationStoreVars,
)
from storeops.workstation.settings import (
    WorkstationVars,
    host_vars_file,
    missing_group_settings,
    missing_store_settings,
    read_workstation_vars,
)
from storeops.yamlfiles import VaultPasswords
from storeops.zones import inbound_rules

# What the deploy itself needs on every workstation, whatever the catalogue says.
FEATURE_PACKAGES = (
    "ca-certificates",
    "chrony",
    "clamav",
    "clamav-freshclam",
    "cups",
    "cups-client",
    "dconf-cli",
    "nftables",
    "openssl",
    "python3",  # runs the firewall's commit-confirm (module_utils/storeops_nft.py)
    "sudo",
    "unattended-upgrades",
)
MANAGED_HEADER = "Managed by storeops (deploys/workstation.py): local edits are overwritten."
# The group of a sudo tier on the machine: the tier's sudoers rule names the group (never a
# user, L2-7.1.4.2-a-sudo-groups), and the IT admin account is its member.
SUDO_GROUP_PREFIX = "storeops-tier-"
# Accounts an employee login may never be (the system's, the automation's).
RESERVED_LOGINS = frozenset({"root", "daemon", "bin", "sys", "nobody", "admin", "storeops"})


def shown(path: Path) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


class WorkstationInputError(Exception):
    """The request cannot be carried out; ``problems`` says every reason, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Checked:
    """A validated inventory: the raw files, the typed view and the workstation variables."""

    raw: RawInventory
    inventory: Inventory
    ws: WorkstationVars


@dataclass(frozen=True)
class Assignment:
    owner: str
    role: str
    asset_tag: str


def load_checked(root: Path | str, passwords: VaultPasswords) -> Checked:
    """The inventory, only if ``storeops validate`` would pass it (else InventoryInvalid)."""
    raw = validate(root, passwords)
    if raw.issues:
        raise InventoryInvalid(raw.root, raw.issues)
    return Checked(raw, typed_view(raw), read_workstation_vars(raw))


def workstation_host(checked: Checked, name: str) -> Host:
    """The inventory host ``name``, which must be a workstation."""
    host = checked.inventory.hosts.get(name)
    workstations = sorted(h.name for h in checked.inventory.hosts_with_role(Role.WORKSTATION))
    if host is None:
        raise WorkstationInputError(
            [
                f"unknown host {name!r}: not in {shown(checked.raw.hosts_path)} "
                f"(workstations: {', '.join(workstations) or 'none'})"
            ]
        )
    if Role.WORKSTATION not in host.roles:
        roles = ", ".join(role.value for role in host.roles)
        raise WorkstationInputError([f"{name} is not a workstation (storeops_roles: {roles})"])
    return host


def _owner_problems(ws: WorkstationVars, owner: str | None) -> list[str]:
    if not owner:
        return ["owner missing: give the employee's login name (--owner LOGIN)"]
    try:
        WorkstationHostVars(workstation_owner=owner)
    except ValidationError as error:
        return [f"owner: {_first_error(error)}"]
    if owner in RESERVED_LOGINS or owner == ws.group.workstation_admin_user:
        return [f"owner: {owner!r} is a system or IT account, not an employee's login"]
    return []


def _role_problems(ws: WorkstationVars, role: str | None) -> list[str]:
    catalogue = ws.group.workstation_roles or {}
    known = ", ".join(sorted(catalogue)) or "none: the catalogue is empty"
    if not role:
        return [f"role missing: give one of the catalogue ({known}) with --role"]
    if role not in catalogue:
        where = shown(ws.group_file("workstation_roles"))
        return [f"unknown role {role!r}: the catalogue in {where} has {known}"]
    return []


def _asset_problems(checked: Checked, host: str, asset_tag: str | None) -> list[str]:
    if not asset_tag:
        return [
            f"no asset tag for {host}: give --asset TAG "
            f"or set workstation_asset_tag in {shown(host_vars_file(checked.raw.root, host))}"
        ]
    try:
        WorkstationHostVars(workstation_asset_tag=asset_tag)
    except ValidationError as error:
        return [f"asset tag: {_first_error(error)}"]
    return []


def _settings_problems(ws: WorkstationVars, store: str) -> list[str]:
    missing = missing_group_settings(ws) + missing_store_settings(ws, store)
    return [f"{shown(path)}: {name}: missing: a workstation needs it" for path, name in missing]


def _first_error(error: ValidationError) -> str:
    return issues_from_validation_error(error, {}, Path())[0].message


def assignment_for(
    checked: Checked,
    host: str,
    owner: str | None = None,
    role: str | None = None,
    asset_tag: str | None = None,
) -> Assignment:
    """The request checked: what is not given comes from the machine's host_vars."""
    machine = workstation_host(checked, host)
    current = checked.ws.host(host)
    owner = owner or current.workstation_owner
    role = role or current.workstation_role
    asset_tag = asset_tag or current.workstation_asset_tag
    problems = [
        *_owner_problems(checked.ws, owner),
        *_role_problems(checked.ws, role),
        *_asset_problems(checked, host, asset_tag),
        *_settings_problems(checked.ws, machine.store),
    ]
    if problems or not (owner and role and asset_tag):
        raise WorkstationInputError(problems)
    return Assignment(owner, role, asset_tag)


def check_register(checked: Checked, host: str, assignment: Assignment) -> None:
    """The machine is not someone else's, and its asset tag is not another machine's."""
    store = checked.inventory.hosts[host].store
    register = AssetRegister.load(checked.raw.root, store)
    problems = []
    current = register.in_use_on(host)
    if current is not None and current.owner != assignment.owner:
        problems.append(
            f"{host} is in use by {current.owner} (asset {current.asset_tag}, since "
            f"{current.provisioned}): run storeops workstation decommission {host} first"
        )
    record = register.find(assignment.asset_tag)
    if record is not None and record.status is AssetStatus.IN_USE and record.host != host:
        problems.append(
            f"asset {assignment.asset_tag} is in use on {record.host} ({shown(register.path)}): "
            "one asset tag, one machine"
        )
    if problems:
        raise WorkstationInputError(problems)


@dataclass(frozen=True)
class WorkstationPlan:
    """Everything the provisioning deploy applies to one workstation, as plain values."""

    host: str
    store: str
    store_name: str
    address: str
    owner: str
    role: str
    role_description: str
    asset_tag: str
    hostname: str
    packages: tuple[str, ...]
    admin_user: str
    admin_public_keys: tuple[str, ...]
    sudo_tier: str
    sudo_group: str
    sudo_commands: tuple[str, ...]
    idle_timeout_seconds: int
    printer: dict[str, Any]
    dms_url: str
    ca_certificate: str
    security_origins: tuple[str, ...]
    freshclam_mirrors: tuple[str, ...]
    freshclam_calendar: str
    scan_calendar: str
    archive_dir: str
    firewall_rules: tuple[dict[str, Any], ...]

    def template_vars(self) -> dict[str, Any]:
        """The plan as the deploy's templates see it (``plan.<field>``), and their header."""
        return {"plan": asdict(self), "ansible_managed": MANAGED_HEADER}


def sudo_group_for(tier: str) -> str:
    """The group that holds sudo tier ``tier`` on a workstation (``storeops-tier-<tier>``)."""
    return f"{SUDO_GROUP_PREFIX}{tier}"


def _packages(group: WorkstationGroupVars, role: WorkstationRoleSpec) -> tuple[str, ...]:
    wanted = [*FEATURE_PACKAGES, *(group.workstation_base_packages or ()), *role.packages]
    return tuple(dict.fromkeys(wanted))


def _store_settings(ws: WorkstationVars, store: str) -> tuple[WorkstationPrinter, str]:
    settings: WorkstationStoreVars = ws.store(store)
    if settings.workstation_printer is None or settings.workstation_dms_url is None:
        raise WorkstationInputError(_settings_problems(ws, store))
    return settings.workstation_printer, settings.workstation_dms_url


def plan_for(checked: Checked, host: str, assignment: Assignment) -> WorkstationPlan:
    """The plan of an assignment that :func:`assignment_for` accepted."""
    machine = workstation_host(checked, host)
    group = checked.ws.group
    roles, tiers = group.workstation_roles or {}, group.workstation_sudo_tiers or {}
    role = roles[assignment.role]
    printer, dms_url = _store_settings(checked.ws, machine.store)
    if group.workstation_admin_user is None or group.workstation_ca_certificate is None:
        raise WorkstationInputError(_settings_problems(checked.ws, machine.store))
    return WorkstationPlan(
        host=host,
        store=machine.store,
        store_name=checked.inventory.stores[machine.store].name,
        address=str(machine.address),
        owner=assignment.owner,
        role=assignment.role,
        role_description=role.description,
        asset_tag=assignment.asset_tag,
        hostname=hostname_for(machine.store, role.hostname_label, assignment.asset_tag),
        packages=_packages(group, role),
        admin_user=group.workstation_admin_user,
        admin_public_keys=tuple(group.workstation_admin_public_keys),
        sudo_tier=role.sudo_tier,
        sudo_group=sudo_group_for(role.sudo_tier),
        sudo_commands=tuple(tiers[role.sudo_tier].commands),
        idle_timeout_seconds=role.idle_timeout_minutes * 60,
        printer=printer.model_dump(),
        dms_url=dms_url,
        ca_certificate=group.workstation_ca_certificate,
        security_origins=tuple(group.workstation_security_origins or ()),
        freshclam_mirrors=tuple(group.workstation_freshclam_mirrors or ()),
        freshclam_calendar=group.workstation_freshclam_calendar,
        scan_calendar=group.workstation_scan_calendar,
        archive_dir=group.workstation_archive_dir,
        firewall_rules=tuple(r.as_vars() for r in inbound_rules(checked.inventory, machine)),
    )
