"""playbooks/backup.yml on the lab: restic over SFTP to each store's backup server.

Real state is read through podman (the controller's trusted channel to its lab): the
units, the status file the job writes, the repository on the backup server, the sshd of
the backup server answering the backup user.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from storeops.inventory import Inventory
from storeops_lab.lab import up
from storeops_lab.podman import exec_in
from tests.conftest import REPO as REPO_ROOT
from tests.integration.ansible_run import PlaybookRun, changes_per_host, run_playbook

pytestmark = pytest.mark.lab

DB, DMS, SERVER = "storeops-sh01-db", "storeops-sh01-dms", "storeops-sh01-backup"
REPO = "/srv/storeops-backup/backup-sh01-db/repo"
# restic with the job's own configuration (password file, SFTP), one or more commands in a
# row: python3 - '[[ARG, ...], ...]'
RESTIC = """
import json, os, subprocess, sys
config = json.load(open("/etc/storeops/backup/config.json"))
env = dict(os.environ, RESTIC_REPOSITORY=config["repository"],
           RESTIC_PASSWORD_FILE=config["password_file"])
for args in json.loads(sys.argv[1]):
    argv = ["restic", "-o", "sftp.command=" + config["sftp_command"], *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.exit(done.stderr)
"""


def sh(container: str, command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return exec_in(container, ["sh", "-c", command], timeout=timeout)


def restic(container: str, *commands: list[str], timeout: float = 120) -> str:
    done = exec_in(
        container, ["python3", "-", json.dumps(commands)], input_text=RESTIC, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def every_pack_damaged() -> Iterator[None]:
    """sh01-db's repository with four bytes overwritten in every pack file (trees and data:
    whatever part of it a check or a restore reads), put back as it was afterwards."""
    saved = sh(SERVER, f"cp -a {REPO}/data /root/data.saved && for f in $(find {REPO}/data "
               "-type f); do printf 'XXXX' | dd of=$f bs=1 seek=64 conv=notrunc status=none; done")  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    try:
        yield
    finally:
        sh(SERVER, f"rm -rf {REPO}/data && mv /root/data.saved {REPO}/data")


def status(container: str) -> dict[str, Any]:
    done = sh(container, "cat /var/lib/storeops/backup/status.json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def backup_now(container: str) -> dict[str, Any]:
    """The nightly service, started now (systemctl waits for a oneshot to finish)."""
    done = sh(container, "systemctl start storeops-backup.service")
    assert done.returncode == 0, sh(container, "journalctl -u storeops-backup -n 30").stdout
    return status(container)


def customers_in(store: str) -> int:
    """The customers in a store's DMS database (0 without one)."""
    done = sh(f"storeops-{store}-db", "mariadb -N -e 'SELECT COUNT(*) FROM storedms.customers'")
    count = done.stdout.strip()
    return int(count) if done.returncode == 0 and count.isdigit() else 0


def dms_state() -> tuple[int, str, int]:
    """sh01's DMS as a user meets it: customers in its database, release, /smoke status."""
    health = sh(DMS, "curl -s -m 10 http://127.0.0.1:8080/health").stdout
    smoke = sh(
        DMS, "curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:8080/smoke"
    )
    version = json.loads(health)["version"] if health.startswith("{") else "none"
    return customers_in("sh01"), version, int(smoke.stdout or 0)


