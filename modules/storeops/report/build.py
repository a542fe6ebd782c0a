"""The month's figures per store, from the history, the audit logs and the inventory
(runs on the controller, read-only; rendering is ``render``'s).

Nothing here is typed in: availability and incidents come from the DMS samples
(``storeops.availability``), backup age, restore drills, pending security updates and the
compliance pass rate from the health check's rows (the latest of each host per store-local
day), rollouts and patch runs from their audit logs, assets from the asset registers. A
figure without data is ``None`` and is printed "no data", never 100%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from storeops.availability import DEFAULT_INTERVAL, MonthAvailability, month_availability
from storeops.availability import month_bounds as local_month_bounds
from storeops.history import CheckName, CheckRecord, History, Sample, Status
from storeops.inventory import Inventory
from storeops.report.sources import (
    PATCH_LOG,
    ROLLOUT_LOG,
    AssetLoader,
    RunHistory,
    moment,
    read_json_lines,
)
from storeops.run_history import Run
from storeops.schema import Store

DEFAULT_TARGET = 99.5  # % (schema.ReportSettings' default)
SEVERITY = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}


@dataclass(frozen=True)
class Rollout:
    """A DMS rollout record of the month (check-mode runs are left out)."""

    at: datetime
    run_id: str
    user: str
    from_version: str
    to_version: str
    result: str  # upgraded, rolled back, rollback FAILED, refused, locked, ...
    reason: str
    override_reason: str


@dataclass(frozen=True)
class PatchRun:
    """A host's line of a patch run's change report."""

    at: datetime
    run_id: str
    host: str
    result: str  # patched, up to date, refused, unreachable, ...
    upgraded: int
    pending_security: int | None
    rebooted: bool
    reason: str


@dataclass(frozen=True)
class DayChecks:
    """A store-local day of the health check's rows: the latest of each host, combined."""

    day: date
    backup_age_h: float | None  # the oldest last backup of the store's hosts
    backup: Status | None
    restore_drill: Status | None
    restore_drill_value: str
    pending_security: float | None  # summed over the store's hosts
    compliance: float | None  # the lowest pass rate, %


@dataclass(frozen=True)
class AssetRow:
    asset_tag: str
    host: str
    model: str
    provisioned: date
    returned: date | None


@dataclass(frozen=True)
class Assets:
    """The store's workstations in use at the month's end, and those returned in it."""

    in_use: tuple[AssetRow, ...]
    returned: tuple[AssetRow, ...]


@dataclass(frozen=True)
class StoreMonth:
    code: str
    name: str
    city: str
    timezone: str
    target_version: str
    availability: MonthAvailability
    rollouts: tuple[Rollout, ...]
    patch_runs: tuple[PatchRun, ...]
    checks: tuple[DayChecks, ...]
    assets: Assets | None  # None: no asset register reader installed
    runs: tuple[Run, ...] | None  # None: no run history configured

    @property
    def version_at_month_end(self) -> str | None:
        """The version the last rollout of the month left the store on, if one ran."""
        for rollout in reversed(self.rollouts):
            if rollout.result == "upgraded":
                return rollout.to_version
            if rollout.result in ("rolled back", "refused", "locked"):
                return rollout.from_version
        return None


@dataclass(frozen=True)
class MonthReport:
    year: int
    month: int
    group: str
    target: float  # the brand's availability target, %
    generated: datetime
    stores: tuple[StoreMonth, ...]
    run_history: bool  # a run history source is configured
    unreadable_log_lines: int

    @property
    def title(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value)


def _in_month(
    record: dict[str, Any], keys: Sequence[str], start: datetime, end: datetime
) -> datetime | None:
    for key in keys:
        at = moment(record.get(key))
        if at is not None:
            return at if start <= at < end else None
    return None


def _of_store(
    records: Iterable[dict[str, Any]],
    store: str,
    keys: Sequence[str],
    bounds: tuple[datetime, datetime],
) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """The store's real-run records (check mode left out) timed in ``[start, end)``, with
    their time (the first of ``keys`` that a record has)."""
    for record in records:
        at = _in_month(record, keys, *bounds)
        if (
            at is not None
            and _text(record, "store") == store
            and record.get("check_mode") is not True
        ):
            yield at, record


