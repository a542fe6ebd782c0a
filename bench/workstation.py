"""Workstation provisioning on the lab (bench/run.py `workstation`): pyinfra vs Ansible.

The same work two ways, on the lab workstation sh01-ws01, each time from a bare machine
(its container recreated from the lab image, as a new laptop arrives):

* pyinfra: ``storeops workstation provision sh01-ws01 --owner ... --role sales`` (the
  checks, ``deploys/workstation.py`` over SSH, the asset register);
* Ansible: ``ansible-playbook playbooks/workstation.yml --limit sh01-ws01 -e ...`` (the
  same plan, templates and register; the firewall through the role's commit-confirm).

Per run and tool, alternated: the wall time of provisioning the bare machine, then of a
re-run that must change nothing (checked: pyinfra's "Grand total" and Ansible's recap say
0 changes, or the bench fails). Each tool writes to its own copy of the lab inventory.
Afterwards the workstation is recreated once more and brought back to what the lab tests
expect (common, mariadb, harden and firewall playbooks).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from storeops_lab.plan import NAME_PREFIX
from storeops_lab.rehearsal import copy_lab_inventory

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOST = "sh01-ws01"
CONTAINER = f"{NAME_PREFIX}{HOST}"
OWNER, ROLE = "wang.fang", "sales"
ANSIBLE_CHANGED = re.compile(rf"^{HOST}\s+:\s+ok=\d+\s+changed=(\d+)", re.MULTILINE)
PYINFRA_TOTAL = re.compile(r"Grand total\s+\S+\s+(\S+)")  # operations, changed


def must(argv: list[str]) -> str:
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stdout[-3000:]}{done.stderr[-1000:]}")
    return done.stdout + done.stderr


def bare_workstation() -> None:
    """sh01-ws01 recreated from the lab image: what a new machine looks like."""
    must(["podman", "rm", "--force", CONTAINER])
    must([str(BIN / "storeops"), "lab", "up"])


def pyinfra_changes(output: str) -> int:
    found = PYINFRA_TOTAL.search(output)
    if found is None:
        raise RuntimeError(f"no pyinfra Grand total in: {output[-2000:]}")
    return 0 if found.group(1) == "-" else int(found.group(1))


def ansible_changes(output: str) -> int:
    found = ANSIBLE_CHANGED.search(output)
    if found is None:
        raise RuntimeError(f"no recap for {HOST} in: {output[-2000:]}")
    return int(found.group(1))


def with_pyinfra(inventory: Path) -> int:
    argv = [str(BIN / "storeops"), "workstation", "provision", HOST, "-i", str(inventory)]
    return pyinfra_changes(must([*argv, "--owner", OWNER, "--role", ROLE]))


def with_ansible(inventory: Path) -> int:
    argv = [str(BIN / "ansible-playbook"), "playbooks/workstation.yml", "-i", str(inventory)]
    request = ["-e", f"workstation_owner={OWNER}", "-e", f"workstation_role={ROLE}"]
    return ansible_changes(must([*argv, "--limit", HOST, *request]))


TOOLS: dict[str, Callable[[Path], int]] = {"pyinfra": with_pyinfra, "ansible": with_ansible}


def timed(provision: Callable[[Path], int], inventory: Path) -> tuple[float, int]:
    started = time.monotonic()
    changes = provision(inventory)
    return time.monotonic() - started, changes


def one_run(tool: str, scratch: Path) -> tuple[float, float, int]:
    """Bare machine -> provisioned -> re-run: both wall times and the first run's changes."""
    bare_workstation()
    inventory = copy_lab_inventory(Path(tempfile.mkdtemp(dir=scratch)))
    first_s, first_changes = timed(TOOLS[tool], inventory)
    noop_s, noop_changes = timed(TOOLS[tool], inventory)
    if first_changes == 0 or noop_changes != 0:
        raise RuntimeError(f"{tool}: {first_changes} changes, then {noop_changes} (want >0, 0)")
    return first_s, noop_s, first_changes


def restore_lab() -> None:
    bare_workstation()
    for playbook in ("common", "mariadb", "harden", "firewall"):
        must([str(BIN / "ansible-playbook"), f"playbooks/{playbook}.yml", "--limit", HOST])


def workstation(runs: int) -> dict[str, float]:
    measured: dict[str, list[tuple[float, float, int]]] = {tool: [] for tool in TOOLS}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ws-") as scratch:
            for _ in range(runs):
                for tool in TOOLS:
                    measured[tool].append(one_run(tool, Path(scratch)))
    finally:
        restore_lab()
    figures: dict[str, float] = {"runs": runs}
    for tool, results in measured.items():
        figures[f"{tool}_first_s"] = round(statistics.median(r[0] for r in results), 1)
        figures[f"{tool}_noop_s"] = round(statistics.median(r[1] for r in results), 1)
        figures[f"{tool}_changes"] = results[0][2]
    figures["first_ratio"] = round(figures["ansible_first_s"] / figures["pyinfra_first_s"], 2)
    figures["noop_ratio"] = round(figures["ansible_noop_s"] / figures["pyinfra_noop_s"], 2)
    return figures


def rows(f: dict[str, float]) -> list[str]:
    """README rows (bench/run.py renders them)."""
    runs = f"{f['runs']:.0f} runs"
    return [
        f"| a bare lab workstation provisioned: pyinfra (`storeops workstation provision`) vs "
        f"Ansible (`playbooks/workstation.yml`), {runs} | {f['pyinfra_first_s']:.1f} s "
        f"({f['pyinfra_changes']:.0f} changes) vs {f['ansible_first_s']:.1f} s "
        f"({f['ansible_changes']:.0f} changed tasks): Ansible takes **{f['first_ratio']:.2f}x** |",
        f"| the same again, nothing to change: pyinfra vs Ansible ({runs}) | "
        f"{f['pyinfra_noop_s']:.1f} s vs {f['ansible_noop_s']:.1f} s: "
        f"Ansible takes **{f['noop_ratio']:.2f}x** |",
    ]
