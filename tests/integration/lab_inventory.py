"""Private copies of the lab inventory for tests that change a store's window or target."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import REPO

LAB_KEY = "signing_key: ../../lab/dms/signing-key.pub"


def copy_lab_inventory(tmp_path: Path) -> Path:
    """A copy of inventory/lab; its portal key path still points at the lab's key."""
    target = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "lab", target)
    catalog = target / "group_vars" / "all" / "dms_catalog.yml"
    text = catalog.read_text()
    assert LAB_KEY in text
    catalog.write_text(
        text.replace(LAB_KEY, f"signing_key: {REPO / 'lab' / 'dms' / 'signing-key.pub'}")
    )
    return target


def _edit_store(inventory: Path, store: str, old: str, new: str) -> None:
    path = inventory / "group_vars" / f"store_{store}" / "store.yml"
    text = path.read_text()
    assert old in text, f"{path}: no {old!r}"
    path.write_text(text.replace(old, new))


def set_window(inventory: Path, store: str, start: str, end: str) -> None:
    _edit_store(inventory, store, 'start: "00:00"', f'start: "{start}"')
    _edit_store(inventory, store, 'end: "24:00"', f'end: "{end}"')


def set_blackout(inventory: Path, store: str, day: str) -> None:
    _edit_store(inventory, store, "blackout_dates: []", f"blackout_dates: [{day}]")


def set_target(inventory: Path, store: str, version: str) -> None:
    path = inventory / "group_vars" / f"store_{store}" / "store.yml"
    lines = path.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip().startswith("dms_target_version:")]
    assert len(hits) == 1, f"{path}: dms_target_version not found once"
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]] = f'{indent}dms_target_version: "{version}"\n'
    path.write_text("".join(lines))
