"""`storeops workstation provision|decommission` on the lab (real SSH, pyinfra).

The lab workstation sh01-ws01 is recreated from the image first (a bare machine), and the
commands run against a copy of the lab inventory (the register and host_vars they write
stay out of the repository). Afterwards the host gets back what the other suites expect
of it (common, mariadb, harden and firewall playbooks).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from storeops.inventory import Inventory
from storeops.paths import REPO_ROOT
from storeops_lab.lab import up
from storeops_lab.podman import exec_in
from storeops_lab.rehearsal import copy_lab_inventory
from tests.integration.ansible_run import run_playbook
from tests.waiting import seconds_until

pytestmark = pytest.mark.lab

HOST, CONTAINER = "sh01-ws01", "storeops-sh01-ws01"
CONFIRM_TIMEOUT = 15  # seconds: firewall_confirm_timeout of the revert test
OWNER, ROLE = "wang.fang", "sales"
STOREOPS = str(Path(sys.executable).parent / "storeops")
PYINFRA = str(Path(sys.executable).parent / "pyinfra")
TABLE = "storeops"  # the firewall role's table
REVERT_UNIT = f"nft-revert-{TABLE}"


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str

    @property
    def changes(self) -> int:
        """The changes of every pyinfra run of the command (the deploy, the firewall's
        confirmation): the 'changed' column of each 'Grand total' line ('-' is 0)."""
        totals = [line.split()[3] for line in self.output.splitlines() if "Grand total" in line]
        assert totals, self.output[-3000:]
        return sum(0 if changed == "-" else int(changed) for changed in totals)


def workstation(inventory: Path, *args: str) -> Run:
    done = subprocess.run(
        [STOREOPS, "workstation", *args, "-i", str(inventory)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return Run(done.returncode, done.stdout + done.stderr)


def revert_armed() -> bool:
    """Whether the firewall's automatic revert waits on the workstation (not confirmed)."""
    timer = exec_in(CONTAINER, ["systemctl", "is-active", f"{REVERT_UNIT}.timer"])
    return timer.stdout.strip() == "active" or (
        exec_in(CONTAINER, ["test", "-e", "/var/lib/storeops/firewall/armed.json"]).returncode == 0
    )


def live_table() -> bool:
    return exec_in(CONTAINER, ["nft", "list", "table", "inet", TABLE]).returncode == 0


def register(inventory: Path) -> list[dict[str, object]]:
    path = inventory / "assets" / "sh01.yml"
    if not path.exists():
        return []
    assets: list[dict[str, object]] = yaml.safe_load(path.read_text())["assets"]
    return assets


AUDITS = ("tests/testinfra/test_provisioned_workstation.py", "tests/testinfra/test_firewall.py")


def audit_passes(inventory: Path) -> None:
    """The testinfra suites of provisioned workstations and of host firewalls (the zone
    model's rules for the host, one counted accept each), on the host, every check run."""
    audit = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *AUDITS,
         f"--hosts=ansible://{HOST}?ansible_inventory={inventory}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "STOREOPS_INVENTORY": str(inventory)},
    )  # fmt: skip
    assert audit.returncode == 0 and " passed" in audit.stdout, audit.stdout[-3000:]
    assert "skipped" not in audit.stdout.splitlines()[-1], audit.stdout[-1000:]


