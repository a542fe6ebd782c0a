"""The lab's stateful device emulators (storeops_lab.devices), driven as the modules drive them.

Every test starts its own emulated devices on free 127.0.0.1 ports (port 0) with a fresh
state directory, and talks to them through netmiko with the device types the network modules
use (``cisco_ios``, ``huawei``). What is pinned: prompts and views, configuration changes that
show up in the running configuration, ``no``/``undo``, save and restart (the saved file is
reloaded, unsaved changes are lost), the platforms' error markers with their carets, hostname
changes in the prompt, the command log, real ``show`` output shapes (ntc-templates parses
them) and a hier_config round trip per platform with the zone ACLs storeops.acl renders:
remediation -> netmiko push -> save -> the next remediation is empty.

A few engine details are pinned on a session directly (no SSH), where exact text matters
more than transport. Note the Huawei tests pay netmiko's own cost: its ``huawei`` driver
checks the configuration mode by waiting 2 s for silence (``check_config_mode``), several
times per ``send_config_set`` and once per ``disconnect``. Connections are closed before a
device is stopped: netmiko does not notice a server that went away while it waits for a
prompt, and would wait for its read timeout (10 s).
"""

from __future__ import annotations

import functools
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import pytest
from hier_config import Platform, WorkflowRemediation, get_hconfig, get_hconfig_driver
from hier_config.models import IdempotentCommandsRule, MatchRule
from hier_config.platforms.driver_base import HConfigDriverBase
from netmiko import BaseConnection, ConfigInvalidException, ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException
from ntc_templates.parse import parse_output

from storeops import acl
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.validate import load_valid
from storeops.yamlfiles import VaultPasswords
from storeops_lab.devices.platform import Session
from storeops_lab.devices.start import DeviceHandle, start_device
from tests.emulated.conftest import PASSWORD, USER, Start

ENABLE = "Lab-Enable1"
IOS_INVALID = "% Invalid input detected at '^' marker."
VRP_INVALID = "Error: Unrecognized command found at '^' position."


@contextmanager
def connect(handle: DeviceHandle, **options: object) -> Iterator[BaseConnection]:
    options.setdefault("password", PASSWORD)
    connection = ConnectHandler(**{**handle.netmiko_params(), **options})
    try:
        yield connection
    finally:
        connection.disconnect()


def caret_column(output: str) -> int:
    """The column of the caret in an error answer."""
    return next(line.index("^") for line in output.splitlines() if line.strip() == "^")


def session(handle: DeviceHandle, answers: list[str] | None = None) -> Callable[[str], str]:
    """Run lines on a CLI session of the device directly (no SSH); questions get ``answers``."""
    cli: Session = handle.device.open_session(USER)
    replies = list(answers or [])
    return lambda line: (
        cli.execute(line, lambda question, echo: replies.pop(0) if replies else "").output
    )


# ------------------------------------------------------------------ Cisco IOS


def test_ios_enable_and_configuration_views(start: Start) -> None:
    ios = start("cisco_ios", enable_secret=ENABLE)
    with connect(ios, secret=ENABLE) as conn:
        assert conn.find_prompt() == "sh01-sw1>"
        conn.enable()
        assert conn.find_prompt() == "sh01-sw1#"
        conn.config_mode()
        assert conn.check_config_mode()
        assert conn.find_prompt() == "sh01-sw1(config)#"
        for line, view in [
            ("interface Vlan10", "config-if"),
            ("ip access-list extended STOREOPS-IN-MGMT", "config-ext-nacl"),
            ("vlan 50", "config-vlan"),
            ("line vty 0 4", "config-line"),
            ("router ospf 1", "config-router"),
        ]:
            conn.send_command(line, expect_string=re.escape(f"({view})#"))
            assert conn.find_prompt() == f"sh01-sw1({view})#"
        conn.send_command("exit", expect_string=r"\(config\)#")
        assert conn.find_prompt() == "sh01-sw1(config)#"
        conn.send_command("interface gi0/3", expect_string=r"\(config-if\)#")
        conn.exit_config_mode()
        assert not conn.check_config_mode()
        assert conn.find_prompt() == "sh01-sw1#"
        conn.send_command("disable", expect_string=">")
        assert conn.find_prompt() == "sh01-sw1>"
    # A wrong secret: IOS asks twice more, then refuses (netmiko would wait for a prompt).
    assert session(ios, answers=["wrong", "", "wrong"])("enable") == "% Bad secrets\n"
    without_secret = start("cisco_ios", name="sh01-sw9")
    with connect(without_secret) as conn:
        conn.enable()
        assert conn.find_prompt() == "sh01-sw9#"


