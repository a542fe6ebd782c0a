"""Cisco IOS 15.2 on a Catalyst 3560-CX store core switch (netmiko ``cisco_ios``).

Emulated:

- modes: user exec ``host>``; ``enable`` (asks ``Password:`` when an ``enable secret`` is
  configured, else enters at once; a local user with ``privilege 15`` logs in at ``host#``);
  ``configure terminal`` -> ``host(config)#``; section views ``(config-if)``,
  ``(config-ext-nacl)``, ``(config-std-nacl)``, ``(config-vlan)``, ``(config-line)``,
  ``(config-router)``, ``(config-router-af)`` and a few more; ``exit`` one view up, ``end``
  or Ctrl-Z back to ``host#``; ``do <exec command>`` in configuration mode; a command of a
  parent view typed in a section runs there and moves the session there, as IOS does;
- configuration lines are filed into the tree (see :mod:`storeops_lab.devices.platform`);
  single-instance commands (``hostname``, ``description``, ``ip address``, ``switchport
  mode``, ``ntp server X``, ``username X``...) replace their previous value; ``no`` removes;
  defaults IOS prints in their negative form (``no ip http server``, ``no service pad``,
  ``no ip domain lookup``) are kept as such;
- named access lists: entries are validated (``permit|deny``, protocol, ``any`` / ``host A`` /
  ``A wildcard``, port operators), stored with sequence numbers (``10``, ``20``... or the one
  typed: ``15 permit ...`` inserts; ``no 15`` removes), printed *without* numbers in the
  running configuration and *with* them by ``show access-lists``; ``A 0.0.0.0`` prints as
  ``host A`` and well-known ports by name (``eq 80`` -> ``eq www``) as IOS does; remarks are
  kept in the running configuration and left out of ``show access-lists``;
- secrets: ``username X secret S`` / ``enable secret S`` are stored hashed (``secret 9 $9$...``,
  fresh salt each time): pushing a clear-text secret again always changes the line. SSH logins
  and ``enable`` are checked against these lines, so changing them changes the login;
- physical interfaces are the ones of the boot configuration: ``interface`` with another
  physical name is invalid input and ``no interface <physical>`` is refused
  (``default interface X`` empties one); logical ones (``Vlan``, ``Loopback``,
  ``Port-channel``, ``Tunnel``) are created and removed freely;
- exec commands: ``show running-config [interface X]``, ``show startup-config``,
  ``show version`` (parses with ntc-templates), ``show clock``, ``show access-lists [NAME]``,
  ``show ip access-lists [NAME]``, ``write [memory]``, ``copy running-config
  startup-config`` (asks the destination), ``terminal length|width N``, ``terminal [no]
  monitor``, ``disable``, ``exit``; output modifiers ``| include|exclude|begin|section``;
  abbreviations (``sh run``, ``conf t``, ``wr``); errors as IOS prints them (``% Invalid
  input detected at '^' marker.`` under a caret, ``% Incomplete command.``, ``% Ambiguous
  command``).

- banners as IOS takes and prints them: ``banner motd #`` (any delimiter character, or
  ``^C`` as the running configuration prints it) asks for
  the text (``Enter TEXT message.  End with the character '#'.``, no prompt) until a line
  holding the delimiter, or takes ``banner motd #text#`` on one line; the running
  configuration prints ``banner motd ^C``, the text lines, and ``^C``, as IOS does;
  ``banner login`` and ``banner exec`` the same, printed in IOS's order (exec, login, motd);
- the configuration archive and the revert timer (Configuration Rollback Confirmed Change):
  ``archive`` / `` path flash:archive`` / `` maximum N``; ``configure terminal revert timer
  [idle] <1-120>`` archives the running configuration as the checkpoint (``Rollback
  Confirmed Change: Backing up current running config to flash:archive-Jun--6-10-38-00.741-0``),
  arms the timer and enters configuration mode, or is refused when no archive path is set;
  ``configure confirm`` cancels the timer and keeps the change, ``configure revert now``
  rolls back at once, ``configure revert timer [idle] N`` resets the timer, ``show archive
  config rollback timer`` and ``show archive`` show them (``%No Rollback Confirmed Change
  pending`` when there is none). When the timer expires the device replaces its running
  configuration with the checkpoint by itself, whatever sessions are open (those in
  configuration mode go back to its top level). Arming again while a change is pending resets
  the timer and keeps the older checkpoint. The wording of the refusal without an archive
  path, and the silence of ``configure confirm`` (IOS logs it to syslog only), are the
  emulator's reading of Cisco's documentation, not copied from a device;

Not emulated: the full IOS grammar (arguments of most commands are not checked),
``interface range``, VLAN lists
(``vlan 10,20``), ``reload``, ``show`` commands other than the ones above, the real
removal message for physical interfaces (answered as invalid input), privilege levels other
than 1 and 15, the canonical order of interface subcommands beyond a rough ranking, and
expanding abbreviated configuration keywords (configuration lines must be typed in full).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storeops_lab.devices import passwords
from storeops_lab.devices.cli import (
    CTRL_Z,
    CliError,
    ExecCommand,
    Reply,
    apply_filter,
    command,
    expect_words,
    split_pipe,
)
from storeops_lab.devices.config import ConfigNode, Rank, parse_indented, tokens
from storeops_lab.devices.device import Countdown
from storeops_lab.devices.platform import (
    ROOT,
    Platform,
    Section,
    Session,
    Typed,
    Vocabulary,
    clock_now,
    key_patterns,
    order_ranker,
    section,
    vocabulary,
)

if TYPE_CHECKING:
    from storeops_lab.devices.device import Device

MODEL = "WS-C3560CX-12PC-S"
VERSION = "15.2(7)E8"
IMAGE = "C3560CX-UNIVERSALK9-M"
SERIAL = "FOC2135Y0QZ"
MAC = "70:18:A7:5B:2C:80"
NVRAM_BYTES = 524288
PORTS = tuple(f"GigabitEthernet0/{n}" for n in range(1, 17))
ACL_VIEWS = frozenset({"ext-nacl", "std-nacl"})
ACL_STEP = 10
BUILDING = "Building configuration...\n\n"

# The order IOS prints top-level lines in ("|": the same rank; "*": anything else).
_ROOT_ORDER = order_ranker(
    """version, service, hostname, boot-start-marker | boot | boot-end-marker,
    logging buffered | logging console, enable, username, aaa, clock, system, ip routing,
    ip domain | ip domain-name | ip name-server, ip dhcp, login, vtp, crypto, spanning-tree,
    errdisable, port-channel, vlan, lldp, interface, ip default-gateway, ip forward-protocol,
    ip http, ip ssh, ip route, ip access-list, access-list, *,
    logging trap | logging source-interface, logging host, snmp-server, tacacs | radius,
    banner, line, ntp"""
)
_VIEW_ORDER = {"if": order_ranker("description, switchport, ip address, ip, *, shutdown")}

_SECTIONS = (
    section("if", r"interface (\S+(?: \d\S*)?)", "config-if", lead="interface"),
    section(
        "ext-nacl",
        r"ip access-list extended (\S+)",
        "config-ext-nacl",
        lead="ip access-list extended",
    ),
    section(
        "std-nacl",
        r"ip access-list standard (\S+)",
        "config-std-nacl",
        lead="ip access-list standard",
    ),
    section("vlan", r"vlan (\d+)", "config-vlan"),
    section("line", r"line (con|vty|aux) (\d+)(?: (\d+))?", "config-line", lead="line"),
    section("router", r"router (ospf|eigrp|bgp|rip)(?: .*)?", "config-router", lead="router"),
    section("router-af", r"address-family .+", "config-router-af", parent="router"),
    section("archive", r"archive", "config-archive"),
    section("dhcp", r"ip dhcp pool (\S+)", "dhcp-config"),
    section("cmap", r"class-map (?:match-any |match-all )?(\S+)", "config-cmap"),
    section("pmap", r"policy-map (\S+)", "config-pmap"),
    section("mst", r"spanning-tree mst configuration", "config-mst"),
)

# The commands each view knows, by their leading words (None: what the top level does not).
_VIEWS: dict[str, Vocabulary | None] = {
    ROOT: vocabulary(
        """hostname, interface, vlan, ip access-list, access-list, ip route, ip routing,
        ip domain, ip domain-name, ip name-server, ip http, ip ssh, ip default-gateway, ip dhcp,
        ip forward-protocol, ip scp, ip tftp, ip ftp, ip cef, ip classless, ip multicast-routing,
        ip sla, ip prefix-list, ip host, ip radius, ip tacacs, ip source-route, ip arp, ip igmp,
        ip device, ipv6, line, router, logging, ntp, snmp-server, username, enable, service,
        banner, spanning-tree, vtp, aaa, clock, boot, boot-start-marker, boot-end-marker, crypto,
        archive, cdp, lldp, errdisable, mac, monitor, class-map, policy-map, key, tacacs-server,
        radius-server, tacacs, radius, system, power, port-channel, udld, vrf, track, event,
        license, control-plane, alias, login, mls, version, default, file, memory, diagnostic,
        dot1x, authentication, device-tracking, storm-control, vstack"""
    ),
    "if": vocabulary(
        """description, ip address, ip access-group, ip helper-address, ip redirects,
        ip proxy-arp, ip unreachables, ip dhcp, ip ospf, ip pim, ip igmp, ip mtu, ip nat, ip vrf,
        ip verify, ip arp, ip policy, ip flow, ip route-cache, ip directed-broadcast,
        ip mroute-cache, switchport, shutdown, speed, duplex, spanning-tree, channel-group, mtu,
        power, storm-control, load-interval, cdp, lldp, standby, vrrp, service-policy,
        authentication, dot1x, mab, negotiation, encapsulation, bandwidth, ipv6, logging event,
        snmp trap, vrf, media-type, udld, keepalive, carrier-delay, priority-queue, mls,
        auto qos, access-session, delay, hold-queue, errdisable, flowcontrol, macro, srr-queue,
        queue-set, device-tracking, default"""
    ),
    "ext-nacl": vocabulary("permit, deny, remark, evaluate, dynamic, default"),
    "std-nacl": vocabulary("permit, deny, remark, default"),
    "vlan": vocabulary("name, state, shutdown, mtu, remote-span, private-vlan, media"),
    "line": vocabulary(
        """access-class, exec-timeout, login, password, transport, logging synchronous,
        privilege, session-timeout, length, width, history, stopbits, speed, exec, autocommand,
        absolute-timeout, ipv6 access-class, authorization, accounting, escape-character,
        timeout, motd-banner, exec-banner, default"""
    ),
    "router": vocabulary(
        """router-id, network, neighbor, passive-interface, redistribute, area,
        default-information, log-adjacency-changes, auto-summary, bgp, timers, address-family,
        maximum-paths, distance, default-metric, summary-address, version, eigrp, metric,
        auto-cost, nsf, default"""
    ),
    "router-af": vocabulary(
        """neighbor, network, redistribute, maximum-paths, aggregate-address,
        default-information, default, exit-address-family"""
    ),
    "archive": vocabulary("path, maximum, time-period, write-memory, log, rollback, default"),
    "dhcp": None,
    "cmap": None,
    "pmap": None,
    "mst": None,
}

# Single-instance commands: a new line with the same match (groups) replaces the old one.
_KEYS = {
    ROOT: key_patterns(
        r"^(hostname) ",
        r"^(banner (?:motd|login|exec)) ",
        r"^(enable secret) ",
        r"^(enable password) ",
        r"^(ip domain[ -]name) ",
        r"^(ip default-gateway) ",
        r"^(clock timezone) ",
        r"^(spanning-tree mode) ",
        r"^(logging buffered)\b",
        r"^(logging trap) ",
        r"^(logging source-interface) ",
        r"^(snmp-server location) ",
        r"^(snmp-server contact) ",
        r"^(ip ssh version) ",
        r"^(vtp mode) ",
        r"^(vtp domain) ",
        r"^(username \S+) ",
        r"^(ntp server \S+)",
        r"^(logging host \S+)",
        r"^(service timestamps (?:debug|log)) ",
        r"^(ntp source) ",
    ),
    "if": key_patterns(
        r"^(description) ",
        r"^(ip address) (?!.* secondary$)",
        r"^(switchport mode) ",
        r"^(switchport access vlan) ",
        r"^(switchport voice vlan) ",
        r"^(switchport trunk native vlan) ",
        r"^(switchport trunk allowed vlan) (?!add|remove|except)",
        r"^(ip access-group) \S+ (in|out)\Z",
        r"^(speed) ",
        r"^(duplex) ",
        r"^(mtu) ",
        r"^(bandwidth) ",
        r"^(load-interval) ",
        r"^(channel-group) ",
    ),
    "vlan": key_patterns(r"^(name) ", r"^(state) "),
    "line": key_patterns(
        r"^(exec-timeout) ",
        r"^(transport input) ",
        r"^(login)\b",
        r"^(privilege level) ",
        r"^(access-class) \S+ (in|out)\Z",
        r"^(password) ",
        r"^(session-timeout) ",
    ),
    "router": key_patterns(r"^(router-id) "),
    "archive": key_patterns(r"^(path) ", r"^(maximum) ", r"^(time-period) "),
}

# Defaults IOS prints negated ("no ip http server"); True: the enabled form is printed too.
_SHOWN_NEGATIONS = {
    ROOT: {
        **dict.fromkeys(["ip http server", "ip http secure-server", "aaa new-model"], True),
        **dict.fromkeys(["service password-encryption", "service config"], True),
        **dict.fromkeys(["service pad", "ip domain lookup", "ip domain-lookup"], False),
        **dict.fromkeys(["cdp run", "ip source-route"], False),
    },
    "if": dict.fromkeys(
        [
            "ip redirects",
            "ip proxy-arp",
            "ip unreachables",
            "switchport",
            "cdp enable",
            "ip route-cache",
            "keepalive",
            "negotiation auto",
        ],
        False,
    ),
}

_SECRET = re.compile(
    r"^(username \S+(?: privilege \d+)? secret|enable secret)(?: ([0589]))? (\S+)\Z"
)
_PASSWORD = re.compile(r"^(username \S+(?: privilege \d+)? password)(?: ([07]))? (\S+)\Z")
_PRIVILEGE = re.compile(r"^username (\S+) privilege (\d+)\b")

# Port names IOS prints instead of numbers (the ones a store's ACLs use, and a few more).
_PORT_NAMES = {
    "tcp": {20: "ftp-data", 21: "ftp", 23: "telnet", 25: "smtp", 49: "tacacs", 53: "domain"}
    | {80: "www", 110: "pop3", 179: "bgp"},
    "udp": {49: "tacacs", 53: "domain", 67: "bootps", 68: "bootpc", 69: "tftp", 123: "ntp"}
    | {161: "snmp", 162: "snmptrap", 514: "syslog", 520: "rip"},
}
_PROTOCOLS = frozenset(
    [
        "ip",
        "tcp",
        "udp",
        "icmp",
        "igmp",
        "gre",
        "esp",
        "ahp",
        "eigrp",
        "ospf",
        "pim",
        "ipinip",
        "nos",
        "pcp",
        "sctp",
    ]
)
_ACE_FLAGS = frozenset(
    [
        "established",
        "log",
        "log-input",
        "echo",
        "echo-reply",
        "unreachable",
        "time-exceeded",
        "packet-too-big",
        "redirect",
        "ttl-exceeded",
        "host-unreachable",
        "net-unreachable",
        "port-unreachable",
        "fragments",
        "ack",
        "syn",
        "fin",
        "rst",
        "psh",
        "urg",
        "parameter-problem",
        "source-quench",
        "timestamp-request",
        "timestamp-reply",
    ]
)
_ACE_OPTIONS = frozenset({"dscp", "precedence", "tos", "time-range", "option", "ttl"})
_PORT_OPERATORS = {"eq": 1, "neq": 1, "lt": 1, "gt": 1, "range": 2}
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\Z")

_CRYPTO_NOTICE = """\
This product contains cryptographic features and is subject to United
States and local country laws governing import, export, transfer and
use. Delivery of Cisco cryptographic products does not imply
third-party authority to import, export, distribute or use encryption.
Importers, exporters, distributors and users are responsible for
compliance with U.S. and local country laws. By using this product you
agree to comply with applicable laws and regulations. If you are unable
to comply with U.S. and local laws, return this product immediately.

