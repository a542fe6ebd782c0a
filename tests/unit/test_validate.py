"""The validator, one bad fixture per rule: each must report exactly its expected errors.

Fixtures: tests/fixtures/inventories/good/ is a complete, valid inventory; each folder in
tests/fixtures/inventories/bad/ holds only the files that differ from it (plus DELETE, a list
of files to remove) and expected.txt, the exact report, one `file: field: message` per line
(paths relative to the inventory).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storeops.validate import summary, validate
from storeops.yamlfiles import VaultPasswords
from tests.conftest import (
    BAD_INVENTORIES,
    FIXTURE_ROLES,
    FIXTURE_VAULT_PASSWORD,
    build_inventory,
)

BAD_CASES = sorted(p.name for p in BAD_INVENTORIES.iterdir() if p.is_dir())


def _report(inventory: Path, passwords: VaultPasswords | None = None) -> list[str]:
    passwords = passwords or VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    raw = validate(inventory, passwords, FIXTURE_ROLES)
    return [issue.render(raw.root) for issue in raw.issues]


def test_good_inventory_has_no_issue(good_inventory: Path) -> None:
    assert _report(good_inventory) == []


def test_good_inventory_summary(good_inventory: Path) -> None:
    raw = validate(
        good_inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), FIXTURE_ROLES
    )
    assert summary(raw) == (
        "inventory inventory OK: 2 stores (aa01, bb01; pilot aa01), "
        "5 hosts (2 dms, 2 db, 1 backup, 1 workstation)"
    )


def test_every_bad_fixture_has_an_expected_report() -> None:
    assert len(BAD_CASES) >= 25
    for case in BAD_CASES:
        assert (BAD_INVENTORIES / case / "expected.txt").is_file(), case


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_inventory_reports_exactly_its_errors(case: str, tmp_path: Path) -> None:
    overlay = BAD_INVENTORIES / case
    inventory = build_inventory(tmp_path / "inventory", overlay)
    expected = (overlay / "expected.txt").read_text().splitlines()
    assert _report(inventory) == expected


def test_wrong_vault_password_names_each_encrypted_file(
    good_inventory: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    report = _report(good_inventory, VaultPasswords.from_files([wrong]))
    assert len(report) == 1
    assert report[0].startswith(
        "group_vars/all/vault.yml: cannot decrypt with the given vault password"
    )


def test_no_vault_password_is_an_error_not_a_pass(good_inventory: Path) -> None:
    report = _report(good_inventory, VaultPasswords())
    assert report[0].startswith(
        "group_vars/all/vault.yml: file is vault-encrypted and no vault password"
    )


def test_missing_inventory_directory(tmp_path: Path) -> None:
    raw = validate(tmp_path / "nowhere", VaultPasswords(), FIXTURE_ROLES)
    assert [issue.message for issue in raw.issues] == ["is not an inventory directory"]
