"""storeops measurements: ratios within one run, written to bench/results/ and the README.

    .venv/bin/python bench/run.py            # every measurement below
    .venv/bin/python bench/run.py ping lab-warm

Measurements (each a whole-process wall time, the median of several runs):
  lab-cold    `storeops lab up` from nothing: no lab, no image, no debootstrap cache
  lab-warm    `storeops lab up` with the image cached (lab down before each run)
  lab-noop    `storeops lab up` on a running lab (must change nothing)
  ping        `ansible all -m ping` over every lab host: the repo's tuned ansible.cfg vs
              Ansible's defaults, alternated, each with cold SSH (fresh control sockets)
  make-test   `make test` in a fresh clone of HEAD on a warm machine (image and pip cache
              present, new venv), as CI runs it
  dms-rollout a rehearsed DMS rollout on the running lab (bench/dms.py): two-store wall
              time, no-op re-run, unavailability at 10 Hz side by side vs naive
  dms-queue   clients during 3.1.0 -> 3.2.0 at 1x ... 15000x the lab's customers
              (bench/dms_queue.py): the rollout's queue vs a maintenance page vs a naive
              stop-migrate-start, at 10 Hz and 100 Hz with a 5 s timeout, alternated
  firewall    host firewalls (bench/firewall.py): rules and ruleset size per host for 1-50
              stores (render only); a changed ruleset on every lab host vs a no-op run;
              lock-out to automatic revert
  network     network devices on the lab's emulators (bench/network.py): net_backup of 2,
              20 and 100 devices through ansible-playbook, first run and no-op re-run;
              hier_config remediation of a 2,500-line IOS configuration alone and through
              net_config, without and with the device's revert (armed, confirmed over a
              new login); the make-before-break ordering pass; lines sent vs a full replace
  backup      backups on the lab (bench/backup.py): dump + restic backup at 1x/10x/100x
              rows, repository size, incremental run after a small change (dedup
              ratio), restore-drill time
  workstation a bare lab workstation provisioned, and a no-op re-run: pyinfra vs the
              Ansible play (bench/workstation.py), alternated
  hardening   MLPS 2.0 hardening (bench/hardening.py): harden.yml on a bare workstation and
              its no-op re-run, the no-op run over the lab; the audit of every control on
              every host with one SSH connection per host vs one per command, alternated
  health      the morning check on the lab (bench/health.py): `storeops health` vs the same
              checks as separate commands (one SSH, HTTP request or device login each)
  patching    OS patching of one lab store (bench/patching.py): patch.yml (one host at a
              time, reboots, checks) and its no-op re-run vs a naive upgrade-and-reboot-all,
              with the DMS's unavailability at 10 Hz
  report      the monthly report (bench/report.py): history inserts of a month of 5-minute
              samples for 50 stores, then `storeops report` over them (HTML, 50 charts, PDF)
  scale       the controller before it touches a host, on synthetic groups of 2, 50, 200
              and 500 stores (bench/scale.py, no lab): storeops validate (process and in
              process), ansible-inventory --list, wave planning, every host's firewall
              rules, every device's zone model and ACLs; per phase and a linearity figure

  site-noop   a no-op playbooks/site.yml over the lab (bench/converge.py): the repository's
              settings vs Ansible's defaults vs + Mitogen's strategy (opt-in), alternated
  site-noop-link  the same behind an emulated store link (30 ms round trip): the
              repository's settings vs Ansible's defaults
  runner      the same no-op job through ansible-runner (AWX's engine) vs ansible-playbook

Never a timed assertion: these are figures for the README's Performance section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backup import backup  # bench/backup.py
from backup import rows as backup_rows
from converge import link_rows, runner, runner_rows, site_noop, site_noop_link  # bench/converge.py
from converge import rows as site_noop_rows
from dms import dms_rollout  # bench/dms.py: run.py runs as a script, bench/ is on sys.path
from dms_queue import SIZES as QUEUE_SIZES
from dms_queue import dms_queue  # bench/dms_queue.py
from firewall import STORE_COUNTS, firewall  # bench/firewall.py
from hardening import hardening  # bench/hardening.py
from hardening import rows as hardening_rows
from health import health  # bench/health.py
from health import rows as health_rows
from network import DEVICE_COUNTS, network  # bench/network.py
from patching import patching  # bench/patching.py
from patching import rows as patching_rows
from report import report  # bench/report.py
from report import rows as report_rows
from scale import rows as scale_rows
from scale import scale  # bench/scale.py
from workstation import rows as workstation_rows
from workstation import workstation  # bench/workstation.py

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
README = REPO / "README.md"
DEFAULTS_CFG = """[defaults]
inventory = inventory/lab
vault_password_file = lab/vault-password.txt
[inventory]
enable_plugins = ansible.builtin.yaml, ansible.builtin.constructed
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def storeops(*args: str) -> list[str]:
    return [str(BIN / "storeops"), *args]


