"""Drift on a hardened host, as it happens in a store: someone edits a file by hand.

Each change below weakens exactly one control. ``storeops audit`` must then fail exactly
those controls on that host (and nothing else), ``harden.yml --check --diff`` must report
the repair and change nothing, and ``harden.yml`` with the controls' tags must repair them,
after which the audit passes again. The host is hardened first (a no-op on the lab
``make demo`` left) and repaired at the end whatever happened in between.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY
from tests.integration.ansible_run import changes_per_host, run_playbook

pytestmark = pytest.mark.lab

HOST = "sh01-dms"
STOREOPS = str(Path(sys.executable).parent / "storeops")
HARDEN = "playbooks/harden.yml"
AUTOMATION_USER = "storeops"


@dataclass(frozen=True)
class Drift:
    """A hand edit that weakens a control, and how to see it on the host."""

    control: str
    command: str  # run as root on the host
    evidence: str  # a shell test that holds while the drift is there
    also: tuple[str, ...] = ()  # other controls the same edit weakens


DRIFTS = [
    Drift(
        "L2-7.1.4.1-a-pwquality",
        "sed -i 's/^minlen.*/minlen = 8/' /etc/security/pwquality.conf",
        "grep -q '^minlen = 8$' /etc/security/pwquality.conf",
    ),
    Drift(  # a file of the role's one-call file check (tasks/files.yml)
        "L2-7.1.4.1-b-idle-timeout",
        "sed -i 's/^  TMOUT=.*/  TMOUT=86400/' /etc/profile.d/storeops-tmout.sh",
        "grep -q '^  TMOUT=86400$' /etc/profile.d/storeops-tmout.sh",
    ),
    Drift(
        "L2-7.1.4.1-c-ssh-login",
        f"printf 'Match User {AUTOMATION_USER}\\n    PasswordAuthentication yes\\n'"
        " >>/etc/ssh/sshd_config",
        "grep -q '^Match User' /etc/ssh/sshd_config",
    ),
    Drift(
        "L2-7.1.4.2-a-sudo-groups",
        f"echo '{AUTOMATION_USER} ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/zz-by-hand"
        " && chmod 0440 /etc/sudoers.d/zz-by-hand",
        f"grep -q '^{AUTOMATION_USER} ' /etc/sudoers.d/zz-by-hand",
    ),
    Drift(
        "L2-7.1.4.2-d-setuid",
        "chmod u+s /usr/lib/openssh/ssh-keysign",
        "test -u /usr/lib/openssh/ssh-keysign",
        # a new setuid binary is also a privileged command that no audit rule watches
        also=("L2-7.1.4.3-a-auditd",),
    ),
]
CONTROLS = sorted(drift.control for drift in DRIFTS)
FAILED = sorted({*CONTROLS, *(control for drift in DRIFTS for control in drift.also)})


def on_host(command: str) -> subprocess.CompletedProcess[str]:
    """A root shell command on the lab host through podman (not through the SSH under test)."""
    return subprocess.run(
        ["podman", "exec", f"storeops-{HOST}", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def audit(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    """``storeops audit`` of the host, as the operator runs it; its exit code and JSON."""
    done = subprocess.run(
        [STOREOPS, "audit", "-i", str(LAB_INVENTORY), "--limit", HOST, "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.stdout.startswith("{"), done.stdout[-3000:] + done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["control"]: r["status"] for r in report["results"] if r["host"] == HOST}


def harden(tmp_path: Path, *args: str) -> dict[str, int]:
    done = run_playbook(HARDEN, tmp_path, "--limit", f"{HOST},localhost", *args)
    assert done.returncode == 0, done.stdout[-5000:]
    return changes_per_host(done)


@pytest.fixture(scope="module")
def drifted(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The host as `make demo` hardened it (the first test's exact list of failures proves
    that), drifted by hand in every way above; its drifted controls converged again after."""
    workdir = tmp_path_factory.mktemp("hardening-drift")
    for drift in DRIFTS:
        done = on_host(drift.command)
        assert done.returncode == 0, f"{drift.control}: {done.stderr}"
    try:
        yield workdir
    finally:
        harden(workdir, "--tags", ",".join(CONTROLS))


def test_the_audit_fails_exactly_the_drifted_controls(drifted: Path) -> None:
    code, report = audit(drifted)
    seen = statuses(report)
    failed = sorted(control for control, status in seen.items() if status == "failed")
    assert failed == FAILED
    assert code == 2, "monitoring exit code: CRITICAL"
    assert "unknown" not in seen.values()
    reasons = {r["control"]: r["reason"] for r in report["results"] if r["status"] == "failed"}
    assert "minlen" in reasons["L2-7.1.4.1-a-pwquality"]
    assert "ssh-keysign" in reasons["L2-7.1.4.2-d-setuid"]


def test_check_mode_reports_the_repairs_and_changes_nothing(drifted: Path) -> None:
    changed = harden(drifted, "--check", "--diff", "--tags", ",".join(CONTROLS))
    assert changed[HOST] >= len(DRIFTS)
    for drift in DRIFTS:
        assert on_host(drift.evidence).returncode == 0, f"--check repaired {drift.control}"


def test_converging_the_controls_repairs_them(drifted: Path) -> None:
    changed = harden(drifted, "--tags", ",".join(CONTROLS))
    assert changed[HOST] >= len(DRIFTS)
    for drift in DRIFTS:
        assert on_host(drift.evidence).returncode != 0, f"{drift.control} still drifted"
    code, report = audit(drifted)
    assert {c: s for c, s in statuses(report).items() if s == "failed"} == {}
    assert code == 0
    assert harden(drifted, "--tags", ",".join(CONTROLS))[HOST] == 0, "a second run changes"
