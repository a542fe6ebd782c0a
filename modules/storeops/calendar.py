"""The maintenance calendar: is a store open for changes now, in its own timezone?

One calendar for every job that must respect the window (DMS rollouts, OS patching).
A window opens on each of its ``days`` at ``start`` and closes at ``end``; when ``end`` is
not after ``start`` the window runs past midnight (22:00-06:00 opened on Friday closes on
Saturday morning). A blackout date closes the store all day, and it also cancels a window
that *opened* on that date (the morning part after midnight included), so "no changes on
the promotion day" holds whatever the hour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from storeops.schema import MaintenanceWindow, Store, Weekday, minutes_of

LOOKAHEAD_DAYS = 60


@dataclass(frozen=True)
class WindowDecision:
    """The answer for one store at one instant, with the reason in words."""

    store: str
    open: bool
    reason: str
    local_now: dt.datetime
    closes_at: dt.datetime | None = None
    opens_at: dt.datetime | None = None


def _local(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
    return midnight + dt.timedelta(minutes=minutes)


def occurrence(
    window: MaintenanceWindow, day: dt.date, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """The window that opens on ``day``: its start and end as local datetimes."""
    start = minutes_of(window.start)
    end = minutes_of(window.end)
    if end <= start:
        end += 24 * 60
    return _local(day, start, zone), _local(day, end, zone)


def blackout_reason(store: Store, day: dt.date) -> str | None:
    for blackout in store.blackout_dates:
        if blackout.start <= day <= blackout.end:
            label = f" ({blackout.reason})" if blackout.reason else ""
            return f"{day.isoformat()} is a blackout date{label}"
    return None


def _opens_on(window: MaintenanceWindow, day: dt.date) -> bool:
    return Weekday(list(Weekday)[day.weekday()]) in window.days


def describe(window: MaintenanceWindow) -> str:
    days = ",".join(day.value for day in window.days)
    return f"{days} {window.start}-{window.end}"


def next_opening(store: Store, after: dt.datetime) -> dt.datetime | None:
    zone = ZoneInfo(store.timezone)
    local = after.astimezone(zone)
    for offset in range(LOOKAHEAD_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        if not _opens_on(store.maintenance_window, day) or blackout_reason(store, day):
            continue
        start, _end = occurrence(store.maintenance_window, day, zone)
        if start > local:
            return start
    return None


def decide(store: Store, now: dt.datetime) -> WindowDecision:
    """Whether ``store`` may be changed at ``now`` (an aware datetime, any timezone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(store.timezone)
    local = now.astimezone(zone)
    window = store.maintenance_window
    where = f"{describe(window)} {store.timezone}"
    closed_today = blackout_reason(store, local.date())
    if closed_today:
        return WindowDecision(
            store.code, False, closed_today, local, opens_at=next_opening(store, now)
        )
    for offset in (-1, 0):
        day = local.date() + dt.timedelta(days=offset)
        if not _opens_on(window, day):
            continue
        start, end = occurrence(window, day, zone)
        if start <= local < end:
            blackout = blackout_reason(store, day)
            if blackout:
                return WindowDecision(
                    store.code,
                    False,
                    f"window opened on a blackout date: {blackout}",
                    local,
                    opens_at=next_opening(store, now),
                )
            return WindowDecision(
                store.code, True, f"inside the maintenance window ({where})", local, closes_at=end
            )
    return WindowDecision(
        store.code,
        False,
        f"outside the maintenance window ({where})",
        local,
        opens_at=next_opening(store, now),
    )


def ticking_clock(
    given: dt.datetime, run_started: dt.datetime, real_now: dt.datetime
) -> dt.datetime:
    """The instant a test clock shows: ``given`` when the run started, running with real time.

    ``storeops_now`` is when the run "started"; a run that takes ten minutes reaches its
    later waves ten minutes after ``given``, as it would in real life.
    """
    if given.tzinfo is None or run_started.tzinfo is None or real_now.tzinfo is None:
        raise ValueError("the clocks must be timezone-aware")
    return given + max(real_now - run_started, dt.timedelta(0))


def decide_with_test_clock(
    store: Store, real_now: dt.datetime, test_now: dt.datetime, *, changes: bool
) -> WindowDecision:
    """The decision when a test clock (``storeops_now``) is given.

    A run that changes nothing (check mode) is asked about ``test_now`` alone: "would the
    run go at 23:00 tonight?". A run that changes stores is open only if the store is open
    both at ``test_now`` and at the real time: a test clock can close a window, never open
    one, so it cannot be used to slip past the window; that takes an override reason,
    which is shown and audited.
    """
    pretended = decide(store, test_now)
    if not changes or not pretended.open:
        return pretended
    real = decide(store, real_now)
    if real.open:
        return pretended
    return WindowDecision(
        store.code,
        False,
        f"{real.reason} at the real time {real.local_now.isoformat(timespec='seconds')}"
        f" (storeops_now={test_now.isoformat(timespec='seconds')} can close a window,"
        " never open one)",
        real.local_now,
        opens_at=real.opens_at,
    )
