"""Huawei VRP V200R019 on an S5720 store core switch (netmiko ``huawei``).

Emulated:

- views: user view ``<host>``; ``system-view`` -> ``[host]``; section views named as VRP
  names them: ``[host-Vlanif10]``, ``[host-GigabitEthernet0/0/1]``, ``[host-vlan10]``,
  ``[host-acl-adv-STOREOPS-IN-OFFICE]`` (``acl-basic-``/``acl-L2-`` by number range),
  ``[host-aaa]`` and ``[host-aaa-authen-default]``, ``[host-ui-vty0-4]``,
  ``[host-ospf-1-area-0.0.0.0]``; ``quit`` one view up (from ``[host]`` to ``<host>``, from
  ``<host>`` out), ``return`` or Ctrl-Z back to ``<host>``; a command of a parent view typed
  in a section runs there and moves the session there; ``display``/``save`` work in every
  view, as on VRP;
- configuration lines are filed into the tree (see :mod:`storeops_lab.devices.platform`):
  single-instance commands (``sysname``, ``description``, ``ip address``, ``port link-type``,
  ``traffic-filter inbound``, ``local-user X password``...) replace their previous value,
  ``undo`` removes;
- ``vlan batch 10 20 30 to 33`` is one set of VLANs: ``vlan batch`` adds, ``undo vlan
  batch`` removes (with the VLANs' ``vlan N`` sections), ``vlan N`` adds N; a ``vlan N``
  section with nothing under it is not printed;
- ACLs: ``acl name NAME [number|advance|basic]`` (a number is picked from 3999 down when
  none is given) and ``acl [number] N``, printed as ``acl name NAME 3040`` /
  ``acl number 3000``; ``rule [ID] permit|deny ...`` with IDs in steps of 5 when none is
  given; rule fields are validated and printed in VRP's order (source, destination,
  source-port, destination-port, icmp-type, tcp-flag, logging...), ``source any`` left out,
  a host as ``A 0``, well-known ports by name; each ``rule N description`` follows its rule;
  ``undo rule N`` removes the rule *and its description*, ``undo rule N description``
  only the description;
- passwords: ``local-user X password irreversible-cipher S`` is stored hashed
  (``$1a$...$``, fresh salt each time); SSH logins are checked against these lines;
- exec commands: ``display current-configuration``, ``display saved-configuration``,
  ``display this``, ``display version`` (parses with ntc-templates), ``display clock``,
  ``save`` (``Are you sure to continue?[Y/N]:``, as netmiko's ``save_config`` expects),
  ``screen-length N temporary``, ``system-view``, ``quit``; output modifiers
  ``| include|exclude|begin``; abbreviations (``dis cur``, ``sys``); errors as VRP prints
  them (``Error: Unrecognized command found at '^' position.`` under a caret, and the
  ``Incomplete``, ``Ambiguous``, ``Wrong parameter`` variants).

- VLAN lists as VRP prints them: ``vlan batch`` and ``port trunk allow-pass vlan`` are one
  set each (the command adds, ``undo`` takes away), printed ascending with runs of
  consecutive VLANs as ``A to B`` (``vlan batch 30 230 to 231 233``); ``header login|shell
  information "..."`` kept as typed (inner spaces too), ``undo header login|shell``;
- the scheduled reboot, VRP5's safety net for a risky change (an S5720 has no two-stage
  commit): ``schedule reboot delay <hh:mm|mm>`` / ``schedule reboot at <hh:mm>
  [YYYY/MM/DD]`` in the user view asks ``Info: Reboot system at 14:30:00 2026/06/12 (in 0
  hours and 10 minutes). Confirm? [Y/N]:``; ``undo schedule reboot`` asks, then cancels;
  ``display schedule reboot``. When it expires the device reboots: every connection is
  dropped, the running configuration is replaced by the saved one (what ``save`` stored)
  and no connection is accepted for the boot time (3 device minutes). The prompts' exact
  wording is reconstructed from Huawei's command references, not copied from a device.

Not emulated: the full VRP grammar (arguments of most commands are not checked), the
two-stage ``commit`` / ``commit trial`` of VRP V8 (the lab emulates a VRP5 campus switch,
which has none: the scheduled reboot above is its safety net), VLAN lists longer than a
real device prints on one line (VRP may wrap them), the ``reboot`` command,
``display`` commands other than the ones above, physical
interface removal (refused), ``port-group``, ``interface range``, and whether a real device
accepts ``undo rule N <rule text>`` (hier_config sends that form; the emulator removes rule N).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from storeops_lab.devices import passwords
from storeops_lab.devices.cli import (
    CTRL_Z,
    CliError,
    ExecCommand,
    Reply,
    apply_filter,
    command,
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

MODEL = "S5720-28X-SI-AC"
SOFTWARE = "V200R019C10SPC500"
GE_PORTS = tuple(f"GigabitEthernet0/0/{n}" for n in range(1, 25))
XGE_PORTS = tuple(f"XGigabitEthernet0/0/{n}" for n in range(1, 5))
RULE_STEP = 5
FILTERS = ("include", "exclude", "begin")
SAVED = "Save the configuration successfully.\n"

# The order VRP prints top-level lines in ("|": the same rank; "*": anything else).
_ROOT_ORDER = order_ranker(
    """sysname, board, vlan batch, stp, authentication-profile, clock, telnet, http, dhcp,
    diffserv, radius-server, hwtacacs-server, acl, vlan, aaa, ntp-service, *, interface,
    info-center, snmp-agent, stelnet | ssh | sftp | scp, ip route-static, header,
    user-interface, port-group"""
)
_VIEW_ORDER = {"if": order_ranker("description, port link-type, port, ip address, *, shutdown")}

_SECTIONS = (
    section("if", r"interface (\S+(?: \d\S*)?)", "{0}", lead="interface"),
    section("vlan", r"vlan (\d+)", "vlan{0}"),
    section("acl", r"acl (?:name \S+(?: \S+)?|(?:number )?\d+)", "acl", lead="acl"),
    section("aaa", r"aaa", "aaa"),
    section("authen", r"authentication-scheme (\S+)", "authen-{0}", parent="aaa"),
    section("author", r"authorization-scheme (\S+)", "author-{0}", parent="aaa"),
    section("accounting", r"accounting-scheme (\S+)", "accounting-{0}", parent="aaa"),
    section("domain", r"domain (\S+)", "domain-{0}", parent="aaa"),
    section("ui", r"user-interface (con|vty) (\d+)(?: (\d+))?", "ui", lead="user-interface"),
    section("ospf", r"ospf (\d+)(?: router-id \S+)?", "ospf-{0}"),
    section("area", r"area (\S+)", "area-{0}", parent="ospf"),
    section("mst", r"stp region-configuration", "mst-region"),
)

# The commands each view knows, by their leading words.
_VIEWS: dict[str, Vocabulary | None] = {
    ROOT: vocabulary(
        """sysname, vlan, interface, acl, aaa, user-interface, ntp-service, info-center,
        snmp-agent, stp, ip route-static, ip vpn-instance, ip ip-prefix, ip http, ip host, clock,
        header, stelnet, ssh, telnet, http, dhcp, dns, lldp, ospf, bgp, rip, hwtacacs-server,
        radius-server, authentication-profile, diffserv, traffic, qos, port-group, cpu-defend,
        sftp, scp, ftp, lacp, loopback-detect, mac-address, arp, igmp-snooping, multicast, icmp,
        super, command-privilege, set, drop-profile, anti-attack"""
    ),
    "if": vocabulary(
        """description, ip address, ip binding, port link-type, port default vlan, port trunk,
        port hybrid, port-isolate, port-security, port, shutdown, traffic-filter, traffic-policy,
        stp, speed, duplex, negotiation, mtu, jumboframe, eth-trunk, lldp, loopback-detect, dhcp,
        arp, qos, trust, broadcast-suppression, multicast-suppression, unicast-suppression,
        storm-control, poe, voice-vlan, mac-limit, mac-address, vrrp, ospf, pim, igmp, alias,
        flow-control, ipv6, dot1x, mac-authen, authentication-profile, statistic, set,
        energy-saving, bpdu, l2protocol-tunnel, mode, local-proxy-arp, arp-proxy"""
    ),
    "vlan": vocabulary(
        """description, name, mac-address, igmp-snooping, mux-vlan, aggregate-vlan,
        multicast-vlan, dhcp, arp, statistic, user-vlan"""
    ),
    "acl": vocabulary("rule, description, step"),
    "aaa": vocabulary(
        """local-user, authentication-scheme, authorization-scheme, accounting-scheme, domain,
        local-aaa-user, recording-scheme"""
    ),
    "authen": vocabulary("authentication-mode"),
    "author": vocabulary("authorization-mode"),
    "accounting": vocabulary("accounting-mode"),
    "domain": vocabulary(
        """authentication-scheme, authorization-scheme, accounting-scheme, radius-server,
        hwtacacs-server"""
    ),
    "ui": vocabulary(
        """authentication-mode, protocol inbound, user privilege, idle-timeout, screen-length,
        history-command, acl, shell, set authentication"""
    ),
    "ospf": vocabulary(
        """area, import-route, default-route-advertise, silent-interface, bandwidth-reference,
        preference, filter-policy, maximum"""
    ),
    "area": vocabulary("network, authentication-mode, stub, nssa, abr-summary"),
    "mst": vocabulary("region-name, instance, revision-level, active"),
}

# Single-instance commands: a new line with the same match (groups) replaces the old one.
_KEYS = {
    ROOT: key_patterns(
        r"^(sysname) ",
        r"^(clock timezone) ",
        r"^(info-center loghost \S+)",
        r"^(ntp-service unicast-server \S+)",
        r"^(snmp-agent sys-info location) ",
        r"^(snmp-agent sys-info contact) ",
        r"^(stp mode) ",
        r"^(header (?:login|shell)) ",
        r"^(ip route-static \S+ \S+ \S+)",
    ),
    "if": key_patterns(
        r"^(description) ",
        r"^(ip address) (?!.* sub$)",
        r"^(port link-type) ",
        r"^(port default vlan) ",
        r"^(port trunk pvid vlan) ",
        r"^(traffic-filter (?:inbound|outbound)) ",
        r"^(speed) ",
        r"^(duplex) ",
        r"^(mtu) ",
        r"^(eth-trunk) ",
    ),
    "vlan": key_patterns(r"^(description) ", r"^(name) "),
    "acl": key_patterns(
        r"^(rule \d+) (?:permit|deny)\b",
        r"^(rule \d+ description) ",
        r"^(description) ",
        r"^(step) ",
    ),
    "aaa": key_patterns(
        r"^(local-user \S+ password) ",
        r"^(local-user \S+ privilege level) ",
        r"^(local-user \S+ service-type) ",
    ),
    "ui": key_patterns(
        r"^(authentication-mode) ",
        r"^(protocol inbound) ",
        r"^(user privilege level) ",
        r"^(idle-timeout) ",
    ),
}

_LOCAL_USER_PASSWORD = re.compile(
    r"^(local-user \S+ password (?:irreversible-cipher|cipher)) (\S+)\Z"
)
_RULE = re.compile(r"^rule(?: (\d+))? (permit|deny)\b")
# Rule fields in the order VRP prints them, and how many words follow the simple ones.
_RULE_ORDER = (
    "source",
    "destination",
    "source-port",
    "destination-port",
    "icmp-type",
    "tcp-flag",
    "dscp",
    "precedence",
    "tos",
    "fragment",
    "logging",
    "time-range",
    "vpn-instance",
    "ttl-expired",
)
_RULE_ARITY = dict.fromkeys(["dscp", "precedence", "tos", "time-range", "vpn-instance"], 1) | (
    dict.fromkeys(["fragment", "logging", "ttl-expired"], 0)
)
# Port names VRP prints instead of numbers (as storeops' huawei_vrp ACL template has them).
_PORT_NAMES = {
    "tcp": {21: "ftp", 23: "telnet", 25: "smtp", 53: "domain", 80: "www", 110: "pop3", 179: "bgp"},
    "udp": {67: "bootps", 68: "bootpc", 69: "tftp", 123: "ntp", 161: "snmp", 162: "snmptrap"}
    | {514: "syslog"},
}
_PROTOCOLS = frozenset({"ip", "tcp", "udp", "icmp", "igmp", "gre", "ospf"})
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\Z")


class HuaweiVrp(Platform):
    """Huawei VRP: see the module docstring for what is and is not emulated."""

    name = "huawei_vrp"
    netmiko_device_type = "huawei"
    ssh_version = "SSH-2.0-HUAWEI-1.5"
    negation = "undo"
    default_hostname = "HUAWEI"
    saved_file_suffix = "vrpcfg.cfg"
    sections = _SECTIONS
    views = _VIEWS
    keys = _KEYS
    shown_negations: ClassVar[dict[str, dict[str, bool]]] = {}
    physical_interface_types = (
        "GigabitEthernet",
        "XGigabitEthernet",
        "MEth",
        "NULL",
        "Ethernet",
    )
    interface_types = (
        "Vlanif",
        "MEth",
        "Eth-Trunk",
        "GigabitEthernet",
        "XGigabitEthernet",
        "NULL",
        "LoopBack",
        "Tunnel",
        "Ethernet",
    )

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
        ports = "".join(_initial_port(port) for port in (*GE_PORTS, *XGE_PORTS))
        return f"""\
