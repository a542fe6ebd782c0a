"""``storeops audit``'s logic: which hosts, running the testinfra audit, merging its results
with the waivers, the control-by-host table, the per-store pass rate, JSON and exit codes.

Runs on the controller. The checks themselves are ``tests/testinfra/test_hardening.py``, run
read-only by pytest in a subprocess over testinfra's ansible backend. Every command to a
host goes over one SSH connection per host: ansible.cfg's ``ssh_args`` ask for a master
(ControlMaster=auto, ControlPersist) and the audit's own SSH client configuration
(``ssh_multiplexing``) gives it a short socket path. The audit_plugin writes one JSON line per
test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from storeops.compliance.audit_plugin import RESULTS_ENV
from storeops.compliance.catalogue import Catalogue
from storeops.compliance.validation import PlacedWaiver

AUDIT_TESTS = Path("tests") / "testinfra" / "test_hardening.py"
PLUGIN = "storeops.compliance.audit_plugin"

# Monitoring exit codes (Nagios/Icinga): all compliant, a failure, could not tell.
EXIT_OK = 0
EXIT_FAILED = 2
EXIT_UNKNOWN = 3


class Status(StrEnum):
    """A control's status on one host, as the report shows it."""

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    NOT_APPLICABLE = "not applicable"
    UNKNOWN = "unknown"  # the check did not run or could not tell


COMPLIANT = frozenset({Status.PASSED, Status.WAIVED, Status.NOT_APPLICABLE})
_RANK = {"failed": 3, "error": 2, "passed": 1, "not_applicable": 0}


@dataclass(frozen=True)
class CheckLine:
    """One line of the plugin's output: one test on one host."""

    control: str | None
    host: str
    test: str
    outcome: str  # passed, failed, not_applicable, error
    reason: str = ""


@dataclass(frozen=True)
class Cell:
    """A control on a host: its status, why, and what the check itself said."""

    control: str
    host: str
    store: str
    status: Status
    reason: str = ""
    check: str = "missing"  # the check's own outcome (a waived control is still checked)
    waiver: dict[str, str] | None = None


@dataclass
class AuditReport:
    """Every cell, with what was audited and when."""

    inventory: str
    hosts: list[str]
    stores: dict[str, str]  # host -> store code
    controls: list[str]
    cells: list[Cell] = field(default_factory=list)
    generated: str = ""
    problem: str = ""  # why the audit could not run (exit 3)

    def cell(self, control: str, host: str) -> Cell | None:
        for cell in self.cells:
            if cell.control == control and cell.host == host:
                return cell
        return None

    def store_rates(self) -> dict[str, dict[str, Any]]:
        """store -> counts by status and the pass rate (compliant cells / all cells)."""
        rates: dict[str, dict[str, Any]] = {}
        for store in sorted(set(self.stores.values())):
            counts = Counter(c.status.value for c in self.cells if c.store == store)
            total = sum(counts.values())
            compliant = sum(counts[s.value] for s in COMPLIANT)
            rates[store] = {
                **{s.value: counts[s.value] for s in Status},
                "total": total,
                "rate": round(compliant / total, 4) if total else 0.0,
            }
        return rates

    def exit_code(self) -> int:
        """2 when a control failed anywhere (certain, whatever else could not be told), else
        3 when the audit could not run everywhere or a check did not tell, else 0."""
        statuses = {cell.status for cell in self.cells}
        if Status.FAILED in statuses:
            return EXIT_FAILED
        if self.problem or Status.UNKNOWN in statuses or not self.cells:
            return EXIT_UNKNOWN
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "inventory": self.inventory,
            "hosts": self.hosts,
            "controls": self.controls,
            "results": [{**asdict(cell), "status": cell.status.value} for cell in self.cells],
            "stores": self.store_rates(),
            "exit_code": self.exit_code(),
            "problem": self.problem,
        }


def read_lines(path: Path) -> list[CheckLine]:
    """The plugin's JSON lines (a line cut short by a killed run is dropped)."""
    lines: list[CheckLine] = []
    if not path.is_file():
        return lines
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue
        lines.append(
            CheckLine(
                data.get("control"),
                str(data["host"]),
                str(data.get("test", "")),
                str(data["outcome"]),
                str(data.get("reason", "")),
            )
        )
    return lines


def _merged(lines: Iterable[CheckLine]) -> dict[tuple[str, str], CheckLine]:
    """(control, host) -> the worst line (failed, then error, then passed, then n.a.)."""
    worst: dict[tuple[str, str], CheckLine] = {}
    for line in lines:
        if line.control is None:
            continue
        key = (line.control, line.host)
        if key not in worst or _RANK.get(line.outcome, 2) > _RANK.get(worst[key].outcome, 2):
            worst[key] = line
    return worst


def _waiver_text(placed: PlacedWaiver) -> dict[str, str]:
    waiver = placed.waiver
    return {
        "justification": waiver.justification,
        "owner": waiver.owner,
        "expires": waiver.expires.isoformat(),
        "file": str(placed.path),
    }


