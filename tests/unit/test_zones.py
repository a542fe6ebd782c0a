"""The zone model (storeops.zones): services, endpoints, each host's inbound rules, the matrix.

Most tests read the lab inventory itself (inventory/lab, flows in group_vars/all/flows.yml):
what they pin is what the lab's host firewalls will accept. Rules of the model that the lab
does not exercise (a zone a store lacks, a host with two roles, overlapping sources) use the
good fixture inventory or flows swapped in for one test.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.schema import SERVICE_ALIASES, Flow, Protocol, Service, parse_service
from storeops.validate import load_valid
from storeops.yamlfiles import VaultPasswords
from storeops.zones import (
    AllowedFlow,
    InboundRule,
    endpoint_hosts,
    endpoint_networks,
    flow_matrix,
    inbound_rules,
    is_allowed,
)
from tests.conftest import FIXTURE_ROLES, FIXTURE_VAULT_PASSWORD

net = ipaddress.IPv4Network
LAB_VAULT_PASSWORD = REPO_ROOT / "lab" / "vault-password.txt"
SSH, MYSQL, DMS, ICMP = (parse_service(name) for name in ("ssh", "mysql", "dms", "icmp"))


@pytest.fixture(scope="module")
def lab() -> Inventory:
    return load_valid(LAB_INVENTORY, VaultPasswords.from_files([LAB_VAULT_PASSWORD]))


@pytest.fixture
def fixture_inventory(good_inventory: Path) -> Inventory:
    passwords = VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    return load_valid(good_inventory, passwords, FIXTURE_ROLES)


def with_flows(inventory: Inventory, *flows: dict[str, Any]) -> Inventory:
    """The same inventory with other flows (validated by the schema like the real file)."""
    parsed = [Flow.model_validate(flow) for flow in flows]
    group = inventory.group.model_copy(update={"storeops_flows": parsed})
    return dataclasses.replace(inventory, group=group)


# ---------------------------------------------------------------------------- services


def test_aliases_name_their_port() -> None:
    assert {name: str(parse_service(name)) for name in SERVICE_ALIASES} == {
        "ssh": "tcp/22",
        "http": "tcp/80",
        "https": "tcp/443",
        "mysql": "tcp/3306",
        "dms": "tcp/8080",
    }


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("tcp/8080", "tcp/8080"),
        ("udp/53", "udp/53"),
        ("tcp/1", "tcp/1"),
        ("udp/65535", "udp/65535"),
        ("tcp/5000-5010", "tcp/5000-5010"),
        ("tcp/22-22", "tcp/22"),
        ("tcp/080", "tcp/80"),
        ("icmp", "icmp"),
    ],
)
def test_service_parses_to_one_canonical_spelling(text: str, canonical: str) -> None:
    service = parse_service(text)
    assert str(service) == canonical
    assert parse_service(canonical) == service


def test_service_fields_and_ports() -> None:
    assert parse_service("udp/5000-5010") == Service(Protocol.UDP, 5000, 5010)
    assert parse_service("udp/5000-5010").ports == "5000-5010"
    assert parse_service("ssh") == Service(Protocol.TCP, 22, 22)
    assert SSH.ports == "22"
    assert parse_service("icmp") == Service(Protocol.ICMP)
    assert ICMP.ports is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("tcp/70000", "port 70000 is outside 1-65535"),
        ("tcp/0", "port 0 is outside 1-65535"),
        ("udp/65536", "port 65536 is outside 1-65535"),
        ("tcp/100-65536", "port 65536 is outside 1-65535"),
        ("tcp/90-80", "range 90-80 ends before it starts"),
        ("tcp/", "is not a service (tcp/N"),
        ("tcp", "is not a service (tcp/N"),
        ("tcp/22-", "is not a service (tcp/N"),
        ("tcp/-22", "is not a service (tcp/N"),
        ("tcp/123456", "is not a service (tcp/N"),
        ("sctp/5", "is not a service (tcp/N"),
        ("TCP/22", "is not a service (tcp/N"),
        ("icmp/8", "is not a service (tcp/N"),
        ("smtp", "or one of: dms, http, https, mysql, ssh)"),
        ("", "is not a service"),
        (22, "22 is not a service"),
        (None, "None is not a service"),
    ],
)
def test_bad_service_is_refused_with_its_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match="is not a service") as error:
        parse_service(value)
    assert reason in str(error.value)


def test_service_covers_same_protocol_and_ports_within() -> None:
    ports = parse_service("tcp/5000-5010")
    assert ports.covers(parse_service("tcp/5000"))
    assert ports.covers(parse_service("tcp/5010"))
    assert ports.covers(parse_service("tcp/5002-5004"))
    assert not ports.covers(parse_service("tcp/5011"))
    assert not ports.covers(parse_service("tcp/4999-5001"))
    assert not ports.covers(parse_service("udp/5000"))
    assert ICMP.covers(ICMP)
    assert not ICMP.covers(SSH)
    assert not SSH.covers(ICMP)


# ---------------------------------------------------------------------------- endpoints


def test_zone_endpoint_is_its_subnet_as_a_source_and_its_hosts_as_a_destination(
    lab: Inventory,
) -> None:
    assert endpoint_networks(lab, "sh01", "office") == [net("10.77.1.96/27")]
    assert endpoint_networks(lab, "hz01", "office") == [net("10.77.2.96/27")]
    assert [h.name for h in endpoint_hosts(lab, "sh01", "servers")] == ["sh01-db", "sh01-dms"]


def test_zone_without_hosts_is_still_its_subnet(lab: Inventory) -> None:
    assert endpoint_networks(lab, "sh01", "workshop") == [net("10.77.1.128/27")]
    assert endpoint_hosts(lab, "sh01", "guest") == []


def test_role_endpoint_is_the_store_hosts_with_that_role(lab: Inventory) -> None:
    assert endpoint_networks(lab, "sh01", "dms") == [net("10.77.1.40/32")]
    assert endpoint_networks(lab, "hz01", "db") == [net("10.77.2.41/32")]
    assert [h.name for h in endpoint_hosts(lab, "hz01", "workstation")] == ["hz01-ws01"]
    assert endpoint_networks(lab, "sh01", "switch") == [net("10.77.1.3/32")]  # storeops_address


def test_all_is_every_host_of_the_store_only(lab: Inventory) -> None:
    assert endpoint_networks(lab, "sh01", "all") == [
        net("10.77.1.2/32"),  # the firewall and the switch, at their storeops_address
        net("10.77.1.3/32"),
        net("10.77.1.40/32"),
        net("10.77.1.41/32"),
        net("10.77.1.70/32"),
        net("10.77.1.100/32"),
    ]
    assert {h.store for h in endpoint_hosts(lab, "hz01", "all")} == {"hz01"}


def test_a_name_that_is_a_role_and_a_zone_means_the_role(lab: Inventory) -> None:
    # The lab has a zone `backup` (10.77.1.64/28) and hosts with the role `backup`.
    assert endpoint_networks(lab, "sh01", "backup") == [net("10.77.1.70/32")]


def test_a_zone_the_store_lacks_means_nothing_there(fixture_inventory: Inventory) -> None:
    flows = with_flows(
        fixture_inventory,
        {"name": "workshop", "from": ["workshop"], "to": ["dms"], "services": ["dms"]},
    )
    assert endpoint_networks(flows, "aa01", "workshop") == []
    assert inbound_rules(flows, flows.hosts["aa01-dms"]) == []


# ---------------------------------------------------------------------------- inbound rules


def test_db_accepts_mysql_only_from_its_own_store_dms(lab: Inventory) -> None:
    assert inbound_rules(lab, lab.hosts["sh01-db"]) == [
        InboundRule("dms-to-db", MYSQL, (net("10.77.1.40/32"),)),
        InboundRule("mgmt-ssh", SSH, (net("10.77.1.0/27"),)),
        InboundRule("mgmt-ping", ICMP, (net("10.77.1.0/27"),)),
    ]
    db = lab.hosts["sh01-db"]
    assert is_allowed(lab, "10.77.1.40", db, "tcp/3306")
    assert not is_allowed(lab, lab.hosts["hz01-dms"].address, db, "tcp/3306")
    assert not is_allowed(lab, lab.hosts["sh01-ws01"].address, db, "mysql")
    assert not is_allowed(lab, "10.77.1.40", db, "tcp/3307")


def test_dms_accepts_its_web_ui_from_office_workshop_and_mgmt(lab: Inventory) -> None:
    assert inbound_rules(lab, lab.hosts["hz01-dms"]) == [
        InboundRule("office-to-dms", DMS, (net("10.77.2.96/27"),)),
        InboundRule("workshop-to-dms", DMS, (net("10.77.2.128/27"),)),
        InboundRule("mgmt-to-dms", DMS, (net("10.77.2.0/27"),)),
        InboundRule("mgmt-ssh", SSH, (net("10.77.2.0/27"),)),
        InboundRule("mgmt-ping", ICMP, (net("10.77.2.0/27"),)),
    ]


def test_backup_accepts_ssh_from_its_store_db_and_dms(lab: Inventory) -> None:
    rules = inbound_rules(lab, lab.hosts["sh01-backup"])
    assert rules[0] == InboundRule("backup-push", SSH, (net("10.77.1.40/32"), net("10.77.1.41/32")))
    assert [rule.flow for rule in rules] == ["backup-push", "mgmt-ssh", "mgmt-ping"]


def test_workstation_accepts_only_management(lab: Inventory) -> None:
    assert [rule.flow for rule in inbound_rules(lab, lab.hosts["sh01-ws01"])] == [
        "mgmt-ssh",
        "mgmt-ping",
    ]


def test_mgmt_reaches_every_host_of_its_own_store_by_ssh_and_ping(lab: Inventory) -> None:
    for host in lab.hosts.values():
        controller = next(lab.stores[host.store].network.hosts())  # the .1, in mgmt
        assert is_allowed(lab, controller, host, "ssh"), host.name
        assert is_allowed(lab, controller, host, "icmp"), host.name
    assert not is_allowed(lab, "10.77.1.1", lab.hosts["hz01-db"], "ssh")


def test_guest_has_no_rule_anywhere(lab: Inventory) -> None:
    for host in lab.hosts.values():
        guest = lab.stores[host.store].zones["guest"].subnet
        for rule in inbound_rules(lab, host):
            assert not any(source.overlaps(guest) for source in rule.sources), (host.name, rule)


def test_no_rule_opens_traffic_between_stores(lab: Inventory) -> None:
    for host in lab.hosts.values():
        network = lab.stores[host.store].network
        for rule in inbound_rules(lab, host):
            assert all(source.subnet_of(network) for source in rule.sources), (host.name, rule)


def test_a_host_needs_no_rule_from_itself(fixture_inventory: Inventory) -> None:
    # aa01-db is db and backup: backup-push (db, dms -> backup) lists only aa01-dms.
    rules = inbound_rules(fixture_inventory, fixture_inventory.hosts["aa01-db"])
    assert rules[1] == InboundRule("backup-push", SSH, (net("192.168.10.40/32"),))


def test_sources_inside_another_source_are_left_out(lab: Inventory) -> None:
    flows = with_flows(
        lab,
        {
            "name": "overlap",
            "from": ["mgmt", "servers", "dms", "all"],
            "to": ["db"],
            "services": ["ssh", "tcp/22"],
        },
    )
    assert inbound_rules(flows, flows.hosts["sh01-db"]) == [
        InboundRule(
            "overlap",
            SSH,
            (
                net("10.77.1.0/27"),
                net("10.77.1.32/27"),
                net("10.77.1.70/32"),
                net("10.77.1.100/32"),
            ),
        )
    ]


def test_rule_as_template_vars(lab: Inventory) -> None:
    rules = inbound_rules(lab, lab.hosts["sh01-backup"])
    assert [rule.as_vars() for rule in (rules[0], rules[-1])] == [
        {
            "flow": "backup-push",
            "protocol": "tcp",
            "ports": "22",
            "sources": ["10.77.1.40/32", "10.77.1.41/32"],
        },
        {"flow": "mgmt-ping", "protocol": "icmp", "ports": None, "sources": ["10.77.1.0/27"]},
    ]


# ---------------------------------------------------------------------------- the matrix


def test_flow_matrix_lists_every_allowed_connection_of_a_store(lab: Inventory) -> None:
    matrix = flow_matrix(lab, "sh01")
    dms = lab.hosts["sh01-dms"]
    assert AllowedFlow("office-to-dms", "office", net("10.77.1.96/27"), dms, DMS) in matrix
    assert (
        AllowedFlow("backup-push", "db", net("10.77.1.41/32"), lab.hosts["sh01-backup"], SSH)
        in matrix
    )
    assert {entry.destination.store for entry in matrix} == {"sh01"}
    # 4 hosts and 2 devices x (mgmt-ssh + mgmt-ping), 3 flows to the DMS, 1 to the db,
    # 2 sources of backup-push
    assert len(matrix) == (4 + 2) * 2 + 3 + 1 + 2


def test_flow_matrix_and_is_allowed_agree(lab: Inventory) -> None:
    for store in lab.stores:
        for entry in flow_matrix(lab, store):
            assert is_allowed(lab, entry.source.network_address, entry.destination, entry.service)
            assert is_allowed(lab, entry.source.broadcast_address, entry.destination, entry.service)


@pytest.mark.parametrize(
    ("source", "destination", "service"),
    [
        ("10.77.1.200", "sh01-db", "tcp/3306"),  # guest -> db
        ("10.77.1.100", "sh01-db", "tcp/3306"),  # workstation -> db
        ("10.77.1.130", "sh01-ws01", "ssh"),  # workshop -> office
        ("10.77.2.40", "sh01-db", "tcp/3306"),  # another store's DMS -> db
        ("10.77.1.100", "sh01-dms", "ssh"),  # office -> DMS, not the web UI
        ("10.77.1.41", "sh01-dms", "icmp"),  # db -> DMS ping
    ],
)
def test_forbidden_flows(lab: Inventory, source: str, destination: str, service: str) -> None:
    assert not is_allowed(lab, source, lab.hosts[destination], service)