A summary of U.S. laws governing Cisco cryptographic products may be found at:
http://www.cisco.com/wwl/export/crypto/tool/stqrg.html

If you require further assistance please contact us by sending email to
export@cisco.com."""


def _ios_time(moment: datetime) -> str:
    """``10:12:33 UTC Wed Nov 25 2026``, as in the configuration header lines."""
    return f"{moment:%H:%M:%S} UTC {moment:%a %b} {moment.day} {moment.year}"


class CiscoIos(Platform):
    """Cisco IOS: see the module docstring for what is and is not emulated."""

    name = "cisco_ios"
    netmiko_device_type = "cisco_ios"
    ssh_version = "SSH-2.0-Cisco-1.25"
    negation = "no"
    default_hostname = "Switch"
    saved_file_suffix = "startup-config"
    sections = _SECTIONS
    views = _VIEWS
    keys = _KEYS
    shown_negations = _SHOWN_NEGATIONS
    physical_interface_types = (
        "FastEthernet",
        "GigabitEthernet",
        "TenGigabitEthernet",
        "Ethernet",
    )
    interface_types = (
        "Loopback",
        "Port-channel",
        "Tunnel",
        "FastEthernet",
        "GigabitEthernet",
        "TenGigabitEthernet",
        "Ethernet",
        "Vlan",
    )

    def __init__(self) -> None:
        super().__init__()
        self.checkpoint: Checkpoint | None = None  # the pending revert's configuration
        self.archives: list[str] = []  # archive file names, oldest first

    # ---------------------------------------------------------------- configuration files

    def initial_config(
        self,
        hostname: str,
        username: str,
        password: str,
        enable: str | None,
        *,
        address: str = "192.0.2.2",
    ) -> str:
        enable_line = f"enable secret 9 {passwords.cisco_type9(enable)}\n" if enable else ""
        ports = "".join(_initial_port(port) for port in PORTS)
        return f"""\
