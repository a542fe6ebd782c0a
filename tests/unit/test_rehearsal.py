"""The lab's rehearsal copies: a copy of inventory/lab validates as it is."""

from __future__ import annotations

from pathlib import Path

from storeops.validate import validate
from storeops.yamlfiles import VaultPasswords
from storeops_lab.rehearsal import copy_lab_inventory

REPO = Path(__file__).resolve().parents[2]


def test_a_copy_of_the_lab_inventory_validates(tmp_path: Path) -> None:
    copy = copy_lab_inventory(tmp_path)
    passwords = VaultPasswords.from_files([REPO / "lab" / "vault-password.txt"])
    assert validate(copy, passwords).issues == []
    key = (copy / "files" / "lab-dms-signing-key.pub").read_bytes()
    assert key == (REPO / "lab" / "dms" / "signing-key.pub").read_bytes()
