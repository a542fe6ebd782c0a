"""The ``workstation_*`` variables of an inventory, parsed once per level.

Each variable lives at one level (``WORKSTATION_VAR_LEVELS`` of :mod:`.schema`): the catalogue in
``group_vars/all``, the printer and DMS address in ``group_vars/store_<code>``, a machine's
assignment in ``host_vars/<host>``. One level's variables may be spread over several files
(the later file wins, as in Ansible); each issue names the file its variable came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from storeops.inventory import RawInventory, VarsFile
from storeops.issues import Issue, issues_from_validation_error
from storeops.schema import STORE_GROUP_PREFIX
from storeops.workstation.schema import (
    WORKSTATION_REQUIRED_GROUP_VARS,
    WORKSTATION_REQUIRED_STORE_VARS,
    WORKSTATION_VAR_LEVELS,
    WorkstationGroupVars,
    WorkstationHostVars,
    WorkstationStoreVars,
)
from storeops.yamlfiles import VaultPasswords, read_yaml, write_atomically

WORKSTATION_FILE = "workstation.yml"  # the file name the catalogue and the assignments use
LEVEL_PLACES = {
    "all": "group_vars/all",
    "store": "group_vars/store_<code>",
    "host": "host_vars/<host>",
}

Model = TypeVar("Model", bound=BaseModel)


@dataclass
class WorkstationVars:
    """The parsed variables (defaults where a level sets none) and where each level lives."""

    root: Path
    group: WorkstationGroupVars = field(default_factory=WorkstationGroupVars)
    group_origin: dict[str, Path] = field(default_factory=dict)
    stores: dict[str, WorkstationStoreVars] = field(default_factory=dict)
    store_origin: dict[str, dict[str, Path]] = field(default_factory=dict)
    hosts: dict[str, WorkstationHostVars] = field(default_factory=dict)
    host_origin: dict[str, dict[str, Path]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def group_file(self, name: str) -> Path:
        """The file that sets a group variable, or the one it belongs in."""
        default = self.root / "group_vars" / "all" / WORKSTATION_FILE
        return self.group_origin.get(name, default)

    def store_file(self, code: str, name: str) -> Path:
        default = self.root / "group_vars" / f"{STORE_GROUP_PREFIX}{code}" / WORKSTATION_FILE
        return self.store_origin.get(code, {}).get(name, default)

    def store(self, code: str) -> WorkstationStoreVars:
        return self.stores.get(code, WorkstationStoreVars())

    def host(self, name: str) -> WorkstationHostVars:
        return self.hosts.get(name, WorkstationHostVars())

    def host_file(self, name: str) -> Path:
        files = self.host_origin.get(name, {})
        return next(iter(files.values()), host_vars_file(self.root, name))


def host_vars_file(root: Path, host: str) -> Path:
    """The file ``storeops workstation`` writes a machine's assignment to."""
    return root / "host_vars" / host / WORKSTATION_FILE


def _level(vars_file: VarsFile) -> str:
    if vars_file.owner_is_host:
        return "host"
    if vars_file.owner == "all":
        return "all"
    if vars_file.owner.startswith(STORE_GROUP_PREFIX):
        return "store"
    return "other"


def _misplaced(vars_file: VarsFile, name: str, level: str) -> Issue:
    return Issue(
        vars_file.path,
        name,
        f"{name} belongs in {LEVEL_PLACES[WORKSTATION_VAR_LEVELS[name]]}"
        + ("" if level == "other" else f", not in {LEVEL_PLACES[level]}"),
    )