no service pad
service timestamps debug datetime msec
service timestamps log datetime msec
no service password-encryption
hostname {hostname}
boot-start-marker
boot-end-marker
logging buffered 16384
{enable_line}username {username} secret 9 {passwords.cisco_type9(password)}
no aaa new-model
clock timezone UTC 0 0
ip routing
no ip domain lookup
vtp mode transparent
spanning-tree mode rapid-pvst
spanning-tree extend system-id
vlan 10
 name MGMT
vlan 20
 name SERVERS
vlan 40
 name OFFICE
interface FastEthernet0
 no ip address
 shutdown
{ports}interface Vlan1
 no ip address
 shutdown
interface Vlan10
 description management
 ip address {address} 255.255.255.0
ip forward-protocol nd
no ip http server
no ip http secure-server
ip ssh version 2
ip route 0.0.0.0 0.0.0.0 192.0.2.1
logging host 192.0.2.20
line con 0
line vty 0 4
 login local
 transport input ssh
line vty 5 15
 login local
 transport input ssh
ntp server 192.0.2.10
"""

    def parse(self, text: str) -> ConfigNode:
        """A startup-config (or initial) text -> tree; comments and headers are dropped."""
        body = [
            line
            for line in _banners_as_one_line(text.splitlines())
            if not line.startswith(("!", "version ", "end", "Building configuration"))
            and not line.startswith(("Current configuration", "Using "))
        ]
        tree = parse_indented(body)
        for node in tree.children:  # back to the lines IOS prints
            node.text = node.text.replace(BANNER_JOIN, "\n")
        for node in tree.children:
            if node.text.startswith("ip access-list "):
                _number_entries(node)
        return tree

    def render(self, tree: ConfigNode) -> list[str]:
        """Top-level lines, ``!`` after each section and between groups of lines."""
        out: list[str] = []
        previous: tuple[int, bool] | None = None
        for node in tree.children:
            block = bool(node.children) or self._opens_section(node.text)
            group = self.rank(ROOT, node)[0]
            if previous is not None and (block or previous[1] or group != previous[0]):
                out.append("!")
            out.extend(node.lines())
            previous = (group, block)
        out.append("!")
        return out

    def _opens_section(self, text: str) -> bool:
        return self.match_section(ROOT, text) is not None

    def _header(self, device: Device) -> list[str]:
        change = device.last_change
        lines = ["!", f"! Last configuration change at {_ios_time(change.at)}" + _by(change.user)]
        if device.last_saved is not None:
            saved = device.last_saved
            lines.append(f"! NVRAM config last updated at {_ios_time(saved.at)}" + _by(saved.user))
        return [*lines, "!", "version 15.2"]

    def _document(self, device: Device, body: list[str]) -> str:
        return "\n".join([*self._header(device), *body, "end"]) + "\n"

    def running_config(self, device: Device) -> str:
        document = self._document(device, self.render(device.tree))
        return f"{BUILDING}Current configuration : {len(document)} bytes\n{document}"

    def saved_text(self, device: Device) -> str:
        return self._document(device, self.render(device.tree))

    # ---------------------------------------------------------------- identity and logins

    def hostname(self, tree: ConfigNode) -> str:
        node = tree.find_first(lambda n: n.text.startswith("hostname "))
        return node.text.split(maxsplit=1)[1] if node else self.default_hostname

    def check_login(self, tree: ConfigNode, user: str, password: str) -> bool:
        for node in tree.find_words(["username", user]):
            words = node.text.split()
            if "secret" in words and words[-3] == "secret":
                return passwords.verify(password, words[-1])
            if "password" in words and words[-3] == "password" and words[-2] == "0":
                return words[-1] == password
        return False

    def management_path(self, tree: ConfigNode, addresses: Sequence[str]) -> bool:
        """An up interface holding one of ``addresses`` (an SVI also needs its VLAN), and a
        VTY line taking SSH (``transport input ssh|all``) with local logins (``login local``,
        or ``aaa new-model``, whose default login method is the local users)."""
        vlans = {1} | {int(n.text.split()[1]) for n in tree.children if _VLAN.fullmatch(n.text)}
        aaa = tree.find("aaa new-model") is not None
        return any(
            _interface_up(node, vlans, addresses) for node in tree.find_words(["interface"])
        ) and any(_vty_takes_ssh(node, aaa=aaa) for node in tree.find_words(["line", "vty"]))

    # ---------------------------------------------------------------- archive and rollback

    def archive_path(self, tree: ConfigNode) -> str | None:
        archive = tree.find("archive")
        path = archive.find_words(["path"]) if archive else []
        return path[0].text.split(maxsplit=1)[1] if path else None

    def archive_maximum(self, tree: ConfigNode) -> int:
        archive = tree.find("archive")
        found = archive.find_words(["maximum"]) if archive else []
        return int(found[0].text.split()[1]) if found else ARCHIVE_MAXIMUM

    def take_checkpoint(self, tree: ConfigNode, path: str) -> Checkpoint:
        """Archive the running configuration (``flash:archive-Jun--6-10-38-00.741-0``)."""
        now = clock_now()
        stamp = f"{now:%b}-{now.day:->2}-{now:%H-%M-%S}.{now.microsecond // 1000:03d}"
        name = f"{path}-{stamp}-{len(self.archives)}"
        self.archives = [*self.archives, name][-self.archive_maximum(tree) :]
        self.checkpoint = Checkpoint(name, tree.copy())
        return self.checkpoint

    def rollback(self) -> None:
        """The revert timer expired (or ``configure revert now``): back to the checkpoint."""
        if self.checkpoint is not None:
            self.device.replace_running(self.checkpoint.tree.copy())
            self.checkpoint = None

    def archive_listing(self, tree: ConfigNode) -> str:
        path = self.archive_path(tree)
        if path is None:
            return "Archive feature not enabled\n"
        lines = [
            f"The maximum archive configurations allowed is {self.archive_maximum(tree)}.",
            f"There are currently {len(self.archives)} archive configurations saved.",
            f"The next archive file will be named {path}-<timestamp>-{len(self.archives)}",
            " Archive #  Name",
        ]
        for number, name in enumerate(self.archives, 1):
            latest = " <- Most Recent" if number == len(self.archives) else ""
            lines.append(f"   {number:<8} {name}{latest}")
        return "\n".join(lines) + "\n"

    def privilege(self, tree: ConfigNode, user: str) -> int:
        for node in tree.find_words(["username", user]):
            if found := _PRIVILEGE.match(node.text):
                return int(found.group(2))
        return 1

    def enable_secret(self, tree: ConfigNode) -> str | None:
        node = tree.find_first(lambda n: n.text.startswith("enable secret "))
        return node.text.split()[-1] if node else None

    def open_session(self, device: Device, number: int, user: str) -> Session:
        return IosSession(device, number, user)

    # ---------------------------------------------------------------- filing lines

    def rank(self, view: str, node: ConfigNode) -> Rank:
        text = node.text.removeprefix("no ")
        if view != ROOT:
            ranker = _VIEW_ORDER.get(view)
            return (ranker(text),) if ranker else (0,)
        group = _ROOT_ORDER(text)
        words = text.split()
        if words[0] == "interface" and len(words) == 2:
            return (group, *self.interface_rank(words[1]))
        if words[0] == "vlan" and len(words) == 2 and words[1].isdigit():
            return (group, int(words[1]))
        if words[0] == "line" and len(words) >= 3 and words[2].isdigit():
            return (group, ("con", "aux", "vty").index(words[1]), int(words[2]))
        if words[0] == "banner" and len(words) >= 2 and words[1] in _BANNER_ORDER:
            return (group, _BANNER_ORDER.index(words[1]))
        return (group,)

    def view_accepts(self, view: str, words: list[str]) -> int:
        if view in ACL_VIEWS and words and words[0].isdigit():
            return len(words)
        return super().view_accepts(view, words)

    def section_header(self, frame_section: Section, match: re.Match[str], typed: Typed) -> str:
        if frame_section.kind == "if":
            return f"interface {self._interface(match.group(1), typed[1][0])}"
        if frame_section.kind == "vlan":
            number = int(match.group(1))
            if not 1 <= number <= 4094 or 1002 <= number <= 1005:
                raise CliError("invalid", typed[1][0])
            return f"vlan {number}"
        return " ".join(word for _, word in typed)

    def _interface(self, name: str, column: int) -> str:
        canonical = self.interface_name(name, column)
        if self.is_physical(canonical) and canonical not in self.hardware:
            raise CliError("invalid", column)
        if canonical.startswith("Vlan") and not 1 <= int(canonical[4:].split(".")[0]) <= 4094:
            raise CliError("invalid", column)
        return canonical

    def normalise(self, view: str, text: str, typed: Typed) -> str:
        if view != ROOT:
            return text
        if found := _SECRET.match(text):
            head, kind, value = found.groups()
            if kind in (None, "0"):
                return f"{head} 9 {passwords.cisco_type9(value)}"
            return f"{head} {kind} {value}"
        if found := _PASSWORD.match(text):
            head, kind, value = found.groups()
            return f"{head} {kind or '0'} {value}"
        return text

    def set_special(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> bool:
        if view == "if" and (found := TRUNK_CHANGE.fullmatch(text)):
            _change_trunk_vlans(parent, found.group(1), found.group(2), typed[-1][0])
            return True
        if view not in ACL_VIEWS:
            return False
        sequence: int | None = None
        if typed[0][1].isdigit():
            sequence, typed = int(typed[0][1]), typed[1:]
            if not typed:
                raise CliError("incomplete", len(text) + 1)
        if typed[0][1] == "remark":
            _insert_entry(
                parent, ConfigNode(" ".join(text.split()[1:]) if sequence else text), sequence
            )
            return True
        entry = _ace(typed, extended=view == "ext-nacl")
        if any(child.text == entry and child.seq is not None for child in parent.children):
            return True
        if sequence is not None and any(child.seq == sequence for child in parent.children):
            raise CliError("message", message="% Duplicate sequence number")
        if sequence is None:
            sequence = (
                max((c.seq for c in parent.children if c.seq is not None), default=0) + ACL_STEP
            )
        _insert_entry(parent, ConfigNode(entry, seq=sequence), sequence)
        return True

    def negate_special(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> bool:
        if view == ROOT and (found := re.fullmatch(r"interface (.+)", text)):
            name = self._interface(found.group(1), typed[1][0])
            if self.is_physical(name):
                raise CliError("invalid", typed[0][0])
            return False
        if view not in ACL_VIEWS:
            return False
        if typed[0][1].isdigit():
            parent.children = [c for c in parent.children if c.seq != int(typed[0][1])]
        elif typed[0][1] == "remark":
            parent.children = [c for c in parent.children if c.text != text]
        else:
            entry = _ace(typed, extended=view == "ext-nacl")
            parent.children = [c for c in parent.children if c.text != entry]
        return True

    def default_interface(self, parent: ConfigNode, typed: Typed) -> None:
        """``default interface X``: the interface back to no configuration."""
        if len(typed) < 3:
            raise CliError("incomplete", typed[-1][0] + len(typed[-1][1]) + 1)
        name = self._interface(" ".join(w for _, w in typed[2:]), typed[2][0])
        node = parent.find(f"interface {name}")
        if node is not None:
            node.children = []

    # ---------------------------------------------------------------- errors

    def format_error(self, error: CliError, prompt: str, line: str) -> str:
        if error.kind == "message":
            return error.message + "\n"
        if error.kind == "incomplete":
            return "% Incomplete command.\n\n"
        if error.kind == "ambiguous":
            return f'% Ambiguous command:  "{line.strip()}"\n'
        caret = " " * (len(prompt) + error.column) + "^"
        return f"{caret}\n% Invalid input detected at '^' marker.\n\n"

    def exec_commands(self) -> Sequence[ExecCommand]:
        return _EXEC_COMMANDS


# The order IOS prints its banners in.
_BANNER_ORDER = ("exec", "incoming", "login", "motd", "prompt-timeout", "slip-ppp")
BANNER_START = re.compile(r"^banner (motd|login|exec) \^C\Z")
BANNER_END = "^C"
BANNER_JOIN = "\x00"  # holds a banner's lines together while the text is parsed


def banner_text(kind: str, lines: Sequence[str]) -> str:
    """A banner as one configuration node: the lines IOS prints, joined by newlines."""
    return "\n".join([f"banner {kind} {BANNER_END}", *lines, BANNER_END])


def _banners_as_one_line(lines: Sequence[str]) -> list[str]:
    """Saved text -> lines, each banner (``banner motd ^C`` .. ``^C``) held in one line."""
    out: list[str] = []
    banner: list[str] | None = None
    for line in lines:
        if banner is not None:
            banner.append(line)
            if line == BANNER_END:
                out.append(BANNER_JOIN.join(banner))
                banner = None
        elif BANNER_START.match(line):
            banner = [line]
        else:
            out.append(line)
    return out


_VLAN = re.compile(r"vlan \d+")
ARCHIVE_MAXIMUM = 10


@dataclass(frozen=True)
class Checkpoint:
    """The configuration a revert goes back to, and its archive file name."""

    name: str
    tree: ConfigNode


TRUNK_CHANGE = re.compile(r"switchport trunk allowed vlan (add|remove|except) (\S+)")
TRUNK_LIST = "switchport trunk allowed vlan "
ALL_VLANS = frozenset(range(1, 4095))


def _vlan_set(text: str, column: int) -> set[int]:
    """``2,10-12`` -> {2, 10, 11, 12}; a bad list is IOS's "% Invalid input" at its column."""
    vlans: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise CliError("invalid", column)
        first, last = int(low), int(high or low)
        if not 1 <= first <= last <= 4094:
            raise CliError("invalid", column)
        vlans |= set(range(first, last + 1))
    return vlans


