"""The zone model: who may reach what inside a store, from ``storeops_flows``.

The flows are written once for the whole group (``group_vars/all/flows.yml``); this module
turns them into what each consumer needs, without I/O: the rules a host's input firewall
accepts (:func:`inbound_rules`, rendered by the nftables role), every allowed
(source, destination, service) of a store (:func:`flow_matrix`, for the packet tests) and
the single question a test asks to pick a forbidden flow (:func:`is_allowed`).

The rules of the model, on which the firewall role and the validator rely:

* An endpoint is ``all`` (every host of the store), a host role (the hosts that have it)
  or a zone (as a source: the zone's subnet; as a destination: the hosts in the zone).
  A name that is both a role and a zone (``backup`` in the lab) means the **role**: the
  role vocabulary is fixed by the schema, so its meaning cannot change from one store to
  another with the zones a store happens to declare, and it is the narrower of the two.
* A flow never names a single host: flows are group-wide policy, applied alike in every
  store; a host gets traffic because of its role or its zone.
* Endpoints resolve **inside one store**: a flow never opens traffic between two stores.
  A zone that a store lacks resolves to nothing there (that store just gets no rule); the
  validator only requires that each zone exists in at least one store.
* Hosts reach themselves over loopback, which the firewall always accepts, so a role or
  ``all`` source never lists the destination's own address.
* Established/related traffic is always accepted and needs no flow. Nothing else is: the
  guest zone reaches nothing internal because no flow names it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storeops.inventory import Host, Inventory
from storeops.schema import ALL_HOSTS, Flow, Role, Service, parse_service

ROLE_NAMES = frozenset(role.value for role in Role)

Network = ipaddress.IPv4Network


@dataclass(frozen=True)
class InboundRule:
    """One accept rule of a host's input chain: these sources may open this service.

    ``sources`` are sorted and none lies inside another, so they can go into one nftables
    anonymous set as they are (overlapping intervals are an error there).
    """

    flow: str
    service: Service
    sources: tuple[Network, ...]

    def as_vars(self) -> dict[str, Any]:
        """Plain data for a Jinja2 template: strings and lists only; ``ports`` None for ICMP."""
        return {
            "flow": self.flow,
            "protocol": self.service.protocol.value,
            "ports": self.service.ports,
            "sources": [str(source) for source in self.sources],
        }


@dataclass(frozen=True)
class AllowedFlow:
    """One line of a store's flow matrix: ``source`` may open ``service`` on ``destination``.

    ``source_endpoint`` is the name the flow gives (``office``, ``dms``, ``all``), so that a
    test can say which client it chose and why.
    """

    flow: str
    source_endpoint: str
    source: Network
    destination: Host
    service: Service


# ---------------------------------------------------------------------------- endpoints


def is_role_or_all(endpoint: str) -> bool:
    """Whether an endpoint means hosts by what they are (a role, or ``all``), not a zone."""
    return endpoint == ALL_HOSTS or endpoint in ROLE_NAMES


def _covers_host(endpoint: str, host: Host) -> bool:
    if endpoint == ALL_HOSTS:
        return True
    if endpoint in ROLE_NAMES:
        return Role(endpoint) in host.roles
    return host.zone == endpoint


def _host_network(host: Host) -> Network:
    return ipaddress.IPv4Network(host.address)


def endpoint_hosts(inventory: Inventory, store_code: str, endpoint: str) -> list[Host]:
    """The hosts of one store an endpoint covers (a zone: the hosts in it), by name."""
    return sorted(
        (host for host in inventory.hosts_of(store_code) if _covers_host(endpoint, host)),
        key=lambda host: host.name,
    )


def endpoint_networks(inventory: Inventory, store_code: str, endpoint: str) -> list[Network]:
    """What an endpoint means as addresses in one store: a zone's subnet, or hosts' /32s (sorted).

    A zone the store does not have, or a role no host of the store has, means nothing.
    """
    zone = None if is_role_or_all(endpoint) else inventory.stores[store_code].zones.get(endpoint)
    if zone is not None:
        return [zone.subnet]
    return sorted(_host_network(host) for host in endpoint_hosts(inventory, store_code, endpoint))


# ---------------------------------------------------------------------------- flows of a host


def _unique_services(flow: Flow) -> list[Service]:
    """The flow's services once each (``ssh`` and ``tcp/22`` are the same service)."""
    return list(dict.fromkeys(flow.services))


def _sources_by_endpoint(inventory: Inventory, flow: Flow, host: Host) -> dict[str, list[Network]]:
    """For a flow that reaches ``host``: each source endpoint's networks in the host's store.

    Empty when the flow does not reach the host. The host's own /32 is left out.
    """
    if not any(_covers_host(endpoint, host) for endpoint in flow.to):
        return {}
    own = _host_network(host)
    by_endpoint = {
        endpoint: [net for net in endpoint_networks(inventory, host.store, endpoint) if net != own]
        for endpoint in flow.from_
    }
    return {endpoint: networks for endpoint, networks in by_endpoint.items() if networks}


def _outermost(networks: Iterable[Network]) -> tuple[Network, ...]:
    """Sorted, without duplicates and without any network that lies inside another one."""
    distinct = set(networks)
    return tuple(
        sorted(
            net
            for net in distinct
            if not any(net != other and net.subnet_of(other) for other in distinct)
        )
    )


def inbound_rules(inventory: Inventory, host: Host) -> list[InboundRule]:
    """What ``host``'s input firewall must accept: one rule per (flow, service), flow order.

    Each rule's sources are every address the flow's ``from`` means in the host's store.
    """
    rules: list[InboundRule] = []
    for flow in inventory.group.storeops_flows:
        by_endpoint = _sources_by_endpoint(inventory, flow, host)
        if not by_endpoint:
            continue
        sources = _outermost(net for networks in by_endpoint.values() for net in networks)
        rules.extend(InboundRule(flow.name, service, sources) for service in _unique_services(flow))
    return rules


def flow_matrix(inventory: Inventory, store_code: str) -> list[AllowedFlow]:
    """Every allowed (source, destination host, service) of one store, with its flow.

    Ordered by destination host, then flow order: the packet tests open one connection
    per line, and anything not in here must be dropped.
    """
    return [
        AllowedFlow(flow.name, endpoint, source, destination, service)
        for destination in endpoint_hosts(inventory, store_code, ALL_HOSTS)
        for flow in inventory.group.storeops_flows
        for endpoint, sources in _sources_by_endpoint(inventory, flow, destination).items()
        for source in sources
        for service in _unique_services(flow)
    ]


def is_allowed(
    inventory: Inventory,
    source: ipaddress.IPv4Address | str,
    destination: Host,
    service: Service | str,
) -> bool:
    """Whether ``destination``'s firewall accepts a new connection from ``source``.

    ``source`` is any address, in the inventory or not (the controller, a guest laptop);
    ``service`` is parsed like a flow's (``'tcp/3306'``, ``'ssh'``, ``'icmp'``).
    """
    address = ipaddress.IPv4Address(source)
    wanted = parse_service(service)
    return any(
        rule.service.covers(wanted) and any(address in net for net in rule.sources)
        for rule in inbound_rules(inventory, destination)
    )
