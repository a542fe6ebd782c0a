"""storeops-restore-drill: prove that the latest backup of one client host restores.

    storeops-restore-drill --repo PATH --host H [--workdir DIR] < password

Runs as root on the backup server, where each client host's restic repository is a local
directory. The repository password is read from standard input (one line) and reaches
restic only as a file in memory (a memfd, RESTIC_PASSWORD_FILE=/proc/self/fd/N): never in
an environment, on a command line or on disk, where ps, /proc/*/environ, auditd's execve
records or Ansible's -vvv output would show it. The
latest files snapshot of H (tags storeops and files) is restored into a temporary directory
under DIR (default /var/tmp/storeops-drill) and every restored regular file is hashed. For
each dump manifest in it (/var/lib/storeops/backup/manifests/D.json, written by
storeops-backup at dump time), the database snapshot the manifest names is streamed into a
throwaway MariaDB server of the drill's own (fresh datadir in the temporary directory, own
socket, no network, no option files: a MariaDB already running on this host is not touched)
and every table's row count and checksum are compared with the manifest. The throwaway
servers and the temporary directory are removed whatever happens, also on SIGTERM, SIGINT
and SIGHUP.

Prints one JSON document: host, ok, files_snapshot, databases, files (and error when not
ok). Exits 0 when everything restored and matched, 1 when a database differs or a restore
failed, 2 on bad usage, an unreadable repository or no files snapshot of H.

Runs as root on the store's backup server: the backup role installs this module into
/usr/local/lib/storeops beside storeops_mariadb, which it imports by that name, and
/usr/local/sbin/storeops-restore-drill runs its main(). The Python standard library and that
module only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from storeops_mariadb import DumpError, Server, TableStats, differences, sha256_of

MANIFESTS = "/var/lib/storeops/backup/manifests"
DEFAULT_WORKDIR = "/var/tmp/storeops-drill"
DATABASE_NAME = re.compile(r"[A-Za-z0-9_$-]{1,64}")
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# The repository and its password are the drill's arguments, nothing else in the environment.
RESTIC_OVERRIDES = (
    "RESTIC_REPOSITORY",
    "RESTIC_REPOSITORY_FILE",
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
)
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
SOCKET_PATH_MAX = 107  # sun_path: 108 bytes with the terminating NUL

Snapshot = dict[str, Any]
Report = dict[str, Any]


class DrillError(Exception):
    """A restore that failed or differs: the drill fails (exit 1)."""


class UsageError(Exception):
    """Nothing to drill: bad usage, an unreadable repository, no files snapshot (exit 2)."""


class Terminated(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")


# Signals: the first one ends the drill through the cleanup of every finally block.


def on_signal(signum: int, _frame: FrameType | None) -> NoReturn:
    for each in SIGNALS:  # a second signal must not cut the cleanup short
        signal.signal(each, signal.SIG_IGN)
    raise Terminated(signum)


def handle_signals() -> None:
    for each in SIGNALS:
        signal.signal(each, on_signal)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Cleanup no signal interrupts: one arriving meanwhile is delivered afterwards."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# Small helpers.


def tail(text: str, first: int = 2) -> str:
    """A tool's error output on one line: its ``first`` lines (the cause, usually) and its
    last (the verdict), without restic's retries."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    kept = [line for line in kept if "retrying after" not in line] or kept
    if len(kept) > first + 1:
        kept = [*kept[:first], "...", kept[-1]]
    return " / ".join(kept)[-2000:]


def tail_of(path: Path) -> str:
    try:
        return tail(path.read_text(errors="replace"))
    except OSError:
        return f"({path.name} not written)"


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def describe(snapshot: Snapshot) -> dict[str, Any]:
    taken = parse_time(snapshot["time"])
    return {
        "id": snapshot["id"],
        "time": taken.isoformat(timespec="seconds"),
        "age_seconds": int((dt.datetime.now(dt.UTC) - taken).total_seconds()),
    }


def remove(directory: Path) -> None:
    def complain(_function: Callable[..., Any], path: str, _info: Any) -> None:
        print(f"storeops-restore-drill: could not remove {path}", file=sys.stderr)

    if directory.exists():
        shutil.rmtree(directory, onerror=complain)


def run_logged(argv: list[str], log: Path) -> int:
    """Run ``argv`` in its own process group, output to ``log``; the group dies with us."""
    with (
        log.open("ab") as out,
        subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        ) as child,
    ):  # fmt: skip
        try:
            return child.wait()
        except BaseException:
            os.killpg(child.pid, signal.SIGKILL)
            raise


def password_file(password: bytes) -> int:
    """A file in memory only (memfd) holding ``password``: each restic opens it anew by
    /proc/self/fd/N (offset 0); it is gone when this process ends, however it ends."""
    descriptor = os.memfd_create("restic-password")  # close-on-exec: only pass_fds gets it
    os.write(descriptor, password)
    return descriptor


