"""The asset register: one record per asset tag, upsert without duplicates, return, atomic writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from storeops.workstation.register import (
    AssetRegister,
    Change,
    RegisterError,
    read_register_file,
    register_path,
)
from storeops.workstation.schema import AssetRecord, AssetStatus

DAY_ONE = dt.date(2026, 12, 1)
DAY_TWO = dt.date(2026, 12, 2)


def _record(**changes: Any) -> AssetRecord:
    fields: dict[str, Any] = {
        "asset_tag": "0101",
        "store": "sh01",
        "host": "sh01-ws01",
        "hostname": "sh01-sales-0101",
        "serial": "mid-0123456789abcdef",
        "serial_source": "machine-id",
        "model": "container (podman)",
        "mac": "aa:bb:cc:dd:ee:01",
        "owner": "wang.fang",
        "role": "sales",
        "provisioned": DAY_ONE,
    }
    return AssetRecord.model_validate({**fields, **changes})


def _saved(tmp_path: Path, *records: AssetRecord) -> AssetRegister:
    register = AssetRegister.load(tmp_path, "sh01")
    for record in records:
        register.upsert(record)
    register.save()
    return AssetRegister.load(tmp_path, "sh01")


def test_a_store_without_a_file_has_an_empty_register(tmp_path: Path) -> None:
    register = AssetRegister.load(tmp_path, "sh01")
    assert register.records == []
    assert register.path == tmp_path / "assets" / "sh01.yml"


def test_a_new_asset_is_added_and_read_back(tmp_path: Path) -> None:
    register = AssetRegister.load(tmp_path, "sh01")
    assert register.upsert(_record()) is Change.ADDED
    register.save()
    assert AssetRegister.load(tmp_path, "sh01").records == [_record()]


def test_a_rerun_the_next_day_changes_nothing_not_even_the_file(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    before = register.path.stat().st_mtime_ns, register.path.read_text()
    assert register.upsert(_record(provisioned=DAY_TWO)) is Change.UNCHANGED
    register.save()
    assert (register.path.stat().st_mtime_ns, register.path.read_text()) == before
    assert [r.provisioned for r in register.records] == [DAY_ONE]


def test_new_facts_update_the_one_record(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    assert register.upsert(_record(mac="aa:bb:cc:dd:ee:02", provisioned=DAY_TWO)) is Change.UPDATED
    assert len(register.records) == 1
    assert register.records[0].mac == "aa:bb:cc:dd:ee:02"
    assert register.records[0].provisioned == DAY_ONE  # same owner: the first date stays


def test_a_new_owner_starts_a_new_assignment_on_the_same_record(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    register.upsert(_record(owner="li.na", role="finance", provisioned=DAY_TWO))
    assert len(register.records) == 1
    assert (register.records[0].owner, register.records[0].provisioned) == ("li.na", DAY_TWO)


def test_returned_then_returned_again(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    assert register.mark_returned("0101", DAY_TWO) is Change.UPDATED
    assert register.mark_returned("0101", DAY_TWO + dt.timedelta(days=1)) is Change.UNCHANGED
    record = register.records[0]
    assert (record.status, record.returned, record.owner) == (
        AssetStatus.RETURNED,
        DAY_TWO,
        "wang.fang",
    )
    assert register.in_use_on("sh01-ws01") is None


def test_a_returned_asset_provisioned_again_is_in_use_from_that_day(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    register.mark_returned("0101", DAY_TWO)
    third = DAY_TWO + dt.timedelta(days=1)
    register.upsert(_record(provisioned=third))
    record = register.records[0]
    assert (record.status, record.returned, record.provisioned) == (AssetStatus.IN_USE, None, third)


def test_returning_an_unknown_asset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="asset 0999 is not in"):
        AssetRegister.load(tmp_path, "sh01").mark_returned("0999", DAY_ONE)


def test_one_machine_cannot_get_a_second_asset_tag(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    with pytest.raises(RegisterError, match="already asset 0101"):
        register.upsert(_record(asset_tag="0102"))
    assert [r.asset_tag for r in register.records] == ["0101"]


def test_a_record_of_another_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="of store hz01, not sh01"):
        AssetRegister.load(tmp_path, "sh01").upsert(_record(store="hz01"))


def test_the_file_is_sorted_comment_free_and_indented(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record(asset_tag="0200", serial="s2"), _record(serial="s1"))
    text = register.path.read_text()
    assert text.startswith("---\nassets:\n  - asset_tag: '0101'\n")
    assert text.index("'0101'") < text.index("'0200'")
    assert "#" not in text
    for row in yaml.safe_load(text)["assets"]:
        assert list(row) == sorted(row)


def test_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    register = _saved(tmp_path, _record())
    assert sorted(p.name for p in register.path.parent.iterdir()) == ["sh01.yml"]


def test_an_invalid_file_is_reported_by_file_and_field(tmp_path: Path) -> None:
    path = register_path(tmp_path, "sh01")
    path.parent.mkdir()
    path.write_text("---\nassets:\n  - asset_tag: '0101'\n    store: sh01\n")
    records, issues = read_register_file(path)
    assert records == []
    assert f"{path}: assets[0].serial: missing required key" in [str(i) for i in issues]
    with pytest.raises(RegisterError, match=r"assets\[0\]\.host: missing required key"):
        AssetRegister.load(tmp_path, "sh01")
