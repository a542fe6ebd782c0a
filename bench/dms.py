"""DMS rollout measurements on the lab (bench/run.py `dms-rollout`).

One run, real releases, real data, probes from the controller at 10 Hz:
  1. both stores from the baseline (3.1.0, seeded) to 3.2.0 with upgrade-dms.yml: wall
     time of the two-store rollout, and each store's unavailability (a migration is
     involved: 0002 changes data);
  2. the same playbook again: the no-op re-run's wall time;
  3. 3.2.0 -> 3.2.1 (the broken release): two release switches with no migration (to
     3.2.1, and the rollback to 3.2.0); failed probes across them;
  4. the pilot store back to the baseline, then a naive stop-install-start to 3.2.0 (stop
     the service, unpack, migrate, relink, start) with the same probes: the ratio of its
     unavailability to the rollout's.
A probe is GET /health with a 1 s timeout; it fails on an error, a timeout or any status
but 200. Unavailability = failed probes x 0.1 s.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from storeops_lab.clients import OK, Client, ask, clients
from storeops_lab.plan import NAME_PREFIX
from storeops_lab.rehearsal import copy_lab_inventory, reset_dms, set_target

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROBE_INTERVAL = 0.1
STORES = {"sh01": "10.77.1.40", "hz01": "10.77.2.40"}


def probing(stores: list[str]) -> AbstractContextManager[dict[str, Client]]:
    """GET /health of each store every PROBE_INTERVAL seconds, 1 s timeout."""
    urls = {store: f"http://{STORES[store]}:8080/health" for store in stores}
    return clients(urls, hz=1 / PROBE_INTERVAL, timeout=1)


def unavailable_s(client: Client) -> float:
    return round(client.failed * PROBE_INTERVAL, 1)


def playbook(name: str, *args: str) -> float:
    """Run a playbook; its wall time (the return code is not checked: the caller knows)."""
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "ansible-playbook"), name, *args],
        cwd=REPO,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return round(time.monotonic() - started, 1)


def baseline(stores: list[str]) -> None:
    for store in stores:
        reset_dms(store)
    playbook("playbooks/lab-baseline.yml", "--skip-tags", "mariadb")


def on(host: str, *argv: str) -> None:
    subprocess.run(["podman", "exec", f"{NAME_PREFIX}{host}", *argv], check=True)


def naive_upgrade(store: str, version: str) -> None:
    """What a hand-run upgrade does: stop, unpack, migrate, relink, start."""
    host = f"{store}-dms"
    release = f"/opt/storedms/releases/{version}"
    artifact = REPO / ".cache" / "dms-artifacts" / f"dms-{version}.tar.gz"
    on(host, "systemctl", "stop", "storedms.socket", "storedms.service")
    subprocess.run(
        ["podman", "cp", str(artifact), f"{NAME_PREFIX}{host}:/tmp/dms.tar.gz"], check=True
    )
    on(host, "mkdir", "-p", release)
    on(host, "tar", "-xzf", "/tmp/dms.tar.gz", "-C", release)
    on(
        host,
        "env",
        f"PYTHONPATH={release}",
        "python3",
        "-m",
        "storedms.migrate",
        "--config",
        "/etc/storedms/storedms.conf",
        "up",
    )
    on(host, "ln", "-sfn", f"releases/{version}", "/opt/storedms/current")
    on(host, "systemctl", "start", "storedms.socket", "storedms.service")


def wait_healthy(store: str, timeout: float = 60) -> None:
    url = f"http://{STORES[store]}:8080/health"
    deadline = time.monotonic() + timeout
    while ask(url, 1)[1] != OK:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{store}: not healthy after {timeout} s")
        time.sleep(PROBE_INTERVAL)


def dms_rollout(runs: int) -> dict[str, float]:
    """The figures of one rehearsal (``runs`` is always 1: each step needs the last)."""
    stores = list(STORES)
    playbook("playbooks/mariadb.yml")
    baseline(stores)
    with tempfile.TemporaryDirectory(prefix="storeops-bench-") as scratch:
        log = f"dms_rollout_controller_log={scratch}/dms-rollouts.jsonl"
        with probing(stores) as upgrade:
            rollout_s = playbook("playbooks/upgrade-dms.yml", "-e", log)
        noop_s = playbook("playbooks/upgrade-dms.yml", "-e", log)
        inventory = copy_lab_inventory(Path(scratch))
        for store in stores:
            set_target(inventory, store, "3.2.1")
        with probing(["sh01"]) as switch:
            playbook("playbooks/upgrade-dms.yml", "-i", str(inventory), "-e", log)
    baseline(["sh01"])
    with probing(["sh01"]) as naive:
        started = time.monotonic()
        naive_upgrade("sh01", "3.2.0")
        wait_healthy("sh01")
        naive_s = round(time.monotonic() - started, 1)
    side_by_side = unavailable_s(upgrade["sh01"])
    return {
        "rollout_two_stores_s": rollout_s,
        "noop_rerun_s": noop_s,
        "unavailable_side_by_side_s": side_by_side,
        "unavailable_side_by_side_hz01_s": unavailable_s(upgrade["hz01"]),
        "switch_no_migration_failed_probes": switch["sh01"].failed,
        "switch_no_migration_probes": len(switch["sh01"].answers),
        "unavailable_naive_s": unavailable_s(naive["sh01"]),
        "naive_wall_s": naive_s,
        "naive_over_side_by_side": round(unavailable_s(naive["sh01"]) / side_by_side, 2)
        if side_by_side
        else float("inf"),
        "runs": runs,
    }