class Restic:
    """The restic CLI on one local repository; its password in a memfd (``password_file``)."""

    def __init__(self, repository: str, password: int) -> None:
        self.argv = ["restic", "--repo", repository, "--no-cache", "--quiet"]
        self.password = password
        self.env = {key: value for key, value in os.environ.items() if key not in RESTIC_OVERRIDES}
        self.env["RESTIC_PASSWORD_FILE"] = f"/proc/self/fd/{password}"

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*self.argv, *args], env=self.env, capture_output=True, text=True, check=False,
            pass_fds=(self.password,),
        )  # fmt: skip
        if done.returncode != 0:
            raise DrillError(f"restic {args[0]} failed: {tail(done.stderr)}")
        return done.stdout

    def snapshots(self, host: str) -> list[Snapshot]:
        try:
            found: list[Snapshot] = json.loads(
                self.run("snapshots", "--json", "--host", host, "--tag", "storeops") or "[]"
            )
        except (DrillError, ValueError) as error:
            raise UsageError(f"cannot list the snapshots: {error}") from None
        return found or []

    def restore(self, snapshot: str, target: Path) -> None:
        self.run("restore", snapshot, "--target", str(target), "--verify")

    def dump_into(self, snapshot: str, path: str, server: Server, database: str) -> None:
        """Stream ``path`` of ``snapshot`` into ``database``, never on disk in between."""
        load_error: DumpError | None = None
        with tempfile.TemporaryFile() as stderr:
            with subprocess.Popen(
                [*self.argv, "dump", snapshot, path],
                env=self.env, stdout=subprocess.PIPE, stderr=stderr, pass_fds=(self.password,),
            ) as dump:  # fmt: skip
                assert dump.stdout is not None
                try:
                    server.load_stream(dump.stdout, database)
                except DumpError as error:
                    load_error = error
                except BaseException:
                    dump.kill()
                    raise
            stderr.seek(0)
            message = tail(stderr.read().decode(errors="replace"))
        if load_error is not None and dump.returncode in (0, -signal.SIGPIPE):
            raise load_error  # restic was fine (or only lost its reader): the SQL is the fault
        if dump.returncode != 0:
            also = f" (then {load_error})" if load_error else ""
            raise DrillError(f"restic dump {snapshot[:8]} {path} failed: {message}{also}")


# Snapshots and manifests.


def latest_files_snapshot(snapshots: list[Snapshot], host: str) -> Snapshot:
    files = [each for each in snapshots if "files" in (each.get("tags") or [])]
    if not files:
        raise UsageError(f"no files snapshot of {host} (tags storeops, files) in the repository")
    return max(files, key=lambda each: parse_time(each["time"]))


def dump_snapshot(snapshots: list[Snapshot], named: str, database: str) -> Snapshot:
    """The snapshot ``named`` (an id or a prefix of one), which must be a dump of ``database``."""
    found = [each for each in snapshots if named and each["id"].startswith(named)]
    if len(found) != 1:
        state = "ambiguous" if found else "not in the repository"
        raise DrillError(f"dump snapshot {named} named by the manifest of {database} is {state}")
    if f"db:{database}" not in (found[0].get("tags") or []):
        raise DrillError(f"snapshot {named} named by the manifest is not a dump of {database}")
    return found[0]


def manifest_paths(tree: Path, snapshot: str) -> list[Path]:
    directory = tree / MANIFESTS.lstrip("/")
    if not directory.is_dir():
        raise DrillError(f"files snapshot {snapshot[:8]} has no {MANIFESTS}")
    return sorted(directory.glob("*.json"))


def valid_stats(stats: Any) -> bool:
    return (
        isinstance(stats, dict)
        and set(stats) == {"rows", "checksum"}
        and all(isinstance(value, int) for value in stats.values())
    )


def manifest_problem(manifest: Any, database: str) -> str | None:
    if not isinstance(manifest, dict):
        return "not a JSON object"
    if manifest.get("database") != database:
        return f"names the database {manifest.get('database')!r}"
    if not isinstance(manifest.get("dump_snapshot"), str) or not manifest["dump_snapshot"]:
        return "names no dump_snapshot"
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(map(valid_stats, tables.values())):
        return 'tables is not {table: {"rows": int, "checksum": int}}'
    return None


def load_manifest(path: Path) -> dict[str, Any]:
    if not DATABASE_NAME.fullmatch(path.stem):
        raise DrillError(f"manifest {path.name}: not a database name this drill restores")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DrillError(f"manifest {path.name}: {error}") from None
    problem = manifest_problem(manifest, path.stem)
    if problem:
        raise DrillError(f"manifest {path.name}: {problem}")
    return manifest


