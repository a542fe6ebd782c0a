"""Network ACLs from the zone model: the core switch's zone ACLs and the edge's WAN ACL.

The host firewalls (:mod:`storeops.zones`, nftables) are one wall; the network devices are
the second, written from the same flows so that the two can never disagree. This module
builds platform-neutral ACLs (:class:`Acl`, :class:`AclEntry`) without I/O, and renders
them with one Jinja2 template per platform (``network_templates/<platform>/acl.j2``).
The push to the devices (netmiko, hier_config) is someone else's job; it calls
:func:`switch_acls`, :func:`edge_acl` and :func:`render_acl_config`.

**The core switch** routes between the store's zone VLANs. Each zone gets one ACL,
``STOREOPS-IN-<ZONE>``, applied *inbound on the zone's VLAN interface*: it filters what
leaves the zone (and what the zone sends to the switch's own addresses). ACLs are
stateless, so each one lists, in this order:

1. for every allowed flow whose source lies in the zone (``zones.flow_matrix``): permit
   the protocol from the source to each destination host (/32) on the service's port(s);
   ICMP flows permit echo requests;
2. for every allowed flow that enters one of the zone's hosts: permit its replies, from
   the host (source port = the service port) back to the flow's source; TCP replies only
   with ``established`` (ACK or RST set, so a host cannot open a connection that way),
   ICMP only echo-replies; UDP has no such flag: any packet from the service port passes;
3. deny, and log, every other packet to a store network of the group (this store's and
   every other store's: flows never cross stores). In the zone that holds the store's edge
   firewall (a host with the ``firewall`` role), which is also the switch's transit to the
   WAN, only packets *from* a store network are denied: replies from the internet and
   whatever the firewall lets in arrive there with outside sources, and the stateful
   firewall has already decided about them;
4. permit the rest: traffic to the WAN and the internet is the edge firewall's business.

Flows inside one zone are bridged and never reach the ACL; they are listed anyway, so that
a zone's ACL states its whole policy and covers the switch's own address in the zone.

**The edge firewall/router** gets one ACL, ``STOREOPS-WAN-IN``, inbound on its WAN
interface: deny (log) any packet from a store network of the group into this store's
network (another store's traffic, or this store's own addresses spoofed from outside),
permit the rest. The device is stateful: replies are its own business.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import jinja2

from storeops import quoting
from storeops.inventory import Host, Inventory
from storeops.schema import NetworkPlatform, Protocol, Role, Service, Zone
from storeops.zones import AllowedFlow, endpoint_hosts, flow_matrix

Network = ipaddress.IPv4Network
PortRange = tuple[int, int]

ANY = ipaddress.IPv4Network("0.0.0.0/0")
PLATFORMS = tuple(platform.value for platform in NetworkPlatform)
TEMPLATES_DIR = "network_templates"
TEMPLATE_NAME = "acl.j2"

ZONE_ACL_PREFIX = "STOREOPS-IN-"
EDGE_ACL_NAME = "STOREOPS-WAN-IN"
# Platforms that number their ACLs (Huawei VRP advanced ACLs: 3000-3999) use these.
ADVANCED_ACL_BASE = 3000
EDGE_ACL_NUMBER = 3999
MAX_NUMBERED_VLAN = EDGE_ACL_NUMBER - ADVANCED_ACL_BASE - 1
# Letters, digits, '-' and '_', starting with a letter, at most 32: valid on every platform.
ACL_NAME_RE = re.compile(r"[A-Z][A-Z0-9_-]{0,31}")

CLOSED_REMARK = "no flow: store networks are closed"
CLOSED_TRANSIT_REMARK = "no flow: store-to-store is closed, WAN traffic passes"
REST_REMARK = "the rest: WAN and internet, the edge firewall decides"
EDGE_CLOSED_REMARK = "from a store network: flows never cross stores"
EDGE_REST_REMARK = "the rest: the firewall policy decides"


class Action(StrEnum):
    PERMIT = "permit"
    DENY = "deny"


class IcmpType(StrEnum):
    """The ICMP messages an ICMP flow (ping) opens, and its reply."""

    ECHO = "echo"
    ECHO_REPLY = "echo-reply"


@dataclass(frozen=True)
class AclEntry:
    """One line of an ACL, the same on every platform; the first entry that matches decides.

    ``protocol`` None means any IP protocol; a network of ``0.0.0.0/0`` means any address;
    ports are inclusive (first, last) ranges, None meaning any port. ``established`` matches
    TCP segments with ACK or RST set. ``remark`` says why the entry exists (its flow).
    """

    action: Action
    protocol: Protocol | None
    source: Network
    destination: Network
    remark: str
    source_ports: PortRange | None = None
    destination_ports: PortRange | None = None
    icmp_type: IcmpType | None = None
    established: bool = False
    log: bool = False

    def covers(self, other: AclEntry) -> bool:
        """Whether every packet ``other`` matches also matches this entry, with the same effect."""
        return (
            (self.action, self.protocol, self.icmp_type, self.established, self.log)
            == (other.action, other.protocol, other.icmp_type, other.established, other.log)
            and other.source.subnet_of(self.source)
            and other.destination.subnet_of(self.destination)
            and _ports_cover(self.source_ports, other.source_ports)
            and _ports_cover(self.destination_ports, other.destination_ports)
        )


@dataclass(frozen=True)
class Acl:
    """A named ACL and where it is applied (inbound): a VLAN's routed interface, a named
    interface, or nowhere (both None: the caller applies it).

    ``number`` is for platforms that number ACLs (Huawei VRP: 3000 + VLAN, 3999 for the
    edge); None when the VLAN is too high for that scheme.
    """

    name: str
    description: str
    entries: tuple[AclEntry, ...]
    number: int | None = None
    zone: str | None = None
    vlan: int | None = None
    interface: str | None = None


# ---------------------------------------------------------------------------- entries


def _ports_cover(mine: PortRange | None, theirs: PortRange | None) -> bool:
    if mine is None:
        return True
    return theirs is not None and mine[0] <= theirs[0] and theirs[1] <= mine[1]


def _ports(service: Service) -> PortRange | None:
    if service.first_port is None or service.last_port is None:
        return None
    return (service.first_port, service.last_port)


def _host_network(host: Host) -> Network:
    return ipaddress.IPv4Network(host.address)


def _within(network: Network, subnet: Network) -> Network | None:
    """The part of ``network`` inside ``subnet`` (CIDR blocks: one holds the other, or none)."""
    if network.subnet_of(subnet):
        return network
    if subnet.subnet_of(network):
        return subnet
    return None


def _request(allowed: AllowedFlow, source: Network) -> AclEntry:
    """The flow's new connections, from ``source`` (the part of its source in the zone)."""
    service = allowed.service
    return AclEntry(
        action=Action.PERMIT,
        protocol=service.protocol,
        source=source,
        destination=_host_network(allowed.destination),
        remark=f"flow {allowed.flow}",
        destination_ports=_ports(service),
        icmp_type=IcmpType.ECHO if service.protocol is Protocol.ICMP else None,
    )


