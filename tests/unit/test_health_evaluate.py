"""storeops.health.evaluate: a host probe's facts in, the health rows out.

One JSON fixture per case (tests/fixtures/health/cases/): a patch over a converged db host's
real probe output (tests/fixtures/health/converged-db-host.json, read from the lab) and the
rows it must turn amber or red, with the reason. Every other row must stay green: a broken
thing shows exactly where it is.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from storeops.health.evaluate import Row, certificate_row, device_rows, dms_rows, host_rows
from storeops.health.gather import DmsFacts, HostFacts, HttpAnswer
from storeops.health.targets import HostTarget, SshTarget, StoreTarget
from storeops.monitoring import Status, worst
from storeops.schema import HealthSettings, Role
from tests.conftest import FIXTURES

HEALTH = FIXTURES / "health"
CASES = sorted((HEALTH / "cases").glob("*.json"))
NOW = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
SETTINGS = HealthSettings()
DB_HOST = HostTarget(
    name="sh01-db",
    store="sh01",
    roles=(Role.DB,),
    ssh=SshTarget("10.77.1.41"),
    probe={"firewall": {"family": "inet", "table": "storeops"}},
    backup_max_age_hours=26,
)
STORE = StoreTarget("sh01", "Pudong", "3.2.0", "http://10.77.1.40:8080", "sh01-dms")


def merged(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        result = copy.deepcopy(base)
        for key, value in patch.items():
            result[key] = merged(base.get(key), value)
        return result
    return copy.deepcopy(patch)


def converged() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((HEALTH / "converged-db-host.json").read_text())
    return facts


def rows_for(facts: dict[str, Any], previous_dropped: float | None = None) -> list[Row]:
    return host_rows(DB_HOST, HostFacts("sh01-db", facts), SETTINGS, NOW, previous_dropped)


def test_a_converged_host_is_green_on_every_check() -> None:
    rows = rows_for(converged())
    assert [(row.check, row.status) for row in rows if row.status is not Status.OK] == []
    assert {row.check for row in rows} == {
        "disk", "inodes", "failed units", "time sync", "security updates", "reboot",
        "firewall", "backup", "restic check", "restore drill",
    }  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_one_broken_thing_turns_exactly_its_rows(case: Path) -> None:
    spec = json.loads(case.read_text())
    rows = rows_for(merged(converged(), spec["patch"]))
    not_green = {row.check: row for row in rows if row.status is not Status.OK}
    assert sorted(not_green) == sorted(expected["check"] for expected in spec["rows"])
    for expected in spec["rows"]:
        row = not_green[expected["check"]]
        assert row.status == Status(expected["status"]), row
        assert expected["reason"] in row.reason, row


def test_an_unreachable_host_is_one_red_row_with_the_reason() -> None:
    read = HostFacts("sh01-db", error="ssh: connect to host 10.77.1.41 port 22: No route to host")
    rows = host_rows(DB_HOST, read, SETTINGS, NOW)
    assert [(r.check, r.status, r.reason) for r in rows] == [
        ("reachable", Status.CRITICAL, read.error)
    ]


def test_the_dropped_counter_growth_since_the_last_check() -> None:
    facts = merged(converged(), {"firewall": {"dropped_packets": 57}})
    (row,) = [r for r in rows_for(facts, previous_dropped=50.0) if r.check == "firewall"]
    assert "57 dropped (+7 since the last check)" in row.value
    assert row.metric == 57
    (reset,) = [r for r in rows_for(facts, previous_dropped=90.0) if r.check == "firewall"]
    assert "(+57 since the last check)" in reset.value  # the table was reloaded


def answer(status: int | None, body: dict[str, Any] | None = None, error: str = "") -> HttpAnswer:
    return HttpAnswer("http://10.77.1.40:8080/health", status, body or {}, error)


@pytest.mark.parametrize(
    ("health", "smoke", "expected"),
    [
        (
            answer(200, {"version": "3.2.0", "db": "ok"}),
            answer(404),
            {"dms": Status.OK, "database": Status.OK, "dms smoke": Status.OK},
        ),
        (
            answer(200, {"version": "3.1.0", "db": "ok"}),
            answer(404),
            {"dms": Status.WARNING, "database": Status.OK, "dms smoke": Status.OK},
        ),
        (
            answer(503, {"version": "3.2.0", "db": "error", "reason": "database unreachable"}),
            answer(500),
            {"dms": Status.CRITICAL, "database": Status.CRITICAL, "dms smoke": Status.CRITICAL},
        ),
        (
            answer(None, error="Connection refused"),
            None,
            {"dms": Status.CRITICAL, "database": Status.UNKNOWN},
        ),
    ],
    ids=["healthy", "behind-its-target", "database-down", "no-answer"],
)
def test_the_dms_rows(
    health: HttpAnswer, smoke: HttpAnswer | None, expected: dict[str, Status]
) -> None:
    rows = dms_rows(STORE, DmsFacts("sh01", health, smoke), SETTINGS)
    assert {row.check: row.status for row in rows} == expected
    assert all(row.host == "sh01-dms" for row in rows)
    assert all(row.reason for row in rows if row.status is not Status.OK)


def test_certificates_expiring_within_the_warning_days() -> None:
    def status(days: float) -> Status:
        expiry = NOW + dt.timedelta(days=days)
        return certificate_row("sh01", "CA", expiry, error="", settings=SETTINGS, now=NOW).status

    assert (status(400), status(29), status(-1)) == (Status.OK, Status.WARNING, Status.CRITICAL)
    unread = certificate_row("sh01", "CA", None, error="bad PEM", settings=SETTINGS, now=NOW)
    assert (unread.status, unread.reason) == (Status.UNKNOWN, "bad PEM")


def test_device_rows() -> None:
    from storeops.health.devices import DeviceFacts

    down = DeviceFacts("sh01-sw01", "sh01", "cisco_ios", reachable=False, error="timed out")
    assert [(r.check, r.status) for r in device_rows(down)] == [("device", Status.CRITICAL)]
    drifted = DeviceFacts(
        "sh01-sw01",
        "sh01",
        "cisco_ios",
        reachable=True,
        remediation=("interface Vlan20", " no shutdown"),
        backup_changes=("- hostname sw01", "+ hostname sw01-old"),
        backup_at=NOW,
    )
    assert {r.check: r.status for r in device_rows(drifted)} == {
        "device": Status.OK,
        "config drift": Status.WARNING,
        "backup drift": Status.WARNING,
    }
    clean = DeviceFacts("sh01-sw01", "sh01", "cisco_ios", reachable=True, backup_changes=())
    assert worst(r.status for r in device_rows(clean)) is Status.OK


def test_worst_status_orders_like_monitoring_servers() -> None:
    assert worst([Status.OK, Status.WARNING, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.CRITICAL]) is Status.CRITICAL
    assert worst([]) is Status.OK
    assert [s.exit_code for s in Status] == [0, 1, 2, 3]


def test_settings_refuse_a_critical_threshold_above_the_warning_one() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="disk_free_critical_percent"):
        HealthSettings(disk_free_warning_percent=10, disk_free_critical_percent=15)
    with pytest.raises(ValidationError):
        HealthSettings(roles=[])
