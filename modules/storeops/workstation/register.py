"""The asset register: ``inventory/<group>/assets/<store>.yml``, one file per store.

Each store's file lists its workstations, one record per asset tag (serial, model, MAC,
owner, role, provisioning date, status). ``storeops workstation`` writes it after a
successful run and ``storeops validate`` checks it. Writes are atomic (a temporary file in
the same directory, then ``rename(2)``), the records are sorted by asset tag and their keys
by name, with no comments: the file is the tool's, and a re-run that finds nothing new
leaves it byte for byte as it was.

Ansible does not read this directory as an inventory source (``inventory_ignore_patterns``
in ansible.cfg).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storeops.issues import Issue, issues_from_validation_error
from storeops.workstation.schema import AssetRecord, AssetRegisterFile, AssetStatus
from storeops.yamlfiles import VaultPasswords, YamlProblem, dump_yaml, read_yaml, write_atomically

ASSETS_DIR = "assets"


class RegisterError(Exception):
    """The register cannot be read, or a change would break one of its rules."""


class Change(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def register_path(root: Path, store: str) -> Path:
    return root / ASSETS_DIR / f"{store}.yml"


def register_files(root: Path) -> list[Path]:
    directory = root / ASSETS_DIR
    return sorted(directory.glob("*.yml")) if directory.is_dir() else []


def read_register_file(path: Path) -> tuple[list[AssetRecord], list[Issue]]:
    """The records of one file, or the issues that keep it from being read (file, field)."""
    try:
        data = read_yaml(path, VaultPasswords()).data
    except YamlProblem as problem:
        return [], [Issue(path, "", str(problem))]
    try:
        parsed = AssetRegisterFile.model_validate({} if data is None else data)
    except ValidationError as error:
        return [], issues_from_validation_error(error, {}, path)
    return parsed.assets, []


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _as_yaml(records: list[AssetRecord]) -> str:
    rows = [
        {key: _plain(value) for key, value in record.model_dump(exclude_none=True).items()}
        for record in sorted(records, key=lambda record: record.asset_tag)
    ]
    return dump_yaml({"assets": rows})


@dataclass
class AssetRegister:
    """One store's register in memory; :meth:`save` writes it back."""

    path: Path
    store: str
    records: list[AssetRecord] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path, store: str) -> AssetRegister:
        """The store's register; an empty one if the store has no file yet."""
        path = register_path(root, store)
        if not path.is_file():
            return cls(path, store)
        records, issues = read_register_file(path)
        if issues:
            raise RegisterError("; ".join(str(issue) for issue in issues))
        return cls(path, store, records)

    def find(self, asset_tag: str) -> AssetRecord | None:
        return next((r for r in self.records if r.asset_tag == asset_tag), None)

    def in_use_on(self, host: str) -> AssetRecord | None:
        """The asset currently in use on an inventory host, if any."""
        return next(
            (r for r in self.records if r.host == host and r.status is AssetStatus.IN_USE), None
        )

    def _replace(self, old: AssetRecord | None, new: AssetRecord) -> Change:
        if old == new:
            return Change.UNCHANGED
        self.records = [r for r in self.records if r is not old] + [new]
        return Change.ADDED if old is None else Change.UPDATED

    def upsert(self, record: AssetRecord) -> Change:
        """Add or update the record of ``record.asset_tag``; never a second record for it.

        The same owner on an asset in use keeps its first provisioning date, so a re-run
        changes nothing; a new owner, or an asset back from return, starts a new one.
        """
        if record.store != self.store:
            raise RegisterError(
                f"asset {record.asset_tag} is of store {record.store}, not {self.store}"
            )
        self._refuse_serial_of_another_asset(record)
        old = self.find(record.asset_tag)
        if old is not None and old.status is AssetStatus.IN_USE and old.owner == record.owner:
            record = record.model_copy(update={"provisioned": old.provisioned})
        return self._replace(old, record)

    def _refuse_serial_of_another_asset(self, record: AssetRecord) -> None:
        for other in self.records:
            if other.serial == record.serial and other.asset_tag != record.asset_tag:
                raise RegisterError(
                    f"serial {record.serial} is already asset {other.asset_tag} in {self.path}: "
                    f"one machine, one asset tag (correct workstation_asset_tag of {record.host})"
                )

    def mark_returned(self, asset_tag: str, on: dt.date) -> Change:
        """The asset is back with IT; returning it again changes nothing."""
        old = self.find(asset_tag)
        if old is None:
            raise RegisterError(f"asset {asset_tag} is not in {self.path}")
        if old.status is AssetStatus.RETURNED:
            return Change.UNCHANGED
        returned = old.model_copy(update={"status": AssetStatus.RETURNED, "returned": on})
        return self._replace(old, AssetRecord.model_validate(returned.model_dump()))

    def text(self) -> str:
        return _as_yaml(self.records)

    def save(self) -> None:
        """Write the file atomically; an unchanged register is not rewritten."""
        text = self.text()
        if self.path.is_file() and self.path.read_text(encoding="utf-8") == text:
            return
        write_atomically(self.path, text)


def store_assets(root: Path, store: str) -> list[AssetRecord]:
    """The store's asset records: the monthly report's asset reader (entry point
    ``storeops.report.assets``, so that the report imports no feature)."""
    return AssetRegister.load(root, store).records
