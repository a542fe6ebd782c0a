"""Network ACLs (storeops.acl): the switch's zone ACLs and the edge's WAN ACL, as device text.

The proof is semantic: the rendered Cisco IOS and Huawei VRP text is parsed back by a small
first-match evaluator written here (it never sees storeops.acl's dataclasses), and packets
are run through it. For every store of the lab and the example production inventory, each
sample source (each zone's first and last address, each host, a host of another store)
sending each service of any flow to each host of the group is permitted by its zone's ACL
exactly when storeops.zones.is_allowed says the destination accepts it; the reply of every
allowed connection passes the destination zone's ACL, an unsolicited packet back does not
(unless it is a flow of its own). A few golden texts pin the exact syntax, and mutated
configs show that the check catches a broken entry.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hier_config import Platform, WorkflowRemediation, get_hconfig

from storeops.acl import (
    PLATFORMS,
    Acl,
    acl_name,
    edge_acl,
    edge_zones,
    group_networks,
    render_acl_config,
    switch_acls,
    zone_acl,
)
from storeops.inventory import Host, Inventory
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.schema import Flow, Role, Service, parse_service
from storeops.validate import load_valid
from storeops.yamlfiles import VaultPasswords
from storeops.zones import is_allowed
from tests.conftest import FIXTURE_ROLES, FIXTURE_VAULT_PASSWORD

Address = ipaddress.IPv4Address
Network = ipaddress.IPv4Network
ANY = Network("0.0.0.0/0")

PRODUCTION = REPO_ROOT / "inventory" / "example-production"
INVENTORIES = {
    "lab": (LAB_INVENTORY, REPO_ROOT / "lab" / "vault-password.txt"),
    "example-production": (PRODUCTION, PRODUCTION / "EXAMPLE-vault-password.txt"),
}
VLAN_INTERFACE = {"cisco_ios": "Vlan{}", "huawei_vrp": "Vlanif{}"}
WAN_INTERFACE = {"cisco_ios": "GigabitEthernet0/0", "huawei_vrp": "GigabitEthernet0/0/1"}
EPHEMERAL = 49152  # the client's port; no flow uses it
INTERNET = Address("203.0.113.9")
ICMP = parse_service("icmp")
# Port names both platforms print instead of numbers (only the ones the templates use).
PORT_NAMES = {
    "ftp": 21,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "www": 80,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "ntp": 123,
    "snmp": 161,
    "syslog": 514,
}


@pytest.fixture(scope="module", params=sorted(INVENTORIES))
def inventory(request: pytest.FixtureRequest) -> Inventory:
    root, password = INVENTORIES[request.param]
    return load_valid(root, VaultPasswords.from_files([password]))


@pytest.fixture(scope="module")
def lab() -> Inventory:
    root, password = INVENTORIES["lab"]
    return load_valid(root, VaultPasswords.from_files([password]))


@pytest.fixture(scope="module")
def production() -> Inventory:
    root, password = INVENTORIES["example-production"]
    return load_valid(root, VaultPasswords.from_files([password]))


@pytest.fixture
def fixture_inventory(good_inventory: Path) -> Inventory:
    passwords = VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    return load_valid(good_inventory, passwords, FIXTURE_ROLES)


def with_extra_flows(inventory: Inventory, *flows: dict[str, Any]) -> Inventory:
    parsed = [*inventory.group.storeops_flows, *(Flow.model_validate(flow) for flow in flows)]
    group = inventory.group.model_copy(update={"storeops_flows": parsed})
    return dataclasses.replace(inventory, group=group)


# ---------------------------------------------------------------------------- the evaluator


@dataclass(frozen=True)
class Packet:
    protocol: str  # tcp, udp, icmp
    source: Address
    destination: Address
    source_port: int | None = None
    destination_port: int | None = None
    flags: frozenset[str] = frozenset()  # tcp: syn, ack, rst
    icmp_type: str | None = None

    def __str__(self) -> str:
        ports = f":{self.source_port}->:{self.destination_port}" if self.source_port else ""
        extra = ",".join(sorted(self.flags)) or self.icmp_type or ""
        return f"{self.protocol} {self.source}->{self.destination}{ports} {extra}".strip()


@dataclass(frozen=True)
class Ace:
    """One parsed permit/deny line."""

    action: str
    protocol: str
    source: Network
    destination: Network
    source_ports: tuple[int, int] | None
    destination_ports: tuple[int, int] | None
    icmp_type: str | None
    established: bool
    line: str

    def matches(self, packet: Packet) -> bool:
        if self.protocol not in {"ip", packet.protocol}:
            return False
        if packet.source not in self.source or packet.destination not in self.destination:
            return False
        if not _in_ports(packet.source_port, self.source_ports):
            return False
        if not _in_ports(packet.destination_port, self.destination_ports):
            return False
        if self.icmp_type is not None and self.icmp_type != packet.icmp_type:
            return False
        return not self.established or bool(packet.flags & {"ack", "rst"})


def _in_ports(port: int | None, ports: tuple[int, int] | None) -> bool:
    return ports is None or (port is not None and ports[0] <= port <= ports[1])


@dataclass
class Device:
    """ACLs by name, the ACL applied inbound on each interface, and what no match means."""

    acls: dict[str, list[Ace]]
    bindings: dict[str, str]
    no_match: str

    def verdict(self, interface: str, packet: Packet) -> str:
        assert interface in self.bindings, f"no ACL on {interface}"
        for ace in self.acls[self.bindings[interface]]:
            if ace.matches(packet):
                return ace.action
        return self.no_match

    def permits(self, interface: str, packet: Packet) -> bool:
        return self.verdict(interface, packet) == "permit"


def _keyword(words: deque[str], keyword: str) -> bool:
    """Whether ``keyword`` comes next (and consume it)."""
    if words and words[0] == keyword:
        words.popleft()
        return True
    return False


def _port(word: str) -> int:
    return PORT_NAMES[word] if word in PORT_NAMES else int(word)


def _take_ports(words: deque[str]) -> tuple[int, int] | None:
    """``eq P`` or ``range A B`` at the front of ``words``, if there."""
    if not words or words[0] not in {"eq", "range"}:
        return None
    if words.popleft() == "eq":
        port = _port(words.popleft())
        return (port, port)
    return (_port(words.popleft()), _port(words.popleft()))


def _ios_address(words: deque[str]) -> Network:
    first = words.popleft()
    if first == "any":
        return ANY
    if first == "host":
        return Network(words.popleft())
    return Network(f"{first}/{words.popleft()}")  # address/wildcard


def parse_ios_ace(line: str) -> Ace:
    words = deque(line.split())
    action, protocol = words.popleft(), words.popleft()
    source = _ios_address(words)
    source_ports = _take_ports(words)
    destination = _ios_address(words)
    destination_ports = _take_ports(words)
    icmp_type = words.popleft() if words and words[0] in {"echo", "echo-reply"} else None
    established = _keyword(words, "established")
    _keyword(words, "log")
    assert action in {"permit", "deny"} and not words, f"cannot parse {line!r}"
    return Ace(
        action,
        protocol,
        source,
        destination,
        source_ports,
        destination_ports,
        icmp_type,
        established,
        line,
    )


def parse_ios(text: str) -> Device:
    """``ip access-list extended`` blocks and ``ip access-group NAME in``; no match: deny."""
    acls: dict[str, list[Ace]] = {}
    bindings: dict[str, str] = {}
    acl: str | None = None
    interface: str | None = None
    for line in text.splitlines():
        if line == "!":
            acl = interface = None
        elif match := re.fullmatch(r"ip access-list extended (\S+)", line):
            acl = match[1]
            assert acl not in acls, f"ACL {acl} defined twice"
            acls[acl] = []
        elif match := re.fullmatch(r"interface (\S+)", line):
            interface = match[1]
        elif acl is not None and line.startswith(" remark "):
            continue
        elif acl is not None and line.startswith(" "):
            acls[acl].append(parse_ios_ace(line.strip()))
        elif interface is not None and (match := re.fullmatch(r" ip access-group (\S+) in", line)):
            bindings[interface] = match[1]
        else:
            raise AssertionError(f"unexpected line {line!r}")
    return Device(acls, bindings, no_match="deny")


def _vrp_address(words: deque[str], keyword: str) -> Network:
    """``source A W`` (W ``0`` for a host); absent means any."""
    if not _keyword(words, keyword):
        return ANY
    address, wildcard = words.popleft(), words.popleft()
    return Network(f"{address}/{32 if wildcard == '0' else wildcard}")


def parse_vrp_rule(line: str) -> tuple[int, Ace]:
    words = deque(line.split())
    assert words.popleft() == "rule"
    rule_id = int(words.popleft())
    action, protocol = words.popleft(), words.popleft()
    source = _vrp_address(words, "source")
    destination = _vrp_address(words, "destination")
    source_ports = _take_ports(words) if _keyword(words, "source-port") else None
    destination_ports = _take_ports(words) if _keyword(words, "destination-port") else None
    icmp_type = words.popleft() if _keyword(words, "icmp-type") else None
    established = _keyword(words, "tcp-flag")
    assert not established or words.popleft() == "established", f"unknown tcp-flag: {line!r}"
    _keyword(words, "logging")
    assert action in {"permit", "deny"} and not words, f"cannot parse {line!r}"
    ace = Ace(
        action,
        protocol,
        source,
        destination,
        source_ports,
        destination_ports,
        icmp_type,
        established,
        line,
    )
    return rule_id, ace


def parse_vrp(text: str) -> Device:
    """``acl name NAME NUMBER`` blocks (rules by id) and ``traffic-filter``; no match: permit."""
    rules: dict[str, dict[int, Ace]] = {}
    bindings: dict[str, str] = {}
    acl: str | None = None
    interface: str | None = None
    for line in text.splitlines():
        if line == "#":
            acl = interface = None
        elif match := re.fullmatch(r"acl name (\S+) (3\d{3})", line):
            acl = match[1]
            assert acl not in rules, f"ACL {acl} defined twice"
            rules[acl] = {}
        elif match := re.fullmatch(r"interface (\S+)", line):
            interface = match[1]
        elif acl is not None and re.fullmatch(r" (rule \d+ )?description \S.*", line):
            continue
        elif acl is not None and line.startswith(" rule "):
            rule_id, ace = parse_vrp_rule(line.strip())
            assert rule_id not in rules[acl], f"rule {rule_id} twice in {acl}"
            rules[acl][rule_id] = ace
        elif interface is not None and (
            match := re.fullmatch(r" traffic-filter inbound acl name (\S+)", line)
        ):
            bindings[interface] = match[1]
        else:
            raise AssertionError(f"unexpected line {line!r}")
    acls = {name: [by_id[key] for key in sorted(by_id)] for name, by_id in rules.items()}
    return Device(acls, bindings, no_match="permit")


PARSERS = {"cisco_ios": parse_ios, "huawei_vrp": parse_vrp}


def device(platform: str, acls: list[Acl]) -> Device:
    return PARSERS[platform](render_acl_config(platform, acls))


# ---------------------------------------------------------------------------- packets


def requests(source: Address, destination: Address, service: Service) -> list[Packet]:
    """A new connection's first packet, at the first and the last port of the service."""
    if service.protocol == "icmp":
        return [Packet("icmp", source, destination, icmp_type="echo")]
    flags = frozenset({"syn"}) if service.protocol == "tcp" else frozenset()
    ports = sorted({service.port_range.start, service.port_range.stop - 1})
    return [
        Packet(str(service.protocol), source, destination, EPHEMERAL, port, flags) for port in ports
    ]


