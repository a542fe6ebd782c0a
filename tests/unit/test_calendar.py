"""The maintenance calendar: windows across midnight, timezones, blackout dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from storeops.calendar import decide, decide_with_test_clock, next_opening, ticking_clock
from storeops.schema import Store

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def make_store(**overrides: Any) -> Store:
    data: dict[str, Any] = {
        "code": "sh01",
        "name": "Pudong",
        "city": "Shanghai",
        "timezone": "Asia/Shanghai",
        "maintenance_window": {
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "22:00",
            "end": "06:00",
        },
        "blackout_dates": [
            "2026-11-11",
            {"from": "2026-11-28", "to": "2026-12-02", "reason": "month-end closing"},
        ],
        "network": "10.1.0.0/24",
        "zones": {"servers": {"vlan": 20, "subnet": "10.1.0.0/27"}},
        "dms_target_version": "3.1.0",
    }
    data.update(overrides)
    return Store.model_validate(data)


def at(text: str) -> dt.datetime:
    """A Shanghai wall-clock time, e.g. 'Wed 2026-11-25 23:30'."""
    return dt.datetime.strptime(text[4:], "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("Wed 2026-11-25 22:00", True),  # opens on the minute
        ("Wed 2026-11-25 23:59", True),
        ("Thu 2026-11-26 05:59", True),  # after midnight, window opened Wednesday
        ("Thu 2026-11-26 06:00", False),  # closes on the minute
        ("Wed 2026-11-25 21:59", False),
        ("Wed 2026-11-25 12:00", False),  # business hours
        ("Sat 2026-11-21 02:00", True),  # opened Friday night, runs into Saturday
        ("Sat 2026-11-21 22:30", False),  # no window opens on Saturday
        ("Mon 2026-11-23 03:00", False),  # Sunday opened nothing
    ],
)
def test_window_across_midnight(moment: str, is_open: bool) -> None:
    assert decide(make_store(), at(moment)).open is is_open


def test_decision_is_made_in_the_store_timezone() -> None:
    store = make_store(timezone="Asia/Urumqi")  # UTC+6: 22:00 there is 00:00 in Shanghai
    assert decide(store, at("Wed 2026-11-25 23:30")).open is False
    assert decide(store, at("Thu 2026-11-26 00:30")).open is True
    utc = dt.datetime(2026, 11, 25, 16, 30, tzinfo=dt.UTC)  # 22:30 in Urumqi
    decision = decide(store, utc)
    assert decision.open is True
    assert decision.local_now.isoformat() == "2026-11-25T22:30:00+06:00"


def test_single_blackout_date_closes_the_whole_day() -> None:
    decision = decide(make_store(), at("Wed 2026-11-11 23:00"))
    assert decision.open is False
    assert decision.reason == "2026-11-11 is a blackout date"


def test_blackout_cancels_the_morning_part_of_a_window_opened_that_day() -> None:
    decision = decide(make_store(), at("Thu 2026-11-12 02:00"))  # window opened on the 11th
    assert decision.open is False
    assert "window opened on a blackout date" in decision.reason


def test_blackout_range_with_reason() -> None:
    decision = decide(make_store(), at("Mon 2026-11-30 23:00"))
    assert decision.open is False
    assert decision.reason == "2026-11-30 is a blackout date (month-end closing)"
    assert decision.opens_at is not None
    assert decision.opens_at.isoformat() == "2026-12-03T22:00:00+08:00"


def test_next_opening_skips_days_without_a_window() -> None:
    opening = next_opening(make_store(), at("Sat 2026-11-21 10:00"))
    assert opening is not None
    assert opening.isoformat() == "2026-11-23T22:00:00+08:00"


def test_whole_day_window_with_2400_end() -> None:
    store = make_store(maintenance_window={"days": ["sun"], "start": "00:00", "end": "24:00"})
    assert decide(store, at("Sun 2026-11-22 00:00")).open is True
    assert decide(store, at("Sun 2026-11-22 23:59")).open is True
    assert decide(store, at("Mon 2026-11-23 00:00")).open is False


def test_open_decision_says_when_it_closes() -> None:
    decision = decide(make_store(), at("Wed 2026-11-25 23:00"))
    assert decision.closes_at is not None
    assert decision.closes_at.isoformat() == "2026-11-26T06:00:00+08:00"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(make_store(), dt.datetime(2026, 11, 25, 23, 0))


# --- the test clock (storeops_now) -------------------------------------------------------


def test_the_test_clock_runs_on_from_the_run_start() -> None:
    given = dt.datetime(2026, 11, 25, 5, 59, tzinfo=SHANGHAI)
    started = dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)
    later = started + dt.timedelta(minutes=3)
    assert ticking_clock(given, started, later) == given + dt.timedelta(minutes=3)
    assert ticking_clock(given, started, started - dt.timedelta(seconds=1)) == given


def test_a_test_clock_cannot_open_a_closed_window_in_a_run_that_changes_stores() -> None:
    store = make_store()  # mon-fri 22:00-06:00
    real_closed = dt.datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)
    pretended_open = dt.datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI)
    decision = decide_with_test_clock(store, real_closed, pretended_open, changes=True)
    assert not decision.open
    assert decision.reason.startswith("outside the maintenance window")
    assert "at the real time 2026-11-25T12:00:00+08:00" in decision.reason
    assert "can close a window, never open one" in decision.reason
    # check mode (nothing changes): "would the run go at 23:00?" is answered for 23:00
    assert decide_with_test_clock(store, real_closed, pretended_open, changes=False).open


def test_a_test_clock_can_close_an_open_window() -> None:
    store = make_store()
    real_open = dt.datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI)
    pretended_closed = dt.datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)
    assert not decide_with_test_clock(store, real_open, pretended_closed, changes=True).open
    both_open = decide_with_test_clock(store, real_open, real_open, changes=True)
    assert both_open.open