def rollouts_of(
    records: Iterable[dict[str, Any]], store: str, start: datetime, end: datetime
) -> list[Rollout]:
    """The store's rollout records in ``[start, end)``, oldest first."""
    found = []
    for at, record in _of_store(records, store, ("finished", "started"), (start, end)):
        found.append(
            Rollout(
                at=at,
                run_id=_text(record, "run_id"),
                user=_text(record, "user"),
                from_version=_text(record, "from"),
                to_version=_text(record, "to"),
                result=_text(record, "result"),
                reason=_text(record, "reason"),
                override_reason=_text(record, "override_reason"),
            )
        )
    return sorted(found, key=lambda rollout: rollout.at)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def patch_runs_of(
    records: Iterable[dict[str, Any]], store: str, start: datetime, end: datetime
) -> list[PatchRun]:
    """The store's patching lines in ``[start, end)``, oldest first."""
    found = []
    for at, record in _of_store(records, store, ("host_started", "started"), (start, end)):
        upgraded = record.get("upgraded")
        found.append(
            PatchRun(
                at=at,
                run_id=_text(record, "run_id"),
                host=_text(record, "host"),
                result=_text(record, "result"),
                upgraded=len(upgraded) if isinstance(upgraded, list) else 0,
                pending_security=_count(record.get("pending_security")),
                rebooted=record.get("rebooted") is True,
                reason=_text(record, "reason"),
            )
        )
    return sorted(found, key=lambda run: (run.at, run.host))


