"""Versioned schema migrations: ``python3 -m storedms.migrate [--config F] status|up|down``.

Why it is built this way:

* Migrations are files, ``migrations/NNNN_name.up.sql`` and ``.down.sql``; a release ships
  the ones up to its ``release.SCHEMA_VERSION``. ``up`` applies what is missing, ``down
  --to V`` reverts (newest first) what is above V. Rolling a store back from 3.2.0 to
  3.1.0 therefore runs **3.2.0's** ``down --to 0001`` before the code switches back: only
  the newer release knows how to undo its own migrations.
* MariaDB DDL auto-commits, so a migration cannot be one transaction. Instead the table
  ``schema_migrations`` journals, per migration, its direction and how many statements
  have completed. A run killed half-way resumes at the next statement; each statement is
  written to be re-runnable on its own (IF [NOT] EXISTS, WHERE guards), which covers a
  kill between a statement and its journal entry. A migration found half-done in the
  *other* direction is restarted from its first statement. DML statements commit together
  with their journal entry, so data changes happen exactly once.
* When a migration cannot be repaired this way (a bug in it, a full disk), the rollout
  restores the database from the dump it verified before migrating: the down paths are
  the fast road back, the dump is the safe one.
* ``up`` twice applies nothing the second time (and says so); ``GET_LOCK`` keeps two
  concurrent runs apart.

Exit codes: 0 done (including nothing to do), 1 a migration failed, 2 bad request
(unknown version, database newer than this release), 3 configuration or connection
error, 4 another migration holds the lock.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection

from storedms import PACKAGE_DIR, __version__, release
from storedms.config import ConfigError, load
from storedms.db import connect, error_code, safe_message

MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.up\.sql\Z")
BASE_VERSION = "0000"  # an empty database

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECT, EXIT_LOCKED = 0, 1, 2, 3, 4

JOURNAL_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version CHAR(4) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  state ENUM('applying', 'applied', 'reverting') NOT NULL,
  steps_done INT UNSIGNED NOT NULL DEFAULT 0,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


class MigrationError(Exception):
    """A request this tool refuses, or a statement that failed; carries the exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    up_path: Path
    down_path: Path

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"

    def statements(self, direction: str) -> list[str]:
        path = self.up_path if direction == "up" else self.down_path
        return split_statements(path.read_text(encoding="utf-8"))


def split_statements(sql: str) -> list[str]:
    """Statements end with ``;`` at the end of a line; whole-line ``--`` comments go."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";").strip())
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current).strip())
    return [statement for statement in statements if statement]


def shipped_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations this release carries, oldest first; each must have a down file."""
    found = []
    for up_path in sorted(directory.glob("*.up.sql")):
        match = FILE_PATTERN.match(up_path.name)
        if not match:
            continue
        down_path = up_path.with_name(up_path.name.replace(".up.sql", ".down.sql"))
        if not down_path.is_file():
            raise MigrationError(f"{up_path.name} has no {down_path.name}", EXIT_FAILED)
        found.append(Migration(match.group(1), match.group(2), up_path, down_path))
    return [migration for migration in found if migration.version <= release.SCHEMA_VERSION]


def journal(conn: Connection) -> dict[str, dict[str, Any]]:
    """``schema_migrations`` rows by version (created on first use)."""
    with conn.cursor() as cursor:
        cursor.execute(JOURNAL_DDL)
        cursor.execute("SELECT version, name, state, steps_done, updated_at FROM schema_migrations")
        rows = cursor.fetchall()
    conn.commit()
    return {row["version"]: row for row in rows}


def current_version(rows: dict[str, dict[str, Any]]) -> str:
    applied = [version for version, row in rows.items() if row["state"] == "applied"]
    return max(applied, default=BASE_VERSION)


def run_migration(conn: Connection, migration: Migration, direction: str, log: list[str]) -> None:
    """Run one migration in one direction, resuming from its journal entry."""
    state = "applying" if direction == "up" else "reverting"
    entry = journal(conn).get(migration.version)
    start = entry["steps_done"] if entry and entry["state"] == state else 0
    if entry and entry["state"] != "applied" and start:
        log.append(f"resuming {direction} {migration.label} at statement {start + 1}")
    with conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO schema_migrations (version, name, state, steps_done)"
            " VALUES (%s, %s, %s, %s)"
            " ON DUPLICATE KEY UPDATE state = VALUES(state), steps_done = VALUES(steps_done)",
            (migration.version, migration.name, state, start),
        )
    conn.commit()
    statements = migration.statements(direction)
    for index in range(start, len(statements)):
        with conn.cursor() as cursor:
            try:
                cursor.execute(statements[index])
            except pymysql.MySQLError as error:
                conn.rollback()
                raise MigrationError(
                    f"{direction} {migration.label}: statement {index + 1}/{len(statements)}"
                    f" failed: {safe_message(error)}",
                    EXIT_FAILED,
                ) from error
            cursor.execute(
                "UPDATE schema_migrations SET steps_done = %s WHERE version = %s",
                (index + 1, migration.version),
            )
        conn.commit()
    with conn.cursor() as cursor:
        if direction == "up":
            cursor.execute(
                "UPDATE schema_migrations SET state = 'applied' WHERE version = %s",
                (migration.version,),
            )
        else:
            cursor.execute("DELETE FROM schema_migrations WHERE version = %s", (migration.version,))
    conn.commit()
    log.append(f"{'applied' if direction == 'up' else 'reverted'} {migration.label}")