def _collect(raw: RawInventory, result: WorkstationVars) -> dict[tuple[str, str], dict[str, Any]]:
    """(level, owner) -> the workstation variables it sets; origins recorded, misplaced reported."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for vars_file in raw.vars_files:
        level = _level(vars_file)
        owner = raw.store_code_of_group(vars_file.owner) if level == "store" else vars_file.owner
        for name, value in vars_file.variables.items():
            if name not in WORKSTATION_VAR_LEVELS:
                continue
            if WORKSTATION_VAR_LEVELS[name] != level:
                result.issues.append(_misplaced(vars_file, name, level))
                continue
            found.setdefault((level, owner), {})[name] = value
            _origins_of(result, level, owner)[name] = vars_file.path
    return found


def _origins_of(result: WorkstationVars, level: str, owner: str) -> dict[str, Path]:
    if level == "all":
        return result.group_origin
    by_owner = result.store_origin if level == "store" else result.host_origin
    return by_owner.setdefault(owner, {})


def _parse(
    model: type[Model], values: dict[str, Any], origin: dict[str, Path], issues: list[Issue]
) -> Model:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        default = next(iter(origin.values()))
        issues.extend(issues_from_validation_error(error, origin, default))
        valid = {key: value for key, value in values.items() if key not in _bad_keys(error)}
        return model.model_validate(valid)


def _bad_keys(error: ValidationError) -> set[str]:
    return {str(detail["loc"][0]) for detail in error.errors() if detail["loc"]}


def read_workstation_vars(raw: RawInventory) -> WorkstationVars:
    """Every ``workstation_*`` variable of the inventory, parsed; bad values reported, left out."""
    result = WorkstationVars(raw.root)
    for (level, owner), values in sorted(_collect(raw, result).items()):
        origin = _origins_of(result, level, owner)
        if level == "all":
            result.group = _parse(WorkstationGroupVars, values, origin, result.issues)
        elif level == "store":
            result.stores[owner] = _parse(WorkstationStoreVars, values, origin, result.issues)
        else:
            result.hosts[owner] = _parse(WorkstationHostVars, values, origin, result.issues)
    return result


def missing_group_settings(ws: WorkstationVars) -> list[tuple[Path, str]]:
    """(file it belongs in, variable) for each group setting a workstation needs and lacks.

    A variable that is set but invalid is not missing: its own issue names it.
    """
    return [
        (ws.group_file(name), name)
        for name in WORKSTATION_REQUIRED_GROUP_VARS
        if getattr(ws.group, name) is None and name not in ws.group_origin
    ]


def missing_store_settings(ws: WorkstationVars, code: str) -> list[tuple[Path, str]]:
    """The same for one store's settings."""
    origin = ws.store_origin.get(code, {})
    return [
        (ws.store_file(code, name), name)
        for name in WORKSTATION_REQUIRED_STORE_VARS
        if getattr(ws.store(code), name) is None and name not in origin
    ]


ASSIGNMENT_HEADER = (
    "# The machine's assignment, written by `storeops workstation provision|decommission`.\n"
    "# Set workstation_asset_tag by hand when the machine enters the inventory.\n"
)


class AssignmentFileError(Exception):
    """The machine's workstation variables live somewhere storeops does not write."""


def write_assignment(
    ws: WorkstationVars,
    host: str,
    asset_tag: str,
    owner: str | None,
    role: str | None,
    *,
    dry: bool = False,
) -> bool:
    """Set (owner and role None: clear) a machine's assignment; True if the file changed.

    ``dry``: only say whether it would change.

    Other keys of the file are kept; the workstation keys are sorted, empty ones left out.
    """
    path = host_vars_file(ws.root, host)
    elsewhere = sorted({str(p) for p in ws.host_origin.get(host, {}).values()} - {str(path)})
    if elsewhere:
        raise AssignmentFileError(
            f"{host}'s workstation_* variables are in {', '.join(elsewhere)}: "
            f"move them to {path}, which storeops workstation writes"
        )
    current = read_yaml(path, VaultPasswords()).data if path.is_file() else None
    data = dict(current or {})
    wanted = {
        "workstation_asset_tag": asset_tag,
        "workstation_owner": owner,
        "workstation_role": role,
    }
    data.update(wanted)
    text = (
        "---\n"
        + ASSIGNMENT_HEADER
        + yaml.safe_dump(
            {key: value for key, value in data.items() if value is not None}, sort_keys=True
        )
    )
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    if not dry:
        write_atomically(path, text)
    return True
