"""The validator's workstation rules: the workstation_* variables and the asset register.

Fixtures: tests/fixtures/inventories/workstation/valid/ is an overlay on the good inventory
that assigns aa01-ws01 and registers it (valid); each folder of .../workstation/bad/ is an
overlay on top of that, with expected.txt, the exact report (as in test_validate.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storeops.validate import validate
from storeops.yamlfiles import VaultPasswords
from tests.conftest import (
    FIXTURE_ROLES,
    FIXTURE_VAULT_PASSWORD,
    FIXTURES,
    REPO,
    apply_overlay,
    build_inventory,
)

WORKSTATION_FIXTURES = FIXTURES / "inventories" / "workstation"
VALID = WORKSTATION_FIXTURES / "valid"
BAD = WORKSTATION_FIXTURES / "bad"
LAB_VAULT_PASSWORD = REPO / "lab" / "vault-password.txt"
BAD_CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir())


def _inventory(tmp_path: Path, case: str | None = None) -> Path:
    inventory = build_inventory(tmp_path / "inventory", VALID)
    return apply_overlay(inventory, BAD / case) if case else inventory


def _report(inventory: Path) -> list[str]:
    raw = validate(inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), FIXTURE_ROLES)
    return [issue.render(raw.root) for issue in raw.issues]


def test_assigned_and_registered_workstation_is_valid(tmp_path: Path) -> None:
    assert _report(_inventory(tmp_path)) == []


def test_every_rule_has_a_case() -> None:
    assert len(BAD_CASES) >= 14
    for case in BAD_CASES:
        assert (BAD / case / "expected.txt").read_text().strip(), case


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_workstation_inventory_reports_exactly_its_errors(case: str, tmp_path: Path) -> None:
    expected = (BAD / case / "expected.txt").read_text().splitlines()
    assert _report(_inventory(tmp_path, case)) == expected


def test_settings_are_optional_until_a_workstation_is_assigned(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, "missing-settings")
    (inventory / "host_vars" / "aa01-ws01" / "workstation.yml").write_text(
        '---\nworkstation_asset_tag: "0101"\n'
    )
    (inventory / "assets" / "aa01.yml").unlink()
    assert _report(inventory) == []


def test_the_lab_and_example_inventories_carry_valid_workstation_data() -> None:
    lab = validate(REPO / "inventory/lab", VaultPasswords.from_files([LAB_VAULT_PASSWORD]))
    example_root = REPO / "inventory/example-production"
    example = validate(
        example_root,
        VaultPasswords.from_files([example_root / "EXAMPLE-vault-password.txt"]),
    )
    assert lab.issues == []
    assert example.issues == []


def test_workstation_variables_are_the_schemas_and_stay_in_the_inventory(tmp_path: Path) -> None:
    """The feature registers its variables with the validator: no role declares them, yet they
    are not unknown; beside a playbook they are refused like the core schema's."""
    inventory = _inventory(tmp_path)
    playbooks = tmp_path / "playbooks"
    (playbooks / "group_vars").mkdir(parents=True)
    (playbooks / "site.yml").write_text("---\n- name: A play\n  hosts: all\n  tasks: []\n")
    (playbooks / "group_vars" / "all.yml").write_text("---\nworkstation_admin_user: itadmin\n")
    passwords = VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    raw = validate(inventory, passwords, FIXTURE_ROLES, playbooks=[playbooks / "site.yml"])
    assert [issue.render(tmp_path) for issue in raw.issues] == [
        "playbooks/group_vars/all.yml: workstation_admin_user: belongs in the inventory "
        "(group_vars/all/ or group_vars/store_<code>/): beside a playbook it overrides the "
        "inventory's for every run of the playbook, unchecked"
    ]
