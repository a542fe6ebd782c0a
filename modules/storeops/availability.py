"""Availability and incidents computed from DMS samples (pure functions; run on the controller).

The sampler probes each store's DMS every ``interval`` (5 minutes by default) and records a
``storeops.history.Sample``. From those rows, never typed in:

- **availability per store-local day**: the samples taken that day (the day of the store's
  ``timezone`` from the inventory, 23 or 25 hours long on a DST change), how many failed, how
  many were expected from the interval, and ``availability`` = OK samples / samples taken,
  in %. A day without samples has ``availability`` ``None`` ("no data", never 100%);
  ``coverage`` says how much of the day was sampled (taken / expected, in %, at most 100);
- **incidents**: a run of consecutive failed samples of a store. It starts at the first
  failed sample, ends at the first OK sample after it (``None`` while still failing), and
  its time to recover is ``end - start``. Its reason is the first failed sample's;
- **a month's totals**: availability over every sample of the store-local month, the
  incidents that started in it, and their mean and longest time to recover. An incident
  running at the month's start is seen from the month's first sample (the samples read are
  the month's).

Samples may come in any order; they are sorted by time (and grouped by store) first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from storeops.history import Sample, as_utc

DEFAULT_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class SampleCounts:
    """Samples expected (one per interval), taken and failed over a stretch of time."""

    expected: int
    taken: int
    failed: int

    @property
    def availability(self) -> float | None:
        """OK samples of the samples taken, in %; ``None`` without samples (no data, never 100)."""
        return None if self.taken == 0 else (self.taken - self.failed) * 100 / self.taken

    @property
    def coverage(self) -> float:
        """Samples taken of the samples expected, in % (at most 100; 0 when none expected)."""
        return min(self.taken * 100 / self.expected, 100.0) if self.expected else 0.0


@dataclass(frozen=True, kw_only=True)
class DayAvailability(SampleCounts):
    """One store-local day of one store's samples."""

    day: date


@dataclass(frozen=True)
class Incident:
    """A run of consecutive failed samples of one store."""

    store: str
    start: datetime  # the first failed sample
    end: datetime | None  # the first OK sample after the run; None while still failing
    last_failed: datetime
    failed_samples: int
    reason: str  # the first failed sample's

    @property
    def is_open(self) -> bool:
        """Still failing at the last sample read."""
        return self.end is None

    @property
    def time_to_recover(self) -> timedelta | None:
        """From the first failed sample to the first OK one; ``None`` while open."""
        return None if self.end is None else self.end - self.start

    @property
    def duration(self) -> timedelta:
        """The time to recover, or while open the time failing so far (to the last sample)."""
        return (self.end or self.last_failed) - self.start