def reply(packet: Packet) -> Packet:
    """The answer to ``packet``: addresses and ports swapped, SYN-ACK, echo-reply."""
    return Packet(
        packet.protocol,
        packet.destination,
        packet.source,
        packet.destination_port,
        packet.source_port,
        frozenset({"syn", "ack"}) if packet.protocol == "tcp" else frozenset(),
        "echo-reply" if packet.protocol == "icmp" else None,
    )


def unsolicited(packet: Packet) -> tuple[Packet, Service] | None:
    """A packet back that opens something new (no ACK, an echo request); None for UDP."""
    back = reply(packet)
    if packet.protocol == "tcp":
        return dataclasses.replace(back, flags=frozenset({"syn"})), parse_service(
            f"tcp/{back.destination_port}"
        )
    if packet.protocol == "icmp":
        return dataclasses.replace(back, icmp_type="echo"), parse_service("icmp")
    return None


def flow_services(inventory: Inventory) -> list[Service]:
    return sorted({service for flow in inventory.group.storeops_flows for service in flow.services})


def sample_sources(inventory: Inventory, store_code: str) -> list[tuple[Address, str | None]]:
    """(address, its zone): each zone's first and last address, each host, another store's host."""
    store = inventory.stores[store_code]
    samples: set[tuple[Address, str | None]] = set()
    for name, zone in store.zones.items():
        addresses = list(zone.subnet.hosts())
        samples |= {(addresses[0], name), (addresses[-1], name)}
    samples |= {(host.address, host.zone) for host in inventory.hosts_of(store_code)}
    other = sorted(host.name for host in inventory.hosts.values() if host.store != store_code)
    samples.add((inventory.hosts[other[0]].address, None))
    return sorted(samples, key=lambda sample: sample[0])


