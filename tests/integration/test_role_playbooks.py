"""The role playbooks on the lab: each converges, is idempotent, and --check tells the truth.

Parametrized over the playbooks (``playbooks/common.yml``, ``playbooks/mariadb.yml``); the
tests that only one playbook has ask for it by name. Each playbook converges once for all of
its tests. Runs before tests/testinfra (make test-lab orders them so): the testinfra suite
then audits the converged hosts.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from storeops.ansible_view import load
from storeops.inventory import Inventory
from storeops.roles import role_defaults
from storeops.zones import is_allowed
from storeops_lab.plan import runs_in_lab
from tests.integration.ansible_run import changes_per_host, run_playbook

pytestmark = pytest.mark.lab


@dataclass(frozen=True)
class RolePlaybook:
    """A role's playbook, and the file the check-mode test removes from one lab host."""

    path: str
    drifted_host: str
    drifted_file: str
    written_line: str  # a line the playbook writes in drifted_file


COMMON = RolePlaybook(
    path="playbooks/common.yml",
    drifted_host="sh01-dms",
    drifted_file="/etc/sudoers.d/storeops-admins",
    written_line="%storeops-admins ALL=(ALL:ALL) ALL",
)
MARIADB = RolePlaybook(
    path="playbooks/mariadb.yml",
    drifted_host="hz01-db",
    drifted_file="/etc/mysql/mariadb.conf.d/60-storeops.cnf",
    written_line="bind-address",
)


def _playbook_name(playbook: RolePlaybook) -> str:
    """The test id: ``common`` for playbooks/common.yml."""
    return Path(playbook.path).stem


def only(playbook: RolePlaybook) -> pytest.MarkDecorator:
    """For a test of one playbook: ``converged`` is that playbook, converged once with the rest."""
    return pytest.mark.parametrize("converged", [playbook], ids=_playbook_name, indirect=True)


def on_host(host: str, *command: str) -> subprocess.CompletedProcess[str]:
    """A command on a lab host through podman (not through the SSH path under test)."""
    return subprocess.run(
        ["podman", "exec", f"storeops-{host}", *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.fixture(scope="module", params=[COMMON, MARIADB], ids=_playbook_name)
def converged(
    request: pytest.FixtureRequest, lab: Inventory, tmp_path_factory: pytest.TempPathFactory
) -> RolePlaybook:
    playbook: RolePlaybook = request.param
    first = run_playbook(playbook.path, tmp_path_factory.mktemp("converge"))
    assert first.returncode == 0, first.stdout[-4000:]
    return playbook


def test_second_run_changes_nothing(
    converged: RolePlaybook, lab: Inventory, tmp_path: Path
) -> None:
    again = run_playbook(converged.path, tmp_path)
    assert again.returncode == 0, again.stdout[-4000:]
    servers = [name for name, host in lab.hosts.items() if runs_in_lab(host)]  # not devices
    assert changes_per_host(again) == dict.fromkeys(servers, 0)


@only(MARIADB)
def test_mariadb_runs_only_on_db_hosts(converged: RolePlaybook, lab: Inventory) -> None:
    for host in filter(runs_in_lab, lab.hosts.values()):
        active = on_host(host.name, "systemctl", "is-active", "mariadb").stdout.strip()
        assert active == ("active" if "db" in host.roles else "inactive"), host.name


def test_check_mode_reports_drift_and_changes_nothing(
    converged: RolePlaybook, tmp_path: Path
) -> None:
    drifted, path = converged.drifted_host, converged.drifted_file
    assert on_host(drifted, "rm", "-f", path).returncode == 0

    check = run_playbook(converged.path, tmp_path, "--check", "--diff")

    assert check.returncode == 0, check.stdout[-4000:]
    changed = changes_per_host(check)
    assert changed.pop(drifted) >= 1
    assert changed == dict.fromkeys(changed, 0)
    assert converged.written_line in check.stdout  # the diff shows the file it would write
    assert on_host(drifted, "test", "-e", path).returncode != 0, "--check wrote the file"

    repair = run_playbook(converged.path, tmp_path, "--limit", f"{drifted},localhost")
    assert repair.returncode == 0, repair.stdout[-4000:]
    assert repair.recap[drifted].changed >= 1
    assert on_host(drifted, "grep", "-q", converged.written_line, path).returncode == 0


@only(MARIADB)
def test_dms_host_logs_in_over_the_store_network_and_others_cannot(
    converged: RolePlaybook, lab: Inventory
) -> None:
    """A real login from each store's DMS host to its DB host; a workstation is refused.

    Refused by MariaDB (the account exists for the DMS host only), or, once the db host has
    its firewall (playbooks/firewall.yml, which the firewall tests leave on), dropped before
    MariaDB sees it: the zone model gives workstations no flow to the database.
    """
    password = load(lab.root)["sh01-db"].variables["vault_dms_db_password"]
    for store in lab.stores:
        db = next(h for h in lab.hosts_of(store) if "db" in h.roles)
        for client in lab.hosts_of(store):
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
                    "--connect-timeout=5",
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
            dropped = "Can't connect" in login.stderr and _firewalled(db.name)
            if "dms" in client.roles:
                assert (login.returncode, login.stdout.strip()) == (0, "1"), login.stderr
            else:
                assert login.returncode != 0 and (refused or dropped), (client.name, login.stderr)
                assert not is_allowed(lab, client.address, db, "mysql"), client.name


def _firewalled(host: str) -> bool:
    """Whether the host has the firewall role's table (it then drops what no flow allows)."""
    table = f"inet {role_defaults('firewall')['firewall_table']}".split()
    listed = subprocess.run(
        ["podman", "exec", f"storeops-{host}", "nft", "list", "table", *table],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return listed.returncode == 0
