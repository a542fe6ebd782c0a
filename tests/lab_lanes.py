"""The lab suites in phases, the lanes of a phase side by side: ``make test-lab``.

One after the other the lab suites take about an hour, most of it spent waiting on SSH,
systemd and MariaDB inside the containers rather than on the controller's 2 cores. A phase
is a set of lanes that touch different hosts (or only read the ones they share); each lane
is one pytest process running its modules in order. Before each phase the runner brings
the lab up (and repairs what the previous phase left), then tells the suites so
(``STOREOPS_LAB_ASSUME_UP``): a suite's own ``up`` would converge every container while a
suite beside it is recreating one on purpose.

Which suites share which hosts decides the phases; a new test module must be placed in one
(the runner refuses to start otherwise, and ``tests/unit/test_lab_lanes.py`` checks it).

    python tests/lab_lanes.py [--phase NAME ...] [pytest options, e.g. --durations=10]

Each lane's output is written to ``.cache/lab-lanes/<phase>-<lane>.log`` and printed when
the lane ends; the run goes on after a failing lane (the next phase's ``up`` repairs the
lab) and exits 1 if any lane failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid
from storeops_lab.errors import LabError
from storeops_lab.lab import ASSUME_UP_ENV, up

REPO = Path(__file__).resolve().parent.parent
LOG_DIR = REPO / ".cache" / "lab-lanes"
SUITE_DIRS = ("tests/integration", "tests/testinfra")
POLL_SECONDS = 2.0

Lane = tuple[str, ...]


@dataclass(frozen=True)
class Phase:
    name: str
    lanes: tuple[Lane, ...]
    why: str


def _integration(*names: str) -> Lane:
    return tuple(f"tests/integration/test_{name}.py" for name in names)


def _testinfra(*names: str) -> Lane:
    return tuple(f"tests/testinfra/test_{name}.py" for name in names)


PHASES: tuple[Phase, ...] = (
    Phase("lab", (_integration("lab"),), "up/down/status of the lab itself: alone"),
    Phase(
        "databases",
        (
            _integration("backup", "dms_playbook", "dms_rollout"),
            _integration("dms_app", "firewall_module", "network"),
        ),
        "the stores' DMS, databases and backups; beside them, suites on containers and "
        "devices of their own (a scratch DMS host, a scratch nftables host, the emulated "
        "devices)",
    ),
    Phase(
        "firewalls",
        (_integration("firewall_traffic", "hardening_drift"),),
        "real packets through the host firewalls; nothing else may change them meanwhile",
    ),
    Phase(
        "stores",
        (_integration("health", "notify_lab", "run_history"), _integration("site")),
        "the store's checks and records beside the whole-store converge of hz01 "
        "(the checks stop and start services on sh01 only)",
    ),
    Phase(
        "patching",
        (_integration("patching"), _integration("hardening_desk_login")),
        "patch runs on the servers; beside them, the desk login on the workstation: "
        "patching's runs leave the workstation out",
    ),
    Phase(
        "workstation",
        (_integration("workstation"),),
        "the bare workstation provisioned and decommissioned: alone, since decommissioning "
        "archives to the store's backup server, which patching reboots",
    ),
    Phase(
        "converge",
        (_integration("preflight", "role_playbooks"),),
        "converges of every host that the audit then reads",
    ),
    Phase(
        "audit",
        (
            _testinfra("hardening", "common", "controller", "base"),
            _testinfra(
                "backed_up_host",
                "backup_server",
                "dms",
                "firewall",
                "mariadb",
                "patched_host",
                "provisioned_workstation",
            ),
        ),
        "the read-only testinfra audits of the converged lab",
    ),
)


def lab_test_modules(root: Path = REPO) -> list[str]:
    """Every lab test module on disk, relative to the repository."""
    return sorted(
        str(path.relative_to(root))
        for directory in SUITE_DIRS
        for path in (root / directory).glob("test_*.py")
    )


def unscheduled(phases: Sequence[Phase], on_disk: Sequence[str]) -> list[str]:
    """What is wrong with the schedule: a module in no phase, in two, or no longer there."""
    scheduled = [module for phase in phases for lane in phase.lanes for module in lane]
    missing = [f"{m}: in no phase of tests/lab_lanes.py" for m in on_disk if m not in scheduled]
    counts = Counter(scheduled)
    twice = [f"{m}: scheduled {n} times" for m, n in sorted(counts.items()) if n > 1]
    gone = [f"{m}: scheduled but not found" for m in sorted(set(scheduled) - set(on_disk))]
    return missing + twice + gone


@dataclass
class RunningLane:
    phase: str
    number: int
    modules: Lane
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    returncode: int | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.phase}-{self.number}"


def pytest_command(phase: str, number: int, modules: Lane, pytest_args: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *modules,
        "-p",
        "no:cacheprovider",
        f"--basetemp=/tmp/storeops-{phase}-{number}",
        *pytest_args,
    ]


def _start(phase: Phase, pytest_args: Sequence[str]) -> list[RunningLane]:
    env = {**os.environ, ASSUME_UP_ENV: "1"}
    lanes = []
    for number, modules in enumerate(phase.lanes, start=1):
        log = LOG_DIR / f"{phase.name}-{number}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                pytest_command(phase.name, number, modules, pytest_args),
                cwd=REPO,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        lanes.append(RunningLane(phase.name, number, modules, process, log, time.monotonic()))
        print(f"  lane {phase.name}-{number}: {' '.join(Path(m).stem for m in modules)}")
    return lanes


def _wait(lanes: list[RunningLane], out: IO[str]) -> None:
    """Wait for every lane, printing each one's log as it ends."""
    waiting = list(lanes)
    while waiting:
        for lane in list(waiting):
            code = lane.process.poll()
            if code is None:
                continue
            lane.returncode, lane.seconds = code, time.monotonic() - lane.started
            waiting.remove(lane)
            verdict = "passed" if code == 0 else f"FAILED (pytest exit {code})"
            out.write(f"\n===== lane {lane.label} {verdict} in {lane.seconds:.0f} s: {lane.log}\n")
            out.write(lane.log.read_text(errors="replace"))
            out.flush()
        if waiting:
            time.sleep(POLL_SECONDS)


