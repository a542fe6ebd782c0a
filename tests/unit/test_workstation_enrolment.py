"""Enrolment after provisioning (CLI and Ansible action alike): register and host_vars, dry first."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from storeops.workstation.enrolment import asset_report, register_provisioned
from storeops.workstation.identity import parse_identity
from storeops.workstation.plan import Checked, assignment_for, load_checked, plan_for
from storeops.workstation.register import RegisterError
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO

DAY_ONE, DAY_TWO = dt.date(2026, 12, 1), dt.date(2026, 12, 2)
PROBE = [
    "virt=podman",
    "product_serial=",
    "machine_id=0123456789abcdef0123456789abcdef",
    "addr=eth0 10.77.1.100/24",
    "link=eth0 aa:bb:cc:dd:ee:01",
]


def _checked(root: Path) -> Checked:
    return load_checked(root, VaultPasswords.from_files([REPO / "lab" / "vault-password.txt"]))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "inventory" / "lab", tmp_path / "lab"))


def _report(checked: Checked, owner: str = "wang.fang") -> dict[str, str]:
    plan = plan_for(checked, "sh01-ws01", assignment_for(checked, "sh01-ws01", owner, "sales"))
    return asset_report(plan, parse_identity(PROBE, plan.address))


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.yml"))}


def test_a_dry_enrolment_says_what_would_change_and_writes_nothing(root: Path) -> None:
    before = _files(root)
    checked = _checked(root)
    changed, lines = register_provisioned(checked, _report(checked), DAY_ONE, dry=True)
    assert changed
    assert "asset 0101 would be added" in lines[0] and "would be written" in lines[1]
    assert _files(root) == before


def test_enrolment_registers_once_and_a_rerun_changes_nothing(root: Path) -> None:
    checked = _checked(root)
    assert register_provisioned(checked, _report(checked), DAY_ONE)[0]
    (record,) = yaml.safe_load((root / "assets" / "sh01.yml").read_text())["assets"]
    assert (record["owner"], record["serial_source"], record["mac"]) == (
        "wang.fang", "machine-id", "aa:bb:cc:dd:ee:01",
    )  # fmt: skip
    host_vars = yaml.safe_load((root / "host_vars" / "sh01-ws01" / "workstation.yml").read_text())
    assert (host_vars["workstation_owner"], host_vars["workstation_role"]) == ("wang.fang", "sales")
    after = _files(root)
    checked = _checked(root)
    changed, lines = register_provisioned(checked, _report(checked), DAY_TWO)
    assert not changed and "unchanged" in lines[0] and "unchanged" in lines[1]
    assert _files(root) == after  # same provisioning date, no duplicate


def test_a_serial_registered_in_another_store_is_refused(root: Path) -> None:
    checked = _checked(root)
    register_provisioned(checked, _report(checked), DAY_ONE)
    elsewhere = dict(_report(checked), store="hz01", host="hz01-ws01", asset_tag="0201")
    with pytest.raises(RegisterError, match="already asset 0101 of store sh01"):
        register_provisioned(_checked(root), elsewhere, DAY_ONE)