def test_ios_change_shows_up_and_no_removes_it(start: Start) -> None:
    ios = start("cisco_ios")
    with connect(ios) as conn:
        conn.enable()
        conn.send_config_set(
            [
                "interface Vlan30",
                " description Workshop   printers",
                " ip address 10.77.1.161 255.255.255.224",
                "ntp server 192.0.2.99",  # a global command typed in (config-if): runs globally
                "interface GigabitEthernet0/5",
                " description old text",
                " description reception desk",  # single-instance: replaces
            ]
        )
        running = conn.send_command("show running-config")
        assert (
            "interface Vlan30\n description Workshop   printers\n"
            " ip address 10.77.1.161 255.255.255.224\n!"
        ) in running
        assert "\nntp server 192.0.2.99\n" in running
        assert "interface GigabitEthernet0/5\n description reception desk\n!" in running
        assert "old text" not in running

        output = conn.send_config_set(
            [
                "no ntp server 192.0.2.99",
                "interface GigabitEthernet0/5",
                " no description",
                "no interface Vlan30",
                "no interface GigabitEthernet0/5",  # physical: refused
                "ip http server",  # printed as "no ip http server" while off
            ]
        )
        assert IOS_INVALID in output
        running = conn.send_command("show running-config")
    assert "192.0.2.99" not in running
    assert "interface Vlan30" not in running
    assert "interface GigabitEthernet0/5\n!" in running
    assert "\nip http server\nno ip http secure-server\n" in running


def test_ios_save_and_restart(start: Start, tmp_path: Path) -> None:
    ios = start("cisco_ios")
    with connect(ios) as conn:
        conn.enable()
        conn.send_config_set(["logging host 192.0.2.77"])
        assert "[OK]" in conn.save_config()
        conn.send_config_set(["logging host 192.0.2.88"])  # never saved
        startup = cast(str, conn.send_command("show startup-config"))
    ios.stop()
    assert startup.startswith("Using ")
    assert "logging host 192.0.2.77" in startup
    assert "192.0.2.88" not in startup
    assert (tmp_path / "state" / "sh01-sw1.startup-config").is_file()

    again = start("cisco_ios")
    with connect(again) as conn:
        conn.enable()
        running = conn.send_command("show running-config")
        assert "logging host 192.0.2.77" in running
        assert "192.0.2.88" not in running
        conn.send_config_set(["logging host 192.0.2.99"])
        question = conn.send_command("copy running-config startup-config", expect_string=r"\]\?")
        assert "Destination filename [startup-config]?" in question
        assert "[OK]" in conn.send_command("", expect_string="#")
    again.stop()
    third = start("cisco_ios")
    with connect(third) as conn:
        conn.enable()
        assert "logging host 192.0.2.99" in conn.send_command("show running-config")


