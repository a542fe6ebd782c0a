"""net_backup and net_config (library/) against the lab's emulated devices, through Ansible.

Every test starts its own emulated devices (storeops_lab.devices) on free 127.0.0.1 ports with
a fresh state directory and runs the real modules with ``ansible-playbook`` from the repository
root (so ansible.cfg's library and module_utils paths apply), one host per device, all with
``ansible_connection=local``; the results come back through the ``ansible.posix.json`` stdout
callback. Both platforms run in parallel in one playbook (forks), because netmiko's ``huawei``
driver spends 2 s waiting for silence on each configuration-mode check and disconnect.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from netmiko import ConnectHandler

from storeops.ansible_view import load as load_ansible_view
from storeops.role_templates import render
from storeops.workstation.plan import load_checked
from storeops.yamlfiles import VaultPasswords
from storeops_lab.devices import playbook
from storeops_lab.devices.playbook import PlayOutputError, Results, run_play
from storeops_lab.devices.start import DeviceHandle, start_device
from tests.conftest import REPO
from tests.emulated.conftest import PASSWORD, USER, Start
from tests.unit.test_render_quoting import LAB_PASSWORDS, ROLE_TEMPLATES, _role_vars

WRONG_PASSWORD = "Not-The-Passw0rd-9265"
SHOW = {"cisco_ios": "show running-config", "huawei_vrp": "display current-configuration"}

LOGIN = {**playbook.LOGIN, "timeout": 10}
# net_config without the device's revert: these tests count the exact commands sent; the
# safety net (arm, new logins, confirm) has its own tests in test_net_safety_net.py.
CONFIG = {**LOGIN, "revert_minutes": 0}


def host_vars(handle: DeviceHandle, password: str = PASSWORD) -> dict[str, Any]:
    return playbook.host_vars(handle, password)


def play(
    tmp_path: Path,
    hosts: dict[str, dict[str, Any]],
    tasks: list[dict[str, Any]],
    *args: str,
    umask: int = -1,
) -> tuple[Results, str]:
    """Run ``tasks`` on ``hosts`` with ansible-playbook; per-task results and all output.

    ``umask``: the umask ansible-playbook runs with (-1: this process's own).
    """
    try:
        run = run_play(
            tmp_path,
            hosts,
            tasks,
            *args,
            user="tester",
            timeout=120,
            umask=umask,
            # No facts are gathered; without this, each run would set up ansible.cfg's
            # jsonfile cache in the repository (.cache/ansible-facts: a makedirs race between
            # parallel runs).
            environment={"ANSIBLE_CACHE_PLUGIN": "memory"},
        )
    except PlayOutputError as error:
        pytest.fail(f"ansible-playbook gave no JSON: {error.output}")
    return run.results, run.output


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def backup_task(repo: Path) -> dict[str, Any]:
    return {
        "name": "backup",
        "net_backup": {**LOGIN, "name": "{{ net_name }}", "repo": str(repo)},
    }


def test_backup_creates_history_and_detects_out_of_band_changes(
    start: Start, tmp_path: Path
) -> None:
    devices = {"ios": start("cisco_ios", "sh01-sw1"), "vrp": start("huawei_vrp", "sh01-fw1")}
    hosts = {name: host_vars(handle) for name, handle in devices.items()}
    repo = tmp_path / "backups"

    first, _ = play(tmp_path, hosts, [backup_task(repo)])
    for name, handle in devices.items():
        result = first["backup"][name]
        assert result["changed"] is True, result
        assert result["path"] == str(repo / f"{handle.name}.cfg")
        assert result["commit"] and result["lines"] > 40
        text = (repo / f"{handle.name}.cfg").read_text()
        assert "Last configuration" not in text and "Current configuration" not in text
        assert "Building configuration" not in text and "Software Version" not in text
    assert sorted(p.name for p in repo.iterdir()) == [".git", "sh01-fw1.cfg", "sh01-sw1.cfg"]
    log = git(repo, "log", "--format=%an|%s")
    assert len(log.splitlines()) == 2
    assert "tester|sh01-sw1: running configuration backed up by tester" in log

    second, _ = play(tmp_path, hosts, [backup_task(repo)])
    assert all(not r["changed"] and r["commit"] is None for r in second["backup"].values())
    assert len(git(repo, "log", "--oneline").splitlines()) == 2

    # An out-of-band change, typed on the IOS switch with netmiko.
    ios = devices["ios"]
    conn = ConnectHandler(**ios.netmiko_params(), password=PASSWORD)
    try:
        conn.enable()
        conn.send_config_set(["logging host 192.0.2.99"])
    finally:
        conn.disconnect()
    third, _ = play(tmp_path, hosts, [backup_task(repo)], "--diff")
    changed = third["backup"]["ios"]
    assert changed["changed"] is True and changed["commit"]
    assert "logging host 192.0.2.99" in changed["diff"]["after"]
    assert "logging host 192.0.2.99" not in changed["diff"]["before"]
    assert third["backup"]["vrp"]["changed"] is False
    patch = git(repo, "show", changed["commit"], "--format=%s", "--", "sh01-sw1.cfg")
    assert "+logging host 192.0.2.99" in patch
    assert len(git(repo, "log", "--oneline").splitlines()) == 3


def modes(repo: Path) -> dict[str, int]:
    """Permission bits of the repository and of everything under it (no symbolic link)."""
    paths = [repo, *(p for p in repo.rglob("*") if not p.is_symlink())]
    return {str(p.relative_to(repo)): stat.S_IMODE(p.stat().st_mode) for p in paths}


def test_backups_are_private_whatever_the_umask_and_old_ones_are_tightened(
    start: Start, tmp_path: Path
) -> None:
    """The backups carry password hashes: the controller user alone can read them."""
    ios = start("cisco_ios", "sh01-sw1")
    hosts = {"ios": host_vars(ios)}
    repo = tmp_path / "backups"

    first, _ = play(tmp_path, hosts, [backup_task(repo)], umask=0)
    assert first["backup"]["ios"]["commit"], first
    created = modes(repo)
    assert created["."] == 0o700
    assert created["sh01-sw1.cfg"] == 0o600
    assert "secret" in (repo / "sh01-sw1.cfg").read_text()  # the password hash: why it matters
    readable = {path: oct(mode) for path, mode in created.items() if mode & 0o077}
    assert not readable, f"readable by group or others under umask 0: {readable}"

    # A repository from before the rule (0644 files in 0755 directories, git's defaults
    # under umask 022): the next run, with nothing to commit, makes it private.
    for path in [repo, *repo.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (repo / ".git" / "config").write_text(
        (repo / ".git" / "config").read_text().replace("sharedrepository = 0600", "")
    )
    second, _ = play(tmp_path, hosts, [backup_task(repo)], umask=0o022)
    assert second["backup"]["ios"]["changed"] is False, second
    tightened = modes(repo)
    assert tightened["."] == 0o700 and tightened["sh01-sw1.cfg"] == 0o600
    assert not {path for path, mode in tightened.items() if mode & 0o077}
    assert git(repo, "config", "--get", "core.sharedRepository").strip() == "0600"


def running(handle: DeviceHandle) -> str:
    """The running configuration, read on a CLI session of the device (no SSH, no netmiko)."""
    session = handle.device.open_session(USER)
    if handle.platform == "cisco_ios":
        session.execute("enable", lambda question, echo: "")
    return session.execute(SHOW[handle.platform], lambda question, echo: "").output


EDITS = {
    "cisco_ios": [
        ("ntp server 192.0.2.10", "ntp server 192.0.2.11"),
        ("logging host 192.0.2.20\n", ""),
        ("vlan 40\n name OFFICE\n", "vlan 40\n name OFFICE-LAN\n!\nvlan 50\n name WORKSHOP\n"),
    ],
    "huawei_vrp": [
        ("ntp-service unicast-server 192.0.2.10", "ntp-service unicast-server 192.0.2.11"),
        ("info-center loghost 192.0.2.20\n", ""),
        ("vlan batch 10 20 40", "vlan batch 10 20 40 50"),
        # the factory uplink's VLAN set: 20 leaves, 50 joins, 10 and 40 stay
        ("port trunk allow-pass vlan 10 20 40", "port trunk allow-pass vlan 10 40 50"),
        ("interface Vlanif10\n description management", "interface Vlanif10\n description mgmt"),
    ],
}
EXPECTED = {  # hier_config's remediation, as sent (sections closed with exit / quit)
    "cisco_ios": [
        "no logging host 192.0.2.20",
        "no ntp server 192.0.2.10",
        "vlan 40",
        "  name OFFICE-LAN",
        "  exit",
        "vlan 50",
        "  name WORKSHOP",
        "  exit",
        "ntp server 192.0.2.11",
    ],
    "huawei_vrp": [
        "undo ntp-service unicast-server 192.0.2.10",
        "undo info-center loghost 192.0.2.20",
        "vlan batch 50",  # the VLAN added: never "undo vlan batch 10 20 40" first
        "ntp-service unicast-server 192.0.2.11",
        "interface Vlanif10",  # the new description overwrites: never "undo description"
        "  description mgmt",
        "  quit",
        "interface GigabitEthernet0/0/1",  # only the delta: the set keeps 10 and 40
        "  undo port trunk allow-pass vlan 20",
        "  port trunk allow-pass vlan 50",
        "  quit",
    ],
}


def intended_for(handle: DeviceHandle) -> str:
    text = running(handle)
    for old, new in EDITS[handle.platform]:
        assert old in text
        text = text.replace(old, new)
    return text


def test_config_check_mode_first_run_and_second_run(start: Start, tmp_path: Path) -> None:
    devices = {"ios": start("cisco_ios", "sh01-sw1"), "vrp": start("huawei_vrp", "sh01-fw1")}
    hosts = {
        name: {**host_vars(handle), "net_intended": intended_for(handle)}
        for name, handle in devices.items()
    }
    task = {"net_config": {**CONFIG, "intended": "{{ net_intended }}"}}

    check, _ = play(tmp_path, hosts, [{"name": "check", **task}], "--check", "--diff")
    for name, handle in devices.items():
        result = check["check"][name]
        assert result["changed"] is True, result
        assert result["remediation"] == EXPECTED[handle.platform]
        assert not handle.device.config_commands()  # check mode sent no configuration command
        assert "192.0.2.11" in result["diff"]["after"]

    runs, _ = play(tmp_path, hosts, [{"name": "first", **task}, {"name": "second", **task}])
    for name, handle in devices.items():
        first, second = runs["first"][name], runs["second"][name]
        assert first["changed"] is True, first
        assert first["remediation"] == EXPECTED[handle.platform]
        assert first["passes"] == 1
        sent = [r.command for r in handle.device.config_commands()]
        assert sent[1:-1] == EXPECTED[handle.platform]  # between entering and leaving
        assert second["changed"] is False and second["remediation"] == [], second
        assert "192.0.2.11" in (handle.device.saved_config() or "")
    assert len(devices["ios"].device.config_commands()) == len(EXPECTED["cisco_ios"]) + 2
    assert " port trunk allow-pass vlan 10 40 50\n" in (devices["vrp"].device.saved_config() or "")


def test_failures_are_clear_and_never_show_the_password(start: Start, tmp_path: Path) -> None:
    good = start("cisco_ios", "sh01-sw1")
    wrong = start("cisco_ios", "sh02-sw1")
    down = start("cisco_ios", "sh03-sw1")
    down.stop()
    hosts = {
        "good": host_vars(good),
        "wrong": host_vars(wrong, password=WRONG_PASSWORD),
        "down": host_vars(down),
    }
    repo = tmp_path / "backups"
    tasks = [
        {**backup_task(repo), "ignore_errors": True},
        {
            "name": "config",
            "net_config": {**LOGIN, "intended": running(good)},
            "ignore_errors": True,
        },
    ]
    results, output = play(tmp_path, hosts, tasks)
    for task in ("backup", "config"):
        assert not results[task]["good"].get("failed"), results[task]["good"]
        bad = results[task]["wrong"]
        assert bad["failed"] is True
        assert bad["msg"] == (
            f"127.0.0.1:{wrong.port}: authentication failed for user 'admin' "
            "(wrong username or password)"
        )
        gone = results[task]["down"]
        assert gone["failed"] is True
        assert gone["msg"].startswith(f"127.0.0.1:{down.port}: device unreachable")
    assert results["config"]["good"]["changed"] is False
    assert WRONG_PASSWORD not in output
    assert PASSWORD not in output
    assert sorted(p.name for p in repo.iterdir()) == [".git", "sh01-sw1.cfg"]


ACL = (
    "acl name STOREOPS-IN-OFFICE 3999\n"
    " rule 5 permit tcp destination 10.77.1.40 0 destination-port eq www\n"
    " rule 5 description dms-web\n"
    "#\n"
)


def test_vrp_changed_acl_rule_takes_the_documented_second_pass(
    start: Start, tmp_path: Path
) -> None:
    """VRP's ``undo rule 5`` also drops ``rule 5 description``: a second pass puts it back."""
    vrp = start("huawei_vrp", "sh01-fw1")
    cli = vrp.device.open_session(USER)
    answers = [cli.execute(line, lambda question, echo: "").output
               for line in ("system-view", *ACL.splitlines()[:-1], "return")]  # fmt: skip
    assert "Error" not in "".join(answers)  # typed on the console, as a person would
    changed_acl = running(vrp).replace("10.77.1.40 0", "10.77.1.41 0")
    hosts = {"vrp": {**host_vars(vrp), "net_intended": changed_acl}}
    task = {"net_config": {**CONFIG, "intended": "{{ net_intended }}"}}
    results, _ = play(tmp_path, hosts, [{"name": "change", **task}, {"name": "again", **task}])
    changed, again = results["change"]["vrp"], results["again"]["vrp"]
    assert changed["changed"] is True and changed["passes"] == 2, changed
    assert changed["remediation"] == [
        "acl name STOREOPS-IN-OFFICE 3999",
        "  undo rule 5 permit tcp destination 10.77.1.40 0 destination-port eq www",
        "  rule 5 permit tcp destination 10.77.1.41 0 destination-port eq www",
        "  quit",
        "acl name STOREOPS-IN-OFFICE 3999",
        "  rule 5 description dms-web",
        "  quit",
    ]
    assert again["changed"] is False, again
    assert " rule 5 description dms-web" in (vrp.device.saved_config() or "")


def test_ios_banner_is_pushed_over_several_lines_then_left_alone(
    start: Start, tmp_path: Path
) -> None:
    """hier_config holds an IOS banner as one line of three; the device takes it as IOS does,
    in the same session as the lines around it (sent with their echoes checked)."""
    ios = start("cisco_ios", "sh01-sw1")
    login = "banner login ^C\nLog in with your own account (MLPS 2.0).\n^C\n"
    banner = "banner motd ^C\nAuthorised access only. Every session is logged.\n^C\n"
    around = "logging host 10.77.1.9\nntp server 10.77.1.8\n"
    intended = running(ios) + around + login + banner  # the role's order (IOS prints it so)
    hosts = {"ios": {**host_vars(ios), "net_intended": intended}}
    task = {"net_config": {**CONFIG, "intended": "{{ net_intended }}"}}
    results, _ = play(tmp_path, hosts, [{"name": "first", **task}, {"name": "again", **task}])
    first, again = results["first"]["ios"], results["again"]["ios"]
    assert first["changed"] is True, first
    assert sorted(first["remediation"]) == sorted(
        [*around.splitlines(), login.rstrip("\n"), banner.rstrip("\n")]
    )
    assert again["changed"] is False, again
    saved = ios.device.saved_config() or ""
    assert login + banner in saved and all(line in saved for line in around.splitlines())


# The lab's network devices, one a platform (test_render_quoting renders the same templates).
LAB_TEMPLATES = {
    "cisco_ios": "roles/network/templates/intended/cisco_ios.cfg.j2",
    "huawei_vrp": "roles/network/templates/intended/huawei_vrp.cfg.j2",
}


def test_lab_intended_converges_with_the_management_options_then_pushes_nothing(
    tmp_path: Path,
) -> None:
    """The role's intended configurations, rendered from the lab inventory, converge from the
    emulators' factory configurations with management_vlans/management_address (as the
    role passes them), the lab's user and management address: make-before-break stages
    that never undo a value they replaced (issue 16), and a second run sends nothing."""
    inventory = shutil.copytree(REPO / "inventory" / "lab", tmp_path / "inventory-lab")
    lab = load_checked(inventory, VaultPasswords.from_files(LAB_PASSWORDS))
    lab_hosts = load_ansible_view(lab.raw.root, VaultPasswords.from_files(LAB_PASSWORDS))
    handles: list[DeviceHandle] = []
    hosts: dict[str, dict[str, Any]] = {}
    try:
        for platform, template in LAB_TEMPLATES.items():
            name = ROLE_TEMPLATES[template][0]
            variables = _role_vars(lab, lab_hosts, template)
            password = str(lab_hosts[name].variables["vault_network_password"])
            user = str(variables["network_username"])
            management = variables["network_device"]["management"]
            handle = start_device(
                name,
                platform,
                0,
                user,
                password,
                tmp_path / "state",
                management_addresses=[management["address"]],
            )
            handles.append(handle)
            hosts[name] = {
                **host_vars(handle, password),
                "net_intended": str(render(REPO / template, "/x", variables)),
                "net_vlans": [int(vlan) for vlan in management["vlans"]],
                "net_address": str(management["address"]),
            }
        task = {
            "net_config": {
                **LOGIN,
                "intended": "{{ net_intended }}",
                "management_vlans": "{{ net_vlans }}",
                "management_address": "{{ net_address }}",
            }
        }
        runs, output = play(
            tmp_path, hosts, [{"name": "first", **task}, {"name": "second", **task}]
        )
        for name in hosts:
            first = runs["first"][name]
            assert not first.get("failed"), (name, first.get("msg"), first.get("remaining"), output)
            assert first["changed"] is True, first
            assert first["stages"]["make"], first  # the management path is staged
            second = runs["second"][name]
            assert second["changed"] is False and second["remediation"] == [], second
    finally:
        for handle in handles:
            handle.stop()
