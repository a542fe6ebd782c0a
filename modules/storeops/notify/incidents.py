"""The open incidents, one row per (store, key), in the controller's database.

Its own table (``notify_incidents``) beside the other features' tables in the database of
storeops.statedb: a row exists while the key is failing; ``notified`` says whether a channel
took the opening message (if not, the next failing event tries again). Runs on the
controller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

METADATA = MetaData()

INCIDENTS = Table(
    "notify_incidents",
    METADATA,
    Column("store", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("title", String(200), nullable=False),
    Column("notified", Boolean, nullable=False, default=False),
    Column("notified_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
)


@dataclass(frozen=True)
class Incident:
    store: str
    key: str
    opened_at: dt.datetime
    title: str
    notified: bool
    last_error: str | None


class IncidentStore:
    """Read and change the open incidents (creates the table on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        METADATA.create_all(engine)

    def get(self, store: str, key: str) -> Incident | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(INCIDENTS).where(INCIDENTS.c.store == store, INCIDENTS.c.key == key)
            ).first()
        if row is None:
            return None
        return Incident(
            row.store, row.key, row.opened_at, row.title, bool(row.notified), row.last_error
        )

    def open_all(self) -> list[Incident]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(INCIDENTS).order_by(INCIDENTS.c.store, INCIDENTS.c.key)
            ).all()
        return [
            Incident(
                row.store, row.key, row.opened_at, row.title, bool(row.notified), row.last_error
            )
            for row in rows
        ]

    def record_failure(
        self, store: str, key: str, title: str, now: dt.datetime, error: str | None
    ) -> None:
        """The incident is open; notified unless ``error`` (every channel failed)."""
        values = {
            "title": title[:200],
            "notified": error is None,
            "notified_at": now if error is None else None,
            "last_error": error,
        }
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(INCIDENTS)
                .where(INCIDENTS.c.store == store, INCIDENTS.c.key == key)
                .values(**values)
            ).rowcount
            if not changed:
                connection.execute(
                    insert(INCIDENTS).values(store=store, key=key, opened_at=now, **values)
                )

    def close(self, store: str, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(INCIDENTS).where(INCIDENTS.c.store == store, INCIDENTS.c.key == key)
            )

    def keep_open_after_failed_recovery(self, store: str, key: str, error: str) -> None:
        """The recovery message did not go: the incident stays, to be closed next time."""
        with self.engine.begin() as connection:
            connection.execute(
                update(INCIDENTS)
                .where(INCIDENTS.c.store == store, INCIDENTS.c.key == key)
                .values(last_error=error)
            )