# The throwaway MariaDB server: its own datadir, socket, pid file and no option file, so the
# host's MariaDB (its datadir, /run/mysqld, port 3306) is never touched.


def server_argv(base: Path) -> list[str]:
    return [
        "mariadbd",
        "--no-defaults",
        "--user=mysql",
        f"--datadir={base / 'data'}",
        f"--socket={base / 'mysqld.sock'}",
        f"--pid-file={base / 'mysqld.pid'}",
        f"--log-error={base / 'error.log'}",
        f"--tmpdir={base / 'tmp'}",
        "--skip-networking",
        "--event-scheduler=OFF",  # restored events must not change rows before the checksum
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
        "--max-allowed-packet=1G",
    ]


def prepare(base: Path) -> None:
    try:
        mysql = pwd.getpwnam("mysql")
    except KeyError:
        raise DrillError("no user mysql: is mariadb-server installed?") from None
    for directory in (base, base / "tmp"):
        directory.mkdir(mode=0o700)
        os.chown(directory, mysql.pw_uid, mysql.pw_gid)


def install(base: Path) -> None:
    argv = [
        "mariadb-install-db",
        "--no-defaults",
        "--user=mysql",
        "--basedir=/usr",
        f"--datadir={base / 'data'}",
        f"--tmpdir={base / 'tmp'}",
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
        "--skip-name-resolve",
    ]
    if run_logged(argv, base / "install.log") != 0:
        raise DrillError(f"mariadb-install-db failed: {tail_of(base / 'install.log')}")