def _latest_per_host(
    rows: Iterable[CheckRecord], zone: ZoneInfo
) -> dict[date, dict[str, dict[str, CheckRecord]]]:
    """day -> check -> host -> the day's latest row (rows come oldest first)."""
    latest: dict[date, dict[str, dict[str, CheckRecord]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        latest[row.at.astimezone(zone).date()][row.check][row.host] = row
    return latest


def _metrics(rows: Iterable[CheckRecord]) -> list[float]:
    return [row.metric for row in rows if row.metric is not None]


def _worst(rows: Sequence[CheckRecord]) -> CheckRecord | None:
    return max(rows, key=lambda row: SEVERITY[row.status], default=None)


def _day_checks(day: date, by_check: dict[str, dict[str, CheckRecord]]) -> DayChecks:
    def of(name: CheckName) -> list[CheckRecord]:
        return list(by_check.get(name, {}).values())

    backup_ages = _metrics(of(CheckName.BACKUP))
    pending = _metrics(of(CheckName.PATCHES))
    compliance = _metrics(of(CheckName.COMPLIANCE))
    backup, drill = _worst(of(CheckName.BACKUP)), _worst(of(CheckName.RESTORE_DRILL))
    return DayChecks(
        day=day,
        backup_age_h=max(backup_ages) if backup_ages else None,
        backup=backup.status if backup else None,
        restore_drill=drill.status if drill else None,
        restore_drill_value=drill.value if drill else "",
        pending_security=sum(pending) if pending else None,
        compliance=min(compliance) if compliance else None,
    )


def daily_checks(rows: Iterable[CheckRecord], timezone: str) -> list[DayChecks]:
    """The store-local days that have health-check rows, each day's figures."""
    latest = _latest_per_host(rows, ZoneInfo(timezone))
    return [_day_checks(day, latest[day]) for day in sorted(latest)]


def _asset_row(asset: Any) -> AssetRow:
    return AssetRow(
        asset_tag=str(asset.asset_tag),
        host=str(asset.host),
        model=str(asset.model),
        provisioned=asset.provisioned,
        returned=asset.returned,
    )


def assets_of(records: Iterable[Any], first: date, last: date) -> Assets:
    """In use at ``last`` (provisioned by then, not returned by then); returned in the month."""
    rows = [_asset_row(record) for record in records]
    in_use = [
        r for r in rows if r.provisioned <= last and (r.returned is None or r.returned > last)
    ]
    returned = [r for r in rows if r.returned is not None and first <= r.returned <= last]
    key: Callable[[AssetRow], str] = lambda row: row.asset_tag  # noqa: E731
    return Assets(tuple(sorted(in_use, key=key)), tuple(sorted(returned, key=key)))


def _runs_of(runs: Sequence[Run], store: str) -> tuple[Run, ...]:
    return tuple(sorted((run for run in runs if store in run.stores), key=lambda r: r.started))


@dataclass(frozen=True)
class Sources:
    """Where the report reads from besides the inventory."""

    history: History
    logs: Path  # state_path("logs")
    run_history: RunHistory | None = None
    assets: AssetLoader | None = None
    interval: timedelta = DEFAULT_INTERVAL


@dataclass(frozen=True)
class Readings:
    """What every store's month reads, read once for all the stores (one query each)."""

    samples: dict[str, list[Sample]]  # store -> its DMS samples, oldest first
    checks: dict[str, list[CheckRecord]]  # store -> its health-check rows, oldest first
    rollouts: tuple[dict[str, Any], ...]
    patches: tuple[dict[str, Any], ...]
    runs: Sequence[Run] | None


StoreRow = TypeVar("StoreRow", Sample, CheckRecord)


def by_store(rows: Iterable[StoreRow]) -> dict[str, list[StoreRow]]:
    """``rows`` grouped by store, each store's in the order they came."""
    grouped: dict[str, list[StoreRow]] = defaultdict(list)
    for row in rows:
        grouped[row.store].append(row)
    return grouped


def _within(rows: Iterable[CheckRecord], start: datetime, end: datetime) -> list[CheckRecord]:
    return [row for row in rows if start <= row.at < end]


def store_month(
    store: Store,
    inventory_root: Path,
    sources: Sources,
    year: int,
    month: int,
    *,
    readings: Readings,
) -> StoreMonth:
    """One store's month, from what ``build_report`` read for every store."""
    start, end = local_month_bounds(year, month, store.timezone)
    first = date(year, month, 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    assets = None
    if sources.assets is not None:
        assets = assets_of(sources.assets(inventory_root, store.code), first, last)
    checks = _within(readings.checks.get(store.code, ()), start, end)
    return StoreMonth(
        code=store.code,
        name=store.name,
        city=store.city,
        timezone=store.timezone,
        target_version=store.dms_target_version,
        availability=month_availability(
            readings.samples.get(store.code, ()),
            store.code,
            store.timezone,
            year,
            month,
            interval=sources.interval,
        ),
        rollouts=tuple(rollouts_of(readings.rollouts, store.code, start, end)),
        patch_runs=tuple(patch_runs_of(readings.patches, store.code, start, end)),
        checks=tuple(daily_checks(checks, store.timezone)),
        assets=assets,
        runs=None if readings.runs is None else _runs_of(readings.runs, store.code),
    )


def target_of(inventory: Inventory) -> float:
    """The brand's availability target (``storeops_report.availability_target``), %."""
    settings = inventory.group.storeops_report
    return DEFAULT_TARGET if settings is None else settings.availability_target


def build_report(
    inventory: Inventory,
    sources: Sources,
    year: int,
    month: int,
    *,
    stores: Sequence[str] | None = None,
    now: datetime,
) -> MonthReport:
    """The month's report for ``stores`` (default: every store of the inventory)."""
    chosen = [inventory.stores[code] for code in (stores or sorted(inventory.stores))]
    rollout_log = read_json_lines(sources.logs / ROLLOUT_LOG)
    patch_log = read_json_lines(sources.logs / PATCH_LOG)
    # the widest store-local month: every store's month is in it
    bounds = [local_month_bounds(year, month, store.timezone) for store in chosen]
    start, end = min(b[0] for b in bounds), max(b[1] for b in bounds)
    codes = {store.code for store in chosen}
    samples, checks = sources.history.samples(start, end), sources.history.checks(start, end)
    readings = Readings(
        samples=by_store(sample for sample in samples if sample.store in codes),
        checks=by_store(check for check in checks if check.store in codes),
        rollouts=rollout_log.records,
        patches=patch_log.records,
        runs=None if sources.run_history is None else sources.run_history.runs(start, end),
    )
    return MonthReport(
        year=year,
        month=month,
        group=inventory.group.storeops_group.name,
        target=target_of(inventory),
        generated=now,
        stores=tuple(
            store_month(store, inventory.root, sources, year, month, readings=readings)
            for store in chosen
        ),
        run_history=sources.run_history is not None,
        unreadable_log_lines=rollout_log.unreadable + patch_log.unreadable,
    )
