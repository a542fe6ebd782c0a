"""Database connections: one short-lived pymysql connection per request or command.

Per-request connections keep the service stateless across a MariaDB restart and make a
release switch trivial (nothing pooled to drain). ``autocommit`` is off: every write path
commits or rolls back explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from storedms.config import DbConfig


def connect(db: DbConfig, timeout: float = 3.0) -> Connection:
    """A connection with utf8mb4 (Chinese names) and short timeouts (health checks)."""
    return pymysql.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password,
        database=db.name,
        unix_socket=db.unix_socket,
        charset="utf8mb4",
        connect_timeout=int(max(1, timeout)),
        read_timeout=30,
        write_timeout=30,
        autocommit=False,
        cursorclass=pymysql.cursors.DictCursor,
    )


@contextmanager
def connection(db: DbConfig, timeout: float = 3.0) -> Iterator[Connection]:
    conn = connect(db, timeout)
    try:
        yield conn
    finally:
        conn.close()


def error_code(error: BaseException) -> str:
    """A loggable description of a driver error: class and MariaDB error number only.

    MariaDB messages can quote row values (``Duplicate entry '3101...' for key``), which
    may be personal data (PIPL), so logs and real-data responses carry only the code.
    """
    args = getattr(error, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    return f"{type(error).__name__} {code}" if code is not None else type(error).__name__


DUPLICATE_ENTRY = 1062
DUPLICATE_VALUE = re.compile(r"Duplicate entry '.*' for key")


def safe_message(error: BaseException) -> str:
    """``error_code`` plus the server's message with row values cut out.

    Useful to operators (``Unknown column 'status' in 'field list'``) without copying a
    customer's ID number from a duplicate-key message into a log.
    """
    args = getattr(error, "args", ())
    message = str(args[-1]) if args else ""
    message = DUPLICATE_VALUE.sub("Duplicate entry '<redacted>' for key", message)
    return f"{error_code(error)}: {message}" if message else error_code(error)
