"""The controller's history: rows round-trip in UTC, the newest row, ranges, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import StatementError

from storeops.history import (
    DEFAULT_RETENTION_DAYS,
    CheckName,
    CheckRecord,
    History,
    Sample,
    Status,
    retention_cutoff,
)

SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History.open(URL.create("sqlite", database=str(tmp_path / "state" / "h.sqlite")))


def check(at: datetime, status: Status = Status.OK, **overrides: object) -> CheckRecord:
    values: dict[str, object] = {
        "at": at,
        "run_id": "run-1",
        "store": "sh01",
        "host": "sh01-dms",
        "check": CheckName.BACKUP,
        "status": status,
        "value": "6 h",
        "reason": "",
        "metric": 6.0,
    }
    values.update(overrides)
    return CheckRecord(**values)  # type: ignore[arg-type]


def test_tables_and_indexes_are_created_on_first_use(history: History) -> None:
    found = inspect(history.engine)
    assert {"health_checks", "dms_samples"} <= set(found.get_table_names())
    sample_indexes = {tuple(i["column_names"]) for i in found.get_indexes("dms_samples")}
    assert ("store", "at") in sample_indexes
    check_indexes = {tuple(i["column_names"]) for i in found.get_indexes("health_checks")}
    assert ("store", "host", "check_name", "at") in check_indexes


def test_a_check_round_trips_as_utc(history: History) -> None:
    history.record_checks([check(T0, Status.WARNING, reason="old", metric=30.5)])
    found = history.last_check("sh01", "sh01-dms", CheckName.BACKUP)
    assert found == check(T0.astimezone(UTC), Status.WARNING, reason="old", metric=30.5)
    assert found is not None and found.at.tzinfo is UTC and found.at.hour == 0


def test_last_check_is_the_newest_of_that_host_and_check(history: History) -> None:
    history.record_checks(
        [
            check(T0 + timedelta(days=1), Status.CRITICAL, run_id="run-2"),
            check(T0, run_id="run-1"),
            check(T0 + timedelta(days=2), host="sh01-db", run_id="run-3"),
            check(T0 + timedelta(days=3), check=CheckName.DISK, run_id="run-4"),
        ]
    )
    found = history.last_check("sh01", "sh01-dms", "backup")
    assert found is not None and found.run_id == "run-2" and found.status is Status.CRITICAL
    assert history.last_check("bj01", "sh01-dms", "backup") is None


def test_a_naive_time_is_refused(history: History) -> None:
    with pytest.raises(StatementError, match="naive"):
        history.record_checks([check(datetime(2026, 3, 1, 8, 0))])
    assert history.checks(T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


def test_checks_in_a_range_start_inclusive_end_exclusive_per_store(history: History) -> None:
    history.record_checks(
        [
            check(T0 - timedelta(seconds=1), run_id="before"),
            check(T0, run_id="first"),
            check(T0 + timedelta(hours=1), store="bj01", run_id="other"),
            check(T0 + timedelta(days=1), run_id="end"),
        ]
    )
    every = history.checks(T0, T0 + timedelta(days=1))
    assert [c.run_id for c in every] == ["first", "other"]
    assert [c.run_id for c in history.checks(T0, T0 + timedelta(days=2), "sh01")] == [
        "first",
        "end",
    ]


def test_samples_round_trip_with_the_newest_last(history: History) -> None:
    samples = [
        Sample(T0 + timedelta(minutes=5 * n), "sh01", n != 1, None if n == 1 else 12.5, "")
        for n in range(3)
    ]
    history.record_samples(reversed(samples))
    history.record_sample(Sample(T0, "bj01", True, 3.0, ""))
    found = history.samples(T0, T0 + timedelta(hours=1), "sh01")
    assert [(s.at, s.ok, s.latency_ms) for s in found] == [
        (s.at.astimezone(UTC), s.ok, s.latency_ms) for s in samples
    ]
    assert len(history.samples(T0, T0 + timedelta(hours=1))) == 4
    assert history.last_sample("sh01") == Sample(
        (T0 + timedelta(minutes=10)).astimezone(UTC), "sh01", True, 12.5, ""
    )
    assert history.last_sample("gz01") is None


def test_sub_second_times_are_kept(history: History) -> None:
    moment = T0 + timedelta(microseconds=123456)
    history.record_sample(Sample(moment, "sh01", True, 1.0, ""))
    assert history.samples(T0, T0 + timedelta(seconds=1))[0].at == moment


def test_prune_removes_what_is_older_than_the_retention(history: History) -> None:
    now = datetime(2027, 4, 1, tzinfo=UTC)
    cutoff = retention_cutoff(now)
    assert cutoff == now - timedelta(days=DEFAULT_RETENTION_DAYS)
    history.record_samples(
        [
            Sample(cutoff - timedelta(minutes=5), "sh01", True, 1.0, ""),
            Sample(cutoff, "sh01", True, 1.0, ""),
        ]
    )
    history.record_checks([check(cutoff - timedelta(days=1)), check(cutoff + timedelta(days=1))])
    assert history.prune(cutoff) == 2
    assert [s.at for s in history.samples(cutoff - timedelta(days=2), now)] == [cutoff]
    assert len(history.checks(cutoff - timedelta(days=2), now)) == 1
    assert history.prune(cutoff) == 0


def test_reopening_keeps_the_rows(tmp_path: Path) -> None:
    url = URL.create("sqlite", database=str(tmp_path / "h.sqlite"))
    first = History.open(url)
    first.record_sample(Sample(T0, "sh01", False, None, "connection refused"))
    first.close()
    again = History.open(url)
    assert again.last_sample("sh01") == Sample(
        T0.astimezone(UTC), "sh01", False, None, "connection refused"
    )