def _vlan_text(vlans: set[int]) -> str:
    """As IOS prints a trunk's list: runs of three or more as ``a-b``, the rest with commas."""
    parts: list[str] = []
    ordered = sorted(vlans)
    start = 0
    for index, vlan in enumerate(ordered):
        if index + 1 < len(ordered) and ordered[index + 1] == vlan + 1:
            continue
        run = ordered[start : index + 1]
        parts += [f"{run[0]}-{run[-1]}"] if len(run) >= 3 else [str(v) for v in run]
        start = index + 1
    return ",".join(parts)


def _change_trunk_vlans(interface: ConfigNode, how: str, listed: str, column: int) -> None:
    """``switchport trunk allowed vlan add|remove|except LIST``: IOS merges it into the
    port's one allowed list (all VLANs when the port has none) and prints that list."""
    current = next((c for c in interface.children if c.text.startswith(TRUNK_LIST)), None)
    words = current.text.removeprefix(TRUNK_LIST) if current is not None else ""
    allowed = set(ALL_VLANS) if not words or words == "all" else _vlan_set(words, column)
    change = _vlan_set(listed, column)
    allowed = {"add": allowed | change, "remove": allowed - change}.get(
        how, set(ALL_VLANS) - change
    )
    if current is not None:
        interface.remove(current)
    if allowed != ALL_VLANS:
        text = TRUNK_LIST + (_vlan_text(allowed) if allowed else "none")
        interface.children.append(ConfigNode(text))