# ---------------------------------------------------------------------------- the check


@dataclass
class SwitchCheck:
    """Sample packets through a parsed switch: every disagreement with storeops.zones.

    A source outside this store (another store's host) arrives on every zone VLAN and must
    be denied everywhere: a flow never crosses stores.
    """

    inventory: Inventory
    store_code: str
    platform: str
    switch: Device
    problems: list[str] = dataclasses.field(default_factory=list)
    checked: Counter[str] = dataclasses.field(default_factory=Counter)

    def interface(self, zone: str) -> str:
        vlan = self.inventory.stores[self.store_code].zones[zone].vlan
        return VLAN_INTERFACE[self.platform].format(vlan)

    def expect(self, where: str, packet: Packet, wanted: bool, what: str) -> None:
        got = self.switch.permits(where, packet)
        self.checked[f"{what} {'permitted' if wanted else 'denied'}"] += 1
        if got != wanted:
            self.problems.append(f"{where}: {what} {packet} {'permitted' if got else 'denied'}")

    def run(self) -> SwitchCheck:
        store = self.inventory.stores[self.store_code]
        destinations = sorted(self.inventory.hosts.values(), key=lambda host: host.name)
        for source, zone in sample_sources(self.inventory, self.store_code):
            arrivals = [self.interface(zone)] if zone else [self.interface(z) for z in store.zones]
            for destination in destinations:
                self._pair(source, arrivals, destination)
        return self

    def _sender(self, source: Address) -> Host | None:
        """The host at ``source`` if it is one of this store's."""
        hosts = self.inventory.hosts_of(self.store_code)
        return next((host for host in hosts if host.address == source), None)

    def _pair(self, source: Address, arrivals: list[str], destination: Host) -> None:
        in_store = source in self.inventory.stores[self.store_code].network
        sender = self._sender(source)
        # an echo-reply passes only as the answer to a ping the destination may send
        stray = Packet("icmp", source, destination.address, icmp_type="echo-reply")
        pinged = sender is not None and is_allowed(
            self.inventory, destination.address, sender, ICMP
        )
        for where in arrivals:
            self.expect(where, stray, pinged, "echo-reply")
        for service in flow_services(self.inventory):
            allowed = in_store and is_allowed(self.inventory, source, destination, service)
            for packet in requests(source, destination.address, service):
                for where in arrivals:
                    self.expect(where, packet, allowed, "request")
                if allowed:
                    self._back(packet, sender, destination)

    def _back(self, packet: Packet, sender: Host | None, destination: Host) -> None:
        """The reply passes the destination zone's ACL; a new packet back only if allowed."""
        back = self.interface(destination.zone)
        self.expect(back, reply(packet), True, "reply")
        opening = unsolicited(packet)
        if opening is not None:
            packet_back, service = opening
            wanted = sender is not None and is_allowed(
                self.inventory, packet_back.source, sender, service
            )
            self.expect(back, packet_back, wanted, "unsolicited")


