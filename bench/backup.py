"""Backup measurements on the lab (bench/run.py `backup`).

On the pilot store (sh01), through the real job (the nightly service the backup role
installs: storeops-backup run, i.e. the dump streamed into restic, the files, the
retention policy) and the real restore drill (playbooks/restore-drill.yml):

for each scale (1x, 10x, 100x = SCALE_CUSTOMERS customers, one vehicle and one to three
work orders each, seeded by the DMS's own ``storedms.seed`` on the DMS host):
  1. the DMS back to its baseline release and data, then seeded to that size; sh01-db's
     repository emptied and initialised again, so that the first backup is a first one;
  2. the first backup: wall time of the nightly service, the size of the SQL dump, the
     bytes restic added, the repository's size on the backup server;
  3. a small change (INCREMENT_CUSTOMERS new customers with their vehicles and work
     orders), then the nightly service again: wall time and bytes added. restic's dedup
     ratio = SQL dump size / bytes added by this incremental run;
  4. the restore drill of sh01-db (restore into a throwaway MariaDB on the backup server,
     every table compared): wall time of the playbook.
Afterwards the DMS is reset to its baseline, the repository emptied, and backup.yml run:
the lab is left as the tests expect it. ``runs`` is always 1: each step needs the last.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from storeops_lab.plan import NAME_PREFIX
from storeops_lab.rehearsal import reset_dms

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STORE = "sh01"
DB, DMS, SERVER = (f"{NAME_PREFIX}{STORE}-{role}" for role in ("db", "dms", "backup"))
REPOSITORY = f"/srv/storeops-backup/backup-{STORE}-db/repo"
SCALE_CUSTOMERS = {1: 2_000, 10: 20_000, 100: 200_000}
INCREMENT_CUSTOMERS = 10
SEED_ENV = ["env", "PYTHONPATH=/opt/storedms/current", "PYTHONDONTWRITEBYTECODE=1"]


def must(argv: list[str], timeout: float = 3600) -> str:
    """Run a command that must succeed (from the repository root); its output."""
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stdout[-2000:]}{done.stderr[-1000:]}")
    return done.stdout


def on(container: str, command: str) -> str:
    return must(["podman", "exec", container, "sh", "-c", command])


def seed(customers: int, seed_value: int) -> None:
    on(DMS, f"{' '.join(SEED_ENV)} python3 -m storedms.seed --config /etc/storedms/storedms.conf"
            f" --rows {customers} --seed {seed_value}")  # fmt: skip


def playbook(name: str, *args: str) -> tuple[float, str]:
    """Run a playbook that must succeed: its wall time and its output."""
    started = time.monotonic()
    output = must([str(BIN / "ansible-playbook"), name, *args])
    return round(time.monotonic() - started, 1), output


def baseline() -> None:
    reset_dms(STORE)
    playbook("playbooks/lab-baseline.yml", "--skip-tags", "mariadb", "--limit", f"{STORE}-dms")


def empty_repository() -> None:
    on(SERVER, f"find {REPOSITORY} -mindepth 1 -delete")
    on(DB, "storeops-backup init")


def nightly() -> tuple[float, int]:
    """The nightly service, started now: its wall time and the bytes restic added."""
    started = time.monotonic()
    on(DB, "systemctl start storeops-backup.service")
    elapsed = round(time.monotonic() - started, 1)
    status = json.loads(on(DB, "cat /var/lib/storeops/backup/status.json"))
    if status["result"] != "ok":
        raise RuntimeError(f"backup failed: {status}")
    return elapsed, int(status["bytes_added"])


def dump_bytes() -> int:
    return int(on(DB, "mariadb-dump --single-transaction storedms | wc -c").strip())


def repository_bytes() -> int:
    return int(on(SERVER, f"du -sb {REPOSITORY}").split()[0])


def drill() -> float:
    elapsed, output = playbook("playbooks/restore-drill.yml", "--limit", f"{STORE}-db")
    if f"{STORE}-db: PASSED" not in output:
        raise RuntimeError(f"restore drill did not pass: {output[-2000:]}")
    return elapsed


def one_scale(scale: int) -> dict[str, float]:
    baseline()
    seed(SCALE_CUSTOMERS[scale], seed_value=scale)
    empty_repository()
    first_s, first_added = nightly()
    sql = dump_bytes()
    repo = repository_bytes()
    seed(INCREMENT_CUSTOMERS, seed_value=1000 + scale)
    incremental_s, incremental_added = nightly()
    return {
        f"customers_{scale}": SCALE_CUSTOMERS[scale],
        f"dump_bytes_{scale}": sql,
        f"first_s_{scale}": first_s,
        f"first_added_bytes_{scale}": first_added,
        f"repository_bytes_{scale}": repo,
        f"incremental_s_{scale}": incremental_s,
        f"incremental_added_bytes_{scale}": incremental_added,
        f"dedup_ratio_{scale}": round(sql / max(incremental_added, 1), 1),
        f"drill_s_{scale}": drill(),
    }


def backup(runs: int) -> dict[str, float]:
    playbook("playbooks/lab-baseline.yml")
    playbook("playbooks/backup.yml")
    figures: dict[str, float] = {"runs": runs}
    try:
        for scale in SCALE_CUSTOMERS:
            figures |= one_scale(scale)
    finally:
        baseline()
        on(SERVER, f"find {REPOSITORY} -mindepth 1 -delete")
        playbook("playbooks/backup.yml", "--limit", f"{STORE}-db")
    return figures


def rows(f: dict[str, float]) -> list[str]:
    """README rows (bench/run.py renders them)."""
    lines = []
    for scale, customers in SCALE_CUSTOMERS.items():
        if f"first_s_{scale}" not in f:
            continue
        mib = f[f"dump_bytes_{scale}"] / 2**20
        lines.append(
            f"| backup of sh01-db at {scale}x ({customers:,} customers, {mib:.1f} MiB SQL): "
            f"first run / after {INCREMENT_CUSTOMERS} new customers / restore drill | "
            f"{f[f'first_s_{scale}']:.1f} s / {f[f'incremental_s_{scale}']:.1f} s / "
            f"{f[f'drill_s_{scale}']:.1f} s; repository "
            f"{f[f'repository_bytes_{scale}'] / 2**20:.1f} MiB; the incremental run added "
            f"{f[f'incremental_added_bytes_{scale}'] / 2**10:.0f} KiB: "
            f"**{f[f'dedup_ratio_{scale}']:.1f}x** less than the dump |"
        )
    return lines