def _reply(allowed: AllowedFlow) -> AclEntry:
    """The flow's replies, from the destination host back to the flow's whole source."""
    service = allowed.service
    return AclEntry(
        action=Action.PERMIT,
        protocol=service.protocol,
        source=_host_network(allowed.destination),
        destination=allowed.source,
        remark=f"flow {allowed.flow} replies",
        source_ports=_ports(service),
        icmp_type=IcmpType.ECHO_REPLY if service.protocol is Protocol.ICMP else None,
        established=service.protocol is Protocol.TCP,
    )


def _flow_entries(
    inventory: Inventory, matrix: Iterable[AllowedFlow], subnet: Network
) -> list[AclEntry]:
    """Requests leaving ``subnet`` and replies from its hosts.

    Grouped by flow (flow order), requests before replies, then by source and destination
    address; a flow's services keep their order.
    """
    order = {flow.name: index for index, flow in enumerate(inventory.group.storeops_flows)}
    keyed: list[tuple[int, int, AclEntry]] = []
    for allowed in matrix:
        source = _within(allowed.source, subnet)
        if source is not None:
            keyed.append((order[allowed.flow], 0, _request(allowed, source)))
        if allowed.destination.address in subnet:
            keyed.append((order[allowed.flow], 1, _reply(allowed)))
    keyed.sort(key=lambda item: (item[0], item[1], item[2].source, item[2].destination))
    return [entry for _flow, _kind, entry in keyed]


def _without_shadowed(entries: Iterable[AclEntry]) -> tuple[AclEntry, ...]:
    """Drop entries that an earlier one already covers (duplicates are errors on devices).

    With first-match semantics an entry covered by an earlier one with the same effect
    never decides anything, so leaving it out changes no verdict.
    """
    kept: list[AclEntry] = []
    for entry in entries:
        if not any(earlier.covers(entry) for earlier in kept):
            kept.append(entry)
    return tuple(kept)


def group_networks(inventory: Inventory) -> tuple[Network, ...]:
    """Every store's network, collapsed into the fewest CIDR blocks, sorted."""
    return inventory.network_blocks


def edge_zones(inventory: Inventory, store_code: str) -> frozenset[str]:
    """The zones that hold the store's edge firewall: the switch's transit to the WAN."""
    firewalls = endpoint_hosts(inventory, store_code, Role.FIREWALL.value)
    return frozenset(host.zone for host in firewalls)