def test_ios_banner_over_several_lines_as_ios_prints_and_takes_it(
    start: Start, tmp_path: Path
) -> None:
    ios = start("cisco_ios")
    banner = "banner motd ^C\nAuthorised access only.\n\nEvery session is logged.\n^C"
    with connect(ios) as conn:
        conn.enable()
        # The device answers the first line with a question, not an echo.
        output = conn.send_config_set([banner, "ntp server 192.0.2.55"], cmd_verify=False)
        assert "Enter TEXT message.  End with the character '^C'." in output
        shown = conn.send_command("show running-config")
        assert banner in shown  # blank line kept, "^C" on lines of their own
        assert "ntp server 192.0.2.55" in shown  # the line after the banner ran normally
        conn.send_config_set(["banner login #Staff only#"], cmd_verify=False)  # one line
        conn.save_config()
    saved = ios.device.saved_config() or ""
    assert "banner login ^C\nStaff only\n^C" in saved
    ios.stop()
    again = start("cisco_ios", state_dir=tmp_path / "state")  # boots from the saved text
    cli = session(again)
    cli("enable")
    shown = cli("show running-config")
    assert banner in shown and "banner login ^C\nStaff only\n^C" in shown


def test_ios_errors_carry_the_ios_marker(start: Start) -> None:
    ios = start("cisco_ios")
    with connect(ios) as conn:
        # privileged commands are invalid input at '>' (caret under the first unknown word)
        output = cast(str, conn.send_command("show running-config"))
        assert IOS_INVALID in output
        assert caret_column(output) == len("sh01-sw1>show ")
        conn.enable()
        output = cast(str, conn.send_command("show bogus"))
        assert IOS_INVALID in output
        assert caret_column(output) == len("sh01-sw1#show ")
        assert "% Incomplete command." in conn.send_command("show")
        assert '% Ambiguous command:  "co"' in conn.send_command("co")
        output = conn.send_config_set(["interface Vlan10", " descriptoin typo"])
        assert IOS_INVALID in output
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["ip access-list extended X", " permit tcp 10.0.0.0/24 any"],
                                 error_pattern=r"% Invalid input")  # fmt: skip
        output = conn.send_config_set(["ip access-list extended X", " permit tcp 10.0.0.0/24 any"])
        assert caret_column(output) == len("sh01-sw1(config-ext-nacl)# permit tcp ")
        assert "descriptoin" not in conn.send_command("show running-config")


def test_ios_hostname_changes_the_prompt(start: Start) -> None:
    ios = start("cisco_ios")
    with connect(ios) as conn:
        conn.enable()
        output = conn.send_config_set(["hostname SH01-CORE", "interface Vlan10"])
        assert "SH01-CORE(config)#interface Vlan10" in output
        assert "SH01-CORE(config-if)#" in output
        assert conn.set_base_prompt() == "SH01-CORE"
        assert conn.find_prompt() == "SH01-CORE#"
        assert "Switch(config)#" in conn.send_config_set(["no hostname"])
    with connect(ios) as conn:
        assert conn.find_prompt() == "Switch>"


def logged_and_recorded(log_file: Path, handle: DeviceHandle) -> tuple[list[str], list[str]]:
    """The commands in the device's log file and in its memory, once the two agree (a
    session's closing "exit" may still be on its way into both: memory first, then the file);
    after 5 s, however they stand."""
    deadline = time.monotonic() + 5
    while True:
        recorded = [r.command for r in handle.commands]
        logged = [json.loads(line)["command"] for line in log_file.open(encoding="utf-8")]
        if logged == recorded or time.monotonic() > deadline:
            return logged, recorded
        time.sleep(0.05)


def test_ios_command_log_proves_what_was_sent(start: Start, tmp_path: Path) -> None:
    ios = start("cisco_ios", enable_secret=ENABLE)
    with connect(ios, secret=ENABLE) as conn:
        conn.enable()
        conn.send_command("show running-config")
    read_only = ios.commands  # then "exit", whenever the server reads it after the disconnect
    assert [r.command for r in read_only][:4] == [
        "terminal width 511", "terminal length 0", "enable", "show running-config",
    ]  # fmt: skip
    assert not ios.device.config_commands()  # what a check-mode run must leave
    with connect(ios, secret=ENABLE) as conn:
        conn.enable()
        conn.send_config_set(["ntp server 192.0.2.50"])
    config = ios.device.config_commands()
    assert [(r.prompt, r.command) for r in config] == [
        ("sh01-sw1#", "configure terminal"),
        ("sh01-sw1(config)#", "ntp server 192.0.2.50"),
        ("sh01-sw1(config)#", "end"),
    ]
    assert {r.session for r in config} == {2}
    log_file = tmp_path / "state" / "sh01-sw1.commands.jsonl"
    logged, recorded = logged_and_recorded(log_file, ios)
    assert logged == recorded
    assert ENABLE not in (tmp_path / "state" / "sh01-sw1.commands.jsonl").read_text()