def _interface_up(node: ConfigNode, vlans: set[int], addresses: Sequence[str]) -> bool:
    name = node.text.split()[1]
    if node.find("shutdown") is not None:
        return False
    if name.startswith("Vlan") and int(name[4:].split(".")[0]) not in vlans:
        return False  # an SVI whose VLAN does not exist is down
    return any(
        line.text.split()[2] in addresses
        for line in node.find_words(["ip", "address"])
        if len(line.text.split()) >= 4
    )


def _vty_takes_ssh(node: ConfigNode, *, aaa: bool) -> bool:
    transport = next(iter(node.find_words(["transport", "input"])), None)
    protocols = set(transport.text.split()[2:]) if transport else set()
    return bool(protocols & {"ssh", "all"}) and (aaa or node.find("login local") is not None)


def _by(user: str) -> str:
    return f" by {user}" if user else ""


def _initial_port(port: str) -> str:
    if port.endswith("/1"):
        return (
            f"interface {port}\n description uplink to the store firewall\n switchport mode trunk\n"
        )
    if port.endswith("/2"):
        return f"interface {port}\n switchport access vlan 20\n switchport mode access\n"
    return f"interface {port}\n"


def _number_entries(acl: ConfigNode) -> None:
    sequence = 0
    for entry in acl.children:
        if not entry.text.startswith("remark"):
            sequence += ACL_STEP
            entry.seq = sequence


