"""The emulators' safety nets and lock-outs: what the lab needs to prove that a change which
shuts the controller out is undone by the device itself.

Cisco IOS: the configuration archive and ``configure terminal revert timer`` (confirmed with
``configure confirm`` over a new session, or rolled back when the timer expires). Huawei
VRP: ``schedule reboot delay`` to the saved configuration (sessions dropped, the device
away for its boot time, then reachable again), cancelled by ``undo schedule reboot``. A
device refuses new connections once its running configuration no longer holds a
management address on an up interface or no longer takes SSH. Plus the banners and VLAN
ranges as the devices print them.

The devices run with ``seconds_per_minute`` scaled down so a "minute" lasts a fraction of a
second; waits poll a condition (tests/waiting.py), never sleep a fixed time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paramiko
import pytest
from netmiko import BaseConnection, ConnectHandler

from storeops_lab.devices.start import DeviceHandle
from storeops_lab.emulators import answers_ssh
from tests.emulated.conftest import PASSWORD, USER, Start
from tests.waiting import seconds_until

SCALE = 0.5  # real seconds per device minute
ARCHIVE = ["archive", " path flash:archive", " maximum 5"]
NO_PENDING = "%No Rollback Confirmed Change pending"


@pytest.fixture
def device_options() -> dict[str, Any]:
    """Every device of these tests runs its timers scaled down (conftest's ``start``)."""
    return {"seconds_per_minute": SCALE}


@contextmanager
def connect(handle: DeviceHandle) -> Iterator[BaseConnection]:
    connection = ConnectHandler(**handle.netmiko_params(), password=PASSWORD, conn_timeout=5)
    if handle.platform == "cisco_ios":
        connection.enable()
    try:
        yield connection
    finally:
        connection.disconnect()


def session(handle: DeviceHandle, answers: list[str] | None = None) -> Callable[[str], str]:
    """Run lines on a CLI session of the device directly (no SSH); questions get ``answers``."""
    cli = handle.device.open_session(USER)
    if handle.platform == "cisco_ios":
        cli.execute("enable", lambda q, e: "")  # the factory configuration has no secret
    replies = list(answers or [])
    return lambda line: cli.execute(line, lambda q, e: replies.pop(0) if replies else "").output


def greets(handle: DeviceHandle) -> bool:
    """A new TCP connection to the device gets an SSH greeting (the device answers)."""
    return answers_ssh(handle.host, handle.port)


def logs_in(handle: DeviceHandle) -> bool:
    """A new SSH login with the lab user succeeds."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            handle.host,
            handle.port,
            USER,
            PASSWORD,
            timeout=3,
            banner_timeout=3,
            auth_timeout=3,
            look_for_keys=False,
            allow_agent=False,
        )
    except (OSError, paramiko.SSHException):
        return False
    finally:
        client.close()
    return True


def running(handle: DeviceHandle) -> str:
    return handle.device.running_config()


def body(config: str) -> str:
    """An IOS running configuration without its volatile header (the change times)."""
    return config[config.index("version 15.2") :]


# ------------------------------------------------------------------ Cisco IOS


def test_ios_revert_timer_needs_the_archive_path(start: Start) -> None:
    ios = session(start("cisco_ios"))
    answer = ios("configure terminal revert timer 5")
    assert "Archive path is not configured" in answer
    assert ios("show archive config rollback timer") == NO_PENDING + "\n"
    assert ios("configure confirm") == NO_PENDING + "\n"
    assert "% Invalid input" in ios("configure terminal revert timer 121")  # IOS: 1-120


def test_ios_revert_timer_confirmed_over_a_new_session_keeps_the_change(start: Start) -> None:
    handle = start("cisco_ios")
    with connect(handle) as conn:
        conn.send_config_set(ARCHIVE)
        armed = conn.send_command("configure terminal revert timer 5", expect_string=r"\(config\)#")
        assert "Rollback Confirmed Change: Backing up current running config to" in armed
        assert "flash:archive-" in armed
        conn.send_command("ntp server 192.0.2.77", expect_string=r"\(config\)#")
        conn.send_command("end", expect_string=r"#")
        shown = conn.send_command("show archive config rollback timer")
        assert "Timer type : absolute" in shown and "Timer value : 5 min" in shown
        assert f"User : {USER}" in shown
    with connect(handle) as conn:  # the confirmation comes over a new connection
        assert conn.send_command("configure confirm") == ""
        assert conn.send_command("show archive config rollback timer") == NO_PENDING
        listing = conn.send_command("show archive")
        assert "There are currently 1 archive configurations saved." in listing
    # five device minutes later, nothing was rolled back
    assert (
        seconds_until(lambda: "ntp server 192.0.2.77" not in running(handle), 5 * SCALE + 1) is None
    )


def test_ios_lock_out_is_reverted_by_the_timer_and_the_next_login_works(start: Start) -> None:
    handle = start("cisco_ios")
    with connect(handle) as conn:
        conn.send_config_set(ARCHIVE)
        before = body(running(handle))
        conn.send_command("configure terminal revert timer 2", expect_string=r"\(config\)#")
        # The management SVI goes: the controller is shut out.
        conn.send_command("no interface Vlan10", expect_string=r"\(config\)#")
        conn.send_command("logging host 192.0.2.66", expect_string=r"\(config\)#")
        assert not greets(handle)
        assert not logs_in(handle)
        # The device reverts by itself within the timer (2 device minutes).
        waited = seconds_until(lambda: "interface Vlan10" in running(handle), 2 * SCALE + 2, 0.05)
        assert waited is not None
        assert waited >= 2 * SCALE - 0.5
        # The session that was in configuration mode is back at the top of it.
        assert conn.find_prompt() == "sh01-sw1(config)#"
    assert "logging host 192.0.2.66" not in running(handle)
    after = running(handle)
    assert "interface Vlan10\n description management\n ip address 192.0.2.2 255.255.255.0" in after
    assert body(after) == before
    assert logs_in(handle)  # the next run reaches it
    assert session(handle)("show archive config rollback timer") == NO_PENDING + "\n"


def test_ios_revert_now_reset_and_idle_timer(start: Start) -> None:
    handle = start("cisco_ios")
    ios = session(handle)
    for line in ["configure terminal", *ARCHIVE, "end"]:
        ios(line)
    ios("configure terminal revert timer idle 3")
    ios("hostname renamed")
    ios("end")
    assert "Timer type : idle" in ios("show archive config rollback timer")
    assert ios("configure revert timer 100") == ""
    assert "Timer value : 100 min" in ios("show archive config rollback timer")
    assert ios("configure revert now") == "Rollback Done\n"
    assert handle.device.hostname == "sh01-sw1"
    assert ios("configure revert now") == NO_PENDING + "\n"


def test_ios_refuses_new_logins_without_a_management_path(start: Start) -> None:
    handle = start("cisco_ios", management_addresses=["10.77.1.3"])
    # The factory configuration holds the first management address.
    assert " ip address 10.77.1.3 255.255.255.0" in running(handle)
    ios = session(handle)
    ios("configure terminal")
    for lines, reachable in [
        (["interface Vlan10", "shutdown"], False),
        (["interface Vlan10", "no shutdown"], True),
        (["no vlan 10"], False),  # an SVI without its VLAN is down
        (["vlan 10"], True),
        (["line vty 0 4", "transport input telnet", "line vty 5 15", "no transport input"], False),
        (["line vty 0 4", "transport input ssh telnet"], True),
        (["line vty 0 4", "no login"], False),
        (["aaa new-model"], True),  # AAA's default login method: the local users
        (["interface Vlan10", "ip address 10.77.9.3 255.255.255.0"], False),
    ]:
        for line in lines:
            ios(line)
        assert handle.device.reachable() is reachable, lines
        assert greets(handle) is reachable, lines
    # A test may let the controller use a new address: the device answers there.
    handle.device.management_addresses = ("10.77.1.3", "10.77.9.3")
    assert greets(handle)
    ios("no username admin")
    assert not logs_in(handle)  # the user is gone: the login itself fails


def test_ios_login_banner_is_stored_and_printed_like_the_motd(start: Start) -> None:
    handle = start("cisco_ios")
    ios = session(handle)
    ios("configure terminal")
    ios("banner motd #Store switch#")  # typed first, printed after the login banner
    assert ios("banner login ^C") == "Enter TEXT message.  End with the character '^C'.\n"
    ios("Authorised  staff only")
    ios("^C")
    shown = running(handle)
    login, motd = shown.index("banner login ^C"), shown.index("banner motd ^C")
    assert login < motd  # IOS prints exec, incoming, login, motd in that order
    assert "banner login ^C\nAuthorised  staff only\n^C\n" in shown
    ios("no banner login")
    assert "banner login" not in running(handle)


# ------------------------------------------------------------------ Huawei VRP


def vrp_configure(handle: DeviceHandle, lines: list[str]) -> None:
    vrp = session(handle)
    vrp("system-view")
    for line in lines:
        vrp(line)
    vrp("return")


def test_vrp_scheduled_reboot_brings_back_the_saved_configuration(start: Start) -> None:
    handle = start("huawei_vrp", "sh01-fw1")
    saved = handle.device.saved_config()
    assert saved is not None and "interface Vlanif10" in saved
    with connect(handle) as conn:
        confirm = conn.send_command(
            "schedule reboot delay 2", expect_string=r"\[Y/N\]:", strip_prompt=False
        )
        assert "Info: Reboot system at " in confirm and "(in 0 hours and 2 minutes)." in confirm
        conn.send_command("y", expect_string=r"<sh01-fw1>")
        assert "(in 0 hours and " in conn.send_command("display schedule reboot")
        conn.send_command("system-view", expect_string=r"\[sh01-fw1\]")
        conn.send_command("undo interface Vlanif10", expect_string=r"\[sh01-fw1\]")
        assert not greets(handle)  # shut out
        # The reboot drops the open session; then the device is away for its boot time.
        dropped = seconds_until(lambda: not conn.is_alive(), 2 * SCALE + 2, 0.05)
        assert dropped is not None
    assert handle.device.booting
    assert not greets(handle)
    assert seconds_until(lambda: greets(handle), 3 * SCALE + 2, 0.05) is not None
    assert "interface Vlanif10" in running(handle)
    assert logs_in(handle)
    assert session(handle)("display schedule reboot") == "Info: No schedule reboot is configured.\n"


def test_vrp_undo_schedule_reboot_cancels_it(start: Start) -> None:
    handle = start("huawei_vrp", "sh01-fw1")
    vrp = session(handle, answers=["y", "y"])
    assert vrp("schedule reboot delay 0:01") == ""
    assert "Info: System will reboot at " in vrp("display schedule reboot")
    assert vrp("undo schedule reboot") == "Info: The schedule reboot is cancelled.\n"
    vrp("system-view")
    vrp("sysname changed")
    vrp("return")
    assert seconds_until(lambda: handle.device.booting, SCALE + 1) is None
    assert handle.device.hostname == "changed"  # no reboot: the unsaved change is still there
    assert vrp("undo schedule reboot") == "Info: No schedule reboot is configured.\n"
    refused = session(handle, answers=["n"])
    assert refused("schedule reboot delay 5") == ""
    assert "System will reboot" not in refused("display schedule reboot")


def test_vrp_refuses_new_logins_without_a_management_path(start: Start) -> None:
    handle = start("huawei_vrp", "sh01-fw1")
    for lines, reachable in [
        (["undo vlan batch 10"], False),  # Vlanif10 without VLAN 10 is down
        (["vlan batch 10"], True),
        (["undo stelnet server enable"], False),
        (["stelnet server enable"], True),
        (["user-interface vty 0 4", "protocol inbound telnet"], False),
        (["user-interface vty 0 4", "protocol inbound all"], True),
        (["interface Vlanif10", "shutdown"], False),
        (["interface Vlanif10", "undo shutdown"], True),
    ]:
        vrp_configure(handle, lines)
        assert greets(handle) is reachable, lines
    vrp_configure(handle, ["aaa", f"local-user {USER} service-type telnet"])
    assert not logs_in(handle)  # the user may not use SSH


def test_vrp_prints_vlan_ranges_and_headers_as_vrp_does(start: Start) -> None:
    handle = start("huawei_vrp", "sh01-fw1")
    vrp_configure(
        handle,
        [
            "undo vlan batch 10 20 40",
            "vlan batch 30 230 to 231 233",
            "vlan batch 232",
            "undo vlan batch 231 to 232",
            "interface GigabitEthernet0/0/3",
            "port link-type trunk",
            "port trunk allow-pass vlan 30 230 231",
            "port trunk allow-pass vlan 232 to 233",
            "interface GigabitEthernet0/0/1",
            "undo port trunk allow-pass vlan 20 to 40",
            'header login information "Authorised  staff only"',
            'header shell information "sh01 firewall"',
        ],
    )
    shown = running(handle)
    assert "\nvlan batch 30 230 233\n" in shown
    assert "\n port trunk allow-pass vlan 30 230 to 233\n" in shown
    assert "\n port trunk allow-pass vlan 10\n" in shown
    assert '\nheader login information "Authorised  staff only"\n' in shown
    assert '\nheader shell information "sh01 firewall"\n' in shown
    vrp_configure(handle, ["vlan batch 231 to 232", "undo header shell"])
    shown = running(handle)
    assert "\nvlan batch 30 230 to 233\n" in shown
    assert "header shell" not in shown


def test_ios_merges_trunk_vlan_add_and_remove_into_the_one_allowed_list(start: Start) -> None:
    """IOS keeps one ``switchport trunk allowed vlan`` per port: ``add``/``remove`` change it
    (a port without one carries every VLAN) and it is printed with runs as ranges."""
    handle = start("cisco_ios")
    ios = session(handle)
    ios("configure terminal")
    for line in [
        "interface GigabitEthernet0/2",
        "switchport trunk allowed vlan 2,30",
        "switchport trunk allowed vlan add 10-12",
        "switchport trunk allowed vlan remove 2",
        "interface GigabitEthernet0/3",
        "switchport trunk allowed vlan remove 1",
    ]:
        assert ios(line) == "", line
    assert "% Invalid input" in ios("switchport trunk allowed vlan add 12-3")
    ios("end")
    shown = running(handle)
    assert "\n switchport trunk allowed vlan 10-12,30\n" in shown
    assert "\n switchport trunk allowed vlan 2-4094\n" in shown
    assert "allowed vlan add" not in shown and "allowed vlan remove" not in shown
