"""MLPS 2.0 hardening on the lab (bench/run.py `hardening`): converge and audit.

* converge: ``playbooks/harden.yml`` on a bare lab workstation (sh01-ws01 recreated from
  the lab image), then again with nothing to change (must report 0 changes, or the bench
  fails); and the no-op run over all eight lab hosts (every host checked at once; the
  batches, canary then 50 % then the rest, only for hosts that differ: none here).
* audit: the testinfra audit of every control on every lab host (what ``storeops audit``
  runs), with the audit's SSH multiplexing (one connection per host) and without it (a
  connection per command), alternated.

The workstation is brought back to what the lab tests expect afterwards (bench/workstation.py).
"""

from __future__ import annotations

import re
import statistics
import time

from workstation import BIN, HOST, bare_workstation, must, restore_lab

from storeops.compliance import audit
from storeops.compliance.catalogue import load_catalogue
from storeops.compliance.cli import linux_hosts
from storeops.paths import LAB_INVENTORY, REPO_ROOT

RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", re.MULTILINE)
LAB_LINUX_HOSTS = 8


def harden(*args: str) -> tuple[float, dict[str, int]]:
    """harden.yml's wall time and each host's changed tasks."""
    started = time.monotonic()
    output = must([str(BIN / "ansible-playbook"), "playbooks/harden.yml", *args])
    elapsed = time.monotonic() - started
    return elapsed, {host: int(changed) for host, changed in RECAP.findall(output)}


def failed_controls(host: str) -> tuple[int, int]:
    """The audit of one host: controls failed, and controls checked."""
    lines, _ = audit.audit_hosts(LAB_INVENTORY, [host], REPO_ROOT, {})
    return sum(line.outcome == "failed" for line in lines), len(lines)


def converge(runs: int) -> dict[str, float]:
    first, noop, changes = [], [], 0
    bare_failed, bare_checked = 0, 0
    try:
        for _ in range(runs):
            bare_workstation()
            bare_failed, bare_checked = failed_controls(HOST)
            seconds, changed = harden("--limit", f"{HOST},localhost")
            again, unchanged = harden("--limit", f"{HOST},localhost")
            if changed.get(HOST, 0) == 0 or unchanged.get(HOST) != 0:
                raise RuntimeError(f"harden.yml: {changed} then {unchanged} (want >0, then 0)")
            first.append(seconds)
            noop.append(again)
            changes = changed[HOST]
    finally:
        restore_lab()
    fleet = []
    for _ in range(runs):
        seconds, changed = harden()
        if any(changed.values()):
            raise RuntimeError(f"harden.yml on the hardened lab changed {changed}")
        fleet.append(seconds)
    return {
        "bare_first_s": round(statistics.median(first), 1),
        "bare_noop_s": round(statistics.median(noop), 1),
        "bare_changes": changes,
        "bare_audit_failed": bare_failed,
        "bare_audit_checked": bare_checked,
        "fleet_checked_noop_s": round(statistics.median(fleet), 1),
    }


def one_audit(multiplexed: bool) -> tuple[float, int]:
    """One audit of every lab host (8 at a time): wall time and the number of checks."""
    hosts = linux_hosts(LAB_INVENTORY, None)
    if len(hosts) != LAB_LINUX_HOSTS:
        raise RuntimeError(f"the lab's Linux hosts: {hosts}")
    started = time.monotonic()
    lines, runs = audit.audit_hosts(
        LAB_INVENTORY, hosts, REPO_ROOT, {}, workers=len(hosts), multiplex=multiplexed
    )
    elapsed = time.monotonic() - started
    if any(status not in (0, 1) for status, _ in runs):
        raise RuntimeError(f"the audit could not run: {runs}")
    return elapsed, len(lines)


def audit_speed(runs: int) -> dict[str, float]:
    timings: dict[bool, list[float]] = {True: [], False: []}
    checks = 0
    for _ in range(runs):
        for multiplexed in (True, False):
            seconds, checks = one_audit(multiplexed)
            timings[multiplexed].append(seconds)
    expected = LAB_LINUX_HOSTS * len(load_catalogue().controls)
    if checks != expected:
        raise RuntimeError(f"{checks} audit results, want {expected}")
    one, many = statistics.median(timings[True]), statistics.median(timings[False])
    return {
        "audit_checks": checks,
        "audit_multiplexed_s": round(one, 1),
        "audit_per_command_s": round(many, 1),
        "audit_speedup": round(many / one, 2),
    }


def hardening(runs: int) -> dict[str, float]:
    return {"runs": runs, **converge(runs), **audit_speed(runs)}


def fleet_row(f: dict[str, float]) -> str:
    """The no-op over the hardened lab, as the results measured it: every host checked at
    once (fleet_checked_noop_s), or, in results from before that check, in 3 batches."""
    if "fleet_checked_noop_s" in f:
        how, seconds = "8 hosts checked at once, no change (no batch)", f["fleet_checked_noop_s"]
    else:
        how, seconds = "8 hosts in 3 batches, no change", f["fleet_noop_s"]
    return f"| `harden.yml` on the hardened lab, {how} | {seconds:.1f} s |"


def rows(f: dict[str, float]) -> list[str]:
    """README rows (bench/run.py renders them)."""
    runs = f"{f['runs']:.0f} runs"
    return [
        f"| the audit of a bare lab workstation (the lab image, before `harden.yml`) | "
        f"{f['bare_audit_failed']:.0f} of {f['bare_audit_checked']:.0f} controls fail |",
        f"| `harden.yml` on a bare lab workstation / again, nothing to change ({runs}) | "
        f"{f['bare_first_s']:.1f} s ({f['bare_changes']:.0f} changed tasks) / "
        f"{f['bare_noop_s']:.1f} s |",
        fleet_row(f),
        f"| `storeops audit` checks, 8 hosts x every control ({f['audit_checks']:.0f} checks): "
        f"with the audit's SSH client configuration (a ControlPath) vs without | "
        f"{f['audit_multiplexed_s']:.1f} s vs {f['audit_per_command_s']:.1f} s "
        f"({f['audit_speedup']:.2f}x) |",
    ]