def test_the_lab_baseline_reseeds_a_running_dms_whose_database_was_recreated_empty(
    lab: Inventory, tmp_path: Path
) -> None:
    """What `make test` did to `make demo`'s lab: a test recreates sh01-db (empty) while
    sh01-dms still runs its release; the baseline must give the store its data back, on the
    release it runs, and a second run changes nothing."""
    customers, version, smoke = dms_state()
    if customers == 0 or smoke != 200:  # not as `make demo` left it: the baseline first
        before = lab_baseline(tmp_path)
        assert before.returncode == 0, before.stdout[-3000:]
        customers, version, _ = dms_state()
    assert customers > 0
    removed = subprocess.run(
        ["podman", "rm", "-f", DB], check=False, capture_output=True, text=True, timeout=120
    )
    assert removed.returncode == 0, removed.stderr
    try:
        # sh01-db again, from the image: no database yet (only that host: other suites
        # may be using the rest of the lab)
        up(lab, say=lambda _: None, only=[DB.removeprefix("storeops-")])
        first = lab_baseline(tmp_path)
        assert first.returncode == 0, first.stdout[-3000:]
        assert dms_state() == (40, version, 200)  # seeded again, still on its release
        again = lab_baseline(tmp_path)
        assert again.returncode == 0, again.stdout[-3000:]
        assert changes_per_host(again)["sh01-dms"] == 0, again.stdout[-3000:]
    finally:  # the new sh01-db hardened, as `make demo` left the old one
        db_host = DB.removeprefix("storeops-")  # the inventory's name of the container
        hardened = run_playbook("playbooks/harden.yml", tmp_path, "--limit", f"{db_host},localhost")
        assert hardened.returncode == 0, hardened.stdout[-3000:]


def lab_baseline(tmp_path: Path) -> PlaybookRun:
    """The baseline of the two hosts the reseed is about: the store's database and DMS
    (the rest of the store is not what changed; half the hosts, half the tasks)."""
    hosts = ",".join(name.removeprefix("storeops-") for name in (DB, DMS))
    return run_playbook("playbooks/lab-baseline.yml", tmp_path, "--limit", hosts)


@pytest.fixture(scope="module")
def converged(
    lab: Inventory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PlaybookRun, PlaybookRun]]:
    tmp_path = tmp_path_factory.mktemp("backup")
    if not all(customers_in(store) for store in lab.stores):  # every database with customers
        baseline = run_playbook("playbooks/lab-baseline.yml", tmp_path)
        assert baseline.returncode == 0, baseline.stdout[-3000:]
    first = run_playbook("playbooks/backup.yml", tmp_path)
    second = run_playbook("playbooks/backup.yml", tmp_path)
    yield first, second


