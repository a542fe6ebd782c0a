"""Availability per store-local day, incidents and a month's totals, with exact numbers."""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storeops.availability import (
    DayAvailability,
    daily_availability,
    day_edges,
    expected_samples,
    incidents,
    local_day_bounds,
    month_availability,
    month_bounds,
    month_days,
)
from storeops.history import Sample

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIVE = timedelta(minutes=5)


def day_of_samples(
    day: date, timezone: str, failed: Collection[int] = (), store: str = "sh01"
) -> list[Sample]:
    """Every 5-minute sample of a store-local day; the ones numbered in ``failed`` fail."""
    start, end = local_day_bounds(day, timezone)
    count = (end - start) // FIVE
    return [
        Sample(start + n * FIVE, store, n not in failed, None if n in failed else 8.0, f"down {n}")
        for n in range(count)
    ]


def test_three_failed_samples_of_288_in_a_day() -> None:
    [day] = daily_availability(
        day_of_samples(date(2026, 3, 2), "Asia/Shanghai", {10, 11, 200}),
        "Asia/Shanghai",
        [date(2026, 3, 2)],
    )
    assert (day.expected, day.taken, day.failed) == (288, 288, 3)
    assert day.availability == pytest.approx(98.958333333, abs=1e-9)
    assert day.availability == 285 * 100 / 288
    assert day.coverage == 100.0


def test_a_day_without_samples_is_no_data_never_100() -> None:
    [day] = daily_availability([], "Asia/Shanghai", [date(2026, 3, 2)])
    assert day == DayAvailability(day=date(2026, 3, 2), expected=288, taken=0, failed=0)
    assert day.availability is None
    assert day.coverage == 0.0


def test_half_a_day_sampled_has_half_the_coverage() -> None:
    samples = day_of_samples(date(2026, 3, 2), "Asia/Shanghai")[:144]
    [day] = daily_availability(samples, "Asia/Shanghai", [date(2026, 3, 2)])
    assert (day.availability, day.coverage) == (100.0, 50.0)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 3, 30), 24)],
)
def test_a_dst_day_in_berlin_expects_its_own_length(day: date, hours: int) -> None:
    assert expected_samples(day, "Europe/Berlin") == hours * 12
    samples = day_of_samples(day, "Europe/Berlin", {0})
    [found] = daily_availability(samples, "Europe/Berlin", [day])
    assert (found.expected, found.taken, found.failed) == (hours * 12, hours * 12, 1)
    assert found.availability == (hours * 12 - 1) * 100 / (hours * 12)
    assert found.coverage == 100.0


def test_samples_fall_on_the_store_local_day_not_the_utc_day() -> None:
    # 2026-03-01 20:00 UTC is 04:00 on 2 March in Shanghai
    sample = Sample(datetime(2026, 3, 1, 20, 0, tzinfo=UTC), "sh01", False, None, "timeout")
    first, second = daily_availability(
        [sample], "Asia/Shanghai", [date(2026, 3, 1), date(2026, 3, 2)]
    )
    assert (first.taken, second.taken, second.failed) == (0, 1, 1)
    assert (first.availability, second.availability) == (None, 0.0)


def test_an_incident_across_midnight() -> None:
    local = [datetime(2026, 3, 2, 23, 45, tzinfo=SHANGHAI) + n * FIVE for n in range(7)]
    oks = [True, False, False, False, False, True, True]  # 23:50 .. 00:05 fail
    samples = [
        Sample(at, "sh01", ok, None, f"HTTP 503 at {at:%H:%M}")
        for at, ok in zip(local, oks, strict=True)
    ]
    [incident] = incidents(samples)
    assert incident.start == datetime(2026, 3, 2, 15, 50, tzinfo=UTC)
    assert incident.end == datetime(2026, 3, 2, 16, 10, tzinfo=UTC)
    assert incident.time_to_recover == incident.duration == timedelta(minutes=20)
    assert (incident.failed_samples, incident.reason) == (4, "HTTP 503 at 23:50")
    assert not incident.is_open
    first, second = daily_availability(
        samples, "Asia/Shanghai", [date(2026, 3, 2), date(2026, 3, 3)]
    )
    assert (first.taken, first.failed, second.taken, second.failed) == (3, 2, 4, 2)


def test_samples_in_the_wrong_order_give_the_same_incidents() -> None:
    samples = day_of_samples(date(2026, 3, 2), "Asia/Shanghai", {5, 6, 7, 100})
    shuffled = samples[:]
    random.Random(20).shuffle(shuffled)
    assert incidents(shuffled) == incidents(samples)
    first, second = incidents(shuffled)
    assert (first.failed_samples, first.time_to_recover) == (3, timedelta(minutes=15))
    assert (second.failed_samples, second.time_to_recover) == (1, timedelta(minutes=5))
    assert first.reason == "down 5"


def test_an_incident_still_failing_is_open_without_a_time_to_recover() -> None:
    samples = day_of_samples(date(2026, 3, 2), "Asia/Shanghai", set(range(280, 288)))
    [incident] = incidents(samples)
    assert incident.is_open and incident.end is None and incident.time_to_recover is None
    assert incident.duration == 7 * FIVE
    assert incident.failed_samples == 8


