"""storeops.network: what the zone model asks of each lab switch and firewall (no device)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re

import pytest

from storeops.inventory import Inventory
from storeops.network import NetworkModelError, device_model, zone_gateway
from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid


@pytest.fixture(scope="module")
def lab() -> Inventory:
    return load_valid(LAB_INVENTORY)


def test_the_core_switch_routes_every_zone_with_its_acl(lab: Inventory) -> None:
    model = device_model(lab, lab.hosts["sh01-sw01"])
    assert [(v["id"], v["name"]) for v in model["vlans"]] == [
        (10, "MGMT"),
        (20, "SERVERS"),
        (30, "BACKUP"),
        (40, "OFFICE"),
        (50, "WORKSHOP"),
        (60, "GUEST"),
    ]
    by_vlan = {i["vlan"]: i for i in model["interfaces"]}
    # In its own zone the switch answers on its own address; elsewhere on the first one.
    assert by_vlan[10]["address"] == "10.77.1.3"
    assert by_vlan[10]["netmask"] == "255.255.255.224"
    assert (by_vlan[20]["address"], by_vlan[20]["acl"]) == ("10.77.1.33", "STOREOPS-IN-SERVERS")
    assert (by_vlan[30]["address"], by_vlan[30]["netmask"]) == ("10.77.1.65", "255.255.255.240")
    assert model["routes"] == [
        {
            "prefix": "0.0.0.0",
            "netmask": "0.0.0.0",
            "next_hop": "10.77.1.2",
            "description": "sh01-fw01",
        }
    ]
    assert model["edge_acl"] is None
    text = model["acl_config"]
    assert "ip access-list extended STOREOPS-IN-GUEST" in text
    assert "ip access-group" not in text  # the template applies them, on the SVIs
    assert model["zones"]["office"] == 40


def test_the_firewall_has_its_lan_a_route_to_the_store_and_the_wan_acl(lab: Inventory) -> None:
    model = device_model(lab, lab.hosts["hz01-fw01"])
    assert [v["id"] for v in model["vlans"]] == [10]
    assert model["interfaces"] == [
        {
            "vlan": 10,
            "description": "zone mgmt: store LAN",
            "address": "10.77.2.2",
            "netmask": "255.255.255.224",
            "acl": None,
        }
    ]
    assert model["routes"] == [
        {
            "prefix": "10.77.2.0",
            "netmask": "255.255.255.0",
            "next_hop": "10.77.2.3",
            "description": "hz01-sw01",
        }
    ]
    assert model["edge_acl"] == "STOREOPS-WAN-IN"
    assert "acl name STOREOPS-WAN-IN 3999" in model["acl_config"]  # Huawei VRP syntax
    assert "traffic-filter" not in model["acl_config"]


def test_a_host_on_a_zone_gateway_is_refused(lab: Inventory) -> None:
    workstation = lab.hosts["sh01-ws01"]
    moved = dataclasses.replace(workstation, address=ipaddress.IPv4Address("10.77.1.97"))
    inventory = dataclasses.replace(lab, hosts={**lab.hosts, workstation.name: moved})
    with pytest.raises(NetworkModelError, match=re.escape("host sh01-ws01 holds 10.77.1.97")):
        device_model(inventory, inventory.hosts["sh01-sw01"])
    assert zone_gateway(lab, "sh01", "office") == ipaddress.IPv4Address("10.77.1.97")


def test_only_switches_and_firewalls_have_a_model(lab: Inventory) -> None:
    with pytest.raises(NetworkModelError, match="sh01-db is not a switch or firewall"):
        device_model(lab, lab.hosts["sh01-db"])


def test_the_management_path_is_the_devices_zone_vlan_and_store_address(lab: Inventory) -> None:
    # net_config's make-before-break stages get these: the VLAN and the address the
    # controller reaches the device by in the store, not the lab's connection address.
    switch, firewall = lab.hosts["sh01-sw01"], lab.hosts["hz01-fw01"]
    assert switch.endpoint[0] == ipaddress.IPv4Address("127.0.0.1")
    assert device_model(lab, switch)["management"] == {"vlans": [10], "address": "10.77.1.3"}
    assert device_model(lab, firewall)["management"] == {"vlans": [10], "address": "10.77.2.2"}
    # Renumbering the management zone's VLAN moves the management path with it.
    store = lab.stores["sh01"]
    zones = {**store.zones, "mgmt": store.zones["mgmt"].model_copy(update={"vlan": 11})}
    renumbered = dataclasses.replace(
        lab, stores={**lab.stores, "sh01": store.model_copy(update={"zones": zones})}
    )
    model = device_model(renumbered, renumbered.hosts["sh01-sw01"])
    assert model["management"] == {"vlans": [11], "address": "10.77.1.3"}
    assert model["zones"]["mgmt"] == 11
