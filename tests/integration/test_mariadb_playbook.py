"""playbooks/mariadb.yml on the lab: db hosts serve, others do not; idempotent; truthful --check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from storeops.ansible_view import load
from storeops.inventory import Inventory
from tests.integration.ansible_run import changes_per_host, run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/mariadb.yml"
CONFIG = "/etc/mysql/mariadb.conf.d/60-storeops.cnf"
DRIFTED = "hz01-db"


def on_host(host: str, *command: str) -> subprocess.CompletedProcess[str]:
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


def test_mariadb_runs_only_on_db_hosts(converged: Inventory) -> None:
    for host in converged.hosts.values():
        active = on_host(host.name, "systemctl", "is-active", "mariadb").stdout.strip()
        assert active == ("active" if "db" in host.roles else "inactive"), host.name


def test_check_mode_reports_drift_and_changes_nothing(converged: Inventory, tmp_path: Path) -> None:
    assert on_host(DRIFTED, "rm", "-f", CONFIG).returncode == 0

    check = run_playbook(PLAYBOOK, tmp_path, "--check", "--diff")

    assert check.returncode == 0, check.stdout[-4000:]
    changed = changes_per_host(check)
    assert changed.pop(DRIFTED) >= 1
    assert changed == dict.fromkeys(changed, 0)
    assert on_host(DRIFTED, "test", "-e", CONFIG).returncode != 0, "--check wrote the file"

    repair = run_playbook(PLAYBOOK, tmp_path, "--limit", f"{DRIFTED},localhost")
    assert repair.returncode == 0, repair.stdout[-4000:]
    assert on_host(DRIFTED, "grep", "-q", "bind-address", CONFIG).returncode == 0


def test_dms_host_logs_in_over_the_store_network_and_others_cannot(converged: Inventory) -> None:
    """A real login from each store's DMS host to its DB host; a workstation is refused."""
    password = load(converged.root)["sh01-db"].variables["vault_dms_db_password"]
    for store in converged.stores:
        db = next(h for h in converged.hosts_of(store) if "db" in h.roles)
        for client in converged.hosts_of(store):
            if client.roles[0] not in {"dms", "workstation"}:
                continue
            login = subprocess.run(  # the password goes by environment, never on a command line
                [
                    "podman",
                    "exec",
                    "-e",
                    "MYSQL_PWD",
                    f"storeops-{client.name}",
                    "mariadb",
                    "-h",
                    str(db.address),
                    "-u",
                    "storedms",
                    "-N",
                    "-e",
                    "SELECT 1",
                ],
                env={**os.environ, "MYSQL_PWD": password},
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            refused = "is not allowed to connect to this MariaDB server" in login.stderr
            if "dms" in client.roles:
                assert (login.returncode, login.stdout.strip()) == (0, "1"), login.stderr
            else:
                assert (login.returncode != 0, refused) == (True, True), client.name
