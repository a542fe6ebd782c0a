"""storeops-backup: this host's nightly backup into its restic repository on the store's
backup server (SFTP, encrypted with the store's repository password).

    storeops-backup init     create the repository if it does not exist ("initialised")
    storeops-backup run      dump each database (one consistent snapshot each, streamed
                             into restic), back up the files and the dump manifests,
                             apply the retention policy, write the status file; a path
                             of the configuration that does not exist fails the run
    storeops-backup check    restic check, reading a tenth of the data back (a different
                             tenth each ISO week: every pack is read in ten weeks),
                             result into the status
    storeops-backup status   the status file (JSON)

For the restore drill (playbooks/restore-drill.yml), which restores on the backup server:
    storeops-backup stats          every backed-up database's tables now (rows, checksum)
    storeops-backup verify-files   stdin: {"time": snapshot time, "files": {path: sha256}};
                                   compares them with this host's files (JSON out)
    storeops-backup record-drill   stdin: the drill's result, kept in the status file

Configured by /etc/storeops/backup/config.json (written by the storeops backup role). The
database dump is the one dump procedure of storeops (storeops_mariadb, shared with the
DMS rollout's pre-upgrade dump). A failure exits non-zero (the systemd unit fails) and is
written to the status file, which the health check reads.

A database snapshot counts only when its dump succeeded. restic 0.14 (Debian 12) has no
--stdin-from-command: with --stdin it saves whatever it read once its stdin ends, and a
dump that dies midway ends it as cleanly as a finished one. So the dump is saved with the
tag storeops-in-progress alone, which no reader selects (the drill, retention and the
README's restore select storeops, db:<database>, files), and gets its real tags only after
mariadb-dump exited 0. A failed dump stops restic before its stdin ends (no snapshot); a
job that died (killed, out of memory, power) leaves an in-progress snapshot that the next
run forgets.

Runs as root on the backed-up hosts (db, dms): the backup role installs this module into
/usr/local/lib/storeops beside storeops_mariadb, which it imports by that name, and
/usr/local/sbin/storeops-backup runs its main(). The Python standard library and that
module only.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from storeops_mariadb import DumpError, Server, sha256_of, write_private

CONFIG = Path("/etc/storeops/backup/config.json")
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
IN_PROGRESS = "storeops-in-progress"  # a dump being written, or one whose writer died
HELPER_GRACE_SECONDS = 30.0


class BackupError(Exception):
    pass


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Restic:
    """The restic CLI on this host's repository (password from a root-only file)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.env = {
            **os.environ,
            "RESTIC_REPOSITORY": config["repository"],
            "RESTIC_PASSWORD_FILE": config["password_file"],
            "RESTIC_CACHE_DIR": config["cache_dir"],
        }
        self.options = ["-o", f"sftp.command={config['sftp_command']}"]

    def argv(self, *args: str) -> list[str]:
        return ["restic", *self.options, *args]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.argv(*args), check=False, env=self.env, capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise BackupError(f"restic {args[0]} failed: {done.stderr.strip()[-2000:]}")
        return done

    def backup_stream(self, database: str, server: Server, tags: list[str]) -> dict[str, Any]:
        """Stream the dump of ``database`` into a snapshot tagged ``tags`` once the dump
        succeeded; restic's JSON summary, its snapshot_id the tagged snapshot's."""
        argv = self.argv(
            "backup", "--json", "--stdin", "--stdin-filename", f"{database}.sql",
            "--host", self.config["host"], "--tag", IN_PROGRESS,
        )  # fmt: skip
        with subprocess.Popen(
            argv, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as restic:  # fmt: skip
            assert restic.stdin is not None and restic.stdout is not None
            try:
                server.dump_stream(database, restic.stdin)
            except BaseException as error:
                stop_unsaved(restic)
                with contextlib.suppress(OSError):
                    restic.stdin.close()
                message = restic.stderr.read().decode() if restic.stderr else ""
                if isinstance(error, BrokenPipeError) and message.strip():
                    raise BackupError(
                        f"restic backup of {database} failed: {message.strip()[-2000:]}"
                    ) from None
                raise
            restic.stdin.close()
            output = restic.stdout.read().decode()
            complaint = restic.stderr.read().decode() if restic.stderr else ""
        if restic.returncode != 0:
            raise BackupError(f"restic backup of {database} failed: {complaint.strip()[-2000:]}")
        result = summary(output)
        result["snapshot_id"] = self.complete(result["snapshot_id"], tags)
        return result

    def complete(self, snapshot: str, tags: list[str]) -> str:
        """Give the in-progress ``snapshot`` its real ``tags``; the id of the result.

        restic tag writes a new snapshot (its ``original`` is the old one) and removes the
        old one, so the id a manifest names is read back from the repository."""
        self.run("tag", *(word for tag in tags for word in ("--set", tag)), snapshot)
        for each in self.snapshots(*tags):
            if str(each.get("original", "")).startswith(snapshot):  # a short id in 0.14's summary
                return str(each["id"])
        raise BackupError(f"restic tag {snapshot[:8]}: the tagged snapshot is not in the list")

    def snapshots(self, *tags: str) -> list[dict[str, Any]]:
        """This host's snapshots that carry every one of ``tags``."""
        done = self.run(
            "snapshots", "--json", "--host", self.config["host"], "--tag", ",".join(tags)
        )
        try:
            found: list[dict[str, Any]] = json.loads(done.stdout or "[]") or []
        except ValueError:
            raise BackupError(f"restic snapshots gave no JSON: {done.stdout[-500:]}") from None
        return found

    def forget_unfinished(self) -> int:
        """Forget this host's in-progress snapshots (dumps whose writer died); how many."""
        unfinished = [str(each["id"]) for each in self.snapshots(IN_PROGRESS)]
        if unfinished:
            self.run("forget", *unfinished)
        return len(unfinished)

    @staticmethod
    def tag_args(tags: list[str]) -> list[str]:
        return [word for tag in tags for word in ("--tag", tag)]


def stop_unsaved(restic: subprocess.Popen[bytes]) -> None:
    """Stop a ``restic backup --stdin`` whose stdin is still open: it saves nothing.

    SIGINT, which restic 0.14 answers by removing its lock and exiting; SIGKILL would leave
    the lock behind, and the exclusive lock of the next tag or forget would be refused."""
    restic.send_signal(signal.SIGINT)
    try:
        restic.wait(HELPER_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        restic.kill()  # its lock is stale then: the next run's `restic unlock` removes it
        restic.wait()


def summary(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if '"message_type":"summary"' in line.replace(" ", ""):
            found: dict[str, Any] = json.loads(line)
            return found
    raise BackupError(f"restic gave no summary: {output[-500:]}")


def load_config() -> dict[str, Any]:
    try:
        config: dict[str, Any] = json.loads(CONFIG.read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{CONFIG}: {error}") from None
    return config


def status_path(config: dict[str, Any]) -> Path:
    return Path(config["status_dir"]) / "status.json"


def read_status(config: dict[str, Any]) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(status_path(config).read_text())
    except (OSError, ValueError):
        return {}
    return found


def write_status(config: dict[str, Any], **changes: Any) -> None:
    status = {**read_status(config), **changes}
    Path(config["status_dir"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(str(status_path(config)), json.dumps(status, indent=2, sort_keys=True) + "\n")


def init(config: dict[str, Any]) -> str:
    restic = Restic(config)
    if restic.run("cat", "config", check=False).returncode == 0:
        return "exists"
    restic.run("init")
    return "initialised"


def dump_databases(config: dict[str, Any], restic: Restic) -> tuple[list[str], int]:
    """One snapshot per database, and its manifest (tables at dump time) for the drill."""
    server = Server(config["db_socket"])
    manifests = Path(config["status_dir"]) / "manifests"
    manifests.mkdir(parents=True, exist_ok=True, mode=0o700)
    snapshots, added = [], 0
    for database in config["databases"]:
        # CHECKSUM TABLE cannot see the dump's snapshot: the tables are read before and after
        # it. Equal (a quiet database, as at 02:30): the dump holds exactly these. Not equal:
        # the dump lies between the two, and the manifest says so (the drill accepts either).
        before = server.table_stats(database)
        result = restic.backup_stream(database, server, ["storeops", f"db:{database}"])
        after = server.table_stats(database)
        snapshots.append(result["snapshot_id"])
        added += int(result.get("data_added", 0))
        manifest: dict[str, Any] = {
            "database": database,
            "created": now(),
            "dump_snapshot": result["snapshot_id"],
            "tables": before,
            "stable": before == after,
        }
        if before != after:
            manifest["tables_after"] = after
        write_private(str(manifests / f"{database}.json"), json.dumps(manifest, indent=2) + "\n")
    return snapshots, added


def backup_files(config: dict[str, Any], restic: Restic) -> tuple[dict[str, Any] | None, list[str]]:
    """The files snapshot (what exists of the paths, and the manifests); the paths missing."""
    missing = [path for path in config["paths"] if not os.path.lexists(path)]
    paths = [path for path in config["paths"] if path not in missing]
    manifests = Path(config["status_dir"]) / "manifests"
    if manifests.is_dir():
        paths.append(str(manifests))
    if not paths:
        return None, missing
    excludes = [word for pattern in config["excludes"] for word in ("--exclude", pattern)]
    done = restic.run(
        "backup", "--json", "--host", config["host"],
        *restic.tag_args(["storeops", "files"]), *excludes, *paths,
    )  # fmt: skip
    return summary(done.stdout), missing


def forget(config: dict[str, Any], restic: Restic) -> None:
    keep = config["retention"]
    restic.run(
        "forget", "--prune", "--host", config["host"], "--tag", "storeops",
        "--group-by", "host,tags",
        "--keep-daily", str(keep["daily"]), "--keep-weekly", str(keep["weekly"]),
        "--keep-monthly", str(keep["monthly"]),
    )  # fmt: skip


def run(config: dict[str, Any]) -> None:
    started = time.monotonic()
    write_status(config, last_attempt=now())
    restic = Restic(config)
    try:
        restic.run("unlock")  # only stale locks: those of this host's dead processes
        restic.forget_unfinished()  # what a job that died left: never a backup
        snapshots, added = dump_databases(config, restic)
        files, missing = backup_files(config, restic)
        forget(config, restic)
        if missing:
            raise BackupError(
                f"backup_paths missing on this host (the rest is backed up): {', '.join(missing)}"
            )
    except (BackupError, DumpError, OSError) as error:
        write_status(config, result="failed", error=str(error))
        raise
    files = files or {}
    write_status(
        config,
        result="ok",
        error=None,
        last_success=now(),
        duration_seconds=round(time.monotonic() - started, 1),
        snapshots=[*snapshots, *([files["snapshot_id"]] if files else [])],
        bytes_added=added + int(files.get("data_added", 0)),
        bytes_processed=int(files.get("total_bytes_processed", 0)),
    )


CHECK_SUBSETS = 10


def this_weeks_subset(today: dt.date) -> str:
    """The tenth of the packs this week's check reads: week 1 reads 2/10, week 9 reads 10/10."""
    return f"{today.isocalendar().week % CHECK_SUBSETS + 1}/{CHECK_SUBSETS}"


def check(config: dict[str, Any]) -> None:
    subset = this_weeks_subset(dt.date.today())
    done = Restic(config).run("check", f"--read-data-subset={subset}", check=False)
    ok = done.returncode == 0
    write_status(
        config,
        last_check=now(),
        check_read_data_subset=subset,
        check_result="ok" if ok else "failed",
        check_error=None if ok else done.stderr.strip()[-2000:],
    )
    if not ok:
        raise BackupError(f"restic check failed: {done.stderr.strip()[-2000:]}")


def stats(config: dict[str, Any]) -> dict[str, Any]:
    server = Server(config["db_socket"])
    return {database: server.table_stats(database) for database in config["databases"]}


def verify_files(request: dict[str, Any]) -> dict[str, Any]:
    """Restored files against this host's: equal, changed after the snapshot, or wrong."""
    taken = dt.datetime.fromisoformat(request["time"]).timestamp()
    report: dict[str, Any] = {"matched": 0, "missing": [], "changed_since": [], "differ": []}
    for path, expected in sorted(request["files"].items()):
        if not os.path.isfile(path):
            report["missing"].append(path)
        elif sha256_of(path) == expected:
            report["matched"] += 1
        elif os.path.getmtime(path) > taken:
            report["changed_since"].append(path)
        else:
            report["differ"].append(path)
    report["ok"] = not report["differ"]
    return report


def adopt_orphans() -> None:
    """Become the reaper of every process this job starts, however deep.

    restic does not wait for the ssh it starts for SFTP: that ssh is orphaned and may outlive
    restic, and the job, by a moment. systemd then has to stop the unit's leftovers, and where
    it cannot see the cgroup become empty (systemd in a container on cgroup v1: the lab) it
    waits out its whole stop timeout and fails the unit after a good backup. Adopted, the
    orphans are this job's to wait for (reap_orphans) before it exits.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        error = os.strerror(ctypes.get_errno())
        print(f"storeops-backup: cannot adopt orphaned helpers ({error})", file=sys.stderr)


def child_pids() -> list[int]:
    """This process's children now, from /proc (zombies included)."""
    me, found = os.getpid(), []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:  # field 4, after "(comm)" and state
            found.append(int(entry.name))
    return found


def reap_orphans(grace: float = HELPER_GRACE_SECONDS) -> None:
    """Wait until every adopted process has ended; what still runs after ``grace`` seconds
    (an ssh to a backup server that stopped answering) is killed, and said so."""
    deadline = time.monotonic() + grace
    killed: set[int] = set()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child left
        if pid:
            continue
        if time.monotonic() >= deadline:
            for child in set(child_pids()) - killed:
                print(f"storeops-backup: killing helper process {child}, still running "
                      f"{grace:g} s after the job", file=sys.stderr)  # fmt: skip
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
                killed.add(child)
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    """storeops-backup COMMAND (``argv``: the arguments, sys.argv[1:] by default)."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if len(args) == 1 else ""
    if command not in {"init", "run", "check", "status", "stats", "verify-files", "record-drill"}:
        print(__doc__, file=sys.stderr)
        return 2
    os.umask(0o077)
    adopt_orphans()
    try:
        return dispatch(command)
    finally:
        reap_orphans()


def dispatch(command: str) -> int:
    try:
        config = load_config()
        if command == "init":
            print(init(config))
            return 0
        if command == "stats":
            print(json.dumps(stats(config), sort_keys=True))
            return 0
        if command == "verify-files":
            print(json.dumps(verify_files(json.load(sys.stdin)), sort_keys=True))
            return 0
        if command == "record-drill":
            drill = json.load(sys.stdin)
            write_status(config, last_drill=now(), drill_result=drill.get("result"), drill=drill)
        elif command == "run":
            run(config)
        elif command == "check":
            check(config)
        print(json.dumps(read_status(config), indent=2, sort_keys=True))
    except (BackupError, DumpError, OSError) as error:
        print(f"storeops-backup {command}: {error}", file=sys.stderr)
        return 1
    return 0