def switch_check(inventory: Inventory, store_code: str, platform: str, text: str) -> SwitchCheck:
    return SwitchCheck(inventory, store_code, platform, PARSERS[platform](text)).run()


# ---------------------------------------------------------------------------- semantics


@pytest.mark.parametrize("platform", PLATFORMS)
def test_switch_permits_exactly_what_the_zone_model_allows(
    inventory: Inventory, platform: str
) -> None:
    for store_code in inventory.stores:
        text = render_acl_config(platform, switch_acls(inventory, store_code))
        check = switch_check(inventory, store_code, platform, text)
        problems, checked = check.problems, check.checked
        assert problems == [], f"{store_code}: {len(problems)} mismatches, first: {problems[:5]}"
        # the check is not vacuous: every kind of verdict was exercised
        kinds = ["request permitted", "request denied", "reply permitted", "unsolicited denied"]
        kinds.append("echo-reply denied")
        if inventory.root == PRODUCTION:  # only there a host (in mgmt) may ping a host
            kinds.append("echo-reply permitted")
        for kind in kinds:
            assert checked[kind] > 0, (store_code, kind, checked)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_ranges_udp_overlapping_sources_and_a_host_with_two_roles(
    fixture_inventory: Inventory, platform: str
) -> None:
    inventory = with_extra_flows(
        fixture_inventory,
        {
            "name": "office-logs",
            "from": ["office", "workstation"],
            "to": ["db"],
            "services": ["udp/514", "tcp/5000-5010", "udp/6000-6001"],
        },
        {"name": "all-ping-dms", "from": ["all"], "to": ["dms"], "services": ["icmp"]},
    )
    for store_code in inventory.stores:
        text = render_acl_config(platform, switch_acls(inventory, store_code))
        check = switch_check(inventory, store_code, platform, text)
        assert check.problems == [], f"{store_code}: {check.problems[:5]}"
        assert check.checked["reply permitted"] > 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_zone_vlan_carries_its_own_acl(inventory: Inventory, platform: str) -> None:
    for store_code, store in inventory.stores.items():
        switch = device(platform, switch_acls(inventory, store_code))
        assert switch.bindings == {
            VLAN_INTERFACE[platform].format(zone.vlan): f"STOREOPS-IN-{name.upper()}"
            for name, zone in store.zones.items()
        }


