"""OS patching measurements on the lab (bench/run.py `patching`).

One store (sh01: backup server, database, DMS host), real packages from the lab's apt
repository, the store's DMS probed from the controller at 10 Hz (bench/dms.py's probe):
  1. playbooks/patch.yml --limit store_sh01 from the lab baseline (agent and "kernel" 1.0,
     their 1.1 a security update that asks for a reboot): one host at a time, the DMS
     host last, pre- and post-checks around each: wall time and DMS unavailability;
  2. the same run again, nothing pending: the no-op's wall time;
  3. the baseline again, then the naive way: `apt-get upgrade` on the three hosts at
     once, then all three rebooted at once, until the DMS answers again: wall time and
     DMS unavailability (the apt pins the role wrote stay: both runs install the same).
Unavailability = failed probes x 0.1 s.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from dms import playbook, probing, unavailable_s, wait_healthy  # bench/dms.py

from storeops_lab.rehearsal import reset_patch_level, run_on, started_at

STORE = "sh01"
HOSTS = [f"{STORE}-backup", f"{STORE}-db", f"{STORE}-dms"]


def naive_upgrade(host: str) -> None:
    """What a hand-run patch night does on one host: upgrade everything, then reboot."""
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    run_on(host, *env, "apt-get", "update", "-q")
    run_on(host, *env, "apt-get", "upgrade", "-y", "-q")
    before = started_at(host)
    run_on(host, "systemctl", "reboot", check=False)
    deadline = time.monotonic() + 300
    while started_at(host) == before or not _running(host):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{host} did not come back after its reboot")
        time.sleep(0.5)


def _running(host: str) -> bool:
    return run_on(host, "systemctl", "is-system-running", check=False).strip() in (
        "running",
        "degraded",
    )


def patching(runs: int) -> dict[str, float]:
    """The figures of one rehearsal (``runs`` is always 1: each step needs the last)."""
    playbook("playbooks/lab-baseline.yml", "--tags", "packages")
    playbook("playbooks/backup.yml", "--limit", f"store_{STORE}")
    for host in HOSTS:
        reset_patch_level(host)
    with tempfile.TemporaryDirectory(prefix="storeops-bench-") as scratch:
        log = f"patching_controller_log={scratch}/patch-runs.jsonl"
        with probing([STORE]) as rolling:
            patch_s = playbook("playbooks/patch.yml", "--limit", f"store_{STORE}", "-e", log)
        noop_s = playbook("playbooks/patch.yml", "--limit", f"store_{STORE}", "-e", log)
    for host in HOSTS:
        reset_patch_level(host)
    with probing([STORE]) as naive:
        started = time.monotonic()
        with ThreadPoolExecutor(len(HOSTS)) as pool:
            list(pool.map(naive_upgrade, HOSTS))
        wait_healthy(STORE, timeout=300)
        naive_s = round(time.monotonic() - started, 1)
    for host in HOSTS:  # leave the store as lab-baseline.yml does
        reset_patch_level(host)
    rolling_unavailable = unavailable_s(rolling[STORE])
    return {
        "patch_store_s": patch_s,
        "patch_noop_s": noop_s,
        "patch_unavailable_s": rolling_unavailable,
        "naive_store_s": naive_s,
        "naive_unavailable_s": unavailable_s(naive[STORE]),
        "naive_over_patch_unavailable": round(unavailable_s(naive[STORE]) / rolling_unavailable, 2)
        if rolling_unavailable
        else float("inf"),
        "probes": len(rolling[STORE].answers),
        "runs": runs,
    }


def rows(f: dict[str, float]) -> list[str]:
    """The README's rows for these figures."""
    return [
        f"| `patch.yml` on one lab store (3 hosts one at a time, security updates, each "
        f"host rebooted, checks around each) | {f['patch_store_s']:.1f} s; DMS unavailable "
        f"{f['patch_unavailable_s']:.1f} s |",
        f"| the same run again, nothing pending (no reboot) | {f['patch_noop_s']:.1f} s |",
        f"| naive: `apt-get upgrade` on the 3 hosts at once, all rebooted at once "
        f"| {f['naive_store_s']:.1f} s; DMS unavailable {f['naive_unavailable_s']:.1f} s |",
    ]
