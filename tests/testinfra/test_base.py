"""What every server and workstation must be before any role runs: checked over real SSH.

Parametrized over the inventory's hosts that have a server or workstation role
(switches and firewalls are network devices, checked elsewhere). The inventory is
``inventory/lab`` unless ``STOREOPS_INVENTORY`` names another one, so the same checks
run as an audit of production::

    STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_base.py

Connections go through testinfra's Ansible backend: user, key and SSH options come from
the inventory's own variables and the repo's ansible.cfg, exactly as Ansible would use
them. Against the lab inventory the lab is started first if it is not up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra

from storeops.inventory import Host
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.validate import load_valid
from storeops_lab.plan import runs_in_lab

INVENTORY_ROOT = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
INVENTORY = load_valid(INVENTORY_ROOT)
IS_LAB = LAB_INVENTORY.resolve() == INVENTORY_ROOT
HOSTS = [host for host in INVENTORY.hosts.values() if runs_in_lab(host)]

# Failed units tolerated on a "degraded" host, each with the reason. Empty on purpose:
# auditd, which cannot run in a container, is skipped by a unit condition in the lab
# image (lab/image/files/), so it does not fail there.
ALLOWED_FAILED_UNITS: dict[str, str] = {}

pytestmark = [pytest.mark.lab] if IS_LAB else []


@pytest.fixture(scope="module", autouse=True)
def _from_repo_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Ansible's relative paths (key, known_hosts, ansible.cfg) are from the repo root.

    One SSH connection per host is reused by every check (ansible.cfg turns on
    ControlMaster but names no ControlPath, so testinfra would not share connections).
    """
    control_dir = tmp_path_factory.mktemp("ssh-control")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO_ROOT)
        patch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        patch.setenv("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))
        patch.setenv("ANSIBLE_SSH_EXTRA_ARGS", f"-o ControlPath={control_dir}/%C")
        yield
    for socket in control_dir.iterdir():  # end the shared connections we opened
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "unused"],
            capture_output=True,
            timeout=10,
            check=False,
        )


@pytest.fixture(scope="module", autouse=True)
def _lab_is_up(_from_repo_root: None) -> None:
    if IS_LAB:
        from storeops_lab.lab import assumed_up, up

        if not assumed_up():
            up(INVENTORY, say=lambda _: None)


@pytest.fixture(scope="module", params=HOSTS, ids=[host.name for host in HOSTS])
def target(request: pytest.FixtureRequest, _lab_is_up: None) -> tuple[Host, Any]:
    host: Host = request.param
    connection = testinfra.get_host(f"ansible://{host.name}?ansible_inventory={INVENTORY_ROOT}")
    return host, connection


def test_sshd_is_running_and_enabled(target: tuple[Host, Any]) -> None:
    _, remote = target
    sshd = remote.service("ssh")
    assert sshd.is_running
    assert sshd.is_enabled


def test_hostname_is_the_inventory_name(target: tuple[Host, Any]) -> None:
    host, remote = target
    assert remote.check_output("hostname") == host.name


def test_host_has_its_inventory_address(target: tuple[Host, Any]) -> None:
    host, remote = target
    output = remote.check_output("ip -4 -o address show")
    addresses = {field.split("/")[0] for line in output.splitlines() for field in line.split()[3:4]}
    assert str(host.address) in addresses


def test_systemd_is_running_or_only_allowed_units_failed(target: tuple[Host, Any]) -> None:
    _, remote = target
    state = remote.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), f"systemd is {state!r}"
    if state == "degraded":
        listing = remote.check_output("systemctl list-units --state=failed --plain --no-legend")
        failed = [line.split()[0] for line in listing.splitlines() if line.strip()]
        unexplained = [unit for unit in failed if unit not in ALLOWED_FAILED_UNITS]
        assert unexplained == [], f"failed units not in ALLOWED_FAILED_UNITS: {unexplained}"