@pytest.mark.parametrize("platform", PLATFORMS)
def test_edge_denies_every_store_network_into_the_store_and_passes_the_rest(
    inventory: Inventory, platform: str
) -> None:
    wan = WAN_INTERFACE[platform]
    for store_code in inventory.stores:
        edge = device(platform, [edge_acl(inventory, store_code, wan)])
        assert edge.bindings == {wan: "STOREOPS-WAN-IN"}
        for destination in inventory.hosts_of(store_code):
            for source in [host.address for host in inventory.hosts.values()]:
                packet = Packet(
                    "tcp", source, destination.address, EPHEMERAL, 22, frozenset({"syn"})
                )
                assert not edge.permits(wan, packet), (store_code, str(packet))
            assert edge.permits(wan, Packet("tcp", INTERNET, destination.address, 443, EPHEMERAL))


def test_the_zone_of_the_edge_firewall_passes_wan_traffic_and_no_other_does(
    production: Inventory,
) -> None:
    """Replies from the internet reach the switch through the firewall's zone (mgmt)."""
    for store_code, store in production.stores.items():
        assert edge_zones(production, store_code) == {"mgmt"}
        switch = device("cisco_ios", switch_acls(production, store_code))
        office_host = next(h for h in production.hosts_of(store_code) if h.zone == "office")
        from_internet = Packet(
            "tcp", INTERNET, office_host.address, 443, EPHEMERAL, frozenset({"ack"})
        )
        for name, zone in store.zones.items():
            assert switch.permits(f"Vlan{zone.vlan}", from_internet) == (name == "mgmt"), name
        # store-to-store stays closed there: the firewall's own address is no way to the db
        hosts = production.hosts_of(store_code)
        firewall = next(host for host in hosts if Role.FIREWALL in host.roles)
        db = next(host for host in hosts if Role.DB in host.roles)
        to_db = Packet("tcp", firewall.address, db.address, EPHEMERAL, 3306, frozenset({"syn"}))
        assert not switch.permits("Vlan10", to_db)