def _insert_entry(acl: ConfigNode, node: ConfigNode, sequence: int | None) -> None:
    """Insert before the first entry with a higher number (and the remarks just above it)."""
    index = len(acl.children)
    if sequence is not None:
        later = [i for i, c in enumerate(acl.children) if c.seq is not None and c.seq > sequence]
        if later:
            index = later[0]
            while index > 0 and acl.children[index - 1].seq is None:
                index -= 1
    acl.children.insert(index, node)


def _ace(typed: Typed, *, extended: bool) -> str:
    """An access-list entry as IOS prints it; raises at the first word it cannot read."""
    words = [word for _, word in typed]
    columns = [column for column, _ in typed] + [typed[-1][0] + len(typed[-1][1]) + 1]
    if words[0] not in ("permit", "deny"):
        raise CliError("invalid", columns[0])
    out = [words[0]]
    index = 1
    protocol = "ip"
    if extended:
        if index >= len(words):
            raise CliError("incomplete", columns[index])
        protocol = words[index]
        if protocol not in _PROTOCOLS and not (protocol.isdigit() and int(protocol) < 256):
            raise CliError("invalid", columns[index])
        out.append(protocol)
        index += 1
    for _ in range(2 if extended else 1):
        address, index = _address(words, columns, index)
        out.append(address)
        if protocol in ("tcp", "udp"):
            ports, index = _ports(words, columns, index, protocol)
            out.extend(ports)
    for word in _flags(words, columns, index):
        out.append(word)
    return " ".join(out)


def _address(words: list[str], columns: list[int], index: int) -> tuple[str, int]:
    if index >= len(words):
        raise CliError("incomplete", columns[index])
    word = words[index]
    if word == "any":
        return "any", index + 1
    if word == "host":
        if index + 1 >= len(words) or not _IPV4.match(words[index + 1]):
            raise CliError(
                "invalid" if index + 1 < len(words) else "incomplete", columns[index + 1]
            )
        return f"host {words[index + 1]}", index + 2
    if not _IPV4.match(word):
        raise CliError("invalid", columns[index])
    if index + 1 >= len(words) or not _IPV4.match(words[index + 1]):
        raise CliError("invalid" if index + 1 < len(words) else "incomplete", columns[index + 1])
    wildcard = words[index + 1]
    if wildcard == "0.0.0.0":
        return f"host {word}", index + 2
    if word == "0.0.0.0" and wildcard == "255.255.255.255":
        return "any", index + 2
    return f"{word} {wildcard}", index + 2


def _ports(
    words: list[str], columns: list[int], index: int, protocol: str
) -> tuple[list[str], int]:
    if index >= len(words) or words[index] not in _PORT_OPERATORS:
        return [], index
    operator = words[index]
    count = _PORT_OPERATORS[operator]
    out = [operator]
    for offset in range(1, count + 1):
        if index + offset >= len(words):
            raise CliError("incomplete", columns[index + offset])
        out.append(_port(words[index + offset], columns[index + offset], protocol))
    return out, index + count + 1


def _port(word: str, column: int, protocol: str) -> str:
    names = _PORT_NAMES[protocol]
    if word.isdigit() and int(word) <= 65535:
        return names.get(int(word), word)
    if word in names.values():
        return word
    raise CliError("invalid", column)


def _flags(words: list[str], columns: list[int], index: int) -> list[str]:
    out: list[str] = []
    while index < len(words):
        word = words[index]
        if word in _ACE_OPTIONS:
            if index + 1 >= len(words):
                raise CliError("incomplete", columns[index + 1])
            out.extend(words[index : index + 2])
            index += 2
            continue
        if word not in _ACE_FLAGS:
            raise CliError("invalid", columns[index])
        out.append(word)
        index += 1
    return out


class IosSession(Session):
    """A Cisco IOS CLI session (exec levels 1 and 15, configuration views)."""

    exit_words = frozenset({"exit"})
    end_words = frozenset({"end", CTRL_Z})
    platform: CiscoIos

    def __init__(self, device: Device, number: int, user: str) -> None:
        super().__init__(device, number, user)
        self.level = 15 if self.platform.privilege(device.tree, user) >= 15 else 1
        self.banner_input: tuple[str, str, list[str]] | None = None  # kind, delimiter, lines

    @property
    def prompt(self) -> str:
        if self.banner_input is not None:
            return ""  # IOS prints no prompt while it takes a banner's text
        host = self.device.hostname
        if self.frames is None:
            return f"{host}{'#' if self.level >= 15 else '>'}"
        suffix = self.frames[-1].prompt if self.frames else "config"
        return f"{host[:20]}({suffix})#"

    def run(self, line: str) -> Reply:
        if self.banner_input is not None:  # every line, blank ones too, until the delimiter
            return self._banner_line(line)
        stripped = line.strip()
        if not stripped:
            return Reply()
        if self.frames is None:
            if stripped == CTRL_Z:
                return Reply()
            return self.exec_line(line, self.level)
        return self.config_line(line, stripped)

    def config_line(self, line: str, stripped: str) -> Reply:
        typed = tokens(line)
        first = typed[0][1].lower()
        if first == "banner" and len(typed) > 2 and typed[1][1] in ("motd", "login", "exec"):
            return self._start_banner(line, typed)
        if stripped == CTRL_Z:
            self.leave_config()
            return Reply()
        if first == "do" and len(typed) > 1:
            return self.exec_line(line, 15, offset=typed[1][0])
        if first == "exit-address-family" and self.current_view() == "router-af":
            assert self.frames is not None
            self.frames.pop()
            return Reply()
        if first == "default" and len(typed) > 1 and typed[1][1] == "interface":
            self.platform.default_interface(self.device.tree, typed)
            self.frames = []
            self.device.touch(self.user)
            return Reply()
        return self.configure(line)

    def _start_banner(self, line: str, typed: Typed) -> Reply:
        """``banner motd #``: the delimiter is the first character after the kind, or ``^C``
        (how the running configuration prints it, so that a saved text can be pasted)."""
        kind, (column, word) = typed[1][1], typed[2]
        delimiter = BANNER_END if word.startswith(BANNER_END) else word[0]
        rest = line[column + len(delimiter) :]
        if delimiter in rest:  # banner motd #text#
            self._file_banner(kind, [rest[: rest.index(delimiter)]])
            return Reply()
        self.banner_input = (kind, delimiter, [rest] if rest.strip() else [])
        return Reply(f"Enter TEXT message.  End with the character '{delimiter}'.\n")

    def _banner_line(self, line: str) -> Reply:
        assert self.banner_input is not None
        kind, delimiter, lines = self.banner_input
        if delimiter not in line:
            lines.append(line.rstrip("\r\n"))
            return Reply()
        if line.index(delimiter):
            lines.append(line[: line.index(delimiter)])
        self.banner_input = None
        self._file_banner(kind, lines)
        return Reply()

    def _file_banner(self, kind: str, lines: list[str]) -> None:
        tree = self.device.tree
        for node in tree.find_words(["banner", kind]):
            tree.remove(node)
        node = ConfigNode(banner_text(kind, lines))
        tree.insert_ranked(node, lambda n: self.platform.rank(ROOT, n))
        self.device.touch(self.user)

    def exec_line(self, line: str, level: int, offset: int = 0) -> Reply:
        """An exec command, possibly with an output modifier (``| include X``)."""
        command_part, modifier = split_pipe(line)
        padded = " " * offset + command_part[offset:]
        reply = self.run_exec(padded, self.platform.exec_commands(), level)
        if modifier is None:
            return reply
        column = line.index("|") + 2
        return Reply(apply_filter(reply.output, modifier, column), reply.close)