def test_ios_show_output_parses_with_ntc_templates(start: Start) -> None:
    ios = start("cisco_ios")
    with connect(ios) as conn:
        conn.enable()
        conn.send_config_set(
            [
                "ip access-list extended STOREOPS-IN-OFFICE",
                " remark flow office-to-dms",
                " permit tcp 10.77.1.96 0.0.0.31 host 10.77.1.40 eq 8080",
                " deny ip any 10.77.1.0 0.0.0.255 log",
            ]
        )
        version, clock, acls = (
            parse_output(platform="cisco_ios", command=command, data=conn.send_command(command))
            for command in ("show version", "show clock", "show access-lists")
        )
    assert version[0]["hostname"] == "sh01-sw1"
    assert version[0]["version"] == "15.2(7)E8"
    assert version[0]["hardware"] == ["WS-C3560CX-12PC-S"]
    assert version[0]["uptime"]
    assert clock[0]["timezone"] == "UTC"
    assert [(a["name"], a["sn"], a["action"]) for a in acls] == [
        ("STOREOPS-IN-OFFICE", "10", "permit"),
        ("STOREOPS-IN-OFFICE", "20", "deny"),
    ]


def test_ios_access_list_sequence_numbers(start: Start) -> None:
    cli = session(start("cisco_ios"))
    cli("enable")
    cli("configure terminal")
    for line in (
        "ip access-list extended TEST",
        " remark web",
        " permit tcp any host 10.0.0.1 eq 80",
        " permit udp 10.0.0.0 0.0.0.255 10.0.1.5 0.0.0.0 eq 53",
        " 15 permit icmp any any echo",
        " deny ip any any log",
        " no 20",
    ):
        assert cli(line) == ""
    cli("end")
    assert cli("show access-lists TEST") == (
        "Extended IP access list TEST\n"
        "    10 permit tcp any host 10.0.0.1 eq www\n"
        "    15 permit icmp any any echo\n"
        "    30 deny ip any any log\n"
    )
    assert (
        "ip access-list extended TEST\n remark web\n permit tcp any host 10.0.0.1 eq www\n"
        " permit icmp any any echo\n deny ip any any log\n!"
    ) in cli("show running-config")
    assert "Duplicate sequence number" in cli("conf t") + cli("ip access-list extended TEST") + cli(
        "10 permit ip any any"
    )


def test_ios_secrets_are_stored_hashed_and_used_for_logins(start: Start) -> None:
    ios = start("cisco_ios")
    with connect(ios) as conn:
        conn.enable()
        conn.send_config_set(["username ops secret Ops-Passw0rd"])
        first = cast(str, conn.send_command("show running-config | include username ops"))
        conn.send_config_set(["username ops secret Ops-Passw0rd"])
        second = conn.send_command("show running-config | include username ops")
    assert re.fullmatch(r"username ops secret 9 \$9\$\S{14}\$\S{43}", first.strip())
    assert first != second  # a fresh salt each time, as on IOS
    assert "Ops-Passw0rd" not in first
    with connect(ios, username="ops", password="Ops-Passw0rd") as conn:
        assert conn.find_prompt() == "sh01-sw1>"
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(**{**ios.netmiko_params(), "username": "ops"}, password="wrong")


# ------------------------------------------------------------------ Huawei VRP