def merge(
    catalogue: Catalogue,
    hosts: Sequence[str],
    stores: dict[str, str],
    lines: Iterable[CheckLine],
    waivers: dict[str, dict[str, PlacedWaiver]],
) -> list[Cell]:
    """One cell per control and host: waived when an active waiver covers it (whatever the
    check said, which is kept), else the check's outcome; a check with no line is unknown."""
    worst = _merged(lines)
    cells = []
    for control in catalogue.controls:
        for host in hosts:
            line = worst.get((control.id, host))
            placed = waivers.get(host, {}).get(control.id)
            check = line.outcome if line else "missing"
            if placed is not None:
                status = Status.WAIVED
                reason = (
                    f"{placed.waiver.justification} (owner {placed.waiver.owner}, "
                    f"until {placed.waiver.expires}; check: {check})"
                )
            elif line is None:
                status, reason = Status.UNKNOWN, "no result: the check did not run"
            else:
                status = {
                    "passed": Status.PASSED,
                    "failed": Status.FAILED,
                    "not_applicable": Status.NOT_APPLICABLE,
                }.get(line.outcome, Status.UNKNOWN)
                reason = line.reason
            cells.append(
                Cell(
                    control.id,
                    host,
                    stores.get(host, "?"),
                    status,
                    reason,
                    check,
                    _waiver_text(placed) if placed else None,
                )
            )
    return cells


# A UNIX socket's path holds at most 107 bytes; ssh's %C is 40.
SOCKET_PATH_MAX = 107
SSH_CONFIG = """\
# storeops audit: every command to a host over one SSH connection (a short socket path),
# then the user's own and the system's client configuration, as ssh reads them without -F.
Host *
    ControlPath {directory}/%C
Match all
Include ~/.ssh/config
Include /etc/ssh/ssh_config
"""


@contextlib.contextmanager
def ssh_multiplexing() -> Iterator[Path | None]:
    """An SSH client configuration file that puts the audit's control sockets in a short
    temporary directory, or None where the directory's path would be too long for a socket.

    testinfra only multiplexes when told a ControlPath, and ansible.cfg's (under
    ~/.ansible/cp) makes test runs' paths too long. When the audit ends, the masters it
    started are told to exit rather than linger for ControlPersist.
    """
    with tempfile.TemporaryDirectory(prefix="storeops-ssh-") as name:
        directory = Path(name)
        if len(f"{directory}/") + 40 > SOCKET_PATH_MAX:
            yield None
            return
        config = directory / "ssh_config"
        config.write_text(SSH_CONFIG.format(directory=directory), encoding="utf-8")
        try:
            yield config
        finally:
            for socket in directory.iterdir():
                if socket.is_socket():
                    subprocess.run(
                        ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "storeops-audit"],
                        capture_output=True,
                        check=False,
                        timeout=10,
                    )


def pytest_command(
    inventory: Path, host: str, tests: Path = AUDIT_TESTS, ssh_config: Path | None = None
) -> list[str]:
    """The audit's pytest run for one host: the hardening checks, nothing else, in one
    process (its commands share one SSH connection, given ``ssh_multiplexing``'s file)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        str(tests),
        f"--hosts=ansible://{host}?ansible_inventory={inventory}",
        "-p",
        PLUGIN,
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "--tb=no",
        *([f"--ssh-config={ssh_config}"] if ssh_config else []),
    ]


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def run_checks(
    commands: Sequence[Sequence[str]],
    cwd: Path,
    environment: dict[str, str],
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[CheckLine], list[tuple[int, str]]]:
    """Run the audit's pytest runs, ``workers`` at a time (one per host); the lines of all,
    and each run's (exit code, end of its output). ``progress`` is told the number of checks
    done, twice a second."""
    with tempfile.TemporaryDirectory(prefix="storeops-audit-") as directory:
        results = Path(directory) / "results.jsonl"
        env = {**os.environ, **environment, RESULTS_ENV: str(results)}
        # testinfra's ansible backend runs ansible-inventory and ansible from PATH: this
        # Python's own (the venv's, when storeops is called by its full path).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        pending = list(enumerate(commands))
        running: list[tuple[int, subprocess.Popen[bytes], Path]] = []
        finished: dict[int, tuple[int, str]] = {}
        while pending or running:
            while pending and len(running) < max(workers, 1):
                index, command = pending.pop(0)
                log = Path(directory) / f"pytest-{index}.log"
                with log.open("wb") as stream:
                    process = subprocess.Popen(
                        list(command), cwd=cwd, env=env, stdout=stream, stderr=subprocess.STDOUT
                    )
                running.append((index, process, log))
            for entry in list(running):
                index, process, log = entry
                if process.poll() is not None:
                    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
                    finished[index] = (process.returncode, "\n".join(tail))
                    running.remove(entry)
            if progress is not None:
                progress(_count_lines(results))
            if running:
                time.sleep(0.5)
        return read_lines(results), [finished[i] for i in range(len(commands))]


def audit_hosts(
    inventory: Path,
    hosts: Sequence[str],
    cwd: Path,
    environment: dict[str, str],
    *,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
    multiplex: bool = True,
) -> tuple[list[CheckLine], list[tuple[int, str]]]:
    """The audit of ``hosts``: one pytest run per host (``run_checks``), over one SSH
    connection per host (``ssh_multiplexing``) unless ``multiplex`` is false."""
    with ssh_multiplexing() as ssh_config:
        commands = [
            pytest_command(inventory, host, ssh_config=ssh_config if multiplex else None)
            for host in hosts
        ]
        return run_checks(commands, cwd, environment, workers, progress)


def generated_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