# ---------------------------------------------------------------- exec command handlers


def _session(session: Session) -> IosSession:
    assert isinstance(session, IosSession)
    return session


def _enable(session: Session, args: list[str]) -> Reply:
    ios = _session(session)
    if ios.level >= 15:
        return Reply()
    secret = ios.platform.enable_secret(ios.device.tree)
    if secret is None:
        ios.level = 15
        return Reply()
    for _ in range(3):
        answer = ios.ask("Password: ", False)
        if answer is None:
            return Reply(close=True)
        if passwords.verify(answer, secret):
            ios.level = 15
            return Reply()
    return Reply("% Bad secrets\n")


def _disable(session: Session, args: list[str]) -> Reply:
    _session(session).level = 1
    return Reply()


def _exit(session: Session, args: list[str]) -> Reply:
    return Reply(close=True)


ENTER_CONFIG = "Enter configuration commands, one per line.  End with CNTL/Z.\n"
NO_ROLLBACK = "%No Rollback Confirmed Change pending\n"
NO_ARCHIVE = "% Archive path is not configured. Configure it with 'archive' / 'path' first.\n"
REVERT_MINUTES = range(1, 121)
REVERT = "revert"  # the device timer's kind


def _configure(session: Session, args: list[str]) -> Reply:
    ios = _session(session)
    if not args:
        answer = ios.ask("Configuring from terminal, memory, or network [terminal]? ", True)
        if answer is None:
            return Reply(close=True)
        args = [answer.strip() or "terminal"]
    what = expect_words(args[:1], ("terminal", "memory", "network", "confirm", "revert"))
    if what == "confirm":
        return _configure_confirm(ios, args[1:])
    if what == "revert":
        return _configure_revert(ios, args[1:])
    if what != "terminal":
        return Reply("% Not supported by the emulator\n")
    if len(args) > 1:
        return _configure_with_revert(ios, args[1:])
    ios.enter_config()
    return Reply(ENTER_CONFIG)


def _revert_minutes(args: list[str], first: int) -> tuple[int, bool]:
    """``timer [idle] <1-120>`` (words from ``first`` on): the minutes and whether idle."""
    if not args or args[0].lower() != "timer":
        raise CliError("incomplete" if not args else "invalid", word=first)
    rest = args[1:]
    idle = bool(rest) and "idle".startswith(rest[0].lower()) and not rest[0].isdigit()
    value = rest[1:] if idle else rest
    position = first + (2 if idle else 1)
    if not value:
        raise CliError("incomplete", word=position)
    if len(value) > 1 or not value[0].isdigit() or int(value[0]) not in REVERT_MINUTES:
        raise CliError("invalid", word=position + (1 if len(value) > 1 else 0))
    return int(value[0]), idle


def _configure_with_revert(ios: IosSession, args: list[str]) -> Reply:
    """``configure terminal revert timer [idle] N``: checkpoint, arm, enter configuration."""
    if args[0].lower() != "revert":
        raise CliError("invalid", word=1)
    minutes, idle = _revert_minutes(args[1:], 2)
    device = ios.device
    archive = ios.platform.archive_path(device.tree)
    if archive is None:
        return Reply(NO_ARCHIVE)
    pending = device.timers.get(REVERT)
    checkpoint = ios.platform.checkpoint
    if pending is None or checkpoint is None:  # a pending change keeps its checkpoint
        checkpoint = ios.platform.take_checkpoint(device.tree, archive)
    device.arm(REVERT, Countdown(minutes, ios.platform.rollback, ios.user, idle=idle))
    ios.enter_config()
    backing_up = (
        f"Rollback Confirmed Change: Backing up current running config to {checkpoint.name}"
    )
    return Reply(f"{backing_up}\n\n{ENTER_CONFIG}")


def _configure_confirm(ios: IosSession, args: list[str]) -> Reply:
    if args:
        raise CliError("invalid", word=1)
    if ios.device.disarm(REVERT) is None:
        return Reply(NO_ROLLBACK)
    ios.platform.checkpoint = None
    return Reply()


def _configure_revert(ios: IosSession, args: list[str]) -> Reply:
    """``configure revert now`` / ``configure revert timer [idle] N``."""
    if not args:
        raise CliError("incomplete", word=1)
    pending = ios.device.timers.get(REVERT)
    if "now".startswith(args[0].lower()):
        if len(args) > 1:
            raise CliError("invalid", word=2)
        if pending is None:
            return Reply(NO_ROLLBACK)
        ios.device.disarm(REVERT)
        ios.platform.rollback()
        return Reply("Rollback Done\n")
    minutes, idle = _revert_minutes(args, 1)
    if pending is None:
        return Reply(NO_ROLLBACK)
    ios.device.arm(REVERT, Countdown(minutes, pending.action, ios.user, idle=idle))
    return Reply()


