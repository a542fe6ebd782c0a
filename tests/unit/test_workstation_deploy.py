"""The deploys under pyinfra, against a fake host: they load, check, and list their operations.

pyinfra runs in a child process (importing pyinfra's CLI patches the standard library for
gevent, see test_pyinfra_adapter.py), with ``--dry`` and a connector that executes nothing:
it answers pyinfra's fact commands from canned output (an empty machine, the identity probe,
the accounts a test gives) and records every command it is asked to run. So the whole deploy
is exercised (inventory checks, templates, facts, the order and names of the operations)
without a host; the lab runs it for real. The provisioning deploy applies the workstation
role's list (roles/workstation/vars/main.yml): every entry of it, and one added to it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from storeops.workstation.manifest import load_manifest
from storeops.workstation.plan import WorkstationPlan, assignment_for, load_checked, plan_for
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO

# Run by the child: pyinfra's CLI with a "fake" connector added to its connectors.
_FAKE_PYINFRA = r"""
import json, os, re, sys
from pyinfra.connectors.base import BaseConnector
from pyinfra.connectors.util import CommandOutput, OutputLine
import pyinfra.api.inventory as inventory_module
from pyinfra.api.connectors import get_all_connectors

ASKED = []


def answer(command):
    if "systemd-detect-virt" in command:
        return os.environ["FAKE_PROBE"].splitlines()
    if "cat /etc/passwd" in command:
        return os.environ.get("FAKE_USERS", "").splitlines()
    which = re.search(r"command -v (\S+)", command)
    if which:
        return ["/usr/bin/" + which.group(1)]
    if "uname -s" in command:
        return ["Linux"]
    return []


class FakeConnector(BaseConnector):
    handles_execution = True

    @staticmethod
    def make_names_data(name=None):
        yield "@fake/" + name, {}, ["@fake"]

    def connect(self):
        return None

    def run_shell_command(self, command, print_output=False, print_input=False, **arguments):
        raw = command.get_raw_value() if hasattr(command, "get_raw_value") else str(command)
        ASKED.append(raw)
        return True, CommandOutput([OutputLine("stdout", line) for line in answer(raw)])

    def put_file(self, *args, **kwargs):
        raise AssertionError("a dry run uploads nothing")

    def get_file(self, *args, **kwargs):
        raise AssertionError("a dry run downloads nothing")


def connectors():
    return {**get_all_connectors(), "fake": FakeConnector}


inventory_module.get_all_connectors = connectors
inventory_module.get_execution_connectors = lambda: {
    name: cls for name, cls in connectors().items() if cls.handles_execution
}
from pyinfra_cli.main import main

sys.argv = ["pyinfra", "--dry", "@fake/" + os.environ["STOREOPS_HOST"], sys.argv[1]]
try:
    main()
finally:
    with open(os.environ["FAKE_ASKED"], "w") as stream:
        json.dump(ASKED, stream)
"""

PROBE = """virt=podman
product_serial=
product_name=
sys_vendor=
machine_id=0123456789abcdef0123456789abcdef
addr=lo 127.0.0.1/8
addr=eth0 10.77.1.100/24
link=eth0 aa:bb:cc:dd:ee:01
link=eth1 aa:bb:cc:dd:ee:02"""

# Commands that change a machine: none may reach the host in a dry run (facts only).
CHANGING = re.compile(
    r"^(useradd|usermod|chpasswd|chage|lpadmin|install |dconf |userdel|pkill|tar |mv |rm |"
    r"systemctl (start|restart|reload|enable|disable|stop|daemon-reload)|apt-get|"
    r"update-ca-certificates|timedatectl set|hostnamectl|python3 \S+ (apply|confirm) |echo )"
)


FIREWALL_APPLY = "Host firewall from the zone model (checked, loaded with a revert armed)"
FIREWALL_CONFIRM = "Confirm the host firewall over this new connection and keep it for boot"


def _account(password: str) -> str:
    return f"wang.fang:x:1001:1001::/home/wang.fang:/bin/bash|wang.fang|wang.fang||{password}"


@dataclass
class DryRun:
    status: int
    output: str
    asked: list[str]

    def changes(self) -> dict[str, str]:
        """Operation name -> "change", "conditional" or "none", from pyinfra's table."""
        rows = {}
        table = self.output.split("Detected changes:", 1)[-1]
        for line in table.splitlines()[2:]:
            cells = re.split(r"\s{3,}", line.strip())
            if len(cells) != 3:
                break
            name, change, conditional = cells
            rows[name] = (
                "change" if change != "-" else ("conditional" if conditional != "-" else "none")
            )
        return rows


