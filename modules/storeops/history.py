"""The controller's history: health-check rows and DMS availability samples (on the controller).

Two tables in the controller's database (``storeops.statedb``: SQLite under the state dir by
default, the group's MariaDB by URL), created on first use with SQLAlchemy Core:

- ``health_checks``: one row per check per host per run of ``storeops health`` (what the
  morning check measured, and why it is not green);
- ``dms_samples``: one row per probe of a store's DMS by the availability sampler (every few
  minutes), from which ``storeops.availability`` computes availability and incidents.

Timestamps are stored as UTC (naive ``DATETIME`` columns holding UTC, microseconds kept on
MariaDB too) and read back as aware UTC datetimes; a naive datetime is refused on the way in.

Retention: rows older than ``DEFAULT_RETENTION_DAYS`` (400 days: a monthly report compares
with the same month a year before, so 13 months must stay) are removed by ``History.prune``,
which the sampler calls (``retention_cutoff(now)`` gives the date).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    TypeDecorator,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL

from storeops.monitoring import Status
from storeops.statedb import open_engine

__all__ = ["CheckName", "CheckRecord", "History", "Sample", "Status"]

DEFAULT_RETENTION_DAYS = 400


class CheckName(StrEnum):
    """The health check's rows that the monthly report reads back."""

    DMS = "dms"
    DMS_SMOKE = "dms smoke"
    DATABASE = "database"
    REACHABLE = "reachable"  # a host the probe could not reach: its only row
    BACKUP = "backup"
    RESTIC_CHECK = "restic check"
    RESTORE_DRILL = "restore drill"
    DISK = "disk"
    INODES = "inodes"
    UNITS = "failed units"
    FIREWALL = "firewall"
    DEVICE = "device"
    CONFIG_DRIFT = "config drift"
    BACKUP_DRIFT = "backup drift"
    PATCHES = "security updates"
    REBOOT = "reboot"
    TIME = "time sync"
    CERTIFICATES = "certificates"
    COMPLIANCE = "compliance"


@dataclass(frozen=True)
class CheckRecord:
    """One check of one host in one run of the health check.

    ``metric`` is the number behind ``value`` where there is one: the backup's age in hours,
    pending security updates, the compliance pass rate in %, the firewall's dropped counter,
    free disk in %.
    """

    at: datetime
    run_id: str
    store: str
    host: str
    check: str
    status: Status
    value: str
    reason: str
    metric: float | None = None


@dataclass(frozen=True)
class Sample:
    """One probe of a store's DMS by the availability sampler."""

    at: datetime
    store: str
    ok: bool
    latency_ms: float | None
    reason: str


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC, read back aware (UTC)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused (its timezone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()}: a naive datetime (give it a timezone)")
    return moment.astimezone(UTC)


def retention_cutoff(now: datetime, days: int = DEFAULT_RETENTION_DAYS) -> datetime:
    """The oldest moment kept under a retention of ``days`` (what ``History.prune`` takes)."""
    return as_utc(now) - timedelta(days=days)


METADATA = MetaData()

