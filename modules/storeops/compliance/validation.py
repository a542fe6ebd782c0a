"""The validator's compliance rules: waivers, and a control off only with a waiver.

Registered with the validator as :data:`RULES` (``[project.entry-points."storeops.validators"]``
in pyproject.toml); runs on the controller and contacts no host. ``storeops audit`` reads the
active waivers through :func:`host_waivers`, the same reading the validator judges.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storeops.compliance.catalogue import Catalogue, catalogue_file, load_catalogue
from storeops.compliance.schema import OWNER_RE, WAIVERS_VAR, Waiver, today
from storeops.inventory import RawInventory, VarsFile
from storeops.issues import Issue
from storeops.paths import ProjectNotFound
from storeops.schema import STORE_GROUP_PREFIX, Role
from storeops.validate import FeatureRules
from storeops.yamlfiles import YamlProblem

TOGGLE_RE = re.compile(r"hardening_[a-z0-9_]+_enabled")
WAIVER_KEYS = ("control", "justification", "owner", "expires")


@dataclass(frozen=True)
class PlacedWaiver:
    """A valid waiver and where it was written (a store group's or a host's file)."""

    waiver: Waiver
    path: Path
    owner: str  # the store group (store_<code>) or the host
    owner_is_host: bool


def _field(index: int, key: str) -> str:
    return f"{WAIVERS_VAR}[{index}].{key}" if key else f"{WAIVERS_VAR}[{index}]"


def _entry_issues(
    vars_file: VarsFile, index: int, entry: Any, known: frozenset[str], day: dt.date
) -> list[Issue]:
    """Every problem of one waiver entry, each named by its field."""
    path = vars_file.path
    if not isinstance(entry, dict):
        return [Issue(path, _field(index, ""), f"must be a mapping with {', '.join(WAIVER_KEYS)}")]
    issues = [
        Issue(path, _field(index, str(key)), "unknown key")
        for key in entry
        if key not in WAIVER_KEYS
    ]
    control = entry.get("control")
    if not isinstance(control, str) or not control.strip():
        issues.append(Issue(path, _field(index, "control"), "missing: the control's ID"))
    elif control not in known:
        issues.append(
            Issue(
                path,
                _field(index, "control"),
                f"{control!r} is not a control of roles/hardening/meta/controls.yml",
            )
        )
    justification = entry.get("justification")
    if not isinstance(justification, str) or not justification.strip():
        issues.append(
            Issue(path, _field(index, "justification"), "missing: why the control is off")
        )
    owner = entry.get("owner")
    if not isinstance(owner, str) or not owner.strip():
        issues.append(Issue(path, _field(index, "owner"), "missing: who answers for the waiver"))
    elif not OWNER_RE.fullmatch(owner):
        issues.append(
            Issue(
                path,
                _field(index, "owner"),
                f"{owner!r}: must be a login name or a mail address (e.g. it.hz01@dealer.example)",
            )
        )
    issues.extend(_expiry_issues(path, index, entry.get("expires"), day))
    return issues


def _expiry_issues(path: Path, index: int, expires: Any, day: dt.date) -> list[Issue]:
    where = _field(index, "expires")
    if expires is None:
        return [Issue(path, where, "missing: the date the waiver ends (YYYY-MM-DD)")]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            return [Issue(path, where, f"{expires!r}: must be a date (YYYY-MM-DD)")]
    if isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        return [Issue(path, where, f"{expires!r}: must be a date (YYYY-MM-DD)")]
    if expires < day:
        return [Issue(path, where, f"{expires} is in the past (today is {day}): renew or remove")]
    return []


def _placement_issue(vars_file: VarsFile) -> Issue | None:
    store_group = not vars_file.owner_is_host and vars_file.owner.startswith(STORE_GROUP_PREFIX)
    if vars_file.owner_is_host or store_group:
        return None
    return Issue(
        vars_file.path,
        WAIVERS_VAR,
        "belongs in group_vars/store_<code>/ (a store) or host_vars/<host> (a host) only",
    )


def waivers_in(
    vars_file: VarsFile, catalogue: Catalogue, day: dt.date
) -> tuple[list[PlacedWaiver], list[Issue]]:
    """The valid waivers of one vars file, and the issues of the others."""
    value = vars_file.variables.get(WAIVERS_VAR)
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [Issue(vars_file.path, WAIVERS_VAR, "must be a list of waivers")]
    placement = _placement_issue(vars_file)
    issues = [placement] if placement else []
    placed: list[PlacedWaiver] = []
    known = catalogue.ids()
    for index, entry in enumerate(value):
        problems = _entry_issues(vars_file, index, entry, known, day)
        issues.extend(problems)
        if problems or placement:
            continue
        try:
            waiver = Waiver.model_validate(entry)
        except ValidationError as error:  # the checks above cover the model's: a guard
            issues.append(Issue(vars_file.path, _field(index, ""), str(error)))
            continue
        placed.append(
            PlacedWaiver(waiver, vars_file.path, vars_file.owner, vars_file.owner_is_host)
        )
    return placed, issues


def _groups_of(raw: RawInventory, host: str) -> frozenset[str]:
    """The groups whose group_vars apply to a host (Ansible's view, else the hosts file's)."""
    if raw.ansible is not None and not raw.ansible.error and host in raw.ansible.hosts:
        return raw.ansible.hosts[host] | {"all"}
    group, entry = raw.host_entries[host]
    roles = {role.value for role in entry.storeops_roles}
    management = "network" if {Role.SWITCH.value, Role.FIREWALL.value} & roles else "linux"
    return frozenset({"all", "stores", group, management, *roles})


def _store_group(raw: RawInventory, host: str) -> str | None:
    entry = raw.host_entries.get(host)
    return entry[0] if entry else None


def host_waivers(
    raw: RawInventory, catalogue: Catalogue | None = None, day: dt.date | None = None
) -> dict[str, dict[str, PlacedWaiver]]:
    """host -> control ID -> its active waiver (the host's own before its store's)."""
    catalogue = catalogue or load_catalogue(catalogue_file(near=raw.root))
    day = day or today()
    by_owner: dict[str, dict[str, PlacedWaiver]] = {}
    for vars_file in raw.vars_files:
        placed, _ = waivers_in(vars_file, catalogue, day)
        for item in placed:
            by_owner.setdefault(item.owner, {})[item.waiver.control] = item
    result: dict[str, dict[str, PlacedWaiver]] = {}
    for host in raw.host_entries:
        store = _store_group(raw, host)
        active = dict(by_owner.get(store, {})) if store else {}
        active.update(by_owner.get(host, {}))
        result[host] = active
    return result


def _toggles_off(raw: RawInventory, host: str) -> dict[str, Path]:
    """toggle -> the file that turns it off for the host: its host_vars when they set it,
    else any group_vars of its groups that set it false (conservative: Ansible's order among
    groups of one depth is by name, so a false anywhere needs a waiver)."""
    own: dict[str, tuple[bool, Path]] = {}
    from_groups: dict[str, Path] = {}
    for vars_file in raw.vars_files_of(_groups_of(raw, host), host):
        for name, value in vars_file.variables.items():
            if not TOGGLE_RE.fullmatch(str(name)):
                continue
            if vars_file.owner_is_host:
                own[name] = (value is not False, vars_file.path)
            elif value is False:
                from_groups.setdefault(name, vars_file.path)
    off = {name: path for name, (on, path) in own.items() if not on}
    off.update({name: path for name, path in from_groups.items() if name not in own})
    return off


def _check_toggles(
    raw: RawInventory, catalogue: Catalogue, waivers: dict[str, dict[str, PlacedWaiver]]
) -> Iterable[Issue]:
    """A control's toggle false for a host needs an active waiver for it there."""
    by_toggle = {control.toggle: control for control in catalogue.controls}
    missing: dict[tuple[Path, str, str], list[str]] = {}
    for host in sorted(raw.host_entries):
        for toggle, path in sorted(_toggles_off(raw, host).items()):
            control = by_toggle.get(toggle)
            if control is None or control.id in waivers.get(host, {}):
                continue  # not a control's toggle (unknown variables are the core's to judge)
            missing.setdefault((path, toggle, control.id), []).append(host)
    for (path, toggle, control_id), hosts in sorted(missing.items()):
        yield Issue(
            path,
            toggle,
            f"turns off control {control_id} without an active waiver in {WAIVERS_VAR} of the "
            f"host or its store, for {', '.join(hosts)}",
        )


def check_compliance(raw: RawInventory) -> Iterable[Issue]:
    """Every waiver well-formed and in its place; every control off only under a waiver."""
    try:
        path = catalogue_file(near=raw.root)
    except ProjectNotFound as error:
        yield Issue(raw.root, WAIVERS_VAR, f"cannot find the control catalogue: {error}")
        return
    try:
        catalogue = load_catalogue(path)
    except (ValidationError, YamlProblem) as error:
        yield Issue(path, "", f"the control catalogue is invalid: {error}")
        return
    day = today()
    for vars_file in raw.vars_files:  # beside a playbook: the core refuses owned variables
        _, issues = waivers_in(vars_file, catalogue, day)
        yield from issues
    yield from _check_toggles(raw, catalogue, host_waivers(raw, catalogue, day))


RULES = FeatureRules(check=check_compliance, owned_vars=frozenset({WAIVERS_VAR}))
