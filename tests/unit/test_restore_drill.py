"""The restore drill (module_utils/storeops_restore_drill.py, run on backup servers as
/usr/local/sbin/storeops-restore-drill): its arguments, the snapshots and manifests it
accepts, what it compares, where the repository password goes, its report and exit status.

Fakes only at the subprocess boundary: ``restic`` and ``mariadb`` are small Python programs
first on the PATH (restic answers ``snapshots``, ``restore`` and ``dump`` from a scenario and
checks the password it is given; both log their arguments and environment). Everything
between them is the drill's own code, the in-memory password file and the environment it
hands restic included. The drill refuses to run unless root (its throwaway MariaDB servers
run as user mysql); the tests that run it say they are root (``os.geteuid``) and never get as
far as starting a server: that, and a real restic, run on the lab
(tests/integration/test_backup.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import storeops_restore_drill as drill
from storeops_mariadb import DumpError, Server

from tests.conftest import REPO

ENTRY_POINT = REPO / "roles/backup/files/usr/local/sbin/storeops-restore-drill"
PASSWORD = "correct horse battery"
HOST = "sh01-db"
MANIFESTS = "/var/lib/storeops/backup/manifests"

# restic, as the drill calls it: restic --repo R --no-cache --quiet COMMAND ARGS...
FAKE_RESTIC = """#!{python}
import json, os, signal, sys
scenario = json.load(open(os.environ["FAKE_SCENARIO"]))
argv = sys.argv[1:]
password_file = os.environ.get("RESTIC_PASSWORD_FILE", "")
try:
    with open(password_file, "rb") as handle:
        password = handle.read().decode()
except OSError:
    password = None
with open(scenario["log"], "a") as log:
    log.write(json.dumps({{"program": "restic", "argv": argv, "password": password,
                          "password_file": password_file,
                          "environ": dict(os.environ)}}) + "\\n")
if password != scenario["password"]:
    sys.exit("Fatal: wrong password or no key found")
command, args = argv[4], argv[5:]
failure = scenario.get("fail", {{}}).get(command)
if failure:
    sys.stderr.write(failure)
    sys.exit(1)
if command == "snapshots":
    print(json.dumps(scenario["snapshots"]))
elif command == "restore":
    target = args[args.index("--target") + 1]
    for directory in scenario.get("directories", []):
        os.makedirs(target + directory, exist_ok=True)
    for path, text in scenario.get("files", {{}}).items():
        os.makedirs(os.path.dirname(target + path), exist_ok=True)
        with open(target + path, "w") as out:
            out.write(text)
    if scenario.get("terminate_the_drill"):
        os.kill(os.getppid(), signal.SIGTERM)
elif command == "dump":
    sys.stdout.write(scenario["dumps"][args[0]][args[1]])
"""

# The mariadb client, as Server.load_stream calls it: reads the SQL on its stdin.
FAKE_MARIADB = """#!{python}
import json, os, sys
scenario = json.load(open(os.environ["FAKE_SCENARIO"]))
sql = sys.stdin.read()
with open(scenario["log"], "a") as log:
    log.write(json.dumps({{"program": "mariadb", "argv": sys.argv[1:], "stdin": sql}}) + "\\n")
if scenario.get("mariadb_error"):
    sys.exit(scenario["mariadb_error"])
"""


class Fakes:
    """The fake restic and mariadb of one test: their scenario and what they were called with."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = directory / "bin"
        self.bin.mkdir()
        for name, program in (("restic", FAKE_RESTIC), ("mariadb", FAKE_MARIADB)):
            path = self.bin / name
            path.write_text(program.format(python=sys.executable))
            path.chmod(0o755)
        self.log = directory / "calls.jsonl"
        self.scenario_path = directory / "scenario.json"
        self.scenario: dict[str, Any] = {"log": str(self.log), "password": PASSWORD}
        self.save()
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_SCENARIO", str(self.scenario_path))

    def save(self, **changes: Any) -> None:
        self.scenario.update(changes)
        self.scenario_path.write_text(json.dumps(self.scenario))

    def calls(self, program: str = "restic") -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [call for call in map(json.loads, lines) if call["program"] == program]


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    return Fakes(tmp_path, monkeypatch)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "config").write_text("restic repository config\n")
    return repo


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A work directory the throwaway servers (user mysql) could reach: every directory on its
    way searchable by others (pytest's tmp_path is under a 0700 directory)."""
    top = Path(tempfile.mkdtemp(prefix="storeops-drill-test-"))
    top.chmod(0o711)
    try:
        yield top / "work"
    finally:
        shutil.rmtree(top)


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)