CHECKS = Table(
    "health_checks",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("store", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("check_name", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("metric", Float, nullable=True),
    # last_check: one host's one check, newest first
    Index("ix_health_checks_store_host_check_at", "store", "host", "check_name", "at"),
    # checks(start, end, store): a store's month
    Index("ix_health_checks_store_at", "store", "at"),
    # checks(start, end) for every store; prune
    Index("ix_health_checks_at", "at"),
)

SAMPLES = Table(
    "dms_samples",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("store", String(64), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("reason", Text, nullable=False),
    # samples(start, end, store) and last_sample(store)
    Index("ix_dms_samples_store_at", "store", "at"),
    # samples(start, end) for every store; prune
    Index("ix_dms_samples_at", "at"),
)


def _check_row(record: CheckRecord) -> dict[str, Any]:
    return {
        "at": record.at,
        "run_id": record.run_id,
        "store": record.store,
        "host": record.host,
        "check_name": str(record.check),
        "status": Status(record.status).value,
        "value": record.value,
        "reason": record.reason,
        "metric": record.metric,
    }


def _check_record(row: Row[Any]) -> CheckRecord:
    return CheckRecord(
        at=row.at,
        run_id=row.run_id,
        store=row.store,
        host=row.host,
        check=row.check_name,
        status=Status(row.status),
        value=row.value,
        reason=row.reason,
        metric=row.metric,
    )


def _sample_row(sample: Sample) -> dict[str, Any]:
    return {
        "at": sample.at,
        "store": sample.store,
        "ok": sample.ok,
        "latency_ms": sample.latency_ms,
        "reason": sample.reason,
    }


# A month of 5-minute samples for 50 stores is 446,400 rows: only these columns, in Sample's
# order, unpacked from each row (no attribute lookup per row).
SAMPLE_COLUMNS = (
    SAMPLES.c.at,
    SAMPLES.c.store,
    SAMPLES.c.ok,
    SAMPLES.c.latency_ms,
    SAMPLES.c.reason,
)
_COLUMNS: dict[str, Sequence[Column[Any]]] = {
    CHECKS.name: tuple(CHECKS.c),
    SAMPLES.name: SAMPLE_COLUMNS,
}


def _sample(row: Sequence[Any]) -> Sample:
    at, store, ok, latency_ms, reason = row
    return Sample(at, store, bool(ok), latency_ms, reason)


class History:
    """The health-check history and the DMS samples of one controller database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        METADATA.create_all(engine, checkfirst=True)

    @classmethod
    def open(cls, url: URL) -> History:
        """The history in the database at ``url`` (``storeops.statedb.database_url()``)."""
        return cls(open_engine(url))

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.engine.begin() as connection:
                connection.execute(insert(table), rows)

    def _newest(self, table: Table, *where: ColumnElement[bool]) -> Row[Any] | None:
        query = (
            select(*_COLUMNS[table.name])
            .where(*where)
            .order_by(table.c.at.desc(), table.c.id.desc())
        )
        with self.engine.connect() as connection:
            return connection.execute(query.limit(1)).first()

    def _between(
        self, table: Table, start: datetime, end: datetime, store: str | None
    ) -> Iterator[Row[Any]]:
        """The rows with ``start <= at < end`` (of ``store`` only when given), oldest first."""
        query = select(*_COLUMNS[table.name])
        query = query.where(table.c.at >= as_utc(start), table.c.at < as_utc(end))
        if store is not None:
            query = query.where(table.c.store == store)
        with self.engine.connect() as connection:
            yield from connection.execute(query.order_by(table.c.at, table.c.id))

    def record_checks(self, records: Iterable[CheckRecord]) -> None:
        """Store one run's rows, all or none (one transaction)."""
        self._insert(CHECKS, [_check_row(record) for record in records])

    def last_check(self, store: str, host: str, check: str) -> CheckRecord | None:
        """The newest row of ``check`` on ``host`` of ``store``, if any."""
        c = CHECKS.c
        row = self._newest(CHECKS, c.store == store, c.host == host, c.check_name == check)
        return None if row is None else _check_record(row)

    def checks(self, start: datetime, end: datetime, store: str | None = None) -> list[CheckRecord]:
        """The rows with ``start <= at < end`` (of ``store`` only when given), oldest first."""
        return [_check_record(row) for row in self._between(CHECKS, start, end, store)]

    def record_sample(self, sample: Sample) -> None:
        """Store one probe of a store's DMS."""
        self.record_samples([sample])

    def record_samples(self, samples: Iterable[Sample]) -> None:
        """Store many probes in one transaction (a sampler round over every store, an import)."""
        self._insert(SAMPLES, [_sample_row(sample) for sample in samples])

    def last_sample(self, store: str) -> Sample | None:
        """The newest probe of ``store``'s DMS, if any."""
        row = self._newest(SAMPLES, SAMPLES.c.store == store)
        return None if row is None else _sample(row)

    def samples(self, start: datetime, end: datetime, store: str | None = None) -> list[Sample]:
        """The probes with ``start <= at < end`` (of ``store`` only when given), oldest first."""
        return [_sample(row) for row in self._between(SAMPLES, start, end, store)]

    def prune(self, older_than: datetime) -> int:
        """Remove check rows and samples older than ``older_than``; the number of rows removed."""
        cutoff = as_utc(older_than)
        removed = 0
        with self.engine.begin() as connection:
            for table in _TABLES:
                removed += connection.execute(delete(table).where(table.c.at < cutoff)).rowcount
        return removed


_TABLES: Sequence[Table] = (CHECKS, SAMPLES)