def start(base: Path) -> subprocess.Popen[bytes]:
    with (base / "start.log").open("ab") as out:
        return subprocess.Popen(
            server_argv(base), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def wait_ready(server: Server, process: subprocess.Popen[bytes], base: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DrillError(
                f"the throwaway MariaDB server exited ({process.returncode}): "
                f"{tail_of(base / 'error.log')} {tail_of(base / 'start.log')}"
            )
        if (base / "mysqld.sock").exists():
            with contextlib.suppress(DumpError):
                server.query("SELECT 1")
                return
        time.sleep(0.2)
    raise DrillError(
        f"the throwaway MariaDB server did not start in {START_TIMEOUT:.0f}s: "
        f"{tail_of(base / 'error.log')}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def throwaway_server(base: Path) -> Iterator[Server]:
    """A fresh MariaDB server in ``base`` (a new directory); stopped and removed after."""
    if len(os.fsencode(base / "mysqld.sock")) > SOCKET_PATH_MAX:
        raise DrillError(f"{base}: too long for a unix socket path, choose a shorter --workdir")
    process: subprocess.Popen[bytes] | None = None
    try:
        prepare(base)
        install(base)
        process = start(base)
        server = Server(str(base / "mysqld.sock"))
        wait_ready(server, process, base)
        yield server
    finally:
        with signals_deferred():
            if process is not None:
                stop(process)
            remove(base)


# The drill.


def restored_stats(restic: Restic, snapshot: str, database: str, base: Path) -> TableStats:
    with throwaway_server(base) as server:
        server.query(f"CREATE DATABASE `{database}`")
        restic.dump_into(snapshot, f"/{database}.sql", server, database)
        return server.table_stats(database)


def manifest_differences(manifest: dict[str, Any], found: TableStats) -> list[str]:
    """The tables that hold neither what the manifest read before the dump nor, when the
    database was written during the dump (``stable`` false), what it read after it."""
    expected: TableStats = manifest["tables"]
    later: TableStats | None = manifest.get("tables_after")
    names = sorted(set(expected) | set(found))
    wrong = [
        name
        for name in names
        if found.get(name) != expected.get(name)
        and (later is None or found.get(name) != later.get(name))
    ]
    return differences(
        {name: expected[name] for name in wrong if name in expected},
        {name: found[name] for name in wrong if name in found},
    )


def check_database(
    restic: Restic, snapshots: list[Snapshot], manifest_path: Path, scratch: Path
) -> dict[str, Any]:
    database = manifest_path.stem
    result: dict[str, Any] = {"snapshot": None, "time": None, "age_seconds": None, "ok": False}
    result.update(differences=[], tables={})
    try:
        manifest = load_manifest(manifest_path)
        result["snapshot"] = manifest["dump_snapshot"]
        snapshot = dump_snapshot(snapshots, manifest["dump_snapshot"], database)
        described = describe(snapshot)
        result.update(snapshot=described.pop("id"), **described)
        result["tables"] = restored_stats(restic, snapshot["id"], database, scratch / "db")
        result["differences"] = manifest_differences(manifest, result["tables"])
        result["ok"] = not result["differences"]
    except (DrillError, DumpError, OSError) as error:
        result["error"] = str(error)
    return result


def client_path(tree: Path, path: Path) -> str:
    """``path`` as on the client; a name that is not UTF-8 keeps its bytes as \\x escapes."""
    return os.fsencode(f"/{path.relative_to(tree).as_posix()}").decode("utf-8", "backslashreplace")


def file_hashes(tree: Path) -> dict[str, str]:
    """sha256 of every regular file restored, by path on the client, manifests aside."""
    hashes: dict[str, str] = {}
    for root, _directories, names in os.walk(tree):
        for name in names:
            path = Path(root, name)
            shown = client_path(tree, path)
            if not shown.startswith(f"{MANIFESTS}/") and stat.S_ISREG(path.lstat().st_mode):
                hashes[shown] = sha256_of(str(path))
    return dict(sorted(hashes.items()))


def prepare_workdir(workdir: Path) -> None:
    """``workdir`` exists and the throwaway servers (user mysql) can reach their directory."""
    workdir = workdir.resolve()
    for directory in (*reversed(workdir.parents), workdir):
        if not directory.exists():
            directory.mkdir()
            directory.chmod(0o711)  # whatever the umask
        if not directory.stat().st_mode & stat.S_IXOTH:
            raise UsageError(f"{directory} is not searchable by others (user mysql): chmod o+x")


@contextlib.contextmanager
def scratch_directory(workdir: Path) -> Iterator[Path]:
    prepare_workdir(workdir)
    scratch = Path(tempfile.mkdtemp(prefix="drill-", dir=workdir))
    try:
        scratch.chmod(0o711)  # searchable (not readable) for the throwaway servers' directory
        yield scratch
    finally:
        with signals_deferred():
            remove(scratch)


def failures(databases: dict[str, Any]) -> list[str]:
    return [
        f"{name}: {result.get('error') or '; '.join(result['differences'])}"
        for name, result in databases.items()
        if not result["ok"]
    ]


def drill(repo: str, host: str, workdir: Path, report: Report, password: int) -> None:
    """Fill ``report``; raise when the drill fails (the report keeps what was found)."""
    restic = Restic(repo, password)
    snapshots = restic.snapshots(host)
    files_snapshot = latest_files_snapshot(snapshots, host)
    report.update(files_snapshot=describe(files_snapshot), databases={}, files={})
    with scratch_directory(workdir) as scratch:
        tree = scratch / "files"
        tree.mkdir(mode=0o700)
        restic.restore(files_snapshot["id"], tree)
        report["files"] = file_hashes(tree)
        for path in manifest_paths(tree, files_snapshot["id"]):
            report["databases"][path.stem] = check_database(restic, snapshots, path, scratch)
    failed = failures(report["databases"])
    if failed:
        raise DrillError(f"{len(failed)} database(s) failed the drill: {' | '.join(failed)}")
    report["ok"] = True


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="storeops-restore-drill",
        description="Prove that the latest backup of a client host restores (JSON on stdout).",
    )
    parser.add_argument("--repo", required=True, help="the host's restic repository (a directory)")
    parser.add_argument("--host", required=True, help="the client host (restic --host)")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR, help="where the temp dir goes")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("runs as root (throwaway MariaDB servers run as user mysql)")
    if "RESTIC_PASSWORD" in os.environ:
        parser.error("RESTIC_PASSWORD is set: the password goes on standard input, never in the "
                     "environment (ps and /proc show a process's environment)")  # fmt: skip
    if not Path(args.repo, "config").is_file():
        parser.error(f"--repo {args.repo}: not a restic repository")
    args.password = read_password(parser)
    return args


def read_password(parser: argparse.ArgumentParser) -> bytes:
    """The repository password: standard input, its first line."""
    if sys.stdin is None or sys.stdin.isatty():
        parser.error("the repository password goes on standard input (one line)")
    lines = sys.stdin.buffer.read().splitlines()
    if not lines or not lines[0]:
        parser.error("the repository password goes on standard input (one line): it was empty")
    return lines[0]


def emit(report: Report) -> None:
    sys.stdout.buffer.write(json.dumps(report, indent=2, ensure_ascii=False).encode() + b"\n")
    sys.stdout.buffer.flush()


def main(argv: list[str] | None = None) -> int:
    """storeops-restore-drill (``argv``: the arguments, sys.argv[1:] by default)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handle_signals()
    os.umask(0o077)
    report: Report = {"host": args.host, "ok": False}
    code = 0
    try:
        drill(args.repo, args.host, Path(args.workdir), report, password_file(args.password))
    except UsageError as error:
        code, report["error"] = 2, str(error)
    except (DrillError, DumpError, OSError, Terminated) as error:
        code, report["error"] = 1, str(error)
    for each in SIGNALS:  # all cleaned up: a signal now may simply end the process
        signal.signal(each, signal.SIG_DFL)
    emit(report)
    if code:
        print(f"storeops-restore-drill: {args.host}: {report['error']}", file=sys.stderr)
    return code
