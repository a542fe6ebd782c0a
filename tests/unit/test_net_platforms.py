"""net_config's text functions (module_utils/storeops_net.py): running text + intended text ->
the exact commands in order, per platform. No device, no session.

tests/fixtures/network/<case>/: running.cfg, intended.cfg, case.yml (platform and the
management path) and expected.txt (the stages, ``# make`` / ``# rest`` / ``# break``, secrets
masked as net_config returns them).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.conftest import FIXTURES, REPO

NETWORK_CASES = FIXTURES / "network"
NAME = "ansible.module_utils.storeops_net"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


net = _load(NAME, REPO / "module_utils" / "storeops_net.py")
# library/net_config.py, its ``ansible.module_utils.storeops_net`` import resolved by ``net``.
net_config = _load("storeops_test_net_config", REPO / "library" / "net_config.py")


def stages(
    platform: str, running: str, intended: str, **management: object
) -> dict[str, list[str]]:
    result, _ = net.remediation(platform, running, intended, net.Management(**management))
    return {k: [net.mask(platform, line) for line in v] for k, v in result.items()}


def render(staged: dict[str, list[str]]) -> str:
    return "".join(f"# {k}\n" + "".join(f"{line}\n" for line in v) for k, v in staged.items())


@pytest.mark.parametrize("case", sorted(p.name for p in NETWORK_CASES.iterdir() if p.is_dir()))
def test_fixture_remediation_in_make_rest_break_order(case: str) -> None:
    folder = NETWORK_CASES / case
    spec = yaml.safe_load((folder / "case.yml").read_text())
    platform = spec.pop("platform")
    spec["vlans"] = tuple(spec.pop("management_vlans", ()))
    spec["address"] = spec.pop("management_address", None)
    spec["running_address"] = spec.pop("running_management_address", None) or spec["address"]
    running, intended = (folder / "running.cfg").read_text(), (folder / "intended.cfg").read_text()
    staged = stages(platform, running, intended, **spec)
    assert render(staged) == (folder / "expected.txt").read_text()
    negation = net.PLATFORMS[platform].negation
    # no removal of the management path before the break stage
    for line in staged["make"]:
        assert not line.strip().startswith(negation), line
    # the ordered list converges: what is left after make+rest+break is nothing
    assert stages(platform, intended, intended, **spec) == {"make": [], "rest": [], "break": []}


def test_management_lines_are_removed_only_after_the_new_path_exists() -> None:
    folder = NETWORK_CASES / "ios-mgmt-vlan-renumbered"
    staged = stages(
        "cisco_ios",
        (folder / "running.cfg").read_text(),
        (folder / "intended.cfg").read_text(),
        vlans=(11,),
        address="10.77.1.3",
    )
    lines = net.ordered(staged)
    assert lines.index("interface Vlan11") < lines.index("no interface Vlan10")
    assert lines.index("vlan 11") < lines.index("no vlan 10")
    assert "  switchport trunk allowed vlan add 11" in staged["make"]


RUNNING_IOS = (
    "hostname a\nusername admin privilege 15 secret 9 $9$abc$def\nline vty 0 4\n login local\n"
)


@pytest.mark.parametrize(
    "line",
    [
        "username admin privilege 15 secret Clear-Passw0rd",
        "username admin privilege 15 secret 0 Clear-Passw0rd",
        "username admin password 0 Clear-Passw0rd",
        "username admin password Clear-Passw0rd",
        "enable password Clear-Passw0rd",
        "enable secret 0 Clear-Passw0rd",
        "snmp-server community public RO",
        "tacacs-server key Clear-Key",
        " server-key 0 Clear-Key",
        " key 0 Clear-Key",
        " key-string Clear-Key",
        " password Clear-Passw0rd",
    ],
)
def test_ios_clear_text_secrets_are_refused(line: str) -> None:
    assert net.clear_text_secrets("cisco_ios", f"hostname a\n{line}\n") == [2]


@pytest.mark.parametrize(
    "line",
    [
        "username admin privilege 15 secret 9 $9$LY68aQfJ$WMlkKPoz",
        "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
        "username admin password 7 0822455D0A16",
        " password 7 0822455D0A16",
        " key 1",
        "no service password-encryption",
    ],
)
def test_ios_device_printed_forms_are_accepted(line: str) -> None:
    assert net.clear_text_secrets("cisco_ios", f"hostname a\n{line}\n") == []


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        (" local-user admin password simple Clear-Passw0rd", True),
        (" local-user admin password cipher Clear-Passw0rd", True),
        (" local-user admin password irreversible-cipher Clear-Passw0rd", True),
        (" local-user admin password irreversible-cipher $1a$zLHy$We4SCi$", False),
        (" local-user admin password cipher %^%#x2#QD)<Cz%^%#", False),
        ("snmp-agent community read public", True),
        ("snmp-agent community read cipher %^%#a1b2c3%^%#", False),
        ("hwtacacs-server shared-key simple Clear-Key", True),
    ],
)
def test_vrp_secrets(line: str, refused: bool) -> None:
    assert net.clear_text_secrets("huawei_vrp", f"sysname a\n{line}\n") == ([2] if refused else [])


def test_secrets_are_masked_in_what_is_shown() -> None:
    assert (
        net.mask("cisco_ios", "username admin privilege 15 secret 9 $9$abc$def")
        == "username admin privilege 15 secret 9 ********"
    )
    assert net.mask("cisco_ios", " password 7 0822455D0A16") == " password 7 ********"
    assert net.mask("cisco_ios", "snmp-server community public RO") == (
        "snmp-server community ******** RO"
    )
    assert net.mask("cisco_ios", "no service password-encryption") == (
        "no service password-encryption"
    )
    assert net.mask("huawei_vrp", " local-user a password irreversible-cipher $1a$x$y$") == (
        " local-user a password irreversible-cipher ********"
    )
    assert net.mask("huawei_vrp", "snmp-agent community read cipher %^%#ab c%^%#") == (
        "snmp-agent community read cipher ********"
    )


def test_type7_with_another_offset_is_the_same_password() -> None:
    clear = "Lab-Passw0rd"
    first, second = net.type7_encode(clear, 3), net.type7_encode(clear, 9)
    assert first != second and net.type7_decode(first) == net.type7_decode(second) == clear
    assert net.type7_decode("0822455D0A16") == "cisco"
    running = f"hostname a\nusername admin password 7 {first}\n"
    intended = f"hostname a\nusername admin password 7 {second}\n"
    assert stages("cisco_ios", running, intended) == {"make": [], "rest": [], "break": []}
    other = f"hostname a\nusername admin password 7 {net.type7_encode('Other-Pass', 9)}\n"
    assert stages("cisco_ios", running, other)["make"] != []


def test_vrp_vlan_batch_ranges_compare_as_sets_and_the_delta_is_sent_as_vrp_takes_it() -> None:
    running = "vlan batch 30 230 to 231 233\n#\nreturn\n"
    assert stages("huawei_vrp", running, "vlan batch 30 230 231 233\n") == {
        "make": [],
        "rest": [],
        "break": [],
    }
    changed = "vlan batch 30 231 to 235\n"
    assert net.ordered(net.remediation("huawei_vrp", running, changed)[0]) == [
        "undo vlan batch 230",
        "vlan batch 232 234 to 235",
    ]


def test_vrp_trunk_vlans_compare_as_sets_and_only_the_delta_is_sent() -> None:
    # One VLAN set per port: the full new list would only add, and an undo of the old list
    # would take away VLANs the intended configuration keeps (20, 30, 31 here).
    port = "interface GigabitEthernet0/0/1\n port link-type trunk\n port trunk allow-pass vlan "
    running = port + "10 20 30 to 31\n#\nreturn\n"
    assert stages("huawei_vrp", running, port + "10 20 30 31\n") == {
        "make": [],
        "rest": [],
        "break": [],
    }
    assert net.ordered(net.remediation("huawei_vrp", running, port + "20 30 to 33 35\n")[0]) == [
        "interface GigabitEthernet0/0/1",
        "  undo port trunk allow-pass vlan 10",
        "  port trunk allow-pass vlan 32 to 33 35",
        "  quit",
    ]


def test_vlan_ranges_read_and_written_as_vrp_prints_them() -> None:
    assert net.expand_vlans(["30", "230", "to", "233"]) == [30, 230, 231, 232, 233]
    assert net.expand_vlans(["all"]) is None
    assert net.vlan_ranges([233, 30, 231, 230, 232]) == "30 230 to 233"


def test_changed_banners_do_not_send_the_old_text() -> None:
    running = "hostname a\nbanner motd ^C\nOld text\nline two\n^C\nbanner login ^C\nOld login\n^C\n"
    intended = "hostname a\nbanner motd ^C\nNew text\n^C\n"
    assert net.ordered(net.remediation("cisco_ios", running, intended)[0]) == [
        "no banner login",
        "banner motd ^C\nNew text\n^C",
    ]
    vrp = 'sysname a\nheader login information "old"\nheader shell information "bye"\n'
    assert net.ordered(
        net.remediation("huawei_vrp", vrp, 'sysname a\nheader login information "new"\n')[0]
    ) == ["undo header shell", 'header login information "new"']


def test_replaced_management_interface_lines_overwrite_and_only_vanished_lines_break() -> None:
    """A new description/address/gateway overwrites the old one in ``make``: never an undo
    of the old value (VRP sent ``undo description`` after the new one, which removed it, and
    the lab's VRP devices never converged); a line that leaves the path goes in ``break``."""
    vrp_running = (
        "sysname a\n#\ninterface Vlanif10\n description management\n"
        " ip address 10.77.1.2 255.255.255.0\n traffic-filter inbound acl name OLD-MGMT\n"
        "#\nreturn\n"
    )
    vrp_intended = (
        "sysname a\n#\ninterface Vlanif10\n description mgmt\n"
        " ip address 10.77.1.3 255.255.255.224\n#\n"
    )
    management = {"vlans": (10,), "address": "10.77.1.3", "running_address": "10.77.1.2"}
    assert stages("huawei_vrp", vrp_running, vrp_intended, **management) == {
        "make": [
            "interface Vlanif10",
            "  description mgmt",
            "  ip address 10.77.1.3 255.255.255.224",
            "  quit",
        ],
        "rest": [],
        "break": [
            "interface Vlanif10",
            "  undo traffic-filter inbound acl name OLD-MGMT",
            "  quit",
        ],
    }
    ios_running = (
        "hostname a\n!\ninterface Vlan10\n description management\n"
        " ip address 10.77.1.2 255.255.255.0\n ip access-group OLD-MGMT in\n!\n"
        "ip default-gateway 10.77.1.30\n"
    )
    ios_intended = (
        "hostname a\n!\ninterface Vlan10\n description mgmt\n"
        " ip address 10.77.1.3 255.255.255.224\n!\nip default-gateway 10.77.1.1\n"
    )
    assert stages("cisco_ios", ios_running, ios_intended, **management) == {
        "make": [
            "interface Vlan10",
            "  description mgmt",
            "  ip address 10.77.1.3 255.255.255.224",
            "  exit",
            "ip default-gateway 10.77.1.1",  # IOS has one: "no ip default-gateway" removes it
        ],
        "rest": [],
        "break": ["interface Vlan10", "  no ip access-group OLD-MGMT in", "  exit"],
    }


def test_ios_changed_user_is_overwritten_and_a_vanished_user_removed_by_name() -> None:
    """``no username NAME ...`` removes the whole user on IOS, whatever follows the name."""
    running = (
        "hostname a\nusername admin privilege 15 secret 9 $9$a$b\n"
        "username old privilege 15 secret 9 $9$c$d\n"
    )
    intended = (
        "hostname a\nusername admin privilege 15 secret 9 $9$x$y\n"
        "username netadmin privilege 15 secret 9 $9$n$m\n"
    )
    assert stages("cisco_ios", running, intended, user="admin") == {
        "make": [
            "username admin privilege 15 secret 9 ********",
            "username netadmin privilege 15 secret 9 ********",
        ],
        "rest": [],
        "break": ["no username old"],
    }
    with pytest.raises(net.NetError, match="removes user 'old', the user this run logs in as"):
        stages("cisco_ios", running, intended, user="old")


def test_vrp_changed_local_user_is_overwritten_and_a_vanished_user_removed_once() -> None:
    """``undo local-user NAME`` removes the whole user on VRP; its attributes overwrite."""
    running = (
        "aaa\n local-user admin password irreversible-cipher $1a$a$b$\n"
        " local-user admin privilege level 3\n local-user admin service-type ssh\n"
        " local-user old password irreversible-cipher $1a$c$d$\n"
        " local-user old privilege level 15\n local-user old service-type ssh\n#\nreturn\n"
    )
    intended = (
        "aaa\n local-user admin password irreversible-cipher $1a$x$y$\n"
        " local-user admin privilege level 15\n local-user admin service-type ssh\n#\n"
    )
    assert stages("huawei_vrp", running, intended, user="admin") == {
        "make": [
            "aaa",
            "  local-user admin password irreversible-cipher ********",
            "  local-user admin privilege level 15",
            "  quit",
        ],
        "rest": [],
        "break": ["aaa", "  undo local-user old", "  quit"],
    }
    with pytest.raises(net.NetError, match="removes user 'old'"):
        stages("huawei_vrp", running, intended, user="old")


def test_an_unknown_platform_is_refused_naming_it_and_the_supported_ones() -> None:
    supported = re.escape(", ".join(net.PLATFORMS))
    message = rf"unknown network platform 'h3c_comware': storeops supports {supported} "
    with pytest.raises(net.UnknownPlatform, match=message):
        net.remediation("h3c_comware", "sysname a\n", "sysname b\n")
    with pytest.raises(net.UnknownPlatform, match=message):
        net.clear_text_secrets("h3c_comware", "sysname a\n")
    with pytest.raises(net.UnknownPlatform, match=message):
        net_config.for_diff("h3c_comware", "sysname a\n")
    # the modules' option: Ansible refuses it before any code runs, naming the choices
    login = {"host": "192.0.2.1", "platform": "h3c_comware", "username": "a", "password": "b"}
    errors = ArgumentSpecValidator(net.COMMON_ARGUMENT_SPEC).validate(login).error_messages
    assert errors == [
        f"value of platform must be one of: {', '.join(net.PLATFORMS)}, got: h3c_comware"
    ]


@pytest.mark.parametrize(
    ("platform", "text", "shown"),
    [
        (
            "cisco_ios",
            "Building configuration...\n\nhostname a\n!\nenable secret 9 $9$a$b\n!\nend\n",
            "hostname a\nenable secret 9 ********\nend\n",
        ),
        (
            "huawei_vrp",
            "!Software Version V200R011C10SPC500\nsysname a\n#\naaa\n local-user a password "
            "irreversible-cipher $1a$x$y$\n#\nreturn\n",
            "sysname a\naaa\n local-user a password irreversible-cipher ********\n",
        ),
    ],
)
def test_the_diff_shows_configuration_lines_only_secrets_masked(
    platform: str, text: str, shown: str
) -> None:
    """net_config's diff: no volatile lines, no section separators (the platform's own), no
    VRP ``return``, secrets masked."""
    assert net_config.for_diff(platform, text) == shown
