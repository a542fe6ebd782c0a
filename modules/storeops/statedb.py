"""The controller's database: health-check history, DMS availability samples, notifications.

One SQL database per controller, reached through SQLAlchemy, so that the same code runs on
the default SQLite file (``state_path("storeops.sqlite")``: ``logs/storeops.sqlite`` in the
checkout, or under ``STOREOPS_STATE_DIR``) and on the group's MariaDB when the controller is
shared or ephemeral (AWX discards the project after each job): ``STOREOPS_DATABASE_URL`` or a
command's ``--database URL``, e.g. ``mysql+pymysql://storeops@db.hq.example/storeops``. The
password of such a URL comes from the environment (``STOREOPS_DATABASE_PASSWORD``, as AWX
injects a credential), never from the command line.

Each feature owns its own tables (``MetaData``) and creates them on first use; this module
only finds the database and opens it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from storeops.paths import state_path

URL_ENV = "STOREOPS_DATABASE_URL"
PASSWORD_ENV = "STOREOPS_DATABASE_PASSWORD"
# Seconds a writer waits for another (the sampler's timer and a morning check at once).
SQLITE_BUSY_TIMEOUT_S = 30


class DatabaseUrlError(ValueError):
    """The database URL given cannot be used (the message says why, without the password)."""


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> URL:
    """The controller's database: ``explicit``, else ``STOREOPS_DATABASE_URL``, else SQLite."""
    env = os.environ if environ is None else environ
    text = explicit or env.get(URL_ENV)
    if not text:
        return URL.create("sqlite", database=str(state_path("storeops.sqlite", environ=env)))
    try:
        url = make_url(text)
    except ArgumentError as error:
        raise DatabaseUrlError(f"not a database URL: {error}") from None
    if url.password is not None:
        raise DatabaseUrlError(
            f"{url.render_as_string(hide_password=True)}: put the password in {PASSWORD_ENV},"
            " not in the URL (it would show in process lists and logs)"
        )
    password = env.get(PASSWORD_ENV)
    return url.set(password=password) if password else url


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the sampler's writes
    cursor.close()


def open_engine(url: URL) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created private (0700)."""
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(url, pool_pre_ping=url.get_backend_name() != "sqlite")
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
