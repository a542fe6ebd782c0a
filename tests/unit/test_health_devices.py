"""The health check's network devices, without a device: the login and intended configuration
as the network role has them, the drift against a backup, the backup repository, the deadline.

The device conversations are in tests/emulated/test_health_devices.py.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from storeops.health.devices import (
    BackupUnreadable,
    Logouts,
    Target,
    UnknownDevice,
    changed_lines,
    facts_of,
    last_backup,
    net_utils,
    network_devices,
    remediation,
    targets,
    within,
)
from storeops.network import device_model
from storeops.role_templates import render
from storeops.workstation.plan import Checked
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO
from tests.unit.test_render_quoting import LAB_PASSWORDS, _role_vars

NET = net_utils(REPO)
TEMPLATES = {
    "sh01-sw01": "roles/network/templates/intended/cisco_ios.cfg.j2",
    "sh01-fw01": "roles/network/templates/intended/huawei_vrp.cfg.j2",
}


@pytest.fixture(scope="module")
def lab_targets(lab: Checked) -> dict[str, Target]:
    passwords = VaultPasswords.from_files(LAB_PASSWORDS)
    return {t.host: t for t in targets(lab.raw.root, passwords, None, 2.5)}


@pytest.fixture(scope="module")
def lab_hosts(lab: Checked) -> dict[str, Any]:
    from storeops.ansible_view import load

    return load(lab.raw.root, VaultPasswords.from_files(LAB_PASSWORDS))


# ---------------------------------------------------------------------------- the devices


def test_net_utils_is_the_module_the_network_modules_import() -> None:
    import sys

    assert sys.modules["ansible.module_utils.storeops_net"] is NET
    assert NET.__file__ == str(REPO / "module_utils" / "storeops_net.py")
    assert net_utils(REPO) is NET  # loaded once


def test_the_lab_devices_are_the_switches_and_firewalls(lab: Checked) -> None:
    inventory = lab.inventory
    names = [host.name for host in network_devices(inventory)]
    assert names == ["hz01-fw01", "hz01-sw01", "sh01-fw01", "sh01-sw01"]
    assert [h.name for h in network_devices(inventory, ["sh01-sw01", "sh01-db"])] == ["sh01-sw01"]
    with pytest.raises(UnknownDevice, match="sh09-sw01"):
        network_devices(inventory, ["sh01-sw01", "sh09-sw01"])


def test_the_login_is_the_roles_as_a_play_resolves_it(
    lab_targets: dict[str, Target], lab_hosts: dict[str, Any]
) -> None:
    switch = lab_targets["sh01-sw01"]
    assert switch.store == "sh01" and switch.platform == "cisco_ios"
    login = dict(switch.login)
    assert login.pop("password") == lab_hosts["sh01-sw01"].variables["vault_network_password"]
    assert login == {
        "host": "127.0.0.1",
        "port": 8822,
        "platform": "cisco_ios",
        "username": "netadmin",  # the role's default network_username
        "timeout": 3,  # netmiko takes whole seconds
    }
    assert lab_targets["hz01-sw01"].platform == "huawei_vrp"
    assert "password" not in repr(switch) and login["username"] in repr(switch.login)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_intended_configuration_is_the_roles_rendering(
    lab: Checked, lab_hosts: dict[str, Any], lab_targets: dict[str, Target], name: str
) -> None:
    """What render.yml renders (the same template, the role's defaults and vars, the zone
    model), as the template tests and the emulated net_config tests render it."""
    template = TEMPLATES[name]
    expected = render(REPO / template, "/x", _role_vars(lab, lab_hosts, template))
    device = lab_targets[name]
    assert device.intended == expected and not device.intended_error
    assert f"hostname {name}" in expected or f"sysname {name}" in expected
    model = device_model(lab.inventory, lab.inventory.hosts[name])
    assert device.management == model["management"]


def test_a_device_whose_model_is_unknown_has_an_intended_error(tmp_path: Path) -> None:
    import shutil

    root = shutil.copytree(REPO / "inventory" / "lab", tmp_path / "lab")
    host_vars = root / "host_vars" / "sh01-sw01.yml"
    host_vars.write_text(
        host_vars.read_text().replace("network_model: catalyst-3560cx-16", "network_model: x9")
    )
    found = {t.host: t for t in targets(root, VaultPasswords.from_files(LAB_PASSWORDS), None, 5)}
    assert "x9" in found["sh01-sw01"].intended_error
    assert found["sh01-sw01"].intended == ""
    assert found["sh01-fw01"].intended and not found["sh01-fw01"].intended_error


# ---------------------------------------------------------------------------- drift

RUNNING = """Building configuration...

