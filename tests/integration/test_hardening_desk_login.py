"""A hardened workstation at the desk: the employee's password login still works, and the
password and lockout controls hold in the PAM stacks a desk login uses.

Real PAM, no stand-in: Debian's ``pamtester`` (fetched by the controller, installed for the
test, purged after)
authenticates through the ``login`` service (what a text console and the display managers
include: common-auth, where the role put pam_faillock), and ``chpasswd`` changes passwords
through common-password (pam_pwquality). The employee is a throwaway account made for the
test on the lab workstation.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import yaml

from storeops.inventory import Inventory
from tests.conftest import REPO
from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.lab

HOST = "sh01-ws01"
EMPLOYEE = "desk.test"
PASSWORD = "Showroom-Desk-2026!"  # a lab-only throwaway, meets pwquality
WRONG = "not-the-password"
DEFAULTS = yaml.safe_load((REPO / "roles/hardening/defaults/main.yml").read_text())
DENY = int(DEFAULTS["hardening_faillock_deny"])


def on_host(command: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """A command as root on the lab workstation through podman."""
    return subprocess.run(
        ["podman", "exec", "-i", f"storeops-{HOST}", *command],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def must(command: list[str], stdin: str = "") -> str:
    done = on_host(command, stdin)
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout


def desk_login(password: str) -> bool:
    """The password typed at the desk, through PAM's login service: accepted?"""
    done = on_host(["pamtester", "login", EMPLOYEE, "authenticate"], stdin=password + "\n")
    return done.returncode == 0


@pytest.fixture(scope="module")
def employee(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workstation hardened, pamtester installed, a throwaway employee with a password."""
    hardened = run_playbook(
        "playbooks/harden.yml", tmp_path_factory.mktemp("harden"), "--limit", f"{HOST},localhost"
    )
    assert hardened.returncode == 0, hardened.stdout[-5000:]
    # The store firewall lets a workstation reach no Debian mirror: the controller fetches
    # the package (a Debian machine, as the lab's host) and dpkg installs it on the host.
    packages = tmp_path_factory.mktemp("pamtester")
    fetched = subprocess.run(
        ["apt-get", "download", "pamtester"],
        cwd=packages,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert fetched.returncode == 0, fetched.stderr
    deb = next(packages.glob("pamtester_*.deb"))
    copied = subprocess.run(
        ["podman", "cp", str(deb), f"storeops-{HOST}:/tmp/{deb.name}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert copied.returncode == 0, copied.stderr
    must(["dpkg", "-i", f"/tmp/{deb.name}"])
    on_host(["rm", "-f", f"/tmp/{deb.name}"])
    must(["useradd", "--create-home", "--shell", "/bin/bash", EMPLOYEE])
    try:
        must(["chpasswd"], stdin=f"{EMPLOYEE}:{PASSWORD}\n")
        yield EMPLOYEE
    finally:
        on_host(["userdel", "--remove", EMPLOYEE])
        on_host(["faillock", "--user", EMPLOYEE, "--reset"])
        on_host(["dpkg", "--purge", "pamtester"])


def test_the_employee_logs_in_at_the_desk_with_the_password(employee: str) -> None:
    assert desk_login(PASSWORD)


def test_a_weak_password_is_refused_by_pwquality(employee: str) -> None:
    for weak in ("short1!", "alllowercaseletters"):
        done = on_host(["chpasswd"], stdin=f"{employee}:{weak}\n")
        assert done.returncode != 0, f"chpasswd accepted {weak!r}"
        assert "BAD PASSWORD" in done.stdout + done.stderr
    assert desk_login(PASSWORD), "a refused change kept the old password"


def test_failed_logins_lock_the_account_until_reset(employee: str) -> None:
    for _ in range(DENY):
        assert not desk_login(WRONG)
    assert not desk_login(PASSWORD), f"not locked after {DENY} failures"
    assert employee in must(["faillock", "--user", employee])
    must(["faillock", "--user", employee, "--reset"])  # the IT admin unlocks the employee
    assert desk_login(PASSWORD)
