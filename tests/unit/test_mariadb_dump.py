"""The pre-upgrade dump procedure (library/mariadb_dump.py) leaves no customer data behind it.

A dump interrupted by a full disk, a failing mariadb-dump, a failed verification or a kill
leaves no ``.part`` file and no untrusted dump; the directory is 0700 and the files 0600;
only the newest ``keep`` dumps stay. The server is a stand-in that writes what a real dump
writes (the SQL clients are not needed): the procedure's file handling is what is tested.
"""

from __future__ import annotations

import errno
import gzip
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("ansible.module_utils.storeops_mariadb", REPO / "module_utils" / "storeops_mariadb.py")
mariadb_dump = _load("storeops_test_mariadb_dump", REPO / "library" / "mariadb_dump.py")

STATS = {"customers": {"rows": 40, "checksum": 1820346431}}


class FakeServer:
    """Writes a dump the way Server.dump_to does (gzip to the given file), then may fail."""

    def __init__(self, fail: BaseException | None = None, verify_fails: bool = False) -> None:
        self.fail = fail
        self.verify_fails = verify_fails
        self.dumped_to: list[str] = []

    def dump_to(self, database: str, destination: str) -> None:
        self.dumped_to.append(destination)
        with gzip.open(destination, "wb") as out:
            out.write(b"INSERT INTO customers VALUES (1, '110101199003077777');\n" * 100)
            if self.fail is not None:
                raise self.fail

    def table_stats(self, database: str) -> dict[str, Any]:
        return STATS if database == "storedms" else {}

    def query(self, sql: str, database: str | None = None) -> list[list[str]]:
        return []

    def load(self, path: str, database: str) -> None:
        return None


def params(path: Path, *, verify: bool = False) -> dict[str, Any]:
    return {
        "path": str(path),
        "database": "storedms",
        "verify": verify,
        "scratch_database": None,
    }


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(OSError(errno.ENOSPC, "No space left on device"), id="disk-full"),
        pytest.param(mariadb_dump.DumpError("mariadb-dump storedms failed: gone"), id="dump-fails"),
        pytest.param(KeyboardInterrupt(), id="interrupted"),
    ],
)
def test_a_failed_dump_leaves_no_partial_file(tmp_path: Path, failure: BaseException) -> None:
    directory = tmp_path / "pre-upgrade"
    dump = directory / "sh01-3.1.0-to-3.2.0-run.sql.gz"
    server = FakeServer(fail=failure)
    with pytest.raises(type(failure)):
        mariadb_dump.take_dump(server, params(dump))
    assert server.dumped_to == [f"{dump}.{os.getpid()}.part"]  # it did write the .part
    assert leftovers(directory) == []


def test_a_dump_that_fails_its_verification_is_removed(tmp_path: Path) -> None:
    dump = tmp_path / "pre-upgrade" / "sh01.sql.gz"
    server = FakeServer()
    with pytest.raises(mariadb_dump.DumpError, match="does not restore to the live data"):
        mariadb_dump.take_dump(server, params(dump, verify=True))
    assert leftovers(dump.parent) == []


def test_a_dump_is_private_in_a_private_directory(tmp_path: Path) -> None:
    directory = tmp_path / "pre-upgrade"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    earlier = directory / "earlier.sql.gz"  # e.g. written before dumps were kept private
    earlier.write_text("110101199003077777")
    earlier.chmod(0o644)
    dump = directory / "sh01.sql.gz"
    manifest = mariadb_dump.take_dump(FakeServer(), params(dump))
    assert manifest["tables"] == STATS
    assert leftovers(directory) == ["earlier.sql.gz", "sh01.sql.gz", "sh01.sql.gz.json"]
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in leftovers(directory):
        assert (directory / name).stat().st_mode & 0o777 == 0o600, name


def test_a_killed_dump_leaves_a_part_that_the_next_dump_removes(tmp_path: Path) -> None:
    """SIGKILL cannot be cleaned up after: the .part of a dead writer goes before the next dump."""
    directory = tmp_path / "pre-upgrade"
    directory.mkdir()
    dump = directory / "sh01.sql.gz"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "path = f'{sys.argv[1]}.{os.getpid()}.part'\n"
            "with open(path, 'wb') as out:\n"
            "    out.write(b'110101199003077777' * 1000); out.flush()\n"
            "    print(path, flush=True); time.sleep(60)\n",
            str(dump),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    partial = Path(writer.stdout.readline().strip())
    alive_elsewhere = directory / f"other.sql.gz.{os.getppid()}.part"  # a live writer's
    alive_elsewhere.write_bytes(b"in progress")
    assert mariadb_dump.remove_stale_parts(str(directory)) == []  # both writers alive
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    assert partial.exists()  # what a kill -9 leaves
    assert mariadb_dump.remove_stale_parts(str(directory)) == [str(partial)]
    assert leftovers(directory) == [alive_elsewhere.name]


def test_retention_keeps_the_newest_dumps_and_never_the_current_one(tmp_path: Path) -> None:
    directory = tmp_path / "pre-upgrade"
    directory.mkdir()
    now = time.time()
    for age, name in enumerate(["d.sql.gz", "c.sql.gz", "b.sql.gz", "a.sql.gz"]):
        for path in (directory / name, directory / f"{name}.json"):
            path.write_text("x")
            os.utime(path, (now - 3600 * (age + 1), now - 3600 * (age + 1)))
    current = directory / "z.sql.gz"
    current.write_text("x")
    os.utime(current, (now - 99999, now - 99999))  # an old mtime: still kept, it is `path`
    removed = mariadb_dump.prune_dumps(str(current), 2)
    assert leftovers(directory) == ["d.sql.gz", "d.sql.gz.json", "z.sql.gz"]
    assert sorted(Path(name).name for name in removed) == [
        "a.sql.gz",
        "a.sql.gz.json",
        "b.sql.gz",
        "b.sql.gz.json",
        "c.sql.gz",
        "c.sql.gz.json",
    ]
    assert mariadb_dump.prune_dumps(str(current), 0) == []  # 0 keeps everything


def test_the_manifest_writer_leaves_no_partial_file_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    utils = sys.modules["ansible.module_utils.storeops_mariadb"]

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(utils.os, "replace", full)
    with pytest.raises(OSError):
        utils.write_private(str(tmp_path / "manifest.json"), "{}")
    assert leftovers(tmp_path) == []