Current configuration : 120 bytes
!
! Last configuration change at 10:00:00 UTC Mon Jan 5 2026
hostname sh01-sw01
username netadmin privilege 15 secret 9 $9$abc$def
logging host 10.77.1.1
ntp clock-period 17179869
!
end
"""


def test_changed_lines_ignore_volatile_lines_and_mask_secrets() -> None:
    later = (
        RUNNING.replace("10:00:00", "11:00:00")
        .replace("17179869", "17179870")
        .replace("logging host 10.77.1.1", "logging host 192.0.2.99")
        .replace("$9$abc$def", "$9$new$hash")
    )
    assert changed_lines(NET, "cisco_ios", RUNNING, RUNNING.replace("120 bytes", "99 bytes")) == ()
    assert changed_lines(NET, "cisco_ios", RUNNING, later) == (
        "-username netadmin privilege 15 secret 9 ********",
        "-logging host 10.77.1.1",
        "+username netadmin privilege 15 secret 9 ********",
        "+logging host 192.0.2.99",
    )


def _target(intended: str, error: str = "") -> Target:
    login = {"username": "netadmin", "password": "Pw-1"}
    management = {"vlans": [10], "address": "10.77.1.3"}
    return Target("sh01-sw01", "sh01", "cisco_ios", login, intended, error, management)


def test_remediation_is_net_configs_check_mode_masked() -> None:
    intended = RUNNING.replace("$9$abc$def", "$9$new$hash").replace("10.77.1.1", "10.77.1.9")
    lines, error = remediation(NET, _target(intended), RUNNING)
    assert error == ""
    assert sorted(lines) == sorted(
        [
            "username netadmin privilege 15 secret 9 ********",  # a user's line overwrites
            "no logging host 10.77.1.1",
            "logging host 10.77.1.9",
        ]
    )
    assert remediation(NET, _target(RUNNING), RUNNING) == ((), "")


def test_remediation_is_refused_for_clear_text_secrets_and_told_for_a_render_error() -> None:
    clear = RUNNING.replace("secret 9 $9$abc$def", "secret Clear-Text-1")
    lines, error = remediation(NET, _target(clear), RUNNING)
    assert lines == () and error == "intended has clear-text secrets on line(s) 7"
    assert remediation(NET, _target("", "no model x9"), RUNNING) == ((), "no model x9")


# ---------------------------------------------------------------------------- backups


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@storeops.invalid"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


def test_the_last_backup_is_the_last_commit_of_the_devices_file(tmp_path: Path) -> None:
    repo = tmp_path / "network-backups"
    assert last_backup(repo, "sh01-sw01") is None  # no repository yet
    repo.mkdir()
    _git(repo, "init", "--quiet", "--initial-branch=main")
    assert last_backup(repo, "sh01-sw01") is None  # no commit yet
    for text in ("hostname a\n", "hostname b\n"):
        (repo / "sh01-sw01.cfg").write_text(text)
        _git(repo, "add", "sh01-sw01.cfg")
        _git(repo, "commit", "--quiet", "-m", "backup")
    (repo / "sh01-sw01.cfg").write_text("not committed\n")  # a half-written run
    backup = last_backup(repo, "sh01-sw01")
    assert backup is not None and backup.text == "hostname b\n"
    assert backup.at.tzinfo is not None and abs(time.time() - backup.at.timestamp()) < 60
    assert last_backup(repo, "sh01-fw01") is None


def test_a_broken_backup_repository_is_reported(tmp_path: Path) -> None:
    repo = tmp_path / "network-backups"
    (repo / ".git").mkdir(parents=True)  # not a repository
    with pytest.raises(BackupUnreadable, match="not a git repository"):
        last_backup(repo, "sh01-sw01")


# ---------------------------------------------------------------------------- deadlines


def test_within_returns_raises_and_gives_up_at_the_deadline() -> None:
    assert within(1, lambda: 42) == 42
    with pytest.raises(ValueError, match="bad"):
        within(1, lambda: (_ for _ in ()).throw(ValueError("bad")))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"no answer within 0\.3 s"):
        within(0.3, lambda: time.sleep(5))
    assert time.monotonic() - started < 1


class _SlowLogout(ModuleType):
    def __init__(self, seconds: float) -> None:
        super().__init__("slow")
        self.seconds = seconds
        self.closed: list[Any] = []

    def disconnect(self, conn: Any) -> None:
        time.sleep(self.seconds)
        self.closed.append(conn)


def test_logouts_are_waited_for_together_and_at_most_the_deadline() -> None:
    net = _SlowLogout(0.3)
    logouts = Logouts()
    started = time.monotonic()
    for conn in range(5):
        logouts.close(net, conn)
    logouts.wait(5)
    assert sorted(net.closed) == [0, 1, 2, 3, 4]
    assert time.monotonic() - started < 1  # side by side, not one after the other
    hung = Logouts()
    hung.close(_SlowLogout(10), "conn")
    started = time.monotonic()
    hung.wait(0.2)
    assert time.monotonic() - started < 1


def test_a_login_that_cannot_be_resolved_is_the_devices_error_not_the_checks(
    tmp_path: Path,
) -> None:
    import shutil

    root = shutil.copytree(REPO / "inventory" / "lab", tmp_path / "lab")
    host_vars = root / "host_vars" / "sh01-sw01.yml"
    host_vars.write_text(
        host_vars.read_text() + 'network_password: "{{ vault_no_such_password }}"\n'
    )
    found = {t.host: t for t in targets(root, VaultPasswords.from_files(LAB_PASSWORDS), None, 5)}
    switch = found["sh01-sw01"]
    assert "vault_no_such_password" in switch.login_error and "password" not in switch.login
    assert not found["sh01-fw01"].login_error
    facts = facts_of(NET, switch, tmp_path / "no-backups", 1.0, Logouts())
    assert facts.reachable is False and facts.error == switch.login_error
    assert facts.backup_changes is None and facts.backup_at is None
