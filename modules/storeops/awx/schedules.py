"""Each store's maintenance window as AWX schedules: one per store per scheduled job.

AWX takes a schedule as an RFC 5545 string with one ``DTSTART`` (``;TZID=`` a zone, never a
naive time), one or more ``RRULE`` and optional ``EXRULE``, each with ``INTERVAL``; it refuses
``EXDATE`` and ``RDATE`` (AWX's schedule serializer). So:

- ``DTSTART;TZID=<store.timezone>:<the next opening + the job's offset>``, from
  :func:`storeops.calendar.next_opening` (the one window code);
- ``RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=<the window's days>``: the job starts at the same
  local wall time on every opening day, DST included, because AWX (dateutil) expands the
  rule in the store's zone;
- each blackout range as ``EXRULE:FREQ=DAILY;INTERVAL=1;BYMONTH=..;BYMONTHDAY=..;UNTIL=..``,
  one per calendar month it touches: the runs on those days up to the range's last day.
  An EXRULE has no lower bound but DTSTART, so a range is written only when no earlier day
  with the same month and day lies between DTSTART and it (it would cancel that day's run
  too): a range more than a year ahead is *deferred*, listed, and written by a later run of
  the configuration playbook, which regenerates the schedules.

A run on a blackout date, or in a window that opened on one, is cancelled, as
:func:`storeops.calendar.decide` closes both; a job with an offset runs ``offset`` minutes
after the window opened, which may be the next day (BYDAY and the cancelled days shift
with it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from storeops.calendar import LOOKAHEAD_DAYS, describe, next_opening, occurrence
from storeops.schema import Store, Weekday, minutes_of

# RFC 5545 day names, in Python's weekday() order (Weekday is in the same order).
RFC_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# An IANA zone key (the schema checked it is a known zone): nothing else reaches a TZID.
TZID_RE = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")


class ScheduleError(ValueError):
    """A store's window cannot hold a job (an offset past the window's end, no opening)."""


@dataclass(frozen=True)
class ScheduledJob:
    """A job template that runs in every store's window, ``offset`` minutes after it opens."""

    template: str
    playbook: str
    offset: int = 0


# What runs unattended in each store's window. The DMS rollout is not here: it goes pilot
# first through the workflow (a store's own schedule would be held without its pilot).
SCHEDULED_JOBS = (
    ScheduledJob("storeops site converge", "playbooks/site.yml", 0),
    ScheduledJob("storeops patch", "playbooks/patch.yml", 120),
)


@dataclass(frozen=True)
class Schedule:
    """One AWX schedule: the job template it launches, on which store, when."""

    name: str
    template: str
    store: str
    limit: str
    timezone: str
    window: str
    rrule: str
    excluded: tuple[str, ...]  # blackout ranges written as EXRULE
    deferred: tuple[str, ...]  # blackout ranges too far ahead for an EXRULE yet

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "unified_job_template": self.template,
            "store": self.store,
            "limit": self.limit,
            "timezone": self.timezone,
            "window": self.window,
            "rrule": self.rrule,
            "blackouts_excluded": list(self.excluded),
            "blackouts_deferred": list(self.deferred),
        }


def _local_stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _tzid(store: Store) -> str:
    if not TZID_RE.fullmatch(store.timezone):
        raise ScheduleError(f"store {store.code}: {store.timezone!r} is not an IANA zone key")
    return store.timezone


def _by_month(dates: list[dt.date]) -> list[list[dt.date]]:
    """``dates`` (consecutive) cut at each month's end."""
    months: dict[tuple[int, int], list[dt.date]] = {}
    for day in dates:
        months.setdefault((day.year, day.month), []).append(day)
    return list(months.values())


def _cancels_earlier_run(days: list[dt.date], first_run: dt.date) -> bool:
    """Whether a month-day rule for ``days`` would also match a day from ``first_run`` on
    before them (the same month and day of an earlier year)."""
    for day in days:
        for year in range(first_run.year, day.year):
            try:
                if day.replace(year=year) >= first_run:
                    return True
            except ValueError:  # 29 February of a common year
                continue
    return False


def _exclusions(
    store: Store, first_run: dt.datetime, shift: int
) -> tuple[list[str], list[str], list[str]]:
    """(EXRULEs, ranges written, ranges deferred) for the store's blackouts from
    ``first_run`` on; ``shift``: days between a window's opening and the job's run."""
    zone = ZoneInfo(store.timezone)
    rules: list[str] = []
    written: list[str] = []
    deferred: list[str] = []
    for blackout in store.blackout_dates:
        label = f"{blackout.start.isoformat()}..{blackout.end.isoformat()}"
        # runs on a blackout date, and those of a window that opened on one
        runs = [
            blackout.start + dt.timedelta(days=offset)
            for offset in range((blackout.end - blackout.start).days + 1 + shift)
        ]
        runs = [day for day in runs if day >= first_run.date()]
        if not runs:
            continue
        months = _by_month(runs)
        if any(_cancels_earlier_run(days, first_run.date()) for days in months):
            deferred.append(label)
            continue
        for days in months:
            last = dt.datetime.combine(days[-1], dt.time(23, 59, 59), tzinfo=zone)
            monthdays = ",".join(str(day.day) for day in days)
            rules.append(
                f"EXRULE:FREQ=DAILY;INTERVAL=1;BYMONTH={days[0].month};BYMONTHDAY={monthdays};"
                f"UNTIL={_utc_stamp(last)}"
            )
        written.append(label)
    return rules, written, deferred


def job_rrule(store: Store, job: ScheduledJob, after: dt.datetime) -> Schedule:
    """The schedule of ``job`` on ``store``: its first run the first opening after ``after``."""
    window = store.maintenance_window
    tzid = _tzid(store)  # before the zone is looked up
    opening = next_opening(store, after)
    if opening is None:
        raise ScheduleError(
            f"store {store.code}: no window opens in the {LOOKAHEAD_DAYS} days after {after}"
        )
    start, end = occurrence(window, opening.date(), ZoneInfo(store.timezone))
    if job.offset >= (end - start).total_seconds() / 60:
        raise ScheduleError(
            f"store {store.code}: {job.template} starts {job.offset} min after the window "
            f"opens, past its end ({describe(window)})"
        )
    shift = (minutes_of(window.start) + job.offset) // (24 * 60)
    first_run = start + dt.timedelta(minutes=job.offset)
    run_days = sorted({(list(Weekday).index(day) + shift) % 7 for day in window.days})
    days = ",".join(RFC_DAYS[day] for day in run_days)
    exrules, written, deferred = _exclusions(store, first_run, shift)
    rrule = " ".join(
        [
            f"DTSTART;TZID={tzid}:{_local_stamp(first_run)}",
            f"RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY={days}",
            *exrules,
        ]
    )
    return Schedule(
        name=f"{job.template} {store.code}",
        template=job.template,
        store=store.code,
        limit=f"store_{store.code}",
        timezone=store.timezone,
        window=f"{describe(window)} {store.timezone}",
        rrule=rrule,
        excluded=tuple(written),
        deferred=tuple(deferred),
    )


def schedules(
    stores: dict[str, Store], after: dt.datetime, jobs: tuple[ScheduledJob, ...] = SCHEDULED_JOBS
) -> list[Schedule]:
    """Every scheduled job on every store, by store code then job."""
    return [job_rrule(stores[code], job, after) for code in sorted(stores) for job in jobs]
