"""The morning check on the lab (bench/run.py `health`): ``storeops health`` against the same
checks run as separate commands.

* ``storeops health --json`` over the whole lab (2 stores: 6 servers, 4 emulated devices, 2
  DMS), as an operator runs it (the whole process), and the run alone with its per-host
  seconds (each host's probe is one SSH connection; everything is read at once);
* the same checks as a morning shell script would do them: one ``ssh host sudo <command>``
  per check and host (df, df -i, systemctl --failed, chronyc, the reboot flag, apt's
  upgradable list, nft, the backup status), one HTTP request per DMS question, and one
  device login per device question (the running configuration for the intended-config
  comparison, again for the backup comparison), one after the other.

Alternated, the median of ``runs`` each. Read-only, like the check itself.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from storeops.health.gather import http_get
from storeops.health.run import read_plan_devices, run
from storeops.health.targets import HealthPlan, plan
from storeops.paths import LAB_INVENTORY, REPO_ROOT

BIN = Path(sys.executable).parent
SEPARATE_COMMANDS = (
    "df -P / /var",
    "df -Pi / /var",
    "systemctl list-units --failed --plain --no-legend --no-pager",
    "chronyc -c -n tracking",
    "cat /run/reboot-required.pkgs",
    "apt list --upgradable",
    "nft -s list table inet storeops",
    "nft -j list counter inet storeops dropped",
    "cat /var/lib/storeops/firewall/applied.list",
    "cat /var/lib/storeops/backup/status.json",
)


def whole_process() -> float:
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "storeops"), "health", "-i", str(LAB_INVENTORY), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,  # the lab need not be green: the time is what is measured
    )
    return time.monotonic() - started


def separate_commands(health_plan: HealthPlan) -> float:
    """Every check as its own command, one after the other (a morning shell script)."""
    started = time.monotonic()
    for store in health_plan.stores:
        for host in store.hosts:
            for command in SEPARATE_COMMANDS:
                argv = [*host.ssh.argv(connect_timeout=10), "sudo", "-n", *command.split()]
                subprocess.run(argv, cwd=health_plan.project, capture_output=True, check=False)
        if store.dms_url:
            http_get(f"{store.dms_url}/health", 5)
            http_get(f"{store.dms_url}{health_plan.settings.dms_smoke_path}", 5)
        for device in store.devices:
            for _question in ("intended", "backup"):  # a login per question
                read_plan_devices(health_plan, [device], 1)
    return time.monotonic() - started


def health(runs: int) -> dict[str, float]:
    health_plan = plan(LAB_INVENTORY)
    hosts = sum(len(store.hosts) + len(store.devices) for store in health_plan.stores)
    process, in_run, separate, slowest = [], [], [], []
    for _ in range(runs):
        process.append(whole_process())
        result = run(health_plan)
        in_run.append(result.seconds)
        slowest.append(max(result.host_seconds.values()))
        separate.append(separate_commands(health_plan))
    figures = {
        "health_hosts": float(hosts),
        "health_process_s": statistics.median(process),
        "health_run_s": statistics.median(in_run),
        "health_slowest_host_s": statistics.median(slowest),
        "health_separate_s": statistics.median(separate),
    }
    figures["health_per_host_s"] = figures["health_run_s"] / hosts
    figures["health_ratio"] = figures["health_separate_s"] / figures["health_run_s"]
    return figures


def rows(f: dict[str, float]) -> list[str]:
    """The README's rows for these figures."""
    return [
        f"| `storeops health` on the lab ({f['health_hosts']:.0f} hosts and devices, 2 DMS), "
        f"whole process | {f['health_process_s']:.1f} s |",
        f"| the check alone (everything read at once; slowest host "
        f"{f['health_slowest_host_s']:.1f} s) | {f['health_run_s']:.1f} s, "
        f"{f['health_per_host_s']:.2f} s per host or device |",
        f"| the same checks as separate commands, one after the other "
        f"| {f['health_separate_s']:.1f} s ({f['health_ratio']:.1f}x the check) |",
    ]