def _dry_run(tmp_path: Path, deploy: str, **environment: str) -> DryRun:
    asked = tmp_path / "asked.json"
    env = {
        **os.environ,
        "STOREOPS_INVENTORY": str(REPO / "inventory" / "lab"),
        "STOREOPS_HOST": "sh01-ws01",
        "FAKE_PROBE": PROBE,
        "FAKE_ASKED": str(asked),
        **environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", _FAKE_PYINFRA, f"deploys/{deploy}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return DryRun(done.returncode, done.stdout + done.stderr, json.loads(asked.read_text()))


def _provision(tmp_path: Path, **environment: str) -> DryRun:
    request = {"STOREOPS_WORKSTATION_OWNER": "wang.fang", "STOREOPS_WORKSTATION_ROLE": "sales"}
    return _dry_run(tmp_path, "workstation.py", **{**request, **environment})


def test_the_provisioning_deploy_lists_its_operations_and_changes_nothing(tmp_path: Path) -> None:
    report = tmp_path / "asset.json"
    run = _provision(tmp_path, STOREOPS_ASSET_REPORT=str(report))
    assert run.status == 0, run.output
    names = list(run.changes())
    expected_order = [
        "Install the standard software of the role",
        "Employee account wang.fang",
        "First-login password of wang.fang (to be changed at the first login)",
        "IT admin account it-admin (SSH keys only)",
        "Sudo tier full of it-admin",
        "Write /etc/dconf/db/local.d/00-storeops-screenlock",
        "Write /etc/apt/apt.conf.d/52storeops-security-only",
        "Write /etc/systemd/system/storeops-freshclam.timer",
        "Printer sh01-office (default)",
        "Write /etc/storedms-client/client.conf",
        "Write /etc/chrony/chrony.conf",
        "The commit-confirm helper (module_utils/storeops_nft.py)",
        FIREWALL_APPLY,
        "Write /etc/storeops/workstation.yml",
    ]
    assert [name for name in names if name in expected_order] == expected_order
    assert run.changes()["Compile the dconf database"] == "conditional"
    assert "Firewall at boot" not in names  # over SSH, the confirmation's run starts it
    assert [command for command in run.asked if CHANGING.match(command)] == []
    assert len(run.asked) > 50  # the facts were read
    assert json.loads(report.read_text()) == {
        "asset_tag": "0101",
        "host": "sh01-ws01",
        "hostname": "sh01-sales-0101",
        "mac": "aa:bb:cc:dd:ee:01",
        "model": "container (podman)",
        "owner": "wang.fang",
        "role": "sales",
        "serial": "mid-83a9086deaac771a",
        "serial_source": "machine-id",
        "store": "sh01",
        "virtualization": "podman",
    }


def test_the_firewall_is_confirmed_by_a_run_of_its_own(tmp_path: Path) -> None:
    request = {"STOREOPS_WORKSTATION_OWNER": "wang.fang", "STOREOPS_WORKSTATION_ROLE": "sales"}
    run = _dry_run(tmp_path, "workstation_firewall.py", **request)
    assert run.status == 0, run.output
    assert list(run.changes()) == [FIREWALL_CONFIRM, "Firewall at boot"]
    assert run.changes()[FIREWALL_CONFIRM] == "change"  # no boot file on the fake host
    assert [command for command in run.asked if CHANGING.match(command)] == []


def test_a_bad_request_stops_before_the_first_command(tmp_path: Path) -> None:
    run = _provision(tmp_path, STOREOPS_WORKSTATION_ROLE="clerk")
    assert run.status != 0
    assert "unknown role 'clerk'" in run.output
    assert run.asked == []


def test_the_first_login_password_is_set_once_never_reset(tmp_path: Path) -> None:
    new = _provision(tmp_path, FAKE_USERS=_account("!"))
    assert (
        new.changes()["First-login password of wang.fang (to be changed at the first login)"]
        == "change"
    )
    changed_own = _provision(tmp_path, FAKE_USERS=_account("$y$j9T$salt$hash"))
    assert (
        changed_own.changes()[
            "First-login password of wang.fang (to be changed at the first login)"
        ]
        == "none"
    )


def _lab_plan() -> WorkstationPlan:
    passwords = VaultPasswords.from_files([REPO / "lab" / "vault-password.txt"])
    checked = load_checked(REPO / "inventory" / "lab", passwords)
    return plan_for(
        checked, "sh01-ws01", assignment_for(checked, "sh01-ws01", "wang.fang", "sales")
    )


def test_the_deploy_applies_every_entry_of_the_roles_list(tmp_path: Path) -> None:
    """roles/workstation/vars/main.yml, which the role loops over: every file, in its order,
    the handlers they notify and every service and timer."""
    run = _provision(tmp_path)
    assert run.status == 0, run.output
    names = list(run.changes())
    manifest, plan = load_manifest(), _lab_plan()
    writes = [file.operation_name(plan) for file in manifest.workstation_files]
    assert [name for name in names if name in writes] == writes
    handlers = {file.notify for file in manifest.workstation_files if file.notify}
    assert handlers and all(run.changes()[handler] == "conditional" for handler in handlers)
    assert {service.operation_name for service in manifest.workstation_services} <= set(names)


def _project_with_a_new_timer(tmp_path: Path) -> Path:
    """This project, but for one entry more in the workstation role's list: a timer (its
    service and timer units, which notify the systemd reload) of the antivirus concern."""
    project = tmp_path / "project"
    project.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {"roles", ".git", ".venv"}:
            (project / entry.name).symlink_to(entry)
    (project / "roles").mkdir()
    for role in (REPO / "roles").iterdir():
        if role.name != "workstation":
            (project / "roles" / role.name).symlink_to(role)
    role = shutil.copytree(REPO / "roles" / "workstation", project / "roles" / "workstation")
    listed = yaml.safe_load((role / "vars" / "main.yml").read_text())
    for unit in ("storeops-rkhunter.service", "storeops-rkhunter.timer"):
        listed["workstation_files"].append(
            {
                "dest": f"/etc/systemd/system/{unit}",
                "concern": "antivirus",
                "owner": "root",
                "group": "root",
                "mode": "0644",
                "notify": "Reload systemd",
            }
        )
        (role / "templates" / "etc" / "systemd" / "system" / f"{unit}.j2").write_text(
            "# {{ ansible_managed }}\n[Unit]\nDescription=A rootkit scan (storeops)\n"
        )
    listed["workstation_services"].append(
        {
            "name": "storeops-rkhunter.timer",
            "concern": "antivirus",
            "enabled": True,
            "state": "started",
        }
    )
    (role / "vars" / "main.yml").write_text(yaml.safe_dump(listed, sort_keys=False))
    return project


def test_a_timer_added_to_the_roles_list_is_applied_by_the_deploy(tmp_path: Path) -> None:
    """One entry in the role's list (which the role's tasks loop over) is all it takes."""
    project = _project_with_a_new_timer(tmp_path)
    run = _provision(tmp_path, STOREOPS_PROJECT=str(project))
    assert run.status == 0, run.output
    names = list(run.changes())
    added = [
        "Write /etc/systemd/system/storeops-rkhunter.service",
        "Write /etc/systemd/system/storeops-rkhunter.timer",
        "Reload systemd",
        "storeops-rkhunter.timer: enabled, started",
    ]
    assert [name for name in names if name in added] == added
    assert names.index("Write /etc/systemd/system/storeops-clamscan.timer") < names.index(added[0])


def _decommission(tmp_path: Path, phase: str, users: str, **environment: str) -> DryRun:
    return _dry_run(
        tmp_path,
        "workstation_decommission.py",
        STOREOPS_DECOMMISSION_PHASE=phase,
        STOREOPS_WORKSTATION_OWNER="wang.fang",
        STOREOPS_ARCHIVE_NAME="wang.fang-0101-2026-12-01.tar.gz.enc",
        STOREOPS_ARCHIVE_LOCAL=str(tmp_path / "archive.enc"),
        FAKE_USERS=users,
        **environment,
    )


def test_decommissioning_archives_an_existing_home_before_anything_else(tmp_path: Path) -> None:
    run = _decommission(tmp_path, "archive", _account("$y$x"))
    assert run.status == 0, run.output
    assert list(run.changes()) == [
        "Wipe the DMS client's saved credentials",
        "Archive /home/wang.fang (encrypted)",
        "Fetch the archive to the controller",
    ]
    assert [command for command in run.asked if CHANGING.match(command)] == []


def test_without_the_account_there_is_nothing_to_archive(tmp_path: Path) -> None:
    run = _decommission(tmp_path, "archive", "")
    assert run.status == 0, run.output
    assert run.changes() == {}


@pytest.mark.parametrize("stored", ["", "yes"])
def test_the_account_is_removed_only_once_its_archive_is_stored(
    tmp_path: Path, stored: str
) -> None:
    run = _decommission(tmp_path, "remove", _account("$y$x"), STOREOPS_ARCHIVE_STORED=stored)
    if stored:
        assert run.status == 0, run.output
        assert run.changes()["Remove the account wang.fang and its home"] == "change"
    else:
        assert run.status != 0
        assert "home is not archived on the backup server yet" in run.output
