"""playbooks/common.yml on the lab: converges, is idempotent, and --check tells the truth.

Runs before tests/testinfra (make test-lab orders them so): the testinfra suite then
audits the converged hosts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from tests.integration.ansible_run import changes_per_host, run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/common.yml"
JOURNALD_DROPIN = "/etc/systemd/journald.conf.d/storeops.conf"
DRIFTED = "sh01-dms"


def on_host(host: str, *command: str) -> subprocess.CompletedProcess[str]:
    """A command on a lab host through podman (not through the SSH path under test)."""
    return subprocess.run(
        ["podman", "exec", f"storeops-{host}", *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.fixture(scope="module")
def converged(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    first = run_playbook(PLAYBOOK, tmp_path_factory.mktemp("converge"))
    assert first.returncode == 0, first.stdout[-4000:]
    return lab


def test_second_run_changes_nothing(converged: Inventory, tmp_path: Path) -> None:
    again = run_playbook(PLAYBOOK, tmp_path)
    assert again.returncode == 0, again.stdout[-4000:]
    assert changes_per_host(again) == dict.fromkeys(converged.hosts, 0)


def test_check_mode_reports_drift_and_changes_nothing(converged: Inventory, tmp_path: Path) -> None:
    assert on_host(DRIFTED, "rm", "-f", JOURNALD_DROPIN).returncode == 0

    check = run_playbook(PLAYBOOK, tmp_path, "--check", "--diff")

    assert check.returncode == 0, check.stdout[-4000:]
    assert check.recap[DRIFTED].changed >= 1
    assert all(
        r.changed == 0 for name, r in check.recap.items() if name not in {DRIFTED, "localhost"}
    )
    assert "Storage=persistent" in check.stdout  # the diff shows the file it would write
    assert on_host(DRIFTED, "test", "-e", JOURNALD_DROPIN).returncode != 0, "--check wrote the file"

    repair = run_playbook(PLAYBOOK, tmp_path, "--limit", f"{DRIFTED},localhost")
    assert repair.returncode == 0, repair.stdout[-4000:]
    assert repair.recap[DRIFTED].changed >= 1
    assert on_host(DRIFTED, "grep", "-q", "Storage=persistent", JOURNALD_DROPIN).returncode == 0