def test_vrp_views_prompts_and_errors(start: Start) -> None:
    vrp = start("huawei_vrp")
    with connect(vrp) as conn:
        assert conn.find_prompt() == "<sh01-sw1>"
        # netmiko's config_mode/check_config_mode/exit_config_mode run in the round trip test
        # (send_config_set); here the views are entered with plain commands (2 s cheaper each).
        conn.send_command("system-view", expect_string=r"\[sh01-sw1\]")
        assert conn.find_prompt() == "[sh01-sw1]"
        for line, view in [
            ("interface Vlanif10", "Vlanif10"),
            ("interface gigabitethernet 0/0/3", "GigabitEthernet0/0/3"),
            ("acl name STOREOPS-IN-OFFICE 3040", "acl-adv-STOREOPS-IN-OFFICE"),
            ("vlan 50", "vlan50"),
            ("user-interface vty 0 4", "ui-vty0-4"),
            ("aaa", "aaa"),
            ("authentication-scheme default", "aaa-authen-default"),
        ]:
            conn.send_command(line, expect_string=re.escape(f"[sh01-sw1-{view}]"))
            assert conn.find_prompt() == f"[sh01-sw1-{view}]"
        conn.send_command("quit", expect_string=re.escape("[sh01-sw1-aaa]"))
        output = cast(str, conn.send_command("display bogus", expect_string=r"\]"))
        assert VRP_INVALID in output
        assert caret_column(output) == len("[sh01-sw1-aaa]display ")
        output = cast(str, conn.send_command("sysname", expect_string=r"\]"))
        assert "Error: Incomplete command found at '^' position." in output
        output = cast(
            str, conn.send_command("undo interface GigabitEthernet0/0/5", expect_string=r"\]")
        )
        assert "Error: Wrong parameter found at '^' position." in output
        conn.send_command("sysname SH01-CORE", expect_string=r"\[SH01-CORE\]")
        assert conn.find_prompt() == "[SH01-CORE]"
        conn.set_base_prompt()
        conn.send_command("return", expect_string="<SH01-CORE>")
        assert conn.find_prompt() == "<SH01-CORE>"
        output = cast(str, conn.send_command("display bogus"))
        assert caret_column(output) == len("<SH01-CORE>display ")
        version = parse_output(
            platform="huawei_vrp", command="display version", data=conn.send_command("dis ver")
        )
    assert version[0]["vrp_version"] == "5.170"
    assert version[0]["product_version"] == "S5720 V200R019C10SPC500"


def test_vrp_change_undo_save_restart_and_command_log(start: Start, tmp_path: Path) -> None:
    vrp = start("huawei_vrp")
    with connect(vrp) as conn:
        conn.send_command("system-view", expect_string=r"\]")
        for line in (
            "interface Vlanif30",
            " description workshop",
            " ip address 10.77.1.161 255.255.255.224",
            "info-center loghost 192.0.2.77",  # a system-view command typed in the interface view
            "vlan batch 30 31 32",
        ):
            conn.send_command(line, expect_string=r"\]")
        running = cast(str, conn.send_command("display current-configuration"))
        assert (
            "\ninterface Vlanif30\n description workshop\n ip address 10.77.1.161 255.255.255.224\n#"
            in running
        )
        assert "\ninfo-center loghost 192.0.2.77\n" in running
        assert "\nvlan batch 10 20 30 to 32 40\n" in running
        assert running.endswith("#\nreturn")
        saved = conn.save_config()
        assert "Are you sure to continue?[Y/N]" in saved
        assert "Save the configuration successfully." in saved
        for line in ("interface Vlanif30", "undo description", "quit", "undo vlan batch 31 to 32",
                     "undo info-center loghost 192.0.2.77", "ntp-service unicast-server 192.0.2.88"):  # fmt: skip
            conn.send_command(line, expect_string=r"\]")
        running = cast(str, conn.send_command("display current-configuration"))
        assert "interface Vlanif30\n ip address" in running
        assert "\nvlan batch 10 20 30 40\n" in running
        assert "192.0.2.77" not in running
        assert "192.0.2.77" in conn.send_command("display saved-configuration")
        conn.send_command(
            "return", expect_string=">"
        )  # netmiko's disconnect is 4 s slower in a view
    vrp.stop()  # the unsaved undo's and the NTP server are lost
    assert [r.command for r in vrp.commands][:3] == [
        "screen-length 0 temporary",
        "system-view",
        "interface Vlanif30",
    ]
    assert [r.config for r in vrp.commands][:3] == [False, True, True]
    assert (tmp_path / "state" / "sh01-sw1.vrpcfg.cfg").is_file()

    again = start("huawei_vrp")
    with connect(again) as conn:
        running = cast(str, conn.send_command("display current-configuration"))
    assert "\ninterface Vlanif30\n description workshop\n" in running
    assert "\ninfo-center loghost 192.0.2.77\n" in running
    assert "192.0.2.88" not in running


