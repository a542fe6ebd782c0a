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
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from storeops_lab.plan import NAME_PREFIX
from storeops_lab.rehearsal import copy_lab_inventory, reset_dms, set_target

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROBE_INTERVAL = 0.1
STORES = {"sh01": "10.77.1.40", "hz01": "10.77.2.40"}


@dataclass
class Probe:
    """GET /health every PROBE_INTERVAL seconds in a thread; counts what fails."""

    url: str
    sent: int = 0
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _once(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sent += 1
            if not self._once():
                self.failed += 1
            next_at += PROBE_INTERVAL
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    @property
    def unavailable_s(self) -> float:
        return round(self.failed * PROBE_INTERVAL, 1)


@contextmanager
def probing(stores: list[str]) -> Iterator[dict[str, Probe]]:
    probes = {s: Probe(f"http://{STORES[s]}:8080/health") for s in stores}
    threads = [threading.Thread(target=p.run, daemon=True) for p in probes.values()]
    for thread in threads:
        thread.start()
    try:
        yield probes
    finally:
        for probe in probes.values():
            probe._stop.set()
        for thread in threads:
            thread.join()


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
    probe = Probe(f"http://{STORES[store]}:8080/health")
    deadline = time.monotonic() + timeout
    while not probe._once():
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
    side_by_side = upgrade["sh01"].unavailable_s
    return {
        "rollout_two_stores_s": rollout_s,
        "noop_rerun_s": noop_s,
        "unavailable_side_by_side_s": side_by_side,
        "unavailable_side_by_side_hz01_s": upgrade["hz01"].unavailable_s,
        "switch_no_migration_failed_probes": switch["sh01"].failed,
        "switch_no_migration_probes": switch["sh01"].sent,
        "unavailable_naive_s": naive["sh01"].unavailable_s,
        "naive_wall_s": naive_s,
        "naive_over_side_by_side": round(naive["sh01"].unavailable_s / side_by_side, 2)
        if side_by_side
        else float("inf"),
        "runs": runs,
    }
