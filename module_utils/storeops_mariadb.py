"""The one database dump procedure of storeops: how a MariaDB database is dumped, measured
and loaded, written once.

Used by the ``mariadb_dump`` module (the DMS rollout's pre-upgrade dump and restore) and
copied by the ``backup`` role into /usr/local/lib/storeops on the hosts it backs up and on
backup servers, where the nightly backup job (``storeops_backup``) and the restore drill
(``storeops_restore_drill``) import it. So it is self-contained: the Python standard
library and the MariaDB command-line clients only (``mariadb``, ``mariadb-dump``), as root
over the unix socket.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import subprocess
from typing import IO, Any

# One consistent snapshot without table locks on InnoDB (the DMS keeps running), streamed
# row by row, with everything needed to recreate the schema.
DUMP_OPTIONS = (
    "--single-transaction",
    "--quick",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--default-character-set=utf8mb4",
)
CHUNK = 1 << 20
DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"

TableStats = dict[str, dict[str, int]]  # table -> {"rows": n, "checksum": n}


class DumpError(Exception):
    pass


class Server:
    """A MariaDB server on this host, through its command-line clients."""

    def __init__(self, socket: str = DEFAULT_SOCKET) -> None:
        self.login = ["--user=root", f"--socket={socket}"]

    def query(self, sql: str, database: str | None = None) -> list[list[str]]:
        argv = ["mariadb", *self.login, "--batch", "--skip-column-names", "-e", sql]
        done = subprocess.run(
            [*argv, database] if database else argv, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise DumpError(f"mariadb: {done.stderr.strip()}")
        return [line.split("\t") for line in done.stdout.splitlines()]

    def tables(self, database: str) -> list[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"'{database}' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        return [row[0] for row in rows]

    def table_stats(self, database: str) -> TableStats:
        """Every table's row count and ``CHECKSUM TABLE ... EXTENDED`` value."""
        stats: TableStats = {}
        for table in self.tables(database):
            rows = int(self.query(f"SELECT COUNT(*) FROM `{table}`", database)[0][0])
            checksum = self.query(f"CHECKSUM TABLE `{table}` EXTENDED", database)[0][1]
            stats[table] = {"rows": rows, "checksum": int(checksum) if checksum != "NULL" else 0}
        return stats

    def dump_command(self, database: str) -> list[str]:
        return ["mariadb-dump", *self.login, *DUMP_OPTIONS, database]

    def dump_stream(self, database: str, out: IO[bytes]) -> None:
        """Write the dump of ``database`` (plain SQL) to ``out``."""
        with subprocess.Popen(
            self.dump_command(database), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as dump:
            assert dump.stdout is not None
            shutil.copyfileobj(dump.stdout, out, CHUNK)
            error = dump.stderr.read().decode() if dump.stderr else ""
        if dump.returncode != 0:
            raise DumpError(f"mariadb-dump {database} failed: {error.strip()}")

    def dump_to(self, database: str, destination: str) -> None:
        """Write the dump of ``database`` gzip-compressed to the file ``destination``."""
        with gzip.open(destination, "wb", compresslevel=6) as out:
            self.dump_stream(database, out)  # type: ignore[arg-type]

    def load_stream(self, source: IO[bytes], database: str) -> None:
        """Load plain SQL from ``source`` into ``database``."""
        argv = ["mariadb", *self.login, "--binary-mode", database]
        with subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as client:
            assert client.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it stopped reading: its error says why
                shutil.copyfileobj(source, client.stdin, CHUNK)
            client.stdin.close()
            error = client.stderr.read().decode() if client.stderr else ""
        if client.returncode != 0:
            raise DumpError(f"loading into {database} failed: {error.strip()}")

    def load(self, path: str, database: str) -> None:
        """Load the gzip-compressed dump ``path`` into ``database``."""
        with gzip.open(path, "rb") as dump:
            try:
                self.load_stream(dump, database)  # type: ignore[arg-type]
            except DumpError as error:
                raise DumpError(f"{path}: {error}") from None


def sha256_of(path: str) -> str:
    """The file's sha256, read in blocks (a dump can be larger than memory)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only."""
    partial = f"{path}.{os.getpid()}.part"
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(text)
        os.replace(partial, path)
    finally:  # a full disk, an error: no partial file is left behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """One line per table whose row count or checksum differ (or that only one side has)."""
    names = sorted(set(expected) | set(actual))
    return [
        f"{name}: expected {expected.get(name) or 'no table'}, "
        f"found {actual.get(name) or 'no table'}"
        for name in names
        if expected.get(name) != actual.get(name)
    ]
