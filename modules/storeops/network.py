"""What the zone model asks of each network device: VLANs, routed interfaces, ACLs, routes.

The store's **core switch** routes between the zones: one VLAN per zone, one routed VLAN
interface (SVI) per zone holding the zone's gateway address, with the zone's ACL
(:func:`storeops.acl.switch_acls`) inbound on it, and a default route to the store's edge
firewall. The **edge firewall/router** sits in its own zone (its LAN side), reaches the
store's networks through the switch and carries the WAN-inbound ACL
(:func:`storeops.acl.edge_acl`); its WAN side (interface, address, upstream gateway) is
per device and comes from the ``network`` role's variables, not from the zone model.

The gateway of a zone is the switch's own address where the switch sits in that zone, and
the zone's first usable address elsewhere. No host of the store may hold a gateway address.

:func:`device_model` returns plain data (strings, ints, lists, dicts) for the ``network``
role's templates, which render the device's whole intended configuration; nothing here
talks to a device.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from storeops.acl import edge_acl, render_acl_config, switch_acls
from storeops.inventory import Host, Inventory
from storeops.schema import Role


class NetworkModelError(ValueError):
    """The inventory asks for a network the devices cannot be given (message names why)."""


def _first_with_role(inventory: Inventory, store_code: str, role: Role) -> Host | None:
    hosts = sorted(inventory.hosts_of(store_code), key=lambda host: host.name)
    return next((host for host in hosts if role in host.roles), None)


def zone_gateway(inventory: Inventory, store_code: str, zone_name: str) -> ipaddress.IPv4Address:
    """The routed address of a zone on the core switch (see the module docstring)."""
    zone = inventory.stores[store_code].zones[zone_name]
    switch = _first_with_role(inventory, store_code, Role.SWITCH)
    if switch is not None and switch.address in zone.subnet:
        return switch.address
    gateway = zone.subnet.network_address + 1
    holder = next((h for h in inventory.hosts_of(store_code) if h.address == gateway), None)
    if holder is not None:
        raise NetworkModelError(
            f"store {store_code}, zone {zone_name}: host {holder.name} holds {gateway}, the "
            "zone's gateway on the core switch; give the host another address"
        )
    return gateway


def _interface(
    vlan: int, description: str, address: ipaddress.IPv4Address, subnet: ipaddress.IPv4Network
) -> dict[str, Any]:
    return {
        "vlan": vlan,
        "description": description,
        "address": str(address),
        "netmask": str(subnet.netmask),
        "acl": None,
    }


def _switch_part(inventory: Inventory, host: Host) -> dict[str, Any]:
    store = inventory.stores[host.store]
    acls = switch_acls(inventory, host.store)
    acl_by_vlan = {acl.vlan: acl.name for acl in acls}
    interfaces = []
    for name, zone in sorted(store.zones.items(), key=lambda item: item[1].vlan):
        interface = _interface(
            zone.vlan,
            f"zone {name}" + (f": {zone.description}" if zone.description else ""),
            zone_gateway(inventory, host.store, name),
            zone.subnet,
        )
        interfaces.append({**interface, "acl": acl_by_vlan[zone.vlan]})
    firewall = _first_with_role(inventory, host.store, Role.FIREWALL)
    routes = [] if firewall is None else [_route(ipaddress.IPv4Network("0.0.0.0/0"), firewall)]
    return {"interfaces": interfaces, "routes": routes, "acls": acls}


def _firewall_part(inventory: Inventory, host: Host) -> dict[str, Any]:
    store = inventory.stores[host.store]
    zone = store.zones[host.zone]
    switch = _first_with_role(inventory, host.store, Role.SWITCH)
    routes = [] if switch is None else [_route(store.network, switch)]
    interface = _interface(zone.vlan, f"zone {host.zone}: store LAN", host.address, zone.subnet)
    return {"interfaces": [interface], "routes": routes, "acls": [edge_acl(inventory, host.store)]}


def _route(prefix: ipaddress.IPv4Network, via: Host) -> dict[str, str]:
    return {
        "prefix": str(prefix.network_address),
        "netmask": str(prefix.netmask),
        "next_hop": str(via.address),
        "description": via.name,
    }


def device_model(inventory: Inventory, host: Host) -> dict[str, Any]:
    """The zone model's share of ``host``'s configuration, as template data.

    ``vlans``: every VLAN the device carries (id, name, description); ``interfaces``: its
    routed VLAN interfaces (vlan, description, address, netmask, the ACL applied inbound or
    None); ``routes``: static routes (prefix, netmask, next hop); ``acl_config``: the ACLs
    in the platform's syntax, not applied to any interface (the interfaces above and the
    WAN side do that); ``edge_acl``: the name of the WAN-inbound ACL on a firewall, else None;
    ``management``: the path the controller reaches the device by (net_config's
    make-before-break stages): ``vlans``, the VLAN id of the zone the device sits in (the
    store's ``mgmt`` zone in the lab), and ``address``, the device's own address there
    (``storeops_address``; never the connection address ``ansible_host``).
    NetworkModelError when the host is no network device or a gateway is taken.
    """
    if host.platform is None or not {Role.SWITCH, Role.FIREWALL} & set(host.roles):
        raise NetworkModelError(f"{host.name} is not a switch or firewall with a platform")
    store = inventory.stores[host.store]
    parts = []
    if Role.SWITCH in host.roles:
        parts.append(_switch_part(inventory, host))
    if Role.FIREWALL in host.roles and Role.SWITCH not in host.roles:
        parts.append(_firewall_part(inventory, host))
    interfaces = {i["vlan"]: i for part in parts for i in part["interfaces"]}
    acls = [acl for part in parts for acl in part["acls"]]
    if Role.FIREWALL in host.roles and Role.SWITCH in host.roles:
        acls.append(edge_acl(inventory, host.store))
    zone_of_vlan = {zone.vlan: name for name, zone in store.zones.items()}
    vlans = [
        {"id": vlan, "name": zone_of_vlan[vlan].upper(), "zone": zone_of_vlan[vlan]}
        for vlan in sorted(interfaces)
    ]
    unapplied = [dataclasses.replace(acl, vlan=None, interface=None) for acl in acls]
    edge = [acl.name for acl in acls if acl.zone is None]
    return {
        "store": host.store,
        "vlans": vlans,
        "interfaces": [interfaces[vlan] for vlan in sorted(interfaces)],
        "routes": [route for part in parts for route in part["routes"]],
        "acl_config": render_acl_config(host.platform.value, unapplied),
        "edge_acl": edge[0] if edge else None,
        "zones": {name: zone.vlan for name, zone in store.zones.items()},
        "management": {"vlans": [store.zones[host.zone].vlan], "address": str(host.address)},
    }