def remove_images() -> None:
    listing = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for ref in listing:
        if ref.startswith("localhost/storeops-lab:"):
            subprocess.run(["podman", "rmi", "-f", ref], check=False, capture_output=True)


def lab_cold(runs: int) -> dict[str, float]:
    cache = Path(tempfile.mkdtemp(prefix="storeops-bench-cache-"))
    env = {**os.environ, "STOREOPS_CACHE_DIR": str(cache)}
    times = []
    for _ in range(runs):
        subprocess.run(storeops("lab", "down"), cwd=REPO, check=True, capture_output=True)
        remove_images()
        shutil.rmtree(cache, ignore_errors=True)
        times.append(timed(storeops("lab", "up"), env))
    shutil.rmtree(cache, ignore_errors=True)
    return {"median_s": statistics.median(times), "runs": runs}


def lab_warm(runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        subprocess.run(storeops("lab", "down"), cwd=REPO, check=True, capture_output=True)
        times.append(timed(storeops("lab", "up")))
    return {"median_s": statistics.median(times), "runs": runs}


def lab_noop(runs: int) -> dict[str, float]:
    subprocess.run(storeops("lab", "up"), cwd=REPO, check=True, capture_output=True)
    times = [timed(storeops("lab", "up")) for _ in range(runs)]
    return {"median_s": statistics.median(times), "runs": runs}


def _ping(config: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="storeops-bench-cp-") as control:
        env = {**os.environ, "ANSIBLE_CONFIG": str(config), "ANSIBLE_SSH_CONTROL_PATH_DIR": control}
        return timed([str(BIN / "ansible"), "linux", "-m", "ansible.builtin.ping"], env)


def ping(runs: int) -> dict[str, float]:
    subprocess.run(storeops("lab", "up"), cwd=REPO, check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="storeops-bench-cfg-") as scratch:
        defaults = Path(scratch) / "ansible.cfg"
        defaults.write_text(
            DEFAULTS_CFG.replace("inventory/lab", str(REPO / "inventory/lab")).replace(
                "lab/vault-password.txt", str(REPO / "lab/vault-password.txt")
            )
        )
        tuned_times, default_times = [], []
        for _ in range(runs):
            tuned_times.append(_ping(REPO / "ansible.cfg"))
            default_times.append(_ping(defaults))
    tuned, default = statistics.median(tuned_times), statistics.median(default_times)
    return {"tuned_s": tuned, "defaults_s": default, "speedup": default / tuned, "runs": runs}


def make_test(runs: int) -> dict[str, float]:
    """`make test` in a fresh clone of HEAD, as CI runs it (image and pip cache warm)."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="storeops-bench-clone-") as scratch:
            clone = Path(scratch) / "main"
            subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
            started = time.monotonic()
            subprocess.run(["make", "test"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
            times.append(time.monotonic() - started)
    return {"median_s": statistics.median(times), "runs": runs}


MEASUREMENTS: dict[str, tuple[Callable[[int], dict[str, float]], int]] = {
    "lab-cold": (lab_cold, 1),
    "lab-warm": (lab_warm, 3),
    "lab-noop": (lab_noop, 5),
    "ping": (ping, 5),
    "make-test": (make_test, 1),
    "dms-rollout": (dms_rollout, 1),
    "dms-queue": (dms_queue, 1),
    "firewall": (firewall, 1),
    "network": (network, 3),
    "backup": (backup, 1),
    "workstation": (workstation, 2),
    "hardening": (hardening, 1),
    "patching": (patching, 1),
    "health": (health, 3),
    "report": (report, 3),
    "site-noop": (site_noop, 1),  # 4 ways x 4-8 min a run
    "site-noop-link": (site_noop_link, 1),  # 2 ways x 5-10 min a run
    "runner": (runner, 3),
    "scale": (scale, 3),
}


def machine() -> str:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {cores} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def latest_results() -> tuple[dict[str, dict[str, float]], dict[tuple[str, str], list[str]]]:
    """Each measurement's latest figures over every results file, and when and where each
    was measured ((date, machine) -> names): one run of `bench/run.py NAME` re-measures NAME
    and keeps the others' figures."""
    latest: dict[str, tuple[dict[str, float], str, str]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        recorded = json.loads(path.read_text())
        for name, figures in recorded["results"].items():
            latest[name] = (figures, recorded["date"], recorded["machine"])
    ordered = [name for name in MEASUREMENTS if name in latest]
    provenance: dict[tuple[str, str], list[str]] = {}
    for name in ordered:
        provenance.setdefault((latest[name][1], latest[name][2]), []).append(name)
    return {name: latest[name][0] for name in ordered}, provenance


def render(
    results: dict[str, dict[str, float]], provenance: dict[tuple[str, str], list[str]]
) -> str:
    measured = "; ".join(
        f"{', '.join(names)}: {when} on {where}" for (when, where), names in provenance.items()
    )
    lines = [f"Measured with `make bench` (medians of the runs shown). {measured}.", ""]
    lines += ["| measurement | figure |", "|---|---|"]
    described = {
        "lab-cold": "cold `lab up` (debootstrap + image build + 8 hosts)",
        "lab-warm": "warm `lab up` (image cached, lab down before)",
        "lab-noop": "`lab up` on a running lab (no change)",
        "make-test": "`make test` from a clean clone, warm machine (image + pip cache)",
    }
    for name, figures in results.items():
        if name in ROWS:
            lines += ROWS[name](figures)
        elif name == "ping":
            lines.append(
                f"| `ansible all -m ping`, 8 hosts, cold SSH ({figures['runs']:.0f} runs) | "
                f"tuned {figures['tuned_s']:.2f} s vs defaults {figures['defaults_s']:.2f} s: "
                f"**{figures['speedup']:.2f}x** faster |"
            )
        else:
            lines.append(
                f"| {described[name]} ({figures['runs']:.0f} runs) | {figures['median_s']:.1f} s |"
            )
    return "\n".join(lines)


def dms_rows(f: dict[str, float]) -> list[str]:
    ratio = f["naive_over_side_by_side"]
    return [
        f"| DMS rollout 3.1.0 -> 3.2.0 (migration 0002), both lab stores, wall time | "
        f"{f['rollout_two_stores_s']:.1f} s |",
        f"| the same playbook again (no-op re-run) | {f['noop_rerun_s']:.1f} s |",
        f"| DMS unavailability during that upgrade (10 Hz probes), pilot / second store | "
        f"{f['unavailable_side_by_side_s']:.1f} s / {f['unavailable_side_by_side_hz01_s']:.1f} s |",
        f"| same upgrade, naive stop-install-migrate-start | {f['unavailable_naive_s']:.1f} s "
        + (
            f"unavailable: **{ratio:.1f}x** the rollout's |"
            if ratio != float("inf")
            else "unavailable, the rollout none |"
        ),
        f"| release switches without a migration (3.2.0 -> 3.2.1 -> rollback) | "
        f"{f['switch_no_migration_failed_probes']:.0f} failed of "
        f"{f['switch_no_migration_probes']:.0f} probes |",
    ]


def dms_queue_rows(f: dict[str, float]) -> list[str]:
    """One row per data size: failed requests and the longest answer of each method."""
    rows = []
    for size in QUEUE_SIZES:
        key = f"x{size}"
        if f"{key}_rows" not in f:
            continue
        plan = f"plan expects {f[f'{key}_plan_expected_s']:.1f} s: " + (
            "**refused** at the 4 s limit" if f[f"{key}_plan_refused"] else "goes"
        )
        methods = "; ".join(
            f"{method} "
            + ", ".join(
                f"{f[f'{key}_{method}_{store}_failed']:.0f} failed of "
                f"{f[f'{key}_{method}_{store}_requests']:.0f} at {rate}, "
                f"longest {f[f'{key}_{method}_{store}_longest_s']:.2f} s"
                for store, rate in (("sh01", "10 Hz"), ("hz01", "100 Hz"))
            )
            for method in ("rollout", "maintenance", "naive")
        )
        rows.append(
            f"| 3.1.0 -> 3.2.0 with {f[f'{key}_rows']:.0f} customers (x{size}), clients "
            f"with a 5 s timeout ({plan}) | {methods} |"
        )
    return rows


def firewall_rows(f: dict[str, float]) -> list[str]:
    sizes = ", ".join(
        f"{n} stores ({f[f'hosts_{n}']:.0f} hosts): {f[f'max_rules_{n}']:.0f} rules, "
        f"{f[f'max_bytes_{n}']:.0f} B, inventory load {f[f'load_s_{n}']:.2f} s"
        for n in STORE_COUNTS
    )
    return [
        f"| host firewall ruleset, largest per host (render only) | {sizes} |",
        f"| `firewall.yml`, every lab host's ruleset changed / no change | "
        f"{f['apply_changed_s']:.1f} s / {f['apply_noop_s']:.1f} s |",
        f"| controller locked out -> host reverts by itself (confirm timeout "
        f"{f['revert_confirm_timeout_s']:.0f} s) | {f['revert_after_s']:.1f} s |",
    ]


def network_rows(f: dict[str, float]) -> list[str]:
    runs = f"{f['backup_runs']:.0f} runs"
    rows = [
        f"| `net_backup` of {n} emulated devices (IOS + VRP), ansible-playbook, "
        f"{f['forks']:.0f} forks: first run (commits) / no-op re-run ({runs}) | "
        f"{f[f'backup_first_s_{n}']:.1f} s / {f[f'backup_noop_s_{n}']:.1f} s "
        f"({f[f'backup_first_per_s_{n}']:.1f} / {f[f'backup_noop_per_s_{n}']:.1f} devices/s) |"
        for n in DEVICE_COUNTS
    ]
    return [
        *rows,
        f"| hier_config remediation alone, IOS configuration of {f['large_config_lines']:,.0f} "
        f"lines (1,000 VLANs, 500-entry ACL), {f['large_differing_lines']:.0f} lines "
        f"added/removed | {f['remediation_alone_s'] * 1000:.0f} ms |",
        f"| make-before-break ordering pass on that remediation: hier_config alone / with "
        f"the ordering | {f['remediation_unordered_s'] * 1000:.0f} ms / "
        f"{f['remediation_alone_s'] * 1000:.0f} ms ({f['ordering_over_unordered']:.2f}x) |",
        f"| `net_config` on that emulated switch: push + save + verify / no-op re-run "
        f"({f['net_config_runs']:.0f} runs) | "
        f"{f['net_config_push_s']:.1f} s / {f['net_config_noop_s']:.1f} s |",
        f"| the same push with the device's revert armed, confirmed over a new login, saved "
        f"after | {f['net_config_armed_push_s']:.1f} s: **+{f['safety_net_added_s']:.1f} s** "
        f"per device ({f['safety_net_over_plain']:.2f}x) |",
        f"| lines sent to the device for that change: remediation vs full replace | "
        f"{f['remediation_lines_sent']:.0f} vs {f['full_replace_lines']:,.0f}: "
        f"**{f['full_replace_over_remediation']:.0f}x** fewer |",
    ]


def write_readme(section: str) -> None:
    text = README.read_text()
    updated = re.sub(
        r"<!-- bench:start -->.*<!-- bench:end -->",
        f"<!-- bench:start -->\n{section}\n<!-- bench:end -->",
        text,
        flags=re.DOTALL,
    )
    README.write_text(updated)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"one of: {', '.join(MEASUREMENTS)}"
    )
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    parser.add_argument(
        "--render-only", action="store_true", help="measure nothing: README from bench/results"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(unknown)}")
    names = args.names or [n for n in MEASUREMENTS if n != "make-test"]
    if args.render_only:
        names = []
    results = {}
    for name in names:
        function, runs = MEASUREMENTS[name]
        print(f"bench: {name} ({runs} runs)...", flush=True)
        results[name] = function(runs)
        print(f"bench: {name}: {results[name]}", flush=True)
    if results:
        when = dt.date.today().isoformat()
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{when}.json"
        previous = json.loads(out.read_text()) if out.is_file() else {}
        merged = {**previous.get("results", {}), **results}
        recorded = {"date": when, "machine": machine(), "results": merged}
        out.write_text(json.dumps(recorded, indent=2) + "\n")
    section = render(*latest_results())
    print(section)
    if not args.no_readme:
        write_readme(section)
    return 0


# The measurements with README rows of their own (the others are one median each).
ROWS: dict[str, Callable[[dict[str, float]], list[str]]] = {
    "dms-rollout": dms_rows,
    "dms-queue": dms_queue_rows,
    "firewall": firewall_rows,
    "network": network_rows,
    "backup": backup_rows,
    "workstation": workstation_rows,
    "hardening": hardening_rows,
    "patching": patching_rows,
    "health": health_rows,
    "report": report_rows,
    "site-noop": site_noop_rows,
    "site-noop-link": link_rows,
    "runner": runner_rows,
    "scale": scale_rows,
}

if __name__ == "__main__":
    sys.exit(main())