def test_vrp_acl_rules_as_vrp_prints_them(start: Start) -> None:
    cli = session(start("huawei_vrp"))
    cli("system-view")
    for line in (
        "acl name STOREOPS-IN-OFFICE",
        " description office zone",
        " rule permit tcp destination-port eq 80 destination 10.77.1.40 0.0.0.0 source any",
        " rule permit icmp source 10.77.1.96 0.0.0.31 icmp-type echo",
        " rule 5 description web",
        " rule 7 deny ip destination 10.77.1.0 0.0.0.255 logging",
        " rule 10 description ping",
        " undo rule 5 description",
        " rule 12 permit ip",
    ):
        assert cli(line) == ""
    assert "Wrong parameter" in cli(" rule 20 permit tcp source 10.0.0.0/24")
    assert cli("display this") == (
        "#\nacl name STOREOPS-IN-OFFICE 3999\n"
        " description office zone\n"
        " rule 5 permit tcp destination 10.77.1.40 0 destination-port eq www\n"
        " rule 7 deny ip destination 10.77.1.0 0.0.0.255 logging\n"
        " rule 10 permit icmp source 10.77.1.96 0.0.0.31 icmp-type echo\n"
        " rule 10 description ping\n"
        " rule 12 permit ip\n#\nreturn\n"
    )
    cli(" undo rule 10")
    assert "rule 10" not in cli("display this")


# ------------------------------------------------------------------ both platforms


@functools.cache
def _lab_acls(platform: str) -> str:
    inventory = load_valid(
        LAB_INVENTORY, VaultPasswords.from_files([REPO_ROOT / "lab" / "vault-password.txt"])
    )
    return acl.render_acl_config(platform, acl.switch_acls(inventory, "sh01"))


ROUND_TRIP = {
    # platform: (hier_config platform, show command, edits of the running config)
    "cisco_ios": (
        Platform.CISCO_IOS,
        "show running-config",
        [("ntp server 192.0.2.10", "ntp server 192.0.2.11"), ("logging host 192.0.2.20\n", ""),
         ("vlan 40\n name OFFICE\n", "vlan 40\n name OFFICE-LAN\n!\nvlan 50\n name WORKSHOP\n")],
    ),
    "huawei_vrp": (
        Platform.HUAWEI_VRP,
        "display current-configuration",
        [("ntp-service unicast-server 192.0.2.10", "ntp-service unicast-server 192.0.2.11"),
         (" description OFFICE", " description OFFICE-LAN"), ("info-center loghost 192.0.2.20\n", ""),
         ("vlan batch 10 20 40", "vlan batch 10 20 30 40 50 60")],
    ),
}  # fmt: skip


def _driver(platform: str) -> HConfigDriverBase:
    """The hier_config driver, plus what VRP needs: ``vlan batch`` as a single-instance line.

    Without it hier_config answers a changed ``vlan batch`` with ``undo vlan batch <old>``
    first, which deletes those VLANs and their ``vlan N`` sections on VRP (the emulator
    does too), and the next remediation is not empty.
    """
    driver = get_hconfig_driver(ROUND_TRIP[platform][0])
    if platform == "huawei_vrp":
        driver.rules.idempotent_commands.append(
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="vlan batch "),))
        )
    return driver