@pytest.fixture(scope="module")
def inventory(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A bare sh01-ws01 and a copy of the lab inventory; the host re-converged afterwards."""
    subprocess.run(["podman", "rm", "--force", CONTAINER], check=True, capture_output=True)
    up(lab, only=[HOST])  # only this host: other suites may be using the rest of the lab
    yield copy_lab_inventory(tmp_path_factory.mktemp("workstation"))
    scratch = tmp_path_factory.mktemp("reconverge")
    for playbook in ("common", "mariadb", "harden", "firewall"):
        again = run_playbook(f"playbooks/{playbook}.yml", scratch, "--limit", f"{HOST},localhost")
        assert again.returncode == 0, again.stdout[-3000:]


def test_bad_input_is_refused_before_anything_is_touched(inventory: Path) -> None:
    for args, named in (
        (["provision", HOST, "--owner", OWNER, "--role", "cashier"], "cashier"),
        (["provision", "sh09-ws01", "--owner", OWNER, "--role", ROLE], "sh09-ws01"),
        (["provision", HOST, "--role", ROLE], "owner"),
    ):
        refused = workstation(inventory, *args)
        assert refused.returncode != 0 and named in refused.output, refused.output
        assert "Grand total" not in refused.output  # pyinfra never ran
    assert exec_in(CONTAINER, ["id", OWNER]).returncode != 0
    assert register(inventory) == []


def test_dry_runs_of_both_tools_change_nothing_on_a_bare_machine(
    inventory: Path, tmp_path: Path
) -> None:
    dry = workstation(inventory, "provision", HOST, "--owner", OWNER, "--role", ROLE, "--dry")
    assert dry.returncode == 0 and "nothing registered" in dry.output, dry.output[-3000:]
    (record_line,) = (
        line for line in dry.output.splitlines() if "/etc/storeops/workstation.yml" in line
    )
    assert f"1 ({HOST})" in record_line  # pyinfra --dry: this file would be written
    checked = run_playbook(
        "playbooks/workstation.yml", tmp_path, "--check", "--limit", HOST,
        "-e", f"workstation_owner={OWNER}", "-e", f"workstation_role={ROLE}",
        inventory=inventory,
    )  # fmt: skip
    assert checked.returncode == 0 and checked.recap[HOST].changed > 0, checked.stdout[-3000:]
    assert "asset 0101 would be added" in checked.words
    assert exec_in(CONTAINER, ["id", OWNER]).returncode != 0
    assert exec_in(CONTAINER, ["test", "-e", "/etc/storeops/workstation.yml"]).returncode != 0
    assert register(inventory) == []


def test_provision_then_a_rerun_changes_nothing_then_decommission(inventory: Path) -> None:
    first = workstation(inventory, "provision", HOST, "--owner", OWNER, "--role", ROLE)
    assert first.returncode == 0 and first.changes > 0, first.output[-3000:]
    entries = register(inventory)
    assert len(entries) == 1 and entries[0]["owner"] == OWNER and entries[0]["status"] == "in_use"
    registered = (inventory / "assets" / "sh01.yml").read_bytes()
    assert first.output.count("Grand total") == 2  # the deploy, then the firewall's confirmation
    assert not revert_armed()

    audit_passes(inventory)

    again = workstation(inventory, "provision", HOST, "--owner", OWNER, "--role", ROLE)
    assert again.returncode == 0 and again.changes == 0, again.output[-3000:]
    assert (inventory / "assets" / "sh01.yml").read_bytes() == registered  # no duplicate

    gone = workstation(inventory, "decommission", HOST)
    assert gone.returncode == 0, gone.output[-3000:]
    assert exec_in(CONTAINER, ["id", OWNER]).returncode != 0
    assert exec_in(CONTAINER, ["test", "-e", f"/home/{OWNER}"]).returncode != 0
    archived = exec_in("storeops-sh01-backup", ["find", "/srv/storeops-archive", "-type", "f"])
    assert f"{OWNER}-" in archived.stdout, archived
    (entry,) = register(inventory)
    assert entry["status"] == "returned"
    assert workstation(inventory, "decommission", HOST).returncode == 0  # idempotent
    assert register(inventory) == [entry]


def test_the_ansible_play_does_the_same_work(inventory: Path, tmp_path: Path) -> None:
    """playbooks/workstation.yml on the decommissioned machine, for the next employee."""
    owner, role = "li.lei", "finance"  # the desk-support sudo tier
    play = ("playbooks/workstation.yml", tmp_path, "--limit", HOST,
            "-e", f"workstation_owner={owner}", "-e", f"workstation_role={role}")  # fmt: skip
    first = run_playbook(*play, inventory=inventory)
    assert first.returncode == 0 and first.recap[HOST].changed > 0, first.stdout[-3000:]
    (entry,) = register(inventory)  # the returned asset, in use again: still one record
    assert (entry["owner"], entry["role"], entry["status"]) == (owner, role, "in_use")
    audit_passes(inventory)

    again = run_playbook(*play, inventory=inventory)
    assert again.returncode == 0 and again.recap[HOST].changed == 0, again.stdout[-3000:]
    # The employee's password hash stays on the machine: the re-run read only its state, so
    # the hash is in no file of the controller's fact cache.
    hashed = exec_in(CONTAINER, ["getent", "shadow", owner]).stdout.split(":")[1]
    assert hashed.startswith("$"), "no first password was set"
    cache = REPO_ROOT / ".cache" / "ansible-facts"
    assert cache.is_dir() and any(cache.iterdir())  # ansible.cfg's jsonfile cache, in use
    leaked = [p.name for p in cache.iterdir() if hashed in p.read_text(errors="replace")]
    assert not leaked, leaked
    checked = run_playbook(*play, "--check", inventory=inventory)
    assert checked.returncode == 0 and checked.recap[HOST].changed == 0, checked.stdout[-3000:]
    # The same work: the pyinfra deploy finds nothing to change after the play.
    same = workstation(inventory, "provision", HOST, "--owner", owner, "--role", role)
    assert same.returncode == 0 and same.changes == 0, same.output[-3000:]

    assert workstation(inventory, "decommission", HOST).returncode == 0
    assert exec_in(CONTAINER, ["id", owner]).returncode != 0


def test_a_firewall_nobody_confirms_goes_back_by_itself(inventory: Path) -> None:
    """The deploy alone loads the firewall with a revert armed: without the confirming run
    (a controller shut out) the machine puts its previous table back; the command confirms."""
    owner, role = "zhao.min", "parts"
    # Long enough that a confirming run started on a busy controller (the lab suites side
    # by side) still comes in time; short enough to wait for the revert.
    (inventory / "host_vars" / HOST / "firewall.yml").write_text(
        f"---\nfirewall_confirm_timeout: {CONFIRM_TIMEOUT}\n"
    )
    first = workstation(inventory, "provision", HOST, "--owner", owner, "--role", role)
    assert first.returncode == 0, first.output[-3000:]
    assert exec_in(CONTAINER, ["nft", "delete", "table", "inet", TABLE]).returncode == 0  # drift

    deploy_alone = subprocess.run(
        [PYINFRA, "-y", "--limit", HOST, "deploys/inventory.py", "deploys/workstation.py"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "STOREOPS_INVENTORY": str(inventory),
             "STOREOPS_WORKSTATION_OWNER": owner, "STOREOPS_WORKSTATION_ROLE": role},
    )  # fmt: skip
    assert deploy_alone.returncode == 0, deploy_alone.stdout[-3000:] + deploy_alone.stderr
    assert live_table() and revert_armed()  # the drift was seen: loaded again, not confirmed
    reverted = seconds_until(lambda: not live_table(), within=CONFIRM_TIMEOUT + 25, every=0.5)
    assert reverted is not None, f"the unconfirmed table outlived its {CONFIRM_TIMEOUT} s timeout"

    repaired = workstation(inventory, "provision", HOST, "--owner", owner, "--role", role)
    assert repaired.returncode == 0 and repaired.changes > 0, repaired.output[-3000:]
    time.sleep(CONFIRM_TIMEOUT + 1)  # past the timeout: a confirmed table stays
    assert live_table() and not revert_armed()
    again = workstation(inventory, "provision", HOST, "--owner", owner, "--role", role)
    assert again.returncode == 0 and again.changes == 0, again.output[-3000:]
    assert workstation(inventory, "decommission", HOST).returncode == 0