def plan(
    migrations: Sequence[Migration], rows: dict[str, dict[str, Any]], direction: str, target: str
) -> list[Migration]:
    """What ``up``/``down`` to ``target`` must run, in order (half-done ones included)."""
    if direction == "up":
        return [
            m
            for m in migrations
            if m.version <= target and rows.get(m.version, {}).get("state") != "applied"
        ]
    return [m for m in reversed(migrations) if m.version > target and m.version in rows]


def check_request(
    migrations: Sequence[Migration], rows: dict[str, dict[str, Any]], direction: str, target: str
) -> None:
    """Refuse targets this release does not know and databases newer than it."""
    known = {m.version for m in migrations} | {BASE_VERSION}
    if target not in known:
        raise MigrationError(
            f"unknown schema version {target}: {__version__} knows {', '.join(sorted(known))}",
            EXIT_USAGE,
        )
    unknown = sorted(set(rows) - known)
    if unknown:
        raise MigrationError(
            f"the database has migration(s) {', '.join(unknown)} that storedms {__version__}"
            " does not know: run the newer release's `down` first",
            EXIT_USAGE,
        )
    if direction == "up" and target < current_version(rows):
        raise MigrationError(
            f"`up --to {target}` is below the current schema: use `down`", EXIT_USAGE
        )


def migrate(conn: Connection, direction: str, target: str | None) -> dict[str, Any]:
    """Bring the schema to ``target`` (default: this release's schema); report what ran."""
    migrations = shipped_migrations()
    rows = journal(conn)
    if target is None:
        if direction == "down":
            raise MigrationError("`down` needs --to VERSION (e.g. --to 0001)", EXIT_USAGE)
        target = release.SCHEMA_VERSION
    check_request(migrations, rows, direction, target)
    log: list[str] = []
    todo = plan(migrations, rows, direction, target)
    for migration in todo:
        run_migration(conn, migration, direction, log)
    if not todo:
        log.append(f"nothing to {'apply' if direction == 'up' else 'revert'}")
    return {
        "command": direction,
        "changed": bool(todo),
        "ran": [m.label for m in todo],
        "schema_version": current_version(journal(conn)),
        "log": log,
    }


def status(conn: Connection) -> dict[str, Any]:
    rows = journal(conn)
    return {
        "command": "status",
        "changed": False,
        "release": __version__,
        "expected_schema_version": release.SCHEMA_VERSION,
        "schema_version": current_version(rows),
        "migrations": [
            {"migration": m.label, "state": rows.get(m.version, {}).get("state", "pending")}
            for m in shipped_migrations()
        ],
        "unknown_in_database": sorted(set(rows) - {m.version for m in shipped_migrations()}),
    }


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, default=str, sort_keys=True))
        return
    if report["command"] == "status":
        print(
            f"storedms {report['release']} expects schema {report['expected_schema_version']};"
            f" database at {report['schema_version']}"
        )
        for item in report["migrations"]:
            print(f"  {item['migration']:<32} {item['state']}")
        for version in report["unknown_in_database"]:
            print(f"  {version} (unknown to this release)")
        return
    for line in report["log"]:
        print(line)
    print(f"schema version: {report['schema_version']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 -m storedms.migrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--config", help="INI file (default: $STOREDMS_CONFIG or /etc/storedms/storedms.conf)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("command", choices=("status", "up", "down"))
    parser.add_argument("--to", dest="target", help="schema version, e.g. 0001 (0000 = empty)")
    return parser.parse_args(argv)


def acquire_lock(conn: Connection, name: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 5) AS got", (f"storedms.migrate.{name}",))
        row = cursor.fetchone()
    if not row or row["got"] != 1:
        raise MigrationError("another migration is running on this database", EXIT_LOCKED)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load(args.config)
        conn = connect(config.db)
    except ConfigError as error:
        print(f"storedms.migrate: {error}", file=sys.stderr)
        return EXIT_CONNECT
    except pymysql.MySQLError as error:
        print(
            f"storedms.migrate: cannot connect to the database: {error_code(error)}",
            file=sys.stderr,
        )
        return EXIT_CONNECT
    try:
        acquire_lock(conn, config.db.name)
        if args.command == "status":
            report = status(conn)
        else:
            report = migrate(conn, args.command, args.target)
    except MigrationError as error:
        print(f"storedms.migrate: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        conn.close()
    print_report(report, args.json)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
