"""net_config's safety net on the emulated devices, through Ansible: the device's own revert
armed before a change, make before break over a second login, confirmation over a third,
the save only after it; a change that cuts the controller off undone by the device itself;
a fault mid-change returned as a result.

The devices run with ``seconds_per_minute`` scaled down (a device minute lasts a couple of
seconds), so the timers fire within a test; waits poll a condition (tests/waiting.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from storeops_lab.devices.device import CommandRecord
from storeops_lab.devices.passwords import cisco_type9, huawei_cipher
from storeops_lab.devices.start import DeviceHandle
from storeops_lab.emulators import answers_ssh as greets
from tests.conftest import FIXTURES
from tests.emulated.conftest import PASSWORD, Start
from tests.emulated.test_net_modules import LOGIN, host_vars, play, running
from tests.waiting import seconds_until

NETWORK_CASES = FIXTURES / "network"
ARCHIVE = "archive\n path flash:storeops-rollback\n maximum 5\n"
ARM = {"cisco_ios": "configure terminal revert timer", "huawei_vrp": "schedule reboot delay"}
CONFIRM = {"cisco_ios": "configure confirm", "huawei_vrp": "undo schedule reboot"}
SAVE = {"cisco_ios": "write mem", "huawei_vrp": "save"}  # as netmiko sends them
# The management address of the emulators' factory configuration, and one the tests move to.
FACTORY = "192.0.2.2"
ELSEWHERE = "192.0.2.9"


def with_archive(handle: DeviceHandle, text: str) -> str:
    """IOS's revert needs the configuration archive: the role's template has it."""
    return text + ARCHIVE if handle.platform == "cisco_ios" else text


def commands(handle: DeviceHandle) -> list[CommandRecord]:
    return list(handle.device.commands)


def first(records: list[CommandRecord], starting: str) -> CommandRecord:
    return next(r for r in records if r.command.strip().startswith(starting))


def answers_ssh(handle: DeviceHandle) -> bool:
    """A new TCP connection gets the SSH greeting (the lock-out model closes it before)."""
    return greets(handle.host, handle.port)


def test_a_change_is_armed_then_confirmed_over_a_new_login_and_saved_only_then(
    start: Start, tmp_path: Path
) -> None:
    devices = {"ios": start("cisco_ios", "sh01-sw1"), "vrp": start("huawei_vrp", "sh01-fw1")}
    hosts = {
        name: {
            **host_vars(handle),
            "net_intended": with_archive(handle, running(handle)).replace(
                "192.0.2.10", "192.0.2.11"
            ),
        }
        for name, handle in devices.items()
    }
    task = {"net_config": {**LOGIN, "intended": "{{ net_intended }}", "revert_minutes": 5}}
    results, _ = play(tmp_path, hosts, [{"name": "change", **task}, {"name": "again", **task}])
    for name, handle in devices.items():
        platform = handle.platform
        result, again = results["change"][name], results["again"][name]
        assert result["changed"] is True and result["safety_net"] == "confirmed", result.get("msg")
        assert again["changed"] is False and again["safety_net"] == "off", again
        assert not handle.device.timers  # nothing left armed
        assert "192.0.2.11" in (handle.device.saved_config() or "")
        records = commands(handle)
        armed, confirmed = first(records, ARM[platform]), first(records, CONFIRM[platform])
        changed = first(records, "ntp" if platform == "cisco_ios" else "ntp-service")
        saves = [r for r in records if r.command == SAVE[platform]]
        assert armed.session == changed.session  # armed on the connection that changes
        assert armed.command == f"{ARM[platform]} 5"
        assert confirmed.session > changed.session  # a new login confirms
        after_confirm = [r for r in saves if records.index(r) > records.index(confirmed)]
        assert after_confirm and after_confirm[0].session == confirmed.session
        before_arm = [r for r in saves if records.index(r) < records.index(armed)]
        # VRP's reboot goes to the saved configuration: saved as found before arming; IOS's
        # rollback goes to the archive checkpoint: nothing saved before the confirmation.
        assert bool(before_arm) == (platform == "huawei_vrp")
        assert not [
            r for r in saves if records.index(armed) < records.index(r) < records.index(confirmed)
        ]


def test_ios_without_an_archive_gets_the_intended_one_before_the_timer(
    start: Start, tmp_path: Path
) -> None:
    ios = start("cisco_ios", "sh01-sw1")
    intended = with_archive(ios, running(ios)).replace("192.0.2.10", "192.0.2.11")
    hosts = {"ios": {**host_vars(ios), "net_intended": intended}}
    task = {"net_config": {**LOGIN, "intended": "{{ net_intended }}", "revert_minutes": 5}}
    results, _ = play(tmp_path, hosts, [{"name": "change", **task}])
    assert results["change"]["ios"]["safety_net"] == "confirmed"
    records = [r.command for r in commands(ios)]
    assert records.index("archive") < records.index(f"{ARM['cisco_ios']} 5")

    no_archive = {"ios": {**host_vars(ios), "net_intended": running(ios).replace(ARCHIVE, "")}}
    start_again = start("cisco_ios", "sh01-sw2")
    no_archive = {
        "ios": {
            **host_vars(start_again),
            "net_intended": running(start_again).replace("192.0.2.10", "192.0.2.12"),
        }
    }
    refused, _ = play(tmp_path, no_archive, [{"name": "change", **task}])
    result = refused["change"]["ios"]
    assert result["failed"] is True and "'archive' section" in result["msg"], result
    assert result["sent"] == [] and not start_again.device.config_commands()


@pytest.mark.parametrize(
    ("platform", "scale", "minutes"), [("cisco_ios", 2.0, 3), ("huawei_vrp", 2.0, 6)]
)
def test_a_change_that_cuts_the_controller_off_is_undone_by_the_device(
    start: Start, tmp_path: Path, platform: str, scale: float, minutes: int
) -> None:
    """The change moves the management address away from the one the controller uses: the
    new login fails, nothing is confirmed, the run fails for this device with the timer in
    its message, and the device takes the change back by itself; the next run reaches it."""
    handle = start(platform, "hz01-sw1", seconds_per_minute=scale)
    intended = with_archive(handle, running(handle)).replace(
        f"ip address {FACTORY} ", f"ip address {ELSEWHERE} "
    )
    bystander = start("cisco_ios", "hz01-sw2")  # another device of the same run
    changed = with_archive(bystander, running(bystander)).replace("192.0.2.10", "192.0.2.11")
    hosts = {
        "dev": {**host_vars(handle), "net_intended": intended},
        "other": {**host_vars(bystander), "net_intended": changed},
    }
    task = {"net_config": {**LOGIN, "intended": "{{ net_intended }}", "revert_minutes": minutes}}
    results, _ = play(tmp_path, hosts, [{"name": "change", **task}])
    assert results["change"]["other"]["safety_net"] == "confirmed"  # fails alone
    result = results["change"]["dev"]
    assert result["failed"] is True and result["safety_net"] == "armed", result
    assert "a new login after the change failed" in result["msg"]
    assert "at about" in result["msg"] and PASSWORD not in result["msg"]
    assert any(ELSEWHERE in line for line in result["sent"]) and result["not_sent"] == []
    assert not answers_ssh(handle)  # locked out: the device's own timer is the way back

    waited = seconds_until(lambda: answers_ssh(handle), within=minutes * scale + 3 * scale + 20)
    assert waited is not None, "the device did not take the change back by itself"
    assert f"ip address {FACTORY} " in running(handle)
    assert ELSEWHERE not in (handle.device.saved_config() or "")
    hosts.pop("other")
    again, _ = play(tmp_path, hosts, [{"name": "check", **task}], "--check")
    assert again["check"]["dev"]["changed"] is True  # reached again: the change is pending


@pytest.mark.parametrize(
    ("platform", "outcome"), [("cisco_ios", "rolled back"), ("huawei_vrp", "cancelled")]
)
def test_a_refused_line_mid_change_is_a_result_and_the_revert_is_taken_or_cancelled(
    start: Start, tmp_path: Path, platform: str, outcome: str
) -> None:
    handle = start(platform, "sh01-sw1")
    before = running(handle)
    intended = with_archive(handle, before).replace("192.0.2.10", "192.0.2.11")
    intended += "frobnicate everything\n"  # a line the device refuses
    hosts = {"dev": {**host_vars(handle), "net_intended": intended}}
    task = {"net_config": {**LOGIN, "intended": "{{ net_intended }}", "revert_minutes": 5}}
    results, _ = play(tmp_path, hosts, [{"name": "change", **task}])
    result = results["change"]["dev"]
    assert result["failed"] is True and result["safety_net"] == outcome, result
    assert "refused a line" in result["msg"] and "Traceback" not in result.get("module_stderr", "")
    assert any("frobnicate" in line for line in result["not_sent"])
    assert not handle.device.timers  # nothing left that reboots the store at night
    if platform == "cisco_ios":  # back to the configuration as found, at once
        assert "192.0.2.11" not in running(handle)
    assert "192.0.2.11" not in (handle.device.saved_config() or "")


# Per fixture: the new management interface, the removal of the old user, the old
# management interface's removal, the saved lines that prove the move.
MOVES = {
    "vrp-mgmt-vlan-address-user-changed": (
        "interface Vlanif11",
        "undo local-user admin",
        "undo interface Vlanif10",
        ["local-user netadmin", "ip address 10.77.12.3 255.255.255.0"],
        ["local-user admin", "Vlanif10"],
    ),
    "ios-catalyst-aaa-user-mgmt-replaced": (
        "interface Vlan10",
        "no username admin",
        "no interface Vlan2",
        ["username netadmin", "ip address 10.77.1.3 255.255.255.0"],
        ["username admin", "interface Vlan2\n"],
    ),
}
USER_SECRET = re.compile(r"^(username \S+ privilege 15) (?:secret|password) \d \S+$", re.M)


def fixture_case(name: str, old: str, new: str) -> tuple[dict[str, Any], str, str]:
    """The fixture's case, running and intended configurations, with the emulators' hashes
    of ``old`` (the running user's password) and ``new`` (the intended user's). The IOS
    fixture's type-7 user and type-5 enable secret (real-world forms the emulator cannot
    check a login against) become type 9 and no enable secret."""
    folder = NETWORK_CASES / name
    case = yaml.safe_load((folder / "case.yml").read_text())
    hashing = cisco_type9 if case["platform"] == "cisco_ios" else huawei_cipher
    marker = "irreversible-cipher " if case["platform"] == "huawei_vrp" else "secret 9 "

    def rehash(text: str, password: str) -> str:
        text = USER_SECRET.sub(
            r"\1 secret 9 x", re.sub(r"^enable secret .*\n", "", text, flags=re.M)
        )
        lines = []
        for line in text.splitlines():
            head = line.split(marker)[0]
            lines.append(head + marker + hashing(password) if marker in line else line)
        return "\n".join(lines) + "\n"

    return (
        case,
        rehash((folder / "running.cfg").read_text(), old),
        rehash((folder / "intended.cfg").read_text(), new),
    )


@pytest.mark.parametrize("name", sorted(MOVES))
def test_management_vlan_address_and_user_all_change_at_once(
    start: Start, tmp_path: Path, name: str
) -> None:
    """Management VLAN, address and automation user all move in one run (VRP: VLAN 10 -> 11,
    10.77.2.3 -> 10.77.12.3, admin -> netadmin; IOS, a real Catalyst's: VLAN 2 -> 10,
    192.168.2.10 -> 10.77.1.3, admin -> netadmin, AAA replaced). The run logs in as the old
    user, makes the new path, logs in again as the new user (break goes over that
    connection), confirms over a third login; a second run logs in as the new user and has
    nothing to do."""
    new_interface, user_removal, old_interface, kept, gone = MOVES[name]
    new_password = "Rotated-Passw0rd-5512"
    case, running_text, intended = fixture_case(name, PASSWORD, new_password)
    handle = start(
        case["platform"],
        "hz01-sw01",
        initial_config=running_text,
        management_addresses=[case["running_management_address"], case["management_address"]],
    )
    intended = with_archive(handle, intended)
    hosts = {"dev": {**host_vars(handle), "net_intended": intended, "new_password": new_password}}
    task = {
        "net_config": {
            **LOGIN,
            "username": "netadmin",
            "password": "{{ new_password }}",
            "previous_username": "admin",
            "previous_password": "{{ net_password }}",
            "intended": "{{ net_intended }}",
            "management_vlans": case["management_vlans"],
            "management_address": case["management_address"],
            "running_management_address": case["running_management_address"],
            "revert_minutes": 5,
        }
    }
    results, _ = play(tmp_path, hosts, [{"name": "change", **task}, {"name": "again", **task}])
    result = results["change"]["dev"]
    assert result["changed"] is True and result["safety_net"] == "confirmed", result.get("msg")
    again = results["again"]["dev"]
    assert again["changed"] is False, again
    records = commands(handle)
    made = first(records, new_interface)
    broken = first(records, user_removal)
    confirmed = first(records, CONFIRM[case["platform"]])
    assert made.session < broken.session < confirmed.session  # three logins, in this order
    assert records.index(first(records, old_interface)) > records.index(made)
    saved = handle.device.saved_config() or ""
    assert all(line in saved for line in kept), saved
    assert not any(line in saved for line in gone), saved