def test_incidents_are_per_store_when_stores_interleave() -> None:
    sh = day_of_samples(date(2026, 3, 2), "Asia/Shanghai", {3}, store="sh01")
    bj = day_of_samples(date(2026, 3, 2), "Asia/Shanghai", {4}, store="bj01")
    found = incidents([s for pair in zip(sh, bj, strict=True) for s in pair])
    assert [(i.store, i.failed_samples, i.time_to_recover) for i in found] == [
        ("sh01", 1, FIVE),
        ("bj01", 1, FIVE),
    ]


def test_a_month_with_no_samples_is_no_data() -> None:
    month = month_availability([], "sh01", "Asia/Shanghai", 2026, 2)
    assert len(month.days) == 28
    assert month.availability is None
    assert all(day.availability is None for day in month.days)
    assert (month.expected, month.taken, month.coverage) == (28 * 288, 0, 0.0)
    assert month.incidents == ()
    assert month.mean_time_to_recover is None and month.longest_time_to_recover is None


def test_a_month_totals_and_time_to_recover() -> None:
    samples = [
        *day_of_samples(date(2026, 3, 2), "Asia/Shanghai", {10, 11, 200}),  # 10 min, 5 min
        *day_of_samples(date(2026, 3, 3), "Asia/Shanghai", set(range(50, 56))),  # 30 min
        *day_of_samples(date(2026, 3, 2), "Asia/Shanghai", {1}, store="bj01"),  # not sh01
        Sample(datetime(2026, 2, 28, 12, tzinfo=SHANGHAI), "sh01", False, None, "february"),
    ]
    month = month_availability(samples, "sh01", "Asia/Shanghai", 2026, 3)
    assert (month.taken, month.failed, month.expected) == (576, 9, 31 * 288)
    assert month.availability == 567 * 100 / 576
    assert month.coverage == 576 * 100 / (31 * 288)
    assert [i.time_to_recover for i in month.incidents] == [
        timedelta(minutes=10),
        timedelta(minutes=5),
        timedelta(minutes=30),
    ]
    assert month.mean_time_to_recover == timedelta(minutes=15)
    assert month.longest_time_to_recover == timedelta(minutes=30)
    days = {day.day: day for day in month.days}
    assert days[date(2026, 3, 2)].availability == 285 * 100 / 288
    assert days[date(2026, 3, 3)].availability == 282 * 100 / 288
    assert days[date(2026, 3, 4)].availability is None


def test_month_bounds_are_store_local() -> None:
    start, end = month_bounds(2026, 3, "Asia/Shanghai")
    assert start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert end == datetime(2026, 3, 31, 16, tzinfo=UTC)
    start, end = month_bounds(2026, 12, "Europe/Berlin")
    assert (start, end) == (
        datetime(2026, 11, 30, 23, tzinfo=UTC),
        datetime(2026, 12, 31, 23, tzinfo=UTC),
    )


def test_day_edges_follow_the_store_local_days_across_dst() -> None:
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]  # Berlin: 29th is 23 h
    edges = day_edges(days, "Europe/Berlin")
    assert edges == [
        datetime(2026, 3, 27, 23, tzinfo=UTC),
        datetime(2026, 3, 28, 23, tzinfo=UTC),
        datetime(2026, 3, 29, 22, tzinfo=UTC),
        datetime(2026, 3, 30, 22, tzinfo=UTC),
    ]
    whole = day_edges(month_days(2026, 3), "Europe/Berlin")
    assert (len(whole), (whole[0], whole[-1])) == (32, month_bounds(2026, 3, "Europe/Berlin"))


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "Europe/Berlin"])
def test_the_one_pass_month_agrees_with_the_days_and_incidents_counted_apart(
    timezone: str,
) -> None:
    """month_availability (one pass) against daily_availability + incidents on random samples
    in any order, with other stores' and other months' samples mixed in."""
    rng = random.Random(timezone)
    samples = []
    for day in month_days(2026, 3):
        failed = {n for n in range(300) if rng.random() < 0.05}
        kept = [s for s in day_of_samples(day, timezone, failed) if rng.random() < 0.9]
        samples += kept + day_of_samples(day, timezone, {1, 2}, store="bj01")[:5]
    samples += day_of_samples(date(2026, 4, 1), timezone, {0})
    rng.shuffle(samples)
    month = month_availability(samples, "sh01", timezone, 2026, 3)
    start, end = month_bounds(2026, 3, timezone)
    mine = [s for s in samples if s.store == "sh01" and start <= s.at < end]
    assert list(month.days) == daily_availability(mine, timezone, month_days(2026, 3))
    assert list(month.incidents) == incidents(mine)
    assert month.failed == sum(not s.ok for s in mine) > 0
    assert len(month.incidents) > 10


def test_a_naive_sample_time_is_refused() -> None:
    naive = Sample(datetime(2026, 3, 2, 12), "sh01", True, 1.0, "")
    with pytest.raises(TypeError):
        month_availability([naive], "sh01", "Asia/Shanghai", 2026, 3)