def test_the_evaluator_denies_what_the_model_forbids(lab: Inventory) -> None:
    switch = device("cisco_ios", switch_acls(lab, "sh01"))
    guest, office, workshop = Address("10.77.1.200"), Address("10.77.1.100"), Address("10.77.1.130")
    dms, db, hz01_dms = Address("10.77.1.40"), Address("10.77.1.41"), Address("10.77.2.40")

    def syn(source: Address, destination: Address, port: int) -> Packet:
        return Packet("tcp", source, destination, EPHEMERAL, port, frozenset({"syn"}))

    assert not switch.permits("Vlan60", syn(guest, db, 3306))
    assert not switch.permits("Vlan40", syn(office, db, 3306))
    assert not switch.permits("Vlan20", syn(hz01_dms, db, 3306))  # spoofed from another store
    assert not switch.permits("Vlan50", syn(workshop, office, 22))
    assert not switch.permits("Vlan40", syn(office, dms, 22))
    assert switch.permits("Vlan40", syn(office, dms, 8080))
    assert switch.permits("Vlan60", syn(guest, INTERNET, 443))


@pytest.mark.parametrize(
    ("platform", "line", "replacement", "symptom"),
    [
        # a reply entry without "established": the DMS could open connections to the office
        (
            "cisco_ios",
            " permit tcp host 10.77.1.40 eq 8080 10.77.1.96 0.0.0.31 established",
            " permit tcp host 10.77.1.40 eq 8080 10.77.1.96 0.0.0.31",
            "Vlan20: unsolicited",
        ),
        # a lost request entry: the office no longer reaches the DMS
        (
            "cisco_ios",
            " permit tcp 10.77.1.96 0.0.0.31 host 10.77.1.40 eq 8080",
            "",
            "Vlan40: request tcp 10.77.1.100->10.77.1.40",
        ),
        # VRP permits what no rule matches: without the closing deny, guest reaches the db
        (
            "huawei_vrp",
            " rule 5 deny ip destination 10.77.1.0 0.0.0.255 logging",
            "",
            "Vlanif60: request tcp 10.77.1.193->10.77.1.41",
        ),
    ],
)
def test_a_broken_entry_is_caught(
    lab: Inventory, platform: str, line: str, replacement: str, symptom: str
) -> None:
    text = render_acl_config(platform, switch_acls(lab, "sh01"))
    lines = text.splitlines(keepends=True)
    target = f"{line}\n"
    assert target in lines
    if platform == "huawei_vrp":  # only the guest ACL's first rule (rule 5 is per ACL)
        guest = lines.index("acl name STOREOPS-IN-GUEST 3060\n")
        index = lines.index(target, guest)
    else:
        index = lines.index(target)
    broken = "".join(
        [*lines[:index], *([f"{replacement}\n"] if replacement else []), *lines[index + 1 :]]
    )
    problems = switch_check(lab, "sh01", platform, broken).problems
    assert any(problem.startswith(symptom) for problem in problems), problems[:5]


# ---------------------------------------------------------------------------- golden text


def test_cisco_ios_office_acl(lab: Inventory) -> None:
    assert render_acl_config("cisco_ios", [zone_acl(lab, "sh01", "office")]) == (
        "ip access-list extended STOREOPS-IN-OFFICE\n"
        " remark storeops zone office VLAN 40 store sh01: leaving the zone\n"
        " remark flow office-to-dms\n"
        " permit tcp 10.77.1.96 0.0.0.31 host 10.77.1.40 eq 8080\n"
        " remark flow mgmt-ssh replies\n"
        " permit tcp host 10.77.1.100 eq 22 10.77.1.0 0.0.0.31 established\n"
        " remark flow mgmt-ping replies\n"
        " permit icmp host 10.77.1.100 10.77.1.0 0.0.0.31 echo-reply\n"
        " remark no flow: store networks are closed\n"
        " deny ip any 10.77.1.0 0.0.0.255 log\n"
        " deny ip any 10.77.2.0 0.0.0.255 log\n"
        " remark the rest: WAN and internet, the edge firewall decides\n"
        " permit ip any any\n"
        "!\n"
        "interface Vlan40\n"
        " ip access-group STOREOPS-IN-OFFICE in\n"
        "!\n"
    )