def _show_archive(session: Session, args: list[str]) -> Reply:
    """``show archive`` and ``show archive config rollback timer``."""
    ios = _session(session)
    words = [word.lower() for word in args]
    if not words:
        return Reply(ios.platform.archive_listing(ios.device.tree))
    wanted = ("config", "rollback", "timer")
    if len(words) != len(wanted) or not all(
        w.startswith(t) for t, w in zip(wanted, words, strict=True)
    ):
        raise CliError(
            "invalid",
            word=next(
                (
                    i
                    for i, (t, w) in enumerate(zip(wanted, words, strict=False))
                    if not t.startswith(w)
                ),
                min(len(words), 2),
            ),
        )
    pending = ios.device.timers.get(REVERT)
    if pending is None:
        return Reply(NO_ROLLBACK)
    return Reply(
        f"Time configured(or reset) : {_ios_time(pending.started)}\n"
        f"Timer type : {'idle' if pending.idle else 'absolute'}\n"
        f"Timer value : {pending.minutes:g} min\n"
        f"User : {pending.user}\n"
    )


def _show_running(session: Session, args: list[str]) -> Reply:
    device = session.device
    if not args:
        return Reply(device.running_config())
    if len(args) >= 2 and "interface".startswith(args[0].lower()):
        platform = _session(session).platform
        name = platform.interface_name("".join(args[1:]), 0)
        node = device.tree.find(f"interface {name}")
        if node is None:
            return Reply()
        body = "\n".join(["!", *node.lines(), "end"]) + "\n"
        return Reply(
            f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}"
        )
    raise CliError("invalid", word=0)


def _show_startup(session: Session, args: list[str]) -> Reply:
    saved = session.device.saved_config()
    if saved is None:
        return Reply("startup-config is not present\n")
    return Reply(f"Using {len(saved)} out of {NVRAM_BYTES} bytes\n{saved}")


def _show_version(session: Session, args: list[str]) -> Reply:
    device = session.device
    booted = device.booted
    host = device.hostname
    return Reply(
        f"""\
Cisco IOS Software, C3560CX Software ({IMAGE}), Version {VERSION}, RELEASE SOFTWARE (fc3)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2023 by Cisco Systems, Inc.
Compiled Mon 20-Mar-23 06:46 by mcpre


ROM: Bootstrap program is C3560CX boot loader
BOOTLDR: C3560CX Boot Loader (C3560CX-HBOOT-M) Version 15.2(4r)E5, RELEASE SOFTWARE (fc4)

{host} uptime is {_uptime(clock_now() - booted)}
System returned to ROM by power-on
System restarted at {_ios_time(booted)}
System image file is "flash:c3560cx-universalk9-mz.152-7.E8.bin"
Last reload reason: power-on



{_CRYPTO_NOTICE}

License Level: ipservices
License Type: Permanent Right-To-Use
Next reload license Level: ipservices

cisco {MODEL} (APM86XXX) processor (revision L0) with 524288K bytes of memory.
Processor board ID {SERIAL}
Last reset from power-on
2 Virtual Ethernet interfaces
{len(PORTS)} Gigabit Ethernet interfaces
The password-recovery mechanism is enabled.

512K bytes of flash-simulated non-volatile configuration memory.
Base ethernet MAC Address       : {MAC}
Motherboard assembly number     : 73-16471-05
Power supply part number        : 341-0675-01
Motherboard serial number       : FOC21350WZL
Model revision number           : L0
Motherboard revision number     : A0
Model number                    : {MODEL}
System serial number            : {SERIAL}
Top Assembly Part Number        : 68-5359-04
Top Assembly Revision Number    : D0
Version ID                      : V03
CLEI Code Number                : CMM1N00DRA
Hardware Board Revision Number  : 0x02


Switch Ports Model                     SW Version            SW Image
------ ----- -----                     ----------            ----------
*    1 {len(PORTS):<5} {MODEL:<25} {VERSION:<21} {IMAGE}


Configuration register is 0xF

"""
    )


def _uptime(delta: timedelta) -> str:
    """``1 week, 3 days, 16 hours, 11 minutes``: leading zero units left out, as IOS does."""
    seconds = int(delta.total_seconds())
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    parts: list[str] = []
    for value, unit in (
        (days // 365, "year"),
        (days % 365 // 7, "week"),
        (days % 7, "day"),
        (hours, "hour"),
    ):
        if value or parts:
            parts.append(f"{value} {unit}{'' if value == 1 else 's'}")
    parts.append(f"{minutes} minute{'' if minutes == 1 else 's'}")
    return ", ".join(parts)


def _show_clock(session: Session, args: list[str]) -> Reply:
    now = clock_now()
    return Reply(
        f"*{now:%H:%M:%S}.{now.microsecond // 1000:03d} UTC {now:%a %b} {now.day} {now.year}\n"
    )


def _show_access_lists(session: Session, args: list[str]) -> Reply:
    if len(args) > 1:
        raise CliError("invalid", word=1)
    out: list[str] = []
    for node in session.device.tree.find_words(["ip", "access-list"]):
        kind, name = node.text.split()[2:4]
        if args and name != args[0]:
            continue
        out.append(f"{'Extended' if kind == 'extended' else 'Standard'} IP access list {name}")
        out.extend(f"    {c.seq} {c.text}" for c in node.children if c.seq is not None)
    return Reply("\n".join(out) + "\n" if out else "")


def _terminal(session: Session, args: list[str]) -> Reply:
    if len(args) == 2 and args[0] in ("length", "width") and args[1].isdigit():
        return Reply()
    if args in (["monitor"], ["no", "monitor"]):
        return Reply()
    raise CliError("invalid" if args else "incomplete", word=0)


def _write(session: Session, args: list[str]) -> Reply:
    target = expect_words(args, ("memory", "terminal")) if args else "memory"
    if target == "terminal":
        return Reply(session.device.running_config())
    session.device.save(session.user)
    return Reply("Building configuration...\n[OK]\n")


def _copy(session: Session, args: list[str]) -> Reply:
    ios = _session(session)
    if [a.lower() for a in args] not in (["running-config", "startup-config"], ["run", "start"]):
        raise CliError("invalid" if args else "incomplete", word=0)
    answer = ios.ask("Destination filename [startup-config]? ", True)
    if answer is None:
        return Reply(close=True)
    if answer.strip() not in ("", "startup-config"):
        return Reply("%Error opening (Not supported by the emulator)\n")
    ios.device.save(ios.user)
    return Reply("Building configuration...\n[OK]\n")


_EXEC_COMMANDS = (
    command("enable", _enable),
    command("disable", _disable, level=15),
    command("exit", _exit),
    command("logout", _exit),
    command("quit", _exit),
    command("configure", _configure, args=True, level=15),
    command("show version", _show_version),
    command("show clock", _show_clock),
    command("show running-config", _show_running, args=True, level=15),
    command("show startup-config", _show_startup, level=15),
    command("show access-lists", _show_access_lists, args=True),
    command("show archive", _show_archive, args=True, level=15),
    command("show ip access-lists", _show_access_lists, args=True),
    command("terminal", _terminal, args=True),
    command("write", _write, args=True, level=15),
    command("copy", _copy, args=True, level=15),
)