def _bring_up(phase: Phase) -> bool:
    started = time.monotonic()
    try:
        result = up(load_valid(LAB_INVENTORY), say=lambda line: print(f"  {line}"))
    except LabError as error:
        print(f"phase {phase.name}: the lab is not up, its lanes are not run:\n{error}")
        return False
    changed = f"{len(result.actions)} repairs" if result.actions else "nothing to repair"
    print(f"  lab up: {changed} ({time.monotonic() - started:.0f} s)")
    for action in result.actions:
        print(f"    {action}")
    return True


def run(
    phases: Sequence[Phase], pytest_args: Sequence[str]
) -> tuple[list[RunningLane], Phase | None]:
    """The lanes run, and the phase whose lab could not be brought up (the run stops
    there: its suites and the later phases' would fail on a broken lab), if any."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    finished: list[RunningLane] = []
    for phase in phases:
        print(f"\n=== phase {phase.name}: {phase.why}", flush=True)
        if not _bring_up(phase):
            return finished, phase
        lanes = _start(phase, pytest_args)
        sys.stdout.flush()
        _wait(lanes, sys.stdout)
        finished += lanes
    return finished, None


def summary(lanes: Sequence[RunningLane]) -> str:
    rows = [
        f"  {lane.label:<14} {'passed' if lane.returncode == 0 else 'FAILED':<7}"
        f" {lane.seconds:>6.0f} s  {' '.join(Path(m).stem for m in lane.modules)}"
        for lane in lanes
    ]
    return "lab lanes:\n" + "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--phase", action="append", choices=[phase.name for phase in PHASES], help="only these"
    )
    options, pytest_args = parser.parse_known_args(argv)
    problems = unscheduled(PHASES, lab_test_modules())
    if problems:
        print(
            "the lab suites' schedule does not match the test modules:\n  " + "\n  ".join(problems)
        )
        return 2
    chosen = [phase for phase in PHASES if not options.phase or phase.name in options.phase]
    started = time.monotonic()
    lanes, stopped_at = run(chosen, pytest_args)
    print("\n" + summary(lanes))
    if stopped_at is not None:
        not_run = [phase.name for phase in chosen[chosen.index(stopped_at) :]]
        print(f"not run (the lab was not up for phase {stopped_at.name}): {', '.join(not_run)}")
    print(f"lab suites: {(time.monotonic() - started) / 60:.1f} min")
    return 0 if stopped_at is None and all(lane.returncode == 0 for lane in lanes) else 1


if __name__ == "__main__":
    sys.exit(main())