def _remediation(platform: str, running: str, intended: str, acls: str) -> list[str]:
    driver = _driver(platform)

    # hier_config's VRP driver keeps the closing "return" line: drop it on both sides.
    def strip(text: str) -> str:
        return "\n".join(line for line in text.splitlines() if line != "return")

    wanted = get_hconfig(driver, strip(intended)).merge(get_hconfig(driver, acls))
    workflow = WorkflowRemediation(get_hconfig(driver, strip(running)), wanted)
    return list(workflow.remediation_config.dump_simple(sectional_exiting=True))


@pytest.mark.parametrize("platform", ["cisco_ios", "huawei_vrp"])
def test_hier_config_round_trip(start: Start, platform: str) -> None:
    device = start(platform)
    _, show, edits = ROUND_TRIP[platform]
    acls = _lab_acls(platform)
    with connect(device) as conn:
        if platform == "cisco_ios":
            conn.enable()
        running = cast(str, conn.send_command(show))
        intended = running
        for old, new in edits:
            assert old in intended
            intended = intended.replace(old, new)
        remediation = _remediation(platform, running, intended, acls)
        assert len(remediation) > 80
        commands_before = len(device.commands)
        output = conn.send_config_set(remediation)
        assert "Invalid input" not in output and "Error:" not in output
        conn.save_config()
        after = cast(str, conn.send_command(show))
        assert _remediation(platform, after, intended, acls) == []
        sent = [r.command for r in device.commands[commands_before:] if r.config]
        assert sent[1:-1] == remediation  # what netmiko sent, between entering and leaving
    assert "STOREOPS-IN-OFFICE" in after
    assert "STOREOPS-IN-OFFICE" in (device.device.saved_config() or "")


CHANGED_ENTRY = {
    "cisco_ios": ("host 10.77.1.41 eq 22", "host 10.77.1.42 eq 22"),
    "huawei_vrp": ("destination 10.77.1.41 0 destination-port", "destination 10.77.1.42 0 destination-port"),
}  # fmt: skip


@pytest.mark.parametrize(("platform", "passes"), [("cisco_ios", 1), ("huawei_vrp", 2)])
def test_changing_one_entry_of_a_pushed_acl(start: Start, platform: str, passes: int) -> None:
    """IOS: hier_config sends ``no 30 ...`` + ``30 ...`` and one pass converges. VRP: its
    ``undo rule 15 ...`` also drops the rule's description (as VRP does), so a second pass
    puts the description back: a net_config run must re-check until the remediation is empty.
    """
    ios = platform == "cisco_ios"
    cli = session(start(platform))
    show = ROUND_TRIP[platform][1]
    enter, leave = ("configure terminal", "end") if ios else ("system-view", "return")
    if ios:
        cli("enable")
    base = cli(show)
    acls = _lab_acls(platform)
    changed = acls.replace(*CHANGED_ENTRY[platform], 1)
    assert changed != acls

    def push(wanted: str) -> list[str]:
        lines = _remediation(platform, cli(show), base, wanted)
        cli(enter)
        assert [cli(line) for line in lines] == [""] * len(lines)  # no error answer
        cli(leave)
        return lines

    assert push(acls)
    runs = 0
    while push(changed):
        runs += 1
        assert runs <= 3
    assert runs == passes


def test_several_devices_in_one_process(start: Start) -> None:
    handles = [
        start(platform, name=f"hz01-{platform[:3]}{n}")
        for platform in ("cisco_ios", "huawei_vrp")
        for n in (1, 2)
    ]
    assert len({h.port for h in handles}) == 4
    assert all(h.server.listening_on == ("127.0.0.1", h.port) for h in handles)
    for handle in handles[:3]:  # netmiko's huawei driver spends 2 s on each disconnect
        with connect(handle) as conn:
            assert handle.name in conn.find_prompt()
    busy = handles[0]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(OSError):
            start_device(
                "dup",
                "cisco_ios",
                listener.getsockname()[1],
                USER,
                PASSWORD,
                busy.device.saved_path.parent,
            )