def test_huawei_vrp_office_acl(lab: Inventory) -> None:
    assert render_acl_config("huawei_vrp", [zone_acl(lab, "sh01", "office")]) == (
        "#\n"
        "acl name STOREOPS-IN-OFFICE 3040\n"
        " description storeops zone office VLAN 40 store sh01: leaving the zone\n"
        " rule 5 permit tcp source 10.77.1.96 0.0.0.31 destination 10.77.1.40 0 destination-port eq 8080\n"
        " rule 5 description flow office-to-dms\n"
        " rule 10 permit tcp source 10.77.1.100 0 destination 10.77.1.0 0.0.0.31 source-port eq 22 tcp-flag established\n"
        " rule 10 description flow mgmt-ssh replies\n"
        " rule 15 permit icmp source 10.77.1.100 0 destination 10.77.1.0 0.0.0.31 icmp-type echo-reply\n"
        " rule 15 description flow mgmt-ping replies\n"
        " rule 20 deny ip destination 10.77.1.0 0.0.0.255 logging\n"
        " rule 20 description no flow: store networks are closed\n"
        " rule 25 deny ip destination 10.77.2.0 0.0.0.255 logging\n"
        " rule 25 description no flow: store networks are closed\n"
        " rule 30 permit ip\n"
        " rule 30 description the rest: WAN and internet, the edge firewall decides\n"
        "#\n"
        "interface Vlanif40\n"
        " traffic-filter inbound acl name STOREOPS-IN-OFFICE\n"
        "#\n"
    )


def test_edge_acl_on_both_platforms(production: Inventory) -> None:
    assert group_networks(production) == (Network("172.20.1.0/24"), Network("172.20.2.0/23"))
    acl = edge_acl(production, "sz01", "GigabitEthernet0/0")
    assert render_acl_config("cisco_ios", [acl]) == (
        "ip access-list extended STOREOPS-WAN-IN\n"
        " remark storeops WAN inbound store sz01: no traffic between stores\n"
        " remark from a store network: flows never cross stores\n"
        " deny ip 172.20.1.0 0.0.0.255 172.20.2.0 0.0.0.255 log\n"
        " deny ip 172.20.2.0 0.0.1.255 172.20.2.0 0.0.0.255 log\n"
        " remark the rest: the firewall policy decides\n"
        " permit ip any any\n"
        "!\n"
        "interface GigabitEthernet0/0\n"
        " ip access-group STOREOPS-WAN-IN in\n"
        "!\n"
    )
    assert render_acl_config("huawei_vrp", [edge_acl(production, "sz01")]) == (
        "#\n"
        "acl name STOREOPS-WAN-IN 3999\n"
        " description storeops WAN inbound store sz01: no traffic between stores\n"
        " rule 5 deny ip source 172.20.1.0 0.0.0.255 destination 172.20.2.0 0.0.0.255 logging\n"
        " rule 5 description from a store network: flows never cross stores\n"
        " rule 10 deny ip source 172.20.2.0 0.0.1.255 destination 172.20.2.0 0.0.0.255 logging\n"
        " rule 10 description from a store network: flows never cross stores\n"
        " rule 15 permit ip\n"
        " rule 15 description the rest: the firewall policy decides\n"
        "#\n"
    )


def test_port_ranges_and_well_known_ports_as_the_devices_print_them(lab: Inventory) -> None:
    inventory = with_extra_flows(
        lab,
        {
            "name": "office-web",
            "from": ["office"],
            "to": ["dms"],
            "services": ["http", "tcp/5000-5010"],
        },
        {"name": "office-ntp", "from": ["office"], "to": ["dms"], "services": ["udp/123"]},
    )
    office = zone_acl(inventory, "sh01", "office")
    ios = render_acl_config("cisco_ios", [office])
    vrp = render_acl_config("huawei_vrp", [office])
    assert " permit tcp 10.77.1.96 0.0.0.31 host 10.77.1.40 eq www\n" in ios
    assert " permit tcp 10.77.1.96 0.0.0.31 host 10.77.1.40 range 5000 5010\n" in ios
    assert " permit udp 10.77.1.96 0.0.0.31 host 10.77.1.40 eq ntp\n" in ios
    assert "destination 10.77.1.40 0 destination-port eq www\n" in vrp
    assert "destination 10.77.1.40 0 destination-port range 5000 5010\n" in vrp
    assert "destination 10.77.1.40 0 destination-port eq ntp\n" in vrp