def _closing_entries(inventory: Inventory, store_code: str, zone_name: str) -> list[AclEntry]:
    """After the flows: store networks closed (logged), then everything else permitted."""
    networks = group_networks(inventory)
    transit = zone_name in edge_zones(inventory, store_code)
    sources = networks if transit else (ANY,)
    remark = CLOSED_TRANSIT_REMARK if transit else CLOSED_REMARK
    closed = [
        AclEntry(Action.DENY, None, source, destination, remark, log=True)
        for source in sources
        for destination in networks
    ]
    return [*closed, AclEntry(Action.PERMIT, None, ANY, ANY, REST_REMARK)]


# ---------------------------------------------------------------------------- ACLs


def acl_name(text: str) -> str:
    """``text`` as an ACL name; ValueError if some platform would refuse it."""
    if not ACL_NAME_RE.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a valid ACL name (a letter, then letters, digits, '-' or '_';"
            " at most 32 characters): rename the zone"
        )
    return text


def zone_acl(
    inventory: Inventory,
    store_code: str,
    zone_name: str,
    matrix: Sequence[AllowedFlow] | None = None,
) -> Acl:
    """The core switch's ACL for one zone, inbound on the zone's VLAN interface.

    ``matrix`` is the store's :func:`storeops.zones.flow_matrix` when the caller already has
    it (one per store is enough for all its zones).
    """
    zone: Zone = inventory.stores[store_code].zones[zone_name]
    flows = flow_matrix(inventory, store_code) if matrix is None else matrix
    entries = [
        *_flow_entries(inventory, flows, zone.subnet),
        *_closing_entries(inventory, store_code, zone_name),
    ]
    number = ADVANCED_ACL_BASE + zone.vlan if zone.vlan <= MAX_NUMBERED_VLAN else None
    return Acl(
        name=acl_name(ZONE_ACL_PREFIX + zone_name.upper()),
        description=(
            f"storeops zone {zone_name} VLAN {zone.vlan} store {store_code}: leaving the zone"
        ),
        entries=_without_shadowed(entries),
        number=number,
        zone=zone_name,
        vlan=zone.vlan,
    )


def switch_acls(inventory: Inventory, store_code: str) -> list[Acl]:
    """One ACL per zone of the store, by VLAN id: the core switch's share of the policy."""
    zones = inventory.stores[store_code].zones
    matrix = flow_matrix(inventory, store_code)
    by_vlan = sorted(zones, key=lambda name: zones[name].vlan)
    return [zone_acl(inventory, store_code, name, matrix) for name in by_vlan]


def edge_acl(inventory: Inventory, store_code: str, wan_interface: str | None = None) -> Acl:
    """The edge firewall's WAN-inbound ACL: nothing from a store network into this store.

    ``wan_interface`` is the device's WAN interface name as the platform spells it; None
    renders the ACL without applying it.
    """
    network = inventory.stores[store_code].network
    closed = [
        AclEntry(Action.DENY, None, source, network, EDGE_CLOSED_REMARK, log=True)
        for source in group_networks(inventory)
    ]
    return Acl(
        name=EDGE_ACL_NAME,
        description=f"storeops WAN inbound store {store_code}: no traffic between stores",
        entries=(*closed, AclEntry(Action.PERMIT, None, ANY, ANY, EDGE_REST_REMARK)),
        number=EDGE_ACL_NUMBER,
        interface=wan_interface,
    )


# ---------------------------------------------------------------------------- rendering


def _fail(message: str) -> str:
    """For templates: refuse to render what the platform cannot express."""
    raise ValueError(message)


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("storeops", TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.globals["fail"] = _fail
    environment.filters.update(quoting.FILTERS)
    return environment


def _repeated(values: Iterable[object]) -> list[str]:
    return sorted(str(value) for value, count in Counter(values).items() if count > 1)


def _check_unique(acls: Sequence[Acl]) -> None:
    """One device cannot hold two ACLs of one name (or, on VRP, one number)."""
    names = _repeated(acl.name for acl in acls)
    numbers = _repeated(acl.number for acl in acls if acl.number is not None)
    for label, repeated in (("name", names), ("number", numbers)):
        if repeated:
            raise ValueError(f"two ACLs of one device share a {label}: {', '.join(repeated)}")


def render_acl_config(platform: str, acls: Sequence[Acl]) -> str:
    """The device configuration for ``acls``: the ACLs, then the interfaces applying them.

    Deterministic. Inside an ACL, lines are in the order the device's running config shows
    them. The ACLs come before the interfaces (the order of top-level sections does not
    matter to hier_config's diff, whose remediation keeps this order: a new ACL is complete
    before an interface applies it). ValueError for an unknown platform or an ACL the
    platform cannot express.
    """
    if platform not in PLATFORMS:
        raise ValueError(
            f"unknown network platform {platform!r}: ACL templates exist for "
            + ", ".join(PLATFORMS)
        )
    _check_unique(acls)
    template = _environment().get_template(f"{platform}/{TEMPLATE_NAME}")
    return template.render(acls=list(acls))