def test_backup_playbook_converges_then_changes_nothing(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    first, second = converged
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    changes = changes_per_host(second)
    assert changes and set(changes.values()) == {0}, changes
    for unit in ("storeops-backup.timer", "storeops-backup-check.timer"):
        assert sh(DB, f"systemctl is-enabled {unit}").stdout.strip() == "enabled"
        assert sh(DB, f"systemctl is-active {unit}").stdout.strip() == "active"
    calendar = sh(DB, "systemctl show -p TimersCalendar storeops-backup.timer").stdout
    assert "Asia/Shanghai" in calendar  # the store's time
    for host in (DB, DMS):  # the first converge ran each host's first backup
        assert status(host)["last_success"], host


def test_check_mode_reports_drift_and_a_run_repairs_it(
    converged: tuple[PlaybookRun, PlaybookRun], tmp_path: Path
) -> None:
    config = "/etc/storeops/backup/config.json"
    assert sh(DB, f"rm {config}").returncode == 0
    check = run_playbook(
        "playbooks/backup.yml", tmp_path, "--check", "--diff", "--limit", "sh01-db"
    )
    assert check.returncode == 0, check.stdout[-3000:]
    assert changes_per_host(check)["sh01-db"] >= 1
    assert '"retention"' in check.stdout  # the diff shows the file it would write
    assert sh(DB, f"test -e {config}").returncode != 0, "--check wrote the file"
    repair = run_playbook("playbooks/backup.yml", tmp_path, "--limit", "sh01-db")
    assert repair.returncode == 0, repair.stdout[-3000:]
    assert changes_per_host(repair)["sh01-db"] >= 1
    assert json.loads(sh(DB, f"cat {config}").stdout)["host"] == "sh01-db"


def test_a_nightly_run_leaves_an_encrypted_snapshot_on_the_backup_server(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    marker = sh(DB, "mariadb -N -e 'SELECT id_number FROM storedms.customers LIMIT 1'")
    id_number = marker.stdout.strip()
    assert len(id_number) == 18, marker  # a PIPL-sensitive value, in the dump in plain text

    result = backup_now(DB)
    assert result["result"] == "ok", result
    assert len(result["snapshots"]) == 2  # the dump, the files (with the dump's manifest)
    assert result["bytes_added"] > 0
    assert sh(SERVER, f"ls {REPO}/snapshots | wc -l").stdout.strip() >= "2"
    # Encrypted: the customer's ID number is nowhere in the repository's files...
    found = sh(SERVER, f"grep -r -l -F '{id_number}' {REPO}; echo rc=$?")
    assert found.stdout.strip().endswith("rc=1"), found.stdout
    # ...and the repository does not open without the store's password.
    wrong = sh(SERVER, f"RESTIC_PASSWORD=not-the-password restic -r {REPO} snapshots")
    assert wrong.returncode != 0 and "wrong password" in wrong.stderr, wrong.stderr
    # With it (on the host that owns it), the dump is there and holds the customer.
    assert id_number in restic(DB, ["dump", "--tag", "db:storedms", "latest", "/storedms.sql"])


def test_the_dms_host_backs_up_its_files(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    result = backup_now(DMS)
    assert result["result"] == "ok", result
    assert len(result["snapshots"]) == 1  # files only: no database on a DMS host
    age = time.time() - time.mktime(time.strptime(result["last_success"], "%Y-%m-%dT%H:%M:%S%z"))
    assert age < 600


def test_the_backup_user_gets_sftp_only_in_its_own_chroot(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    ssh = (
        "ssh -i /root/.ssh/storeops-backup_ed25519 -o BatchMode=yes -o IdentitiesOnly=yes"
        " -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/storeops/backup/known_hosts"
    )
    shell = sh(DB, f"{ssh} backup-sh01-db@10.77.1.70 id; echo rc=$?", timeout=60)
    assert "uid=" not in shell.stdout  # no command runs: internal-sftp only
    listing = sh(DB, "echo 'ls /' | sftp -b - -o IdentityFile=/root/.ssh/storeops-backup_ed25519"
                 " -o UserKnownHostsFile=/etc/storeops/backup/known_hosts"
                 " backup-sh01-db@10.77.1.70", timeout=60)  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split()[-1] == "/repo"  # its own repository, nothing else
    other = sh(DMS, f"{ssh} backup-sh01-db@10.77.1.70 true", timeout=60)  # the DMS host's key
    assert "Permission denied" in other.stderr  # another host's key is not this user's


def test_a_corrupted_pack_fails_the_check_loudly(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    """Every pack damaged: the check reads every tree whatever this week's data subset is."""
    backup_now(DB)
    with every_pack_damaged():
        done = sh(DB, "systemctl start storeops-backup-check.service")
        assert done.returncode != 0  # the unit fails: visible to systemctl and the health check
        result = status(DB)
        assert result["check_result"] == "failed", result
    assert sh(DB, "systemctl start storeops-backup-check.service").returncode == 0
    assert status(DB)["check_result"] == "ok"


def test_the_dump_does_not_block_the_dms(converged: tuple[PlaybookRun, PlaybookRun]) -> None:
    """Smoke transactions (writes, deleted in the same transaction) in a loop during a backup."""
    answers: list[int | str] = []
    done = threading.Event()

    def smoke_loop() -> None:
        while not done.is_set():
            request = urllib.request.Request("http://10.77.1.40:8080/smoke", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answers.append(response.status)
            except (urllib.error.URLError, OSError) as error:
                answers.append(str(error))
            time.sleep(0.05)

    loader = threading.Thread(target=smoke_loop)
    loader.start()
    try:
        result = backup_now(DB)
    finally:
        done.set()
        loader.join()
    assert result["result"] == "ok", result
    assert len(answers) >= 5, answers  # the load ran during the dump
    assert set(answers) == {200}, [a for a in answers if a != 200][:5]


def test_the_restore_drill_restores_elsewhere_and_matches(
    converged: tuple[PlaybookRun, PlaybookRun], tmp_path: Path
) -> None:
    backup_now(DB)
    backup_now(DMS)
    live_before = sh(DB, "storeops-backup stats").stdout
    drill = run_playbook("playbooks/restore-drill.yml", tmp_path, "--limit", "store_sh01")
    assert drill.returncode == 0, drill.stdout[-3000:]
    words = drill.words
    assert "sh01-db: PASSED: backup of" in words and "sh01-dms: PASSED: backup of" in words
    recorded = status(DB)
    assert recorded["drill_result"] == "passed", recorded
    assert recorded["drill"]["tables"] >= 3
    assert status(DMS)["drill"]["files_matched"] > 0
    assert sh(DB, "storeops-backup stats").stdout == live_before  # the live data untouched
    # Nothing of the drill is left on the backup server: no scratch files, no server.
    assert sh(SERVER, "ls /var/tmp/storeops-drill 2>/dev/null | wc -l").stdout.strip() == "0"
    assert "mariadbd" not in sh(SERVER, "ps -eo comm").stdout


def test_a_corrupted_repository_fails_the_drill(
    converged: tuple[PlaybookRun, PlaybookRun], tmp_path: Path
) -> None:
    with every_pack_damaged():
        drill = run_playbook("playbooks/restore-drill.yml", tmp_path, "--limit", "sh01-db")
        assert drill.returncode != 0
        assert "sh01-db: FAILED" in drill.words, drill.stdout[-3000:]
        assert status(DB)["drill_result"] == "failed"
    repaired = run_playbook("playbooks/restore-drill.yml", tmp_path, "--limit", "sh01-db")
    assert repaired.returncode == 0, repaired.stdout[-3000:]  # the last drill passes again
    assert status(DB)["drill_result"] == "passed"


def kept_by_policy(
    times: list[dt.datetime], daily: int, weekly: int, monthly: int
) -> set[dt.datetime]:
    """restic's keep-daily/-weekly/-monthly, written out: newest first, each rule keeps the
    newest snapshot of each of its last N distinct days/ISO weeks/months that hold one."""
    rules: list[tuple[int, Callable[[dt.datetime], tuple[int, ...]]]] = [
        (daily, lambda t: (t.year, t.month, t.day)),
        (weekly, lambda t: tuple(t.isocalendar())[:2]),
        (monthly, lambda t: (t.year, t.month)),
    ]
    kept: set[dt.datetime] = set()
    for count, bucket in rules:
        seen: list[tuple[int, ...]] = []
        for time_ in sorted(times, reverse=True):
            if len(seen) < count and bucket(time_) not in seen:
                seen.append(bucket(time_))
                kept.add(time_)
    return kept


def test_retention_keeps_exactly_what_the_policy_says(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    """100 back-dated snapshots (restic --time), one every 4 days from 2025-01-01, in a group
    of their own; the nightly run's forget applies the inventory's policy to every group."""
    policy = json.loads(sh(DB, "cat /etc/storeops/backup/config.json").stdout)["retention"]
    assert policy == {"daily": 14, "weekly": 8, "monthly": 12}  # group_vars/all/backup.yml
    made = [dt.datetime(2025, 1, 1, 12) + dt.timedelta(days=4 * n) for n in range(100)]
    restic(DB, *(["backup", "--quiet", "--host", "sh01-db", "--tag", "storeops,retention-test",
                  "--time", f"{t:%Y-%m-%d %H:%M:%S}", "/etc/hostname"] for t in made),
           timeout=600)  # fmt: skip
    try:
        assert backup_now(DB)["result"] == "ok"
        listed = json.loads(restic(DB, ["snapshots", "--json", "--tag", "retention-test"]))
        left = {dt.datetime.fromisoformat(s["time"]).replace(tzinfo=None) for s in listed}
        expected = kept_by_policy(made, **policy)
        assert len(expected) == 23  # by hand: the last 14 days, whose 8 weeks hold the
        # weekly ones, and 9 more month-ends (March to November 2025)
        assert left == expected, sorted(left ^ expected)
    finally:
        listed = json.loads(restic(DB, ["snapshots", "--json", "--tag", "retention-test"]))
        if listed:
            restic(DB, ["forget", "--prune", *(s["id"] for s in listed)], timeout=300)


# ---------------------------------------------------------------- a backup is a whole dump

IN_PROGRESS = "storeops-in-progress"
FAKE_BIN = "/root/storeops-test-bin"


def dump_snapshots(*tags: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        restic(DB, ["snapshots", "--json", "--host", "sh01-db", "--tag", ",".join(tags)]) or "[]"
    )
    return found or []


def latest_dump_id() -> str:
    return str(max(dump_snapshots("storeops", "db:storedms"), key=lambda s: s["time"])["id"])


# Half a dump saved as a dying job's restic saves it: tagged in-progress only.
HALF_A_DUMP = f"""
import json, os, subprocess
config = json.load(open("/etc/storeops/backup/config.json"))
env = dict(os.environ, RESTIC_REPOSITORY=config["repository"],
           RESTIC_PASSWORD_FILE=config["password_file"])
dump = subprocess.run(["mariadb-dump", "storedms"], capture_output=True, check=True).stdout
subprocess.run(["restic", "-o", "sftp.command=" + config["sftp_command"], "backup", "--quiet",
                "--stdin", "--stdin-filename", "storedms.sql", "--host", "sh01-db",
                "--tag", "{IN_PROGRESS}"], input=dump[:4096], env=env, check=True)
"""


@contextmanager
def mariadb_dump_replaced(script: str) -> Iterator[str]:
    """A `mariadb-dump` of ``script`` first on the PATH this yields (the real one is
    /usr/bin/mariadb-dump); removed afterwards."""
    body = f"#!/bin/sh\n{script}\n"
    done = exec_in(DB, ["sh", "-c", f"mkdir -p {FAKE_BIN} && cat > {FAKE_BIN}/mariadb-dump "
                        f"&& chmod 0755 {FAKE_BIN}/mariadb-dump"], input_text=body)  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        yield f"{FAKE_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    finally:
        sh(DB, f"rm -rf {FAKE_BIN}")


def test_a_dump_killed_midway_leaves_no_snapshot_the_drill_or_latest_would_use(
    converged: tuple[PlaybookRun, PlaybookRun], tmp_path: Path
) -> None:
    """Two ways a dump ends early: mariadb-dump killed after 4 KiB (the job sees it fail,
    restic must save nothing), and the job itself killed while its restic goes on (restic
    saves the half dump it read, which no reader may select)."""
    assert backup_now(DB)["result"] == "ok"
    good = latest_dump_id()

    cut = '/usr/bin/mariadb-dump "$@" | head -c 4096\nkill -KILL $$'
    with mariadb_dump_replaced(cut) as path:
        failed = sh(DB, f"PATH={path} storeops-backup run")
    assert failed.returncode != 0
    assert status(DB)["result"] == "failed" and "mariadb-dump" in status(DB)["error"]
    assert latest_dump_id() == good  # the cut dump is no snapshot at all
    assert dump_snapshots(IN_PROGRESS) == []

    # What a job killed mid-dump can leave when its restic outlives it: restic saves what it
    # read once its stdin ends. Made here directly (the job's restic usually dies with it).
    half = exec_in(DB, ["python3", "-"], input_text=HALF_A_DUMP, timeout=120)
    assert half.returncode == 0, half.stderr
    left = dump_snapshots(IN_PROGRESS)
    assert len(left) == 1, left  # restic saved what it had read: half a dump...
    assert latest_dump_id() == good  # ...that no reader selects
    latest = restic(DB, ["dump", "--tag", "storeops,db:storedms", "latest", "/storedms.sql"])
    assert latest.rstrip().splitlines()[-1].startswith("-- Dump completed")
    drill = run_playbook("playbooks/restore-drill.yml", tmp_path, "--limit", "sh01-db")
    assert drill.returncode == 0, drill.stdout[-3000:]
    assert status(DB)["drill"]["result"] == "passed"

    assert backup_now(DB)["result"] == "ok"  # the next run forgets what the dead one left
    assert dump_snapshots(IN_PROGRESS) == []
    assert latest_dump_id() != good


# ---------------------------------------------------------------- what the job must find

CONFIG = "/etc/storeops/backup/config.json"


def test_a_missing_backup_path_fails_the_run_and_is_named(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    saved = sh(DMS, f"cat {CONFIG}").stdout
    config = json.loads(saved)
    config["paths"] = [*config["paths"], "/etc/storedms-typo"]
    assert (
        exec_in(DMS, ["sh", "-c", f"cat > {CONFIG}"], input_text=json.dumps(config)).returncode == 0
    )
    try:
        done = sh(DMS, "systemctl start storeops-backup.service")
        result = status(DMS)
    finally:
        exec_in(DMS, ["sh", "-c", f"cat > {CONFIG}"], input_text=saved)
    assert done.returncode != 0  # the unit fails: systemctl and the health check see it
    assert result["result"] == "failed", result
    assert "/etc/storedms-typo" in result["error"], result
    assert backup_now(DMS)["result"] == "ok"


# ---------------------------------------------------------------- the password stays hidden

# Runs on a lab host until /tmp/stop-sampling exists: every process's command line and
# environment, every 20 ms; whether any holds the password (given on stdin, never in argv).
SAMPLER = """
import json, os, sys, time
secret = sys.stdin.buffer.read().strip()
samples, seen, hits = 0, set(), []
while not os.path.exists("/tmp/stop-sampling"):
    samples += 1
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for name in ("cmdline", "environ"):
            try:
                data = open(f"/proc/{pid}/{name}", "rb").read()
            except OSError:
                continue
            if name == "cmdline":
                seen.update(word.decode(errors="replace") for word in data.split(b"\\0")[:2])
            if secret in data:
                hits.append(f"{pid} {name}: {data[:80]!r}")
    time.sleep(0.02)
print(json.dumps({"samples": samples, "seen": sorted(seen), "hits": hits[:5]}))
"""


def local_hits(secret: bytes) -> list[str]:
    """The controller's processes (ansible-playbook, its ssh) whose argv or environment hold
    ``secret``."""
    hits = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for name in ("cmdline", "environ"):
            try:
                data = Path(f"/proc/{pid}/{name}").read_bytes()
            except OSError:
                continue
            if secret in data:
                hits.append(f"{pid} {name}")
    return hits


def test_the_drill_never_shows_the_repository_password(
    converged: tuple[PlaybookRun, PlaybookRun], tmp_path: Path
) -> None:
    secret = sh(DB, "cat /etc/storeops/backup/repository-password").stdout.strip()
    assert len(secret) >= 8
    sh(SERVER, "rm -f /tmp/stop-sampling")
    sampler = subprocess.Popen(
        ["podman", "exec", "-i", SERVER, "python3", "-c", SAMPLER],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sampler.stdin is not None
    sampler.stdin.write(secret + "\n")
    sampler.stdin.close()
    controller: list[str] = []
    done = threading.Event()

    def sample_controller() -> None:
        while not done.is_set():
            controller.extend(local_hits(secret.encode()))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample_controller)
    watcher.start()
    try:
        drill = run_playbook("playbooks/restore-drill.yml", tmp_path, "--limit", "store_sh01",
                             "-vvv")  # fmt: skip
    finally:
        done.set()
        watcher.join()
        sh(SERVER, "touch /tmp/stop-sampling")
        assert sampler.stdout is not None
        out = sampler.stdout.read()
        sampler.wait(60)
        sh(SERVER, "rm -f /tmp/stop-sampling")
    assert drill.returncode == 0, drill.stdout[-3000:]
    server = json.loads(out)
    assert server["samples"] > 50  # sampled throughout...
    assert "/usr/local/sbin/storeops-restore-drill" in server["seen"]  # ...the drill...
    assert "restic" in server["seen"]  # ...and the restic it runs
    assert server["hits"] == [], server["hits"]
    assert controller == []
    assert secret not in drill.stdout + drill.stderr  # -vvv: what AWX would keep


# ---------------------------------------------------------------- the 03:00 runbook


def runbook() -> str:
    """The database restore of the README's "Restoring a store at 03:00", as pasted: the
    commands between <<'RESTORE' and RESTORE, run by bash -euo pipefail as root."""
    section = (REPO_ROOT / "README.md").read_text().split("### Restoring a store at 03:00")[1]
    block = re.search(r"```sh\n(.*?)```", section.split("\n4. ")[0], re.S)
    assert block, "no sh block in step 3"
    text = textwrap.dedent(block.group(1))
    assert text.startswith("sudo bash -euo pipefail <<'RESTORE'\n"), text[:80]
    return text.split("\n", 1)[1].rsplit("RESTORE\n", 1)[0]


def live_stats() -> str:
    done = sh(DB, "storeops-backup stats")
    assert done.returncode == 0, done.stderr
    return done.stdout


def database_collation() -> str:
    done = sh(DB, "mariadb -N -e \"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME"
                  " FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'storedms'\"")  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    return done.stdout.strip()


def test_the_runbook_keeps_the_live_database_when_restic_fails(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    before = live_stats()
    broken = "#!/bin/sh\necho 'restic: repository unreachable' >&2\nexit 1\n"
    done = exec_in(DB, ["sh", "-c", f"mkdir -p {FAKE_BIN} && cat > {FAKE_BIN}/restic && "
                        f"chmod 0755 {FAKE_BIN}/restic"], input_text=broken)  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        run = exec_in(DB, ["env", f"PATH={FAKE_BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "bash",
                           "-euo", "pipefail"], input_text=runbook(), timeout=300)  # fmt: skip
        safety = sh(DB, "ls /root/storedms-before-restore-*.sql.gz && "
                        "zcat /root/storedms-before-restore-*.sql.gz | tail -n 1")  # fmt: skip
    finally:
        sh(DB, f"rm -rf {FAKE_BIN} /root/storedms-before-restore-* /root/storedms-restore-*")
    assert run.returncode != 0
    assert "repository unreachable" in run.stderr
    assert live_stats() == before  # not dropped
    assert "-- Dump completed" in safety.stdout, safety  # and saved first


def test_the_runbook_restores_the_latest_backup(
    converged: tuple[PlaybookRun, PlaybookRun],
) -> None:
    backup_now(DB)
    backed_up = live_stats()
    collation = database_collation()
    try:
        run = exec_in(DB, ["bash", "-euo", "pipefail"], input_text=runbook(), timeout=300)
        left = sh(DB, "ls /root").stdout.split()
    finally:
        sh(DB, "rm -f /root/storedms-before-restore-* /root/storedms-restore-*")
    assert run.returncode == 0, run.stderr
    assert live_stats() == backed_up
    assert database_collation() == collation  # the mariadb role's, not the server default
    assert not [name for name in left if name.startswith("storedms-restore-")]  # shredded
    assert dms_state()[2] == 200