@pytest.fixture
def process_state() -> Iterator[None]:
    """main() sets the process's umask and signal handlers: put them back afterwards."""
    handlers = {each: signal.getsignal(each) for each in drill.SIGNALS}
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        yield
    finally:
        os.umask(umask)
        for each, handler in handlers.items():
            signal.signal(each, handler)


def password_on_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def when(hours_ago: float) -> str:
    taken = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    return taken.isoformat(timespec="seconds")


def snapshot(ident: str, time: str, *tags: str) -> dict[str, Any]:
    return {"id": ident, "time": time, "tags": ["storeops", *tags], "hostname": HOST}


def manifest(database: str = "storedms", dump: str = "d1d1d1d1", **extra: Any) -> dict[str, Any]:
    tables = {"customers": {"rows": 40, "checksum": 1820346431}}
    return {"database": database, "dump_snapshot": dump, "tables": tables, **extra}


def run_main(repo: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = drill.main(["--repo", str(repo), "--host", HOST, "--workdir", str(workdir)])
    return code, json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- the password


def test_the_password_reaches_restic_only_as_an_in_memory_file(
    fakes: Fakes, repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not on its command line, not in its environment, not on disk: restic reads it from
    /proc/self/fd/N, a memfd; the caller's RESTIC_* settings do not reach restic either."""
    monkeypatch.setenv("RESTIC_PASSWORD_COMMAND", "echo from-the-environment")
    monkeypatch.setenv("RESTIC_REPOSITORY", "/somewhere/else")
    fakes.save(snapshots=[snapshot("f1f1f1f1", when(1), "files")])
    descriptor = drill.password_file(PASSWORD.encode())
    try:
        assert os.readlink(f"/proc/self/fd/{descriptor}").startswith("/memfd:restic-password")
        found = drill.Restic(str(repository), descriptor).snapshots(HOST)
    finally:
        os.close(descriptor)
    assert [each["id"] for each in found] == ["f1f1f1f1"]
    (call,) = fakes.calls()
    assert call["password"] == PASSWORD
    assert call["password_file"] == f"/proc/self/fd/{descriptor}"
    assert call["argv"][:4] == ["--repo", str(repository), "--no-cache", "--quiet"]
    assert call["argv"][4:] == ["snapshots", "--json", "--host", HOST, "--tag", "storeops"]
    assert not any(PASSWORD in word for word in call["argv"])
    assert not any(PASSWORD in value for value in call["environ"].values())
    restic_settings = sorted(key for key in call["environ"] if key.startswith("RESTIC_"))
    assert restic_settings == ["RESTIC_PASSWORD_FILE"]


def test_a_wrong_password_is_an_unreadable_repository(fakes: Fakes, repository: Path) -> None:
    descriptor = drill.password_file(b"not the password")
    try:
        with pytest.raises(drill.UsageError, match=r"cannot list the snapshots: .*wrong password"):
            drill.Restic(str(repository), descriptor).snapshots(HOST)
    finally:
        os.close(descriptor)


def test_a_failing_restic_is_reported_on_one_line_without_its_retries(
    fakes: Fakes, repository: Path, tmp_path: Path
) -> None:
    stderr = "".join(
        [
            "Load(<lock/1>) returned error, retrying after 552ms: unexpected EOF\n",
            "Fatal: unable to open repository\n",
            "  caused by: permission denied\n",
            "\n",
            "also: something in between\n",
            "Fatal: giving up\n",
        ]
    )
    fakes.save(fail={"restore": stderr})
    descriptor = drill.password_file(PASSWORD.encode())
    try:
        with pytest.raises(drill.DrillError) as failed:
            drill.Restic(str(repository), descriptor).restore("f1f1f1f1", tmp_path / "t")
    finally:
        os.close(descriptor)
    assert str(failed.value) == (
        "restic restore failed: Fatal: unable to open repository / caused by: permission "
        "denied / ... / Fatal: giving up"
    )
    assert fakes.calls()[0]["argv"][4:] == [
        "restore", "f1f1f1f1", "--target", str(tmp_path / "t"), "--verify",
    ]  # fmt: skip


def test_tail_keeps_the_cause_and_the_verdict_and_at_most_2000_characters() -> None:
    assert drill.tail("one\n\n  two  \n") == "one / two"
    assert drill.tail("a\nb\nc\nd\n") == "a / b / ... / d"
    assert drill.tail("retrying after 1s: x\nretrying after 2s: x\n") == (
        "retrying after 1s: x / retrying after 2s: x"  # nothing but retries: kept
    )
    assert len(drill.tail("x" * 5000)) == 2000


# ---------------------------------------------------------------- arguments


def test_arguments_are_refused_unless_root(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    password_on_stdin(monkeypatch, b"pw\n")
    with pytest.raises(SystemExit) as exited:
        drill.parse_args(["--repo", str(repository), "--host", HOST])
    assert exited.value.code == 2
    assert "runs as root" in capsys.readouterr().err


@pytest.mark.usefixtures("as_root")
def test_a_password_in_the_environment_is_refused(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESTIC_PASSWORD", PASSWORD)
    password_on_stdin(monkeypatch, PASSWORD.encode() + b"\n")
    with pytest.raises(SystemExit) as exited:
        drill.parse_args(["--repo", str(repository), "--host", HOST])
    assert exited.value.code == 2
    assert "RESTIC_PASSWORD is set" in capsys.readouterr().err


@pytest.mark.usefixtures("as_root")
def test_a_directory_that_is_no_restic_repository_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RESTIC_PASSWORD", raising=False)
    password_on_stdin(monkeypatch, b"pw\n")
    with pytest.raises(SystemExit) as exited:
        drill.parse_args(["--repo", str(tmp_path), "--host", HOST])
    assert exited.value.code == 2
    assert f"--repo {tmp_path}: not a restic repository" in capsys.readouterr().err


@pytest.mark.usefixtures("as_root")
@pytest.mark.parametrize(
    ("given", "expected"),
    [(b"s3cret\n", b"s3cret"), (b"s3cret", b"s3cret"), (b"two words\nsecond line\n", b"two words")],
)
def test_the_password_is_the_first_line_of_standard_input(
    repository: Path, monkeypatch: pytest.MonkeyPatch, given: bytes, expected: bytes
) -> None:
    monkeypatch.delenv("RESTIC_PASSWORD", raising=False)
    password_on_stdin(monkeypatch, given)
    args = drill.parse_args(["--repo", str(repository), "--host", HOST])
    assert (args.repo, args.host, args.password) == (str(repository), HOST, expected)
    assert args.workdir == "/var/tmp/storeops-drill"


@pytest.mark.usefixtures("as_root")
@pytest.mark.parametrize("given", [b"", b"\n", b"\nthe password on line two\n"])
def test_an_empty_password_is_refused(
    repository: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: bytes,
) -> None:
    monkeypatch.delenv("RESTIC_PASSWORD", raising=False)
    password_on_stdin(monkeypatch, given)
    with pytest.raises(SystemExit) as exited:
        drill.parse_args(["--repo", str(repository), "--host", HOST])
    assert exited.value.code == 2
    assert "standard input (one line): it was empty" in capsys.readouterr().err


@pytest.mark.usefixtures("as_root")
def test_a_terminal_on_standard_input_is_refused(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("RESTIC_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO(b"typed\n")))
    with pytest.raises(SystemExit) as exited:
        drill.parse_args(["--repo", str(repository), "--host", HOST])
    assert exited.value.code == 2
    assert "the repository password goes on standard input" in capsys.readouterr().err


def test_the_installed_entry_point_runs_the_drill_with_its_arguments() -> None:
    """/usr/local/sbin/storeops-restore-drill as installed: it imports the drill from its
    library directory (here module_utils, on PYTHONPATH) and passes its arguments."""
    done = subprocess.run(
        [sys.executable, str(ENTRY_POINT), "--host", HOST],
        env={**os.environ, "PYTHONPATH": str(REPO / "module_utils")},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("usage: storeops-restore-drill ")
    assert "the following arguments are required: --repo" in done.stderr


# ---------------------------------------------------------------- snapshots and manifests


def test_the_latest_files_snapshot_is_chosen_by_its_time_in_any_zone() -> None:
    snapshots = [
        snapshot("aaaa0001", "2026-12-03T10:31:07+08:00", "files"),  # 02:31:07 UTC
        snapshot("aaaa0002", "2026-12-03T02:40:00Z", "files"),
        snapshot("aaaa0003", "2026-12-04T02:40:00Z", "db:storedms"),
    ]
    assert drill.latest_files_snapshot(snapshots, HOST)["id"] == "aaaa0002"


def test_no_files_snapshot_is_nothing_to_drill() -> None:
    only_dumps = [snapshot("aaaa0003", "2026-12-04T02:40:00Z", "db:storedms")]
    with pytest.raises(drill.UsageError, match=f"no files snapshot of {HOST}"):
        drill.latest_files_snapshot(only_dumps, HOST)


SNAPSHOTS = [
    snapshot("d1d1d1d1aaaa", "2026-12-03T02:31:00Z", "db:storedms"),
    snapshot("d2d2d2d2aaaa", "2026-12-03T02:31:00Z", "db:storedms"),
    snapshot("d2d2d2d2bbbb", "2026-12-03T02:31:00Z", "db:storedms"),
    snapshot("e1e1e1e1aaaa", "2026-12-03T02:31:00Z", "db:other"),
]


def test_the_dump_a_manifest_names_is_found_by_its_id_or_a_prefix() -> None:
    assert drill.dump_snapshot(SNAPSHOTS, "d1d1d1d1", "storedms")["id"] == "d1d1d1d1aaaa"
    assert drill.dump_snapshot(SNAPSHOTS, "d2d2d2d2bbbb", "storedms")["id"] == "d2d2d2d2bbbb"


@pytest.mark.parametrize(
    ("named", "database", "problem"),
    [
        ("d2d2d2d2", "storedms", "is ambiguous"),
        ("ffffffff", "storedms", "is not in the repository"),
        ("", "storedms", "is not in the repository"),
        ("e1e1e1e1", "storedms", "is not a dump of storedms"),
    ],
)
def test_a_dump_that_is_not_the_databases_own_fails_the_database(
    named: str, database: str, problem: str
) -> None:
    with pytest.raises(drill.DrillError, match=problem):
        drill.dump_snapshot(SNAPSHOTS, named, database)


def test_a_valid_manifest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "storedms.json"
    path.write_text(json.dumps(manifest()))
    assert drill.load_manifest(path) == manifest()


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("store dms.json", manifest(), "not a database name this drill restores"),
        ("a;b.json", manifest(), "not a database name this drill restores"),
        ("storedms.json", "{not json", "Expecting property name"),
        ("storedms.json", ["storedms"], "not a JSON object"),
        ("storedms.json", manifest(database="other"), "names the database 'other'"),
        ("storedms.json", manifest(dump=""), "names no dump_snapshot"),
        ("storedms.json", {**manifest(), "tables": []}, "tables is not"),
        (
            "storedms.json",
            {**manifest(), "tables": {"customers": {"rows": "40", "checksum": 1}}},
            "tables is not",
        ),
        (
            "storedms.json",
            {**manifest(), "tables": {"customers": {"rows": 40}}},
            "tables is not",
        ),
    ],
)
def test_a_manifest_the_drill_cannot_trust_fails_the_database(
    tmp_path: Path, name: str, content: Any, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(drill.DrillError, match=f"manifest {name}: .*{problem}"):
        drill.load_manifest(path)


def test_a_files_snapshot_without_the_manifests_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(drill.DrillError, match=f"files snapshot f1f1f1f1 has no {MANIFESTS}"):
        drill.manifest_paths(tmp_path, "f1f1f1f1ffff")
    directory = tmp_path / MANIFESTS.lstrip("/")
    directory.mkdir(parents=True)
    for name in ("storedms.json", "crm.json", "notes.txt"):
        (directory / name).write_text("{}")
    assert [path.name for path in drill.manifest_paths(tmp_path, "f1")] == [
        "crm.json",
        "storedms.json",
    ]


# ---------------------------------------------------------------- what is compared

ROWS_40 = {"rows": 40, "checksum": 111}
ROWS_41 = {"rows": 41, "checksum": 222}
ORDERS = {"rows": 7, "checksum": 333}


def test_a_restore_equal_to_the_manifest_has_no_differences() -> None:
    found = {"customers": ROWS_40, "orders": ORDERS}
    assert drill.manifest_differences(manifest(tables=found), found) == []


def test_every_table_that_restores_differently_is_named() -> None:
    recorded = manifest(tables={"customers": ROWS_40, "orders": ORDERS})
    found = {"customers": ROWS_41, "invoices": ORDERS}
    assert drill.manifest_differences(recorded, found) == [
        f"customers: expected {ROWS_40}, found {ROWS_41}",
        f"invoices: expected no table, found {ORDERS}",
        f"orders: expected {ORDERS}, found no table",
    ]


def test_a_database_written_during_the_dump_may_restore_as_before_or_after_it() -> None:
    written = manifest(
        tables={"customers": ROWS_40, "orders": ORDERS},
        stable=False,
        tables_after={"customers": ROWS_41, "orders": ORDERS},
    )
    assert drill.manifest_differences(written, {"customers": ROWS_40, "orders": ORDERS}) == []
    assert drill.manifest_differences(written, {"customers": ROWS_41, "orders": ORDERS}) == []
    neither = {"rows": 39, "checksum": 1}
    assert drill.manifest_differences(written, {"customers": neither, "orders": ORDERS}) == [
        f"customers: expected {ROWS_40}, found {neither}"
    ]


def test_restored_files_are_hashed_by_their_path_on_the_client(tmp_path: Path) -> None:
    """Regular files only (no link, no manifest); a name that is not UTF-8 keeps its bytes."""
    tree = tmp_path / "files"
    (tree / "etc/storedms").mkdir(parents=True)
    (tree / "etc/storedms/app.conf").write_bytes(b"port = 8080\n")
    (tree / "etc/storedms/current").symlink_to("app.conf")
    (tree / MANIFESTS.lstrip("/")).mkdir(parents=True)
    (tree / MANIFESTS.lstrip("/") / "storedms.json").write_text("{}")
    (tree / os.fsdecode(b"etc/caf\xe9.txt")).write_bytes(b"latin-1 name\n")
    assert drill.file_hashes(tree) == {
        "/etc/caf\\xe9.txt": hashlib.sha256(b"latin-1 name\n").hexdigest(),
        "/etc/storedms/app.conf": hashlib.sha256(b"port = 8080\n").hexdigest(),
    }


# ---------------------------------------------------------------- a dump into a database


def test_a_dump_streams_from_restic_into_the_throwaway_database(
    fakes: Fakes, repository: Path
) -> None:
    sql = "CREATE TABLE customers (id INT);\nINSERT INTO customers VALUES (1);\n"
    fakes.save(dumps={"d1d1d1d1aaaa": {"/storedms.sql": sql}})
    descriptor = drill.password_file(PASSWORD.encode())
    try:
        restic = drill.Restic(str(repository), descriptor)
        restic.dump_into("d1d1d1d1aaaa", "/storedms.sql", Server("/scratch/s.sock"), "storedms")
    finally:
        os.close(descriptor)
    assert fakes.calls()[0]["argv"][4:] == ["dump", "d1d1d1d1aaaa", "/storedms.sql"]
    (loaded,) = fakes.calls("mariadb")
    assert loaded["stdin"] == sql
    assert loaded["argv"] == [
        "--user=root", "--socket=/scratch/s.sock", "--binary-mode", "storedms",
    ]  # fmt: skip


def test_sql_the_server_refuses_is_the_dumps_fault(fakes: Fakes, repository: Path) -> None:
    fakes.save(
        dumps={"d1d1d1d1aaaa": {"/storedms.sql": "NOT SQL;\n"}},
        mariadb_error="ERROR 1064 (42000) at line 1: You have an error in your SQL syntax",
    )
    descriptor = drill.password_file(PASSWORD.encode())
    try:
        restic = drill.Restic(str(repository), descriptor)
        with pytest.raises(DumpError, match="loading into storedms failed: ERROR 1064"):
            restic.dump_into("d1d1d1d1aaaa", "/storedms.sql", Server("/s.sock"), "storedms")
    finally:
        os.close(descriptor)


def test_a_failing_restic_dump_is_named_with_its_cause(fakes: Fakes, repository: Path) -> None:
    fakes.save(fail={"dump": "Fatal: pack 4f3a1b: ciphertext verification failed\n"})
    descriptor = drill.password_file(PASSWORD.encode())
    try:
        restic = drill.Restic(str(repository), descriptor)
        with pytest.raises(drill.DrillError) as failed:
            restic.dump_into("d1d1d1d1aaaa", "/storedms.sql", Server("/s.sock"), "storedms")
    finally:
        os.close(descriptor)
    assert str(failed.value) == (
        "restic dump d1d1d1d1 /storedms.sql failed: "
        "Fatal: pack 4f3a1b: ciphertext verification failed"
    )


# ---------------------------------------------------------------- the scratch area


def test_the_work_directory_is_made_searchable_for_the_throwaway_servers(workdir: Path) -> None:
    umask = os.umask(0o077)
    try:
        drill.prepare_workdir(workdir / "deeper")
    finally:
        os.umask(umask)
    for directory in (workdir, workdir / "deeper"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o711, directory


def test_a_work_directory_others_cannot_search_is_refused(workdir: Path) -> None:
    locked = workdir.parent / "locked"
    locked.mkdir(mode=0o700)
    locked.chmod(0o700)
    with pytest.raises(drill.UsageError, match=f"{locked} is not searchable by others"):
        drill.prepare_workdir(locked / "drill")
    assert not (locked / "drill").exists()


def test_the_scratch_directory_is_removed_whatever_happens(workdir: Path) -> None:
    class Failed(Exception):
        pass

    with pytest.raises(Failed), drill.scratch_directory(workdir) as scratch:
        (scratch / "files").mkdir()
        (scratch / "files" / "customers.csv").write_text("secret\n")
        raise Failed
    assert list(workdir.iterdir()) == []


def test_a_socket_path_too_long_for_unix_sockets_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    base = tmp_path / ("x" * 120)
    with (
        pytest.raises(drill.DrillError, match="too long for a unix socket path"),
        drill.throwaway_server(base),
    ):
        pass
    assert not base.exists()


def test_the_throwaway_server_is_on_its_own_and_never_the_hosts() -> None:
    """No option file (the host's my.cnf), no network, its own socket, pid file and data in
    its directory, and no event that could change rows before the checksums are read."""
    argv = drill.server_argv(Path("/var/tmp/storeops-drill/drill-x/db"))
    assert argv[:2] == ["mariadbd", "--no-defaults"]
    assert {"--skip-networking", "--event-scheduler=OFF", "--user=mysql"} <= set(argv)
    options = dict(word.split("=", 1) for word in argv if "=" in word)
    for option in ("--datadir", "--socket", "--pid-file", "--log-error", "--tmpdir"):
        assert options[option].startswith("/var/tmp/storeops-drill/drill-x/db/"), option


# ---------------------------------------------------------------- the drill, end to end


@pytest.mark.usefixtures("as_root", "process_state")
def test_a_host_without_databases_passes_with_its_files_hashed(
    fakes: Fakes,
    repository: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A dms host: files only, an empty manifests directory. The latest files snapshot is
    restored (verified), every file hashed for the comparison with the host, nothing left."""
    fakes.save(
        snapshots=[
            snapshot("f0f0f0f0", when(25), "files"),
            snapshot("f1f1f1f1", when(1), "files"),
        ],
        directories=[MANIFESTS],
        files={"/etc/storedms/app.conf": "port = 8080\n"},
    )
    password_on_stdin(monkeypatch, PASSWORD.encode() + b"\n")
    code, report = run_main(repository, workdir, capsys)
    assert code == 0, report
    assert report["host"] == HOST and report["ok"] is True and "error" not in report
    assert report["files_snapshot"]["id"] == "f1f1f1f1"
    assert 3500 < report["files_snapshot"]["age_seconds"] < 3700
    assert report["databases"] == {}
    assert report["files"] == {
        "/etc/storedms/app.conf": hashlib.sha256(b"port = 8080\n").hexdigest()
    }
    restored = [call["argv"][4:6] for call in fakes.calls() if call["argv"][4] == "restore"]
    assert restored == [["restore", "f1f1f1f1"]]
    assert list(workdir.iterdir()) == []  # the scratch directory is gone


@pytest.mark.usefixtures("as_root", "process_state")
def test_a_repository_without_files_snapshot_exits_2(
    fakes: Fakes,
    repository: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes.save(snapshots=[snapshot("d1d1d1d1", when(1), "db:storedms")])
    password_on_stdin(monkeypatch, PASSWORD.encode() + b"\n")
    code = drill.main(["--repo", str(repository), "--host", HOST, "--workdir", str(workdir)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2
    assert report == {
        "host": HOST,
        "ok": False,
        "error": f"no files snapshot of {HOST} (tags storeops, files) in the repository",
    }
    assert err == f"storeops-restore-drill: {HOST}: {report['error']}\n"


@pytest.mark.usefixtures("as_root", "process_state")
def test_a_database_whose_dump_is_gone_fails_the_drill_with_a_report(
    fakes: Fakes,
    repository: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes.save(
        snapshots=[snapshot("f1f1f1f1", when(1), "files")],
        files={f"{MANIFESTS}/storedms.json": json.dumps(manifest(dump="d9d9d9d9"))},
    )
    password_on_stdin(monkeypatch, PASSWORD.encode() + b"\n")
    code, report = run_main(repository, workdir, capsys)
    problem = "dump snapshot d9d9d9d9 named by the manifest of storedms is not in the repository"
    assert code == 1
    assert report["ok"] is False
    assert report["databases"]["storedms"] == {
        "snapshot": "d9d9d9d9", "time": None, "age_seconds": None, "ok": False,
        "differences": [], "tables": {}, "error": problem,
    }  # fmt: skip
    assert report["error"] == f"1 database(s) failed the drill: storedms: {problem}"
    assert report["files"] == {}  # the manifests are not the host's files
    assert list(workdir.iterdir()) == []


@pytest.mark.usefixtures("as_root", "process_state")
def test_a_files_snapshot_without_manifests_fails_the_drill(
    fakes: Fakes,
    repository: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes.save(
        snapshots=[snapshot("f1f1f1f1", when(1), "files")],
        files={"/etc/storedms/app.conf": "port = 8080\n"},
    )
    password_on_stdin(monkeypatch, PASSWORD.encode() + b"\n")
    code, report = run_main(repository, workdir, capsys)
    assert code == 1
    assert report["error"] == f"files snapshot f1f1f1f1 has no {MANIFESTS}"
    assert list(report["files"]) == ["/etc/storedms/app.conf"]


@pytest.mark.usefixtures("as_root", "process_state")
def test_a_restore_that_fails_fails_the_drill(
    fakes: Fakes,
    repository: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes.save(
        snapshots=[snapshot("f1f1f1f1", when(1), "files")],
        fail={"restore": "Fatal: pack 4f3a1b: ciphertext verification failed\n"},
    )
    password_on_stdin(monkeypatch, PASSWORD.encode() + b"\n")
    code, report = run_main(repository, workdir, capsys)
    assert code == 1
    assert report["error"] == (
        "restic restore failed: Fatal: pack 4f3a1b: ciphertext verification failed"
    )
    assert report["files_snapshot"]["id"] == "f1f1f1f1"
    assert list(workdir.iterdir()) == []


# A drill in a child Python (a signal to the test process itself would end the test run): the
# fake restic's restore sends SIGTERM to the drill.
TERMINATED = """
import os, sys
sys.path.insert(0, {module_utils!r})
os.geteuid = lambda: 0  # the drill's own check; nothing here needs root
import storeops_restore_drill
raise SystemExit(storeops_restore_drill.main(sys.argv[1:]))
"""


def test_a_terminated_drill_cleans_up_and_reports_it(
    fakes: Fakes, repository: Path, workdir: Path
) -> None:
    fakes.save(
        snapshots=[snapshot("f1f1f1f1", when(1), "files")],
        directories=[MANIFESTS],
        terminate_the_drill=True,
    )
    done = subprocess.run(
        [
            sys.executable, "-c", TERMINATED.format(module_utils=str(REPO / "module_utils")),
            "--repo", str(repository), "--host", HOST, "--workdir", str(workdir),
        ],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["error"] == "terminated by SIGTERM"
    assert list(workdir.iterdir()) == []