# ---------------------------------------------------------------------------- structure


def test_rendering_is_deterministic_and_ordered(inventory: Inventory) -> None:
    for store_code, store in inventory.stores.items():
        acls = switch_acls(inventory, store_code)
        assert [acl.vlan for acl in acls] == sorted(zone.vlan for zone in store.zones.values())
        for platform in PLATFORMS:
            first = render_acl_config(platform, acls)
            assert first == render_acl_config(platform, switch_acls(inventory, store_code))
            # every ACL is defined before any interface applies it
            assert first.index("interface ") > max(first.index(acl.name) for acl in acls)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hier_config_reads_it_and_would_define_each_acl_before_applying_it(
    lab: Inventory, platform: str
) -> None:
    """What the push (issue 6) will do: remediate from the running config with hier_config."""
    hier_platform = {"cisco_ios": Platform.CISCO_IOS, "huawei_vrp": Platform.HUAWEI_VRP}[platform]
    text = render_acl_config(platform, [*switch_acls(lab, "sh01"), edge_acl(lab, "sh01", "Wan0")])
    again = WorkflowRemediation(get_hconfig(hier_platform, text), get_hconfig(hier_platform, text))
    assert again.remediation_config_filtered_text() == ""
    fresh = WorkflowRemediation(get_hconfig(hier_platform, ""), get_hconfig(hier_platform, text))
    top = [
        line
        for line in fresh.remediation_config_filtered_text().splitlines()
        if not line.startswith(" ")
    ]
    first_interface = next(i for i, line in enumerate(top) if line.startswith("interface "))
    assert all(
        line.startswith("acl") or line.startswith("ip access-list")
        for line in top[:first_interface]
    )
    assert len(top[:first_interface]) == 7 and len(top[first_interface:]) == 7


def test_no_acl_has_a_line_twice(inventory: Inventory) -> None:
    """Devices refuse a duplicate entry, and hier_config would merge it: none is rendered."""
    for store_code in inventory.stores:
        for acl in [*switch_acls(inventory, store_code), edge_acl(inventory, store_code)]:
            assert len(set(acl.entries)) == len(acl.entries)
            block = render_acl_config("cisco_ios", [acl]).split("!\n")[0].splitlines()
            assert len(set(block)) == len(block), acl.name


def test_an_entry_inside_an_earlier_one_is_left_out(fixture_inventory: Inventory) -> None:
    inventory = with_extra_flows(
        fixture_inventory,
        {
            "name": "office-logs",
            "from": ["office", "workstation"],
            "to": ["db"],
            "services": ["udp/514"],
        },
    )
    sources = [
        entry.source
        for entry in zone_acl(inventory, "aa01", "office").entries
        if entry.remark == "flow office-logs"
    ]
    assert sources == [Network("192.168.10.96/27")]  # not also the workstation's /32


def test_unknown_platform_is_refused_by_name(lab: Inventory) -> None:
    with pytest.raises(
        ValueError, match=r"unknown network platform 'juniper_junos'.*cisco_ios, huawei_vrp"
    ):
        render_acl_config("juniper_junos", switch_acls(lab, "sh01"))


def test_vrp_refuses_an_acl_without_a_number_cisco_does_not(lab: Inventory) -> None:
    high = dataclasses.replace(zone_acl(lab, "sh01", "office"), vlan=1200, number=None)
    with pytest.raises(ValueError, match="STOREOPS-IN-OFFICE has no number"):
        render_acl_config("huawei_vrp", [high])
    assert "interface Vlan1200\n" in render_acl_config("cisco_ios", [high])


def test_two_acls_with_one_name_are_refused(lab: Inventory) -> None:
    office = zone_acl(lab, "sh01", "office")
    with pytest.raises(ValueError, match="share a name: STOREOPS-IN-OFFICE"):
        render_acl_config("cisco_ios", [office, dataclasses.replace(office, number=3041)])


@pytest.mark.parametrize("name", ["STOREOPS-IN-BACK OFFICE", "STOREOPS-IN-" + "X" * 21, "1ABC", ""])
def test_a_zone_name_no_device_accepts_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not a valid ACL name"):
        acl_name(name)
