"""The traffic tests' plan (who probes what, and what the zone model expects) and the probe.

No lab: the plan is pure data from the inventory; the probe runs on 127.0.0.1 only.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from storeops import zones
from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid
from storeops_lab import probe, traffic
from storeops_lab.plan import runs_in_lab


@pytest.fixture(scope="module")
def lab() -> Inventory:
    return load_valid(LAB_INVENTORY)


def _clients(lab: Inventory, store: str) -> list[traffic.Client]:
    return traffic.clients_of(lab, store, traffic.equipment_for(lab, store))


def test_every_service_a_flow_names_is_probed_once(lab: Inventory) -> None:
    assert [str(s) for s in traffic.probed_services(lab)] == [
        "tcp/8080",
        "tcp/3306",
        "tcp/22",
        "icmp",
    ]


def test_equipment_stands_in_for_zones_without_a_sender_and_for_the_wan(lab: Inventory) -> None:
    pieces = {piece.name: piece for piece in traffic.equipment_for(lab, "sh01")}
    assert sorted(pieces) == [
        "storeops-sh01-probe-guest",
        "storeops-sh01-probe-wan",
        "storeops-sh01-probe-workshop",
    ]
    guest, workshop, wan = (
        pieces[f"storeops-sh01-probe-{z}"] for z in ("guest", "workshop", "wan")
    )
    zones_of_sh01 = lab.stores["sh01"].zones
    assert guest.address in zones_of_sh01["guest"].subnet
    assert workshop.address in zones_of_sh01["workshop"].subnet
    assert not any(wan.address in zone.subnet for zone in zones_of_sh01.values())
    used = {host.address for host in lab.hosts.values()}
    assert not {guest.address, workshop.address, wan.address} & used
    assert set(wan.extra_addresses) == {h.address for h in traffic.lab_hosts(lab, "hz01")}


def test_clients_cover_every_zone_of_the_store(lab: Inventory) -> None:
    clients = _clients(lab, "sh01")
    local = [c for c in clients if not c.bind]
    for name, zone in lab.stores["sh01"].zones.items():
        assert any(c.address in zone.subnet for c in local), f"no client in zone {name}"
    assert clients[0] == traffic.Client(
        "controller (mgmt)", ipaddress.IPv4Address("10.77.1.1"), None
    )
    assert all(c.container for c in clients[1:])


def test_the_matrix_probes_every_allowed_flow_and_expects_what_the_model_says(
    lab: Inventory,
) -> None:
    probes = traffic.matrix(lab, "sh01", _clients(lab, "sh01"))
    assert len(probes) == 4 * 10 * 4  # lab hosts x (clients but the host itself) x services
    exercised = {
        (p.destination.name, str(p.service), p.client.address) for p in probes if p.allowed
    }
    for allowed in zones.flow_matrix(lab, "sh01"):
        if not runs_in_lab(allowed.destination):
            continue  # an emulated device on 127.0.0.1: packets cannot reach its store address
        assert any(
            (allowed.destination.name, str(allowed.service), a) in exercised
            for a in (c.address for c in _clients(lab, "sh01"))
            if a in allowed.source
        ), f"flow {allowed.flow} to {allowed.destination.name} is never probed"

    def expected(client: str, destination: str, service: str) -> bool:
        (hit,) = (
            p
            for p in probes
            if p.client.label.startswith(client)
            and p.destination.name == destination
            and str(p.service) == service
        )
        return hit.allowed

    assert expected("sh01-dms", "sh01-db", "tcp/3306")
    assert expected("controller", "sh01-backup", "tcp/22")
    assert not expected("sh01-ws01", "sh01-db", "tcp/3306")
    assert not expected("guest device", "sh01-dms", "tcp/8080")
    assert not expected("workshop device", "sh01-ws01", "tcp/22")
    assert not expected("hz01-dms via the WAN", "sh01-db", "tcp/3306")


# ---------------------------------------------------------------------------- the probe


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port nothing listens on, held for the test (bound, not listening).

    Held rather than picked and released, so that no other test process running at the same
    time (pytest-xdist) gets it from the kernel for a server of its own. Connections to it are
    refused; SO_REUSEADDR lets the probe's ``listen`` (which sets it too) still take it.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_probe_tells_answered_from_refused(listening: int, closed_port: int) -> None:
    items: list[dict[str, object]] = [
        {"to": "127.0.0.1", "service": f"tcp/{listening}", "source": None},
        {"to": "127.0.0.1", "service": f"tcp/{closed_port}", "source": "127.0.0.1"},
    ]
    assert probe.probe_all(items) == [probe.ANSWERED, probe.REFUSED]


def test_probe_refuses_a_service_it_cannot_judge() -> None:
    with pytest.raises(ValueError, match="udp/53"):
        probe.probe({"to": "127.0.0.1", "service": "udp/53"})


def test_the_probe_runs_as_a_script_as_in_the_containers(closed_port: int) -> None:
    port = closed_port
    source = traffic.PROBE_SOURCE
    listener = subprocess.Popen(
        [sys.executable, "-c", source, "listen", "20", "127.0.0.1", str(port)]
    )
    try:
        items = json.dumps([{"to": "127.0.0.1", "service": f"tcp/{port}"}])
        for _ in range(50):
            out = subprocess.run(
                [sys.executable, "-c", source, "probe", items],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if json.loads(out) == [probe.ANSWERED]:
                break
            time.sleep(0.1)
        assert json.loads(out) == [probe.ANSWERED]
    finally:
        listener.kill()
        listener.wait()
    usage = subprocess.run(
        [sys.executable, "-c", source, "bogus"], check=False, capture_output=True, text=True
    )
    assert usage.returncode == 2 and "usage" in usage.stderr