sysname {hostname}
vlan batch 10 20 40
clock timezone UTC add 00:00:00
vlan 10
 description MGMT
vlan 20
 description SERVERS
vlan 40
 description OFFICE
aaa
 authentication-scheme default
 authorization-scheme default
 accounting-scheme default
 domain default
 domain default_admin
 local-user {username} password irreversible-cipher {passwords.huawei_cipher(password)}
 local-user {username} privilege level 15
 local-user {username} service-type ssh
ntp-service unicast-server 192.0.2.10
interface Vlanif1
interface Vlanif10
 description management
 ip address {address} 255.255.255.0
interface MEth0/0/1
{ports}interface NULL0
info-center loghost 192.0.2.20
stelnet server enable
ssh user {username}
ssh user {username} authentication-type password
ssh user {username} service-type stelnet
ip route-static 0.0.0.0 0.0.0.0 192.0.2.1
user-interface con 0
 authentication-mode aaa
user-interface vty 0 4
 authentication-mode aaa
 user privilege level 15
 protocol inbound ssh
"""

    def parse(self, text: str) -> ConfigNode:
        body = [line for line in text.splitlines() if not line.startswith(("#", "!", "return"))]
        return parse_indented(body)

    def render(self, tree: ConfigNode) -> list[str]:
        """Top-level lines with ``#`` between groups and around sections."""
        out: list[str] = ["#"]
        previous: tuple[int, bool, str] | None = None
        for node in tree.children:
            if _hidden(node):
                continue
            block = bool(node.children) or self.match_section(ROOT, node.text) is not None
            group = self.rank(ROOT, node)[0]
            first = node.text.split()[0]
            grouped = (
                previous is not None
                and first == previous[2]
                and first in ("vlan", "user-interface")
            )
            if (
                previous is not None
                and not grouped
                and (block or previous[1] or group != previous[0])
            ):
                out.append("#")
            out.extend(node.lines())
            previous = (group, block, first)
        out.append("#")
        return out

    def _document(self, device: Device) -> str:
        header = [f"!Software Version {SOFTWARE}"]
        change = device.last_change
        header.append(
            f"!Last configuration was updated at {_vrp_time(change.at)}" + _by(change.user)
        )
        if device.last_saved is not None:
            saved = device.last_saved
            header.append(
                f"!Last configuration was saved at {_vrp_time(saved.at)}" + _by(saved.user)
            )
        return "\n".join([*header, *self.render(device.tree), "return"]) + "\n"

    def running_config(self, device: Device) -> str:
        return self._document(device)

    def saved_text(self, device: Device) -> str:
        return self._document(device)

    # ---------------------------------------------------------------- identity and logins

    def hostname(self, tree: ConfigNode) -> str:
        node = tree.find_first(lambda n: n.text.startswith("sysname "))
        return node.text.split(maxsplit=1)[1] if node else self.default_hostname

    def check_login(self, tree: ConfigNode, user: str, password: str) -> bool:
        """A local user with this password, allowed SSH (``service-type ... ssh``)."""
        aaa = tree.find("aaa")
        stored = aaa.find_words(["local-user", user, "password"]) if aaa else []
        services = aaa.find_words(["local-user", user, "service-type"]) if aaa else []
        allowed = any("ssh" in node.text.split()[3:] for node in services)
        return allowed and bool(stored) and passwords.verify(password, stored[0].text.split()[-1])

    def management_path(self, tree: ConfigNode, addresses: Sequence[str]) -> bool:
        """A Vlanif (or routed port) holding one of ``addresses``, not shut down, its VLAN
        created; ``stelnet server enable``; a VTY with ``authentication-mode aaa`` and
        ``protocol inbound ssh|all``."""
        vlans = {1} | _batch(tree)
        up = any(_interface_up(node, vlans, addresses) for node in tree.find_words(["interface"]))
        vty = any(
            node.find("authentication-mode aaa") is not None
            and any(
                {"ssh", "all"} & set(line.text.split()[2:])
                for line in node.find_words(["protocol", "inbound"])
            )
            for node in tree.find_words(["user-interface", "vty"])
        )
        return up and vty and tree.find("stelnet server enable") is not None

    def open_session(self, device: Device, number: int, user: str) -> Session:
        return VrpSession(device, number, user)

    # ---------------------------------------------------------------- filing lines

    def rank(self, view: str, node: ConfigNode) -> Rank:
        text = node.text.removeprefix("undo ")
        words = text.split()
        if view == "acl":
            return _acl_child_rank(words)
        if view != ROOT:
            ranker = _VIEW_ORDER.get(view)
            return (ranker(text),) if ranker else (0,)
        return (_ROOT_ORDER(text), *self._within_group(words))

    def _within_group(self, words: list[str]) -> Rank:
        """Interfaces by type and number, VLANs and ACLs by number, con before vty."""
        if words[0] == "interface" and len(words) == 2:
            return self.interface_rank(words[1])
        if words[0] in ("vlan", "acl") and words[-1].isdigit():
            return (int(words[-1]),)
        if words[0] == "user-interface" and len(words) >= 3:
            return (("con", "vty").index(words[1]), int(words[2]))
        return ()

    def section_header(self, frame_section: Section, match: re.Match[str], typed: Typed) -> str:
        if frame_section.kind == "if":
            return f"interface {self._interface(match.group(1), typed[1][0])}"
        if frame_section.kind == "acl":
            return self._acl_header(typed)
        if frame_section.kind == "vlan":
            if not 1 <= int(match.group(1)) <= 4094:
                raise CliError("parameter", typed[1][0])
            return f"vlan {int(match.group(1))}"
        if frame_section.kind == "area":
            return f"area {_area_id(match.group(1), typed[1][0])}"
        return " ".join(word for _, word in typed)

    def prompt_suffix(self, frame_section: Section, match: re.Match[str], header: str) -> str:
        words = header.split()
        if frame_section.kind == "if":
            return words[1]
        if frame_section.kind == "acl":
            number = _acl_number(header)
            kind = "basic" if number < 3000 else "adv" if number < 4000 else "L2"
            return f"acl-{kind}-{words[2] if words[1] == 'name' else number}"
        if frame_section.kind == "ui":
            first = int(words[2])
            if words[1] == "con":
                return f"ui-console{first}"
            return f"ui-vty{first}-{words[3]}" if len(words) > 3 else f"ui-vty{first}"
        if frame_section.kind == "area":
            return f"area-{words[1]}"
        return super().prompt_suffix(frame_section, match, header)

    def _interface(self, name: str, column: int) -> str:
        canonical = self.interface_name(name, column)
        if self.is_physical(canonical) and canonical not in self.hardware:
            raise CliError("parameter", column)
        return canonical

    def _acl_header(self, typed: Typed) -> str:
        """``acl name X [N|advance|basic]`` / ``acl [number] N`` -> the displayed header."""
        words = [word for _, word in typed]
        if words[1] == "name":
            existing = self._acl_by_name(words[2])
            if existing is not None:
                return existing.text
            number = self._acl_number_for(words[3] if len(words) > 3 else "advance", typed)
            return f"acl name {words[2]} {number}"
        number = int(words[-1])
        if not 2000 <= number <= 4999:
            raise CliError("parameter", typed[-1][0])
        named = self.tree_acls(lambda n: _acl_number(n.text) == number)
        return named[0].text if named else f"acl number {number}"

    def _acl_by_name(self, name: str) -> ConfigNode | None:
        found = self.tree_acls(lambda n: n.text.split()[1:3] == ["name", name])
        return found[0] if found else None

    def _acl_number_for(self, word: str, typed: Typed) -> int:
        if word.isdigit():
            if not 2000 <= int(word) <= 4999:
                raise CliError("parameter", typed[3][0])
            return int(word)
        top = {"advance": 3999, "basic": 2999}.get(word)
        if top is None:
            raise CliError("parameter", typed[3][0])
        used = {_acl_number(n.text) for n in self.tree_acls(lambda n: True)}
        return next(n for n in range(top, top - 1000, -1) if n not in used)

    def tree_acls(self, predicate: Callable[[ConfigNode], bool]) -> list[ConfigNode]:
        """The ACL sections of the running configuration that satisfy ``predicate``."""
        return [n for n in self.tree.children if n.text.startswith("acl ") and predicate(n)]

    def line_text(self, line: str, body: Typed) -> str:
        """``header login|shell information "..."``: the text kept as typed, inner spaces
        included, as VRP prints it back."""
        words = [word.lower() for _, word in body]
        if len(body) > 3 and words[0] == "header" and words[2] == "information":
            return f"header {words[1]} information {line[body[3][0] :].rstrip()}"
        return super().line_text(line, body)

    def normalise(self, view: str, text: str, typed: Typed) -> str:
        if view == "aaa" and (found := _LOCAL_USER_PASSWORD.match(text)):
            head, value = found.groups()
            head = (
                head.replace(" cipher", " irreversible-cipher", 1)
                if " irreversible" not in head
                else head
            )
            return (
                f"{head} {value if passwords.is_hashed(value) else passwords.huawei_cipher(value)}"
            )
        if view == "acl" and _RULE.match(text):
            return _rule(typed)
        return text

    def set_line(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> None:
        if view == "acl" and (found := _RULE.match(text)) and found.group(1) is None:
            used = [int(w[1]) for w in (c.text.split() for c in parent.children) if w[0] == "rule"]
            number = (max(used, default=0) // RULE_STEP + 1) * RULE_STEP
            text = f"rule {number} {text.split(maxsplit=1)[1]}"
            typed = tokens(text)
        super().set_line(view, parent, text, typed)

    def set_special(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> bool:
        if view == "if" and text.startswith(ALLOW_PASS):
            _allow_pass(parent, typed, remove=False)
            return True
        if view == ROOT and text.startswith("vlan batch"):
            vlans = _vlan_set(typed[2:], typed[-1][0] + len(typed[-1][1]) + 1)
            _set_batch(parent, _batch(parent) | vlans)
            return True
        found = re.match(r"rule (\d+) description", text) if view == "acl" else None
        if found and not any(c.text.startswith(f"rule {found[1]} ") for c in parent.children):
            raise CliError("message", message="Error: The rule does not exist.")
        return False

    def negate_special(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> bool:
        words = text.split()
        if view == "if" and text.startswith(ALLOW_PASS) and len(words) > 4:
            _allow_pass(parent, typed, remove=True)
            return True
        if view == ROOT and words[:2] == ["vlan", "batch"]:
            _remove_vlans(parent, _vlan_set(typed[2:], typed[-1][0] + len(typed[-1][1]) + 1))
            return True
        if view == ROOT and words[0] == "vlan" and len(words) == 2 and words[1].isdigit():
            _remove_vlans(parent, {int(words[1])})
            return True
        if view == ROOT and words[0] == "interface" and len(typed) > 1:
            name = self._interface(" ".join(words[1:]), typed[1][0])
            if self.is_physical(name):
                raise CliError("parameter", typed[1][0])
        if view == ROOT and words[0] == "acl" and len(typed) > 1:
            header = self._acl_header(typed)
            parent.children = [c for c in parent.children if c.text != header]
            return True
        if view == "acl" and words[0] == "rule":
            _undo_rule(parent, words, typed)
            return True
        return False

    def on_enter(self, tree: ConfigNode, frame_section: Section, header: str) -> None:
        if frame_section.kind == "vlan":
            _set_batch(tree, _batch(tree) | {int(header.split()[1])})

    # ---------------------------------------------------------------- errors

    def format_error(self, error: CliError, prompt: str, line: str) -> str:
        if error.kind == "message":
            return error.message + "\n"
        what = {
            "invalid": "Unrecognized command",
            "incomplete": "Incomplete command",
            "ambiguous": "Ambiguous command",
            "parameter": "Wrong parameter",
        }[error.kind]
        caret = " " * (len(prompt) + error.column) + "^"
        return f"{caret}\nError: {what} found at '^' position.\n"

    def exec_commands(self) -> Sequence[ExecCommand]:
        return _VIEW_COMMANDS


def _interface_up(node: ConfigNode, vlans: set[int], addresses: Sequence[str]) -> bool:
    name = node.text.split()[1]
    if node.find("shutdown") is not None:
        return False
    if name.startswith("Vlanif") and int(name[6:]) not in vlans:
        return False  # a Vlanif whose VLAN does not exist is down
    return any(
        line.text.split()[2] in addresses
        for line in node.find_words(["ip", "address"])
        if len(line.text.split()) >= 4
    )


def _by(user: str) -> str:
    return f" by {user}" if user else ""


def _vrp_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}+00:00"


def _hidden(node: ConfigNode) -> bool:
    """A ``vlan N`` section with nothing under it is not printed (its VLAN is in the batch)."""
    words = node.text.split()
    return len(words) == 2 and words[0] == "vlan" and words[1].isdigit() and not node.children


def _initial_port(port: str) -> str:
    if port.endswith("0/0/1") and port.startswith("Gig"):
        return (
            f"interface {port}\n description uplink to the store firewall\n"
            " port link-type trunk\n port trunk allow-pass vlan 10 20 40\n"
        )
    if port.endswith("0/0/2") and port.startswith("Gig"):
        return f"interface {port}\n port link-type access\n port default vlan 20\n"
    return f"interface {port}\n"


def _area_id(word: str, column: int) -> str:
    if word.isdigit():
        number = int(word)
        return ".".join(str(number >> shift & 255) for shift in (24, 16, 8, 0))
    if _IPV4.match(word):
        return word
    raise CliError("parameter", column)


def _acl_number(header: str) -> int:
    return int(header.rsplit(maxsplit=1)[-1])


def _acl_child_rank(words: list[str]) -> Rank:
    if words[0] == "description":
        return (0,)
    if words[0] == "step":
        return (1,)
    if words[0] == "rule" and words[1].isdigit():
        return (2, int(words[1]), 1 if len(words) > 2 and words[2] == "description" else 0)
    return (3,)


def _batch(tree: ConfigNode) -> set[int]:
    node = tree.find_first(lambda n: n.text.startswith("vlan batch "))
    return _vlans_of(node.text[len("vlan batch ") :]) if node is not None else set()


def _set_batch(tree: ConfigNode, vlans: set[int]) -> None:
    """Rewrite the ``vlan batch`` line: runs of consecutive VLANs as ``A to B``."""
    vlans.discard(1)
    node = tree.find_first(lambda n: n.text.startswith("vlan batch "))
    if not vlans:
        if node is not None:
            tree.remove(node)
        return
    text = f"vlan batch {vlan_ranges(vlans)}"
    if node is not None:
        node.text = text
    else:
        tree.insert_ranked(ConfigNode(text), lambda n: (_ROOT_ORDER(n.text),))


def vlan_ranges(vlans: set[int]) -> str:
    """VLANs as VRP prints them: ascending, runs of consecutive ones as ``A to B``
    (``30 230 to 231 233``; two consecutive VLANs are a run too)."""
    parts: list[str] = []
    ordered = sorted(vlans)
    start = previous = ordered[0]
    for vlan in [*ordered[1:], -1]:
        if vlan == previous + 1:
            previous = vlan
            continue
        parts.append(str(start) if start == previous else f"{start} to {previous}")
        start = previous = vlan
    return " ".join(parts)


def _vlans_of(text: str) -> set[int]:
    """The VLANs of a printed list (``10 20 to 22``)."""
    words = text.split()
    vlans: set[int] = set()
    index = 0
    while index < len(words):
        if index + 2 < len(words) and words[index + 1] == "to":
            vlans.update(range(int(words[index]), int(words[index + 2]) + 1))
            index += 3
        else:
            vlans.add(int(words[index]))
            index += 1
    return vlans


ALLOW_PASS = "port trunk allow-pass vlan"


def _allow_pass(parent: ConfigNode, typed: Typed, *, remove: bool) -> None:
    """``[undo] port trunk allow-pass vlan <list>``: one set of VLANs per port, printed as
    one line with ranges; the command adds to it, ``undo`` takes away."""
    end = typed[-1][0] + len(typed[-1][1]) + 1
    typed_vlans = _vlan_set(typed[4:], end)
    node = next(iter(parent.find_words(ALLOW_PASS.split())), None)
    current = _vlans_of(node.text[len(ALLOW_PASS) :]) if node is not None else set()
    vlans = current - typed_vlans if remove else current | typed_vlans
    if not vlans:
        if node is not None:
            parent.remove(node)
        return
    text = f"{ALLOW_PASS} {vlan_ranges(vlans)}"
    if node is not None:
        node.text = text
    else:
        parent.insert_ranked(ConfigNode(text), lambda n: (_VIEW_ORDER["if"](n.text),))


def _vlan_set(typed: Typed, end: int) -> set[int]:
    if not typed:
        raise CliError("incomplete", end)
    vlans: set[int] = set()
    index = 0
    while index < len(typed):
        column, word = typed[index]
        if not word.isdigit() or not 1 <= int(word) <= 4094:
            raise CliError("parameter", column)
        if index + 1 < len(typed) and typed[index + 1][1] == "to":
            if index + 2 >= len(typed):
                raise CliError("incomplete", end)
            last_column, last = typed[index + 2]
            if not last.isdigit() or not int(word) <= int(last) <= 4094:
                raise CliError("parameter", last_column)
            vlans.update(range(int(word), int(last) + 1))
            index += 3
            continue
        vlans.add(int(word))
        index += 1
    return vlans


def _remove_vlans(tree: ConfigNode, vlans: set[int]) -> None:
    _set_batch(tree, _batch(tree) - vlans)
    tree.children = [
        node
        for node in tree.children
        if not (
            node.text.startswith("vlan ")
            and node.text[5:].isdigit()
            and int(node.text[5:]) in vlans
        )
    ]


def _undo_rule(acl: ConfigNode, words: list[str], typed: Typed) -> None:
    """``undo rule N [description]`` / ``undo rule permit|deny <fields>`` (by content)."""
    if len(words) < 2:
        raise CliError("incomplete", typed[-1][0] + len(typed[-1][1]) + 1)
    if words[1].isdigit():
        number = words[1]
        only_description = len(words) > 2 and words[2] == "description"
        acl.children = [
            child
            for child in acl.children
            if not (
                child.text.startswith(f"rule {number} ")
                and (not only_description or child.text.startswith(f"rule {number} description"))
            )
        ]
        return
    wanted = _rule(typed).split(maxsplit=1)[1]
    for child in list(acl.children):
        child_words = child.text.split(maxsplit=2)
        if len(child_words) == 3 and child_words[2] == wanted:
            _undo_rule(acl, ["rule", child_words[1]], typed)


def _rule(typed: Typed) -> str:
    """A rule line as VRP prints it: fields reordered, ``any`` dropped, ports by name."""
    words = [word for _, word in typed]
    columns = [column for column, _ in typed] + [typed[-1][0] + len(typed[-1][1]) + 1]
    index = 1
    head = ["rule"]
    if index < len(words) and words[index].isdigit():
        head.append(words[index])
        index += 1
    if index >= len(words) or words[index] not in ("permit", "deny"):
        raise CliError("incomplete" if index >= len(words) else "parameter", columns[index])
    head.append(words[index])
    index += 1
    protocol = words[index] if index < len(words) else "ip"
    if index < len(words):
        if protocol not in _PROTOCOLS and not (protocol.isdigit() and int(protocol) < 256):
            raise CliError("parameter", columns[index])
        index += 1
    head.append(protocol)
    fields = _rule_fields(words, columns, index, protocol)
    ordered = [fields[name] for name in _RULE_ORDER if name in fields]
    return " ".join(head + [part for part in ordered if part])


def _rule_fields(words: list[str], columns: list[int], index: int, protocol: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    while index < len(words):
        name = words[index]
        if name in ("source", "destination"):
            fields[name], index = _rule_address(words, columns, index)
        elif name in ("source-port", "destination-port") and protocol in ("tcp", "udp"):
            fields[name], index = _rule_port(words, columns, index, protocol)
        elif name == "icmp-type" and protocol == "icmp":
            if index + 1 >= len(words):
                raise CliError("incomplete", columns[index + 1])
            fields[name] = f"icmp-type {words[index + 1]}"
            index += 2
        elif name == "tcp-flag" and protocol == "tcp":
            end = index + 1
            while end < len(words) and words[end] not in _RULE_ORDER:
                end += 1
            fields[name] = " ".join(words[index:end])
            index = end
        elif name in _RULE_ARITY:
            arity = _RULE_ARITY[name]
            if index + arity >= len(words) + (1 if arity == 0 else 0):
                raise CliError("incomplete", columns[min(index + arity, len(words))])
            fields[name] = " ".join(words[index : index + arity + 1])
            index += arity + 1
        else:
            raise CliError("parameter", columns[index])
    return fields


def _rule_address(words: list[str], columns: list[int], index: int) -> tuple[str, int]:
    keyword = words[index]
    if index + 1 >= len(words):
        raise CliError("incomplete", columns[index + 1])
    if words[index + 1] == "any":
        return "", index + 2
    address = words[index + 1]
    if not _IPV4.match(address):
        raise CliError("parameter", columns[index + 1])
    if index + 2 >= len(words):
        raise CliError("incomplete", columns[index + 2])
    wildcard = words[index + 2]
    if wildcard in ("0", "0.0.0.0"):
        return f"{keyword} {address} 0", index + 3
    if not _IPV4.match(wildcard):
        raise CliError("parameter", columns[index + 2])
    return f"{keyword} {address} {wildcard}", index + 3


def _rule_port(words: list[str], columns: list[int], index: int, protocol: str) -> tuple[str, int]:
    keyword = words[index]
    operator = words[index + 1] if index + 1 < len(words) else ""
    count = {"eq": 1, "gt": 1, "lt": 1, "range": 2}.get(operator)
    if count is None:
        raise CliError("incomplete" if not operator else "parameter", columns[index + 1])
    ports = []
    for offset in range(2, count + 2):
        if index + offset >= len(words):
            raise CliError("incomplete", columns[index + offset])
        word = words[index + offset]
        names = _PORT_NAMES[protocol]
        if word.isdigit() and int(word) <= 65535:
            ports.append(names.get(int(word), word))
        elif word in names.values():
            ports.append(word)
        else:
            raise CliError("parameter", columns[index + offset])
    return " ".join([keyword, operator, *ports]), index + count + 2


class VrpSession(Session):
    """A Huawei VRP CLI session (user view, system view and section views)."""

    exit_words = frozenset({"quit"})
    end_words = frozenset({"return", CTRL_Z})
    platform: HuaweiVrp

    @property
    def prompt(self) -> str:
        host = self.device.hostname
        if self.frames is None:
            return f"<{host}>"
        return "[" + "-".join([host, *(frame.prompt for frame in self.frames)]) + "]"

    def banner(self) -> str:
        now = clock_now()
        return (
            "\nInfo: The max number of VTY users is 5, and the number\n"
            "      of current VTY users on line is 1.\n"
            f"      The current login time is {now:%Y-%m-%d %H:%M:%S}+00:00.\n"
        )

    def run(self, line: str) -> Reply:
        stripped = line.strip()
        if stripped in ("", CTRL_Z):
            if self.frames is not None and stripped:
                self.leave_config()
            return Reply()
        if self.frames is None:
            return self.exec_line(line, user_view=True)
        return self.view_line(line)

    def view_line(self, line: str) -> Reply:
        """In system view and below: ``display``/``save`` run anywhere, the rest configures."""
        typed = tokens(line)
        first = typed[0][1].lower()
        if first in self.exit_words | self.end_words or first == self.platform.negation:
            return self.configure(line)
        try:
            return self.exec_line(line, user_view=False)
        except CliError as error:
            if error.kind != "invalid" or error.column != typed[0][0]:
                raise
        return self.configure(line)

    def exec_line(self, line: str, *, user_view: bool) -> Reply:
        command_part, modifier = split_pipe(line)
        commands = _USER_COMMANDS if user_view else _VIEW_COMMANDS
        reply = self.run_exec(command_part, commands, 0)
        if modifier is None:
            return reply
        column = line.index("|") + 2
        return Reply(apply_filter(reply.output, modifier, column, FILTERS), reply.close)


# ---------------------------------------------------------------- exec command handlers


def _vrp(session: Session) -> VrpSession:
    assert isinstance(session, VrpSession)
    return session


def _system_view(session: Session, args: list[str]) -> Reply:
    _vrp(session).enter_config()
    return Reply("Enter system view, return user view with Ctrl+Z.\n")


def _quit(session: Session, args: list[str]) -> Reply:
    return Reply(close=True)


def _display_current(session: Session, args: list[str]) -> Reply:
    if args:
        raise CliError("parameter", word=0)
    return Reply(session.device.running_config())


def _display_saved(session: Session, args: list[str]) -> Reply:
    saved = session.device.saved_config()
    return Reply(
        saved
        if saved is not None
        else "Info: The system is now comparing the configuration, please wait.\n"
    )


def _display_this(session: Session, args: list[str]) -> Reply:
    vrp = _vrp(session)
    if not vrp.frames:
        body = vrp.platform.render(vrp.device.tree)[1:-1]
    else:
        body = list(vrp.frames[-1].node.lines())
    return Reply("\n".join(["#", *body, "#", "return"]) + "\n")


def _display_version(session: Session, args: list[str]) -> Reply:
    up = _uptime(clock_now() - session.device.booted)
    return Reply(
        f"""\
Huawei Versatile Routing Platform Software
VRP (R) software, Version 5.170 (S5720 {SOFTWARE})
Copyright (C) 2000-2020 HUAWEI TECH Co., Ltd.
HUAWEI {MODEL} Routing Switch uptime is {up}

ES5D2T28S005 0(Master) : uptime is {up}
DDR             Memory Size : 512   M bytes
FLASH Total     Memory Size : 512   M bytes
FLASH Available Memory Size : 287   M bytes
Pcb           Version : VER.B
BootROM       Version : 020a.0001
BootLoad      Version : 020a.0001
CPLD          Version : 0109
Software      Version : VRP (R) Software, Version 5.170 ({SOFTWARE})
FLASH         Version : 0000.0000
"""
    )


def _uptime(delta: timedelta) -> str:
    """``0 week, 0 day, 1 hour, 2 minutes``: every unit, as VRP prints it."""
    seconds = int(delta.total_seconds())
    values = ((seconds // 604800, "week"), (seconds // 86400 % 7, "day"),
              (seconds // 3600 % 24, "hour"), (seconds // 60 % 60, "minute"))  # fmt: skip
    return ", ".join(f"{value} {unit}{'s' if value > 1 else ''}" for value, unit in values)


def _display_clock(session: Session, args: list[str]) -> Reply:
    now = clock_now()
    return Reply(f"{now:%Y-%m-%d %H:%M:%S}\n{now:%A}\nTime Zone(Default Zone Name) : UTC+00:00\n")


def _save(session: Session, args: list[str]) -> Reply:
    vrp = _vrp(session)
    if args:
        raise CliError("parameter", word=0)
    answer = vrp.ask(
        "The current configuration will be written to the device.\nAre you sure to continue?[Y/N]:",
        True,
    )
    if answer is None:
        return Reply(close=True)
    if answer.strip().lower() not in ("y", "yes"):
        return Reply()
    vrp.device.save(vrp.user)
    return Reply("Now saving the current configuration to the slot 0.\n" + SAVED)


def _screen_length(session: Session, args: list[str]) -> Reply:
    if len(args) != 2 or not args[0].isdigit() or not "temporary".startswith(args[1].lower()):
        raise CliError("incomplete" if len(args) < 2 else "parameter", word=min(len(args), 1))
    return Reply(
        "Info: The configuration takes effect on the current user terminal interface only.\n"
    )


REBOOT = "reboot"  # the device timer's kind
BOOT_MINUTES = 3.0  # an S5720 from reboot to SSH, roughly
NO_SCHEDULE = "Info: No schedule reboot is configured.\n"


def _reboot_text(session: Session, minutes: float) -> str:
    """``14:30:00 2026/06/12 (in 0 hours and 10 minutes)``: when, in device time."""
    at = clock_now() + timedelta(minutes=minutes)
    whole = round(minutes)
    return f"{at:%H:%M:%S} {at:%Y/%m/%d} (in {whole // 60} hours and {whole % 60} minutes)"


def _confirmed(session: Session, question: str) -> bool | None:
    """A ``[Y/N]`` answer: True for yes, False for anything else, None at end of input."""
    answer = session.ask(question, True)
    if answer is None:
        return None
    return answer.strip().lower() in ("y", "yes")


def _delay_minutes(args: list[str]) -> int:
    """``delay <hh:mm|mm>`` or ``at <hh:mm> [YYYY/MM/DD]`` -> minutes from now."""
    if not args:
        raise CliError("incomplete", word=0)
    kind = next((k for k in ("delay", "at") if k.startswith(args[0].lower())), None)
    if kind is None:
        raise CliError("parameter", word=0)
    if len(args) < 2:
        raise CliError("incomplete", word=1)
    found = re.fullmatch(r"(?:(\d{1,3}):)?(\d{1,5})", args[1])
    if found is None or (kind == "delay" and len(args) > 2):
        raise CliError("parameter", word=1 if found is None else 2)
    hours, minutes = int(found.group(1) or 0), int(found.group(2))
    if kind == "delay":
        total = hours * 60 + minutes
        if (found.group(1) and (hours > 720 or minutes > 59)) or total > 43200:
            raise CliError("parameter", word=1)
        return total
    if found.group(1) is None or hours > 23 or minutes > 59:
        raise CliError("parameter", word=1)
    now = clock_now()
    at = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if len(args) > 2:
        try:
            day = datetime.strptime(args[2], "%Y/%m/%d").replace(tzinfo=now.tzinfo)
        except ValueError as error:
            raise CliError("parameter", word=2) from error
        at = at.replace(year=day.year, month=day.month, day=day.day)
    elif at <= now:
        at += timedelta(days=1)
    total = int((at - now).total_seconds() // 60) + 1
    if at <= now or total > 43200:
        raise CliError("parameter", word=min(len(args) - 1, 2))
    return total


def _schedule_reboot(session: Session, args: list[str]) -> Reply:
    """``schedule reboot delay|at ...``: reboot to the saved configuration when it expires."""
    minutes = _delay_minutes(args)
    device = session.device
    question = f"Info: Reboot system at {_reboot_text(session, minutes)}.\n Confirm? [Y/N]:"
    answer = _confirmed(session, question)
    if answer is None:
        return Reply(close=True)
    if answer:
        device.arm(REBOOT, Countdown(minutes, lambda: device.reboot(BOOT_MINUTES), session.user))
    return Reply()


def _undo_schedule_reboot(session: Session, args: list[str]) -> Reply:
    device = session.device
    if REBOOT not in device.timers:
        return Reply(NO_SCHEDULE)
    answer = _confirmed(session, "Warning: The schedule reboot will be cancelled. Continue? [Y/N]:")
    if answer is None:
        return Reply(close=True)
    if answer:
        device.disarm(REBOOT)
        return Reply("Info: The schedule reboot is cancelled.\n")
    return Reply()


def _display_schedule_reboot(session: Session, args: list[str]) -> Reply:
    pending = session.device.timers.get(REBOOT)
    if pending is None:
        return Reply(NO_SCHEDULE)
    minutes = session.device.device_minutes(pending.remaining())
    return Reply(f"Info: System will reboot at {_reboot_text(session, minutes)}.\n")


_COMMON = (
    command("display version", _display_version),
    command("display clock", _display_clock),
    command("display current-configuration", _display_current, args=True),
    command("display saved-configuration", _display_saved),
    command("display schedule reboot", _display_schedule_reboot),
    command("save", _save, args=True),
)
_USER_COMMANDS = (
    *_COMMON,
    command("system-view", _system_view),
    command("quit", _quit),
    command("screen-length", _screen_length, args=True),
    command("schedule reboot", _schedule_reboot, args=True),
    command("undo schedule reboot", _undo_schedule_reboot),
)
_VIEW_COMMANDS = (*_COMMON, command("display this", _display_this))