@dataclass(frozen=True, kw_only=True)
class MonthAvailability(SampleCounts):
    """A store's month: its days, its incidents and the totals the report prints (the counts
    are the month's: ``availability`` is over every sample of the month)."""

    store: str
    year: int
    month: int
    days: tuple[DayAvailability, ...]
    incidents: tuple[Incident, ...]

    @property
    def recovered(self) -> list[timedelta]:
        """The times to recover of the incidents that recovered."""
        return [i.time_to_recover for i in self.incidents if i.time_to_recover is not None]

    @property
    def mean_time_to_recover(self) -> timedelta | None:
        """Over the incidents that recovered; ``None`` when none did."""
        times = self.recovered
        return sum(times, timedelta()) / len(times) if times else None

    @property
    def longest_time_to_recover(self) -> timedelta | None:
        """The longest of the incidents that recovered; ``None`` when none did."""
        times = self.recovered
        return max(times) if times else None


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC moments at which ``day`` starts and ends in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_days(year: int, month: int) -> list[date]:
    """Every day of the month, in order."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def month_bounds(year: int, month: int, timezone: str) -> tuple[datetime, datetime]:
    """The UTC moments at which the month starts and ends in ``timezone``."""
    days = month_days(year, month)
    return local_day_bounds(days[0], timezone)[0], local_day_bounds(days[-1], timezone)[1]


def expected_samples(day: date, timezone: str, interval: timedelta = DEFAULT_INTERVAL) -> int:
    """How many samples a store-local day holds at one per ``interval`` (DST days differ)."""
    start, end = local_day_bounds(day, timezone)
    return (end - start) // interval


def daily_availability(
    samples: Iterable[Sample],
    timezone: str,
    days: Sequence[date],
    interval: timedelta = DEFAULT_INTERVAL,
) -> list[DayAvailability]:
    """One store's ``days`` (store-local) with their samples; other days' samples are ignored."""
    zone = ZoneInfo(timezone)
    taken: Counter[date] = Counter()
    failed: Counter[date] = Counter()
    for sample in samples:
        local_day = as_utc(sample.at).astimezone(zone).date()
        taken[local_day] += 1
        failed[local_day] += not sample.ok
    return [
        DayAvailability(
            day=day,
            expected=expected_samples(day, timezone, interval),
            taken=taken[day],
            failed=failed[day],
        )
        for day in days
    ]


def _store_incidents(store: str, ordered: Iterable[Sample]) -> list[Incident]:
    found: list[Incident] = []
    run: list[Sample] = []
    for sample in ordered:
        if not sample.ok:
            run.append(sample)
        elif run:
            found.append(_incident(store, run, end=as_utc(sample.at)))
            run = []
    if run:
        found.append(_incident(store, run, end=None))
    return found


def _incident(store: str, run: list[Sample], end: datetime | None) -> Incident:
    return Incident(
        store=store,
        start=as_utc(run[0].at),
        end=end,
        last_failed=as_utc(run[-1].at),
        failed_samples=len(run),
        reason=run[0].reason,
    )


def incidents(samples: Iterable[Sample]) -> list[Incident]:
    """The runs of consecutive failed samples, per store, oldest first."""
    ordered = sorted(samples, key=lambda s: (s.store, as_utc(s.at)))
    found: list[Incident] = []
    for store, of_store in groupby(ordered, key=lambda s: s.store):
        found.extend(_store_incidents(store, of_store))
    return sorted(found, key=lambda incident: (incident.start, incident.store))


def day_edges(days: Sequence[date], timezone: str) -> list[datetime]:
    """The UTC moments at which each of ``days`` starts in ``timezone``, then the last one's
    end: consecutive ``days`` give ``len(days) + 1`` edges, day ``n`` being
    ``[edges[n], edges[n + 1])``."""
    return [local_day_bounds(day, timezone)[0] for day in days] + [
        local_day_bounds(days[-1], timezone)[1]
    ]


@dataclass
class _Tally:
    """One pass over a store's time-ordered samples: the counts per day and the incidents."""

    store: str
    edges: Sequence[datetime]
    taken: list[int]
    failed: list[int]
    incidents: list[Incident]
    run: list[Sample]

    @classmethod
    def over(cls, store: str, edges: Sequence[datetime], ordered: Iterable[Sample]) -> _Tally:
        """``ordered``: the store's samples within ``[edges[0], edges[-1])``, oldest first."""
        days = len(edges) - 1
        tally = cls(store, edges, [0] * days, [0] * days, [], [])
        tally._add_all(ordered)
        return tally

    def _add_all(self, ordered: Iterable[Sample]) -> None:
        index, next_edge = 0, self.edges[1]
        for sample in ordered:
            while sample.at >= next_edge:  # the samples are ordered: the day only moves on
                index += 1
                next_edge = self.edges[index + 1]
            self.taken[index] += 1
            if not sample.ok:
                self.failed[index] += 1
                self.run.append(sample)
            elif self.run:
                self.incidents.append(_incident(self.store, self.run, end=as_utc(sample.at)))
                self.run = []
        if self.run:
            self.incidents.append(_incident(self.store, self.run, end=None))
            self.run = []


def month_availability(
    samples: Iterable[Sample],
    store: str,
    timezone: str,
    year: int,
    month: int,
    *,
    interval: timedelta = DEFAULT_INTERVAL,
) -> MonthAvailability:
    """``store``'s store-local month from ``samples`` (other stores' and months' are ignored).

    One pass over the store's samples (sorted first: a no-op for the history's, which come
    oldest first) gives the days' counts and the incidents together.
    """
    days = month_days(year, month)
    edges = day_edges(days, timezone)
    start, end = edges[0], edges[-1]
    mine = sorted(
        # aware times compare as instants (a naive one raises: its timezone would be a guess)
        (s for s in samples if s.store == store and start <= s.at < end),
        key=lambda s: s.at,
    )
    tally = _Tally.over(store, edges, mine)
    counted = [
        DayAvailability(
            day=day,
            expected=(edges[n + 1] - edges[n]) // interval,
            taken=tally.taken[n],
            failed=tally.failed[n],
        )
        for n, day in enumerate(days)
    ]
    return MonthAvailability(
        store=store,
        year=year,
        month=month,
        days=tuple(counted),
        incidents=tuple(tally.incidents),
        expected=sum(day.expected for day in counted),
        taken=sum(tally.taken),
        failed=sum(tally.failed),
    )
