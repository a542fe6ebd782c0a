"""`storeops validate`: exit codes and what it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from storeops.cli import main
from tests.conftest import (
    BAD_INVENTORIES,
    FIXTURE_ROLES,
    FIXTURE_VAULT_PASSWORD,
    build_inventory,
)


def test_valid_inventory_prints_one_line_and_exits_zero(
    good_inventory: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    status = main(
        ["validate", str(good_inventory), "--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert out.count("\n") == 1
    assert out.startswith("inventory inventory OK: 2 stores")


def test_the_inventory_is_given_with_dash_i_like_every_command(
    good_inventory: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    password = ["--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    assert main(["validate", "-i", str(good_inventory), *password]) == 0
    assert capsys.readouterr().out.startswith("inventory inventory OK: 2 stores")
    assert main(["validate", "-i", str(good_inventory), "elsewhere", *password]) == 2


def test_invalid_inventory_lists_every_error_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    inventory = build_inventory(tmp_path / "inv", BAD_INVENTORIES / "overlapping-subnets")
    status = main(
        ["validate", str(inventory), "--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[0] == f"3 error(s) in inventory {inventory}:"
    assert "group_vars/store_bb01/store.yml: store.network: 192.168.10.128/25 overlaps" in err


def test_missing_password_file_is_a_usage_error(
    good_inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["validate", str(good_inventory), "--vault-password-file", str(tmp_path / "none")]
    )
    assert status == 2
    assert "cannot load the vault password" in capsys.readouterr().err
