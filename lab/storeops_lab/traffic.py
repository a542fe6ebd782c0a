"""Real packets across a lab store: who sends them, what they should meet, what they met.

The firewall tests open one connection per (client, destination host, service) of a
store and compare the outcome with the zone model (:func:`storeops.zones.is_allowed`):
an allowed one must be answered, any other must be silently dropped. The clients are
every kind of source a store has:

* the **controller** itself (the ``.1`` of the store network, in the mgmt zone);
* every **lab host** of the store (``podman exec`` into its container);
* **test equipment** for each zone in which the lab has no host and no controller (the
  workshop's diagnostic devices, a laptop on the guest Wi-Fi): a throwaway container
  from the lab image at a free address of that zone;
* **another store's hosts**, as their packets would arrive through the store's router:
  one more piece of test equipment (at a free address outside every zone) that carries
  their addresses as extra addresses and sends from them. Nothing routes a reply back to
  another store's address inside the lab, so for these the decisive evidence is the drop
  counter: an accepted packet is not counted.

Equipment carries the lab's owner labels, so ``storeops lab down`` (or ``up``, as an
orphan) removes what a crashed test leaves behind.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storeops import zones
from storeops.inventory import Host, Inventory
from storeops.schema import Protocol, Service
from storeops_lab import podman, probe
from storeops_lab.image import image_ref
from storeops_lab.plan import NAME_PREFIX, StoreNetwork, owner_labels, runs_in_lab

PROBE_SOURCE = Path(probe.__file__).read_text(encoding="utf-8")
LABEL_EQUIPMENT = "storeops.equipment"
LISTEN_SECONDS = 300  # stand-in servers end by themselves, even if the test is killed
WAN = "wan"


@dataclass(frozen=True)
class Client:
    """A source of packets: where it sends from and which address the destination sees."""

    label: str
    address: ipaddress.IPv4Address
    container: str | None  # None: the controller itself
    bind: bool = False  # send from ``address`` explicitly (an extra address of the container)


@dataclass(frozen=True)
class Probe:
    client: Client
    destination: Host
    service: Service
    allowed: bool  # what the zone model says

    @property
    def target(self) -> str:
        return f"{self.destination.name} {self.service}"

    def as_item(self) -> dict[str, str | None]:
        return {
            "to": str(self.destination.address),
            "service": str(self.service),
            "source": str(self.client.address) if self.client.bind else None,
        }


@dataclass(frozen=True)
class Equipment:
    """A throwaway container on a store network, standing in for a device of a zone."""

    name: str
    network: StoreNetwork
    address: ipaddress.IPv4Address
    extra_addresses: tuple[ipaddress.IPv4Address, ...] = ()

    def run_args(self, image: str, labels: dict[str, str]) -> list[str]:
        args = ["run", "--detach", "--name", self.name, "--network", self.network.name]
        args += ["--ip", str(self.address), "--cap-add", "NET_ADMIN,NET_RAW"]
        for key, value in sorted(labels.items()):
            args += ["--label", f"{key}={value}"]
        return [*args, "--entrypoint", "sleep", image, "infinity"]


# ---------------------------------------------------------------------------- who sends


def lab_hosts(inventory: Inventory, store: str) -> list[Host]:
    """The store's hosts that the lab runs as containers, by name."""
    return sorted((h for h in inventory.hosts_of(store) if runs_in_lab(h)), key=lambda h: h.name)


def container_of(host: Host) -> str:
    return NAME_PREFIX + host.name


def _store_network(inventory: Inventory, store: str) -> StoreNetwork:
    return StoreNetwork(store, inventory.stores[store].network)


def _zone_of(inventory: Inventory, store: str, address: ipaddress.IPv4Address) -> str | None:
    for name, zone in inventory.stores[store].zones.items():
        if address in zone.subnet:
            return name
    return None


def _free_address(
    inventory: Inventory, network: StoreNetwork, within: ipaddress.IPv4Network | None
) -> ipaddress.IPv4Address:
    """The highest address of ``within`` (or, if None, of no zone) that nothing uses."""
    taken = {host.address for host in inventory.hosts.values()} | {network.gateway}
    for address in reversed(list(network.subnet.hosts())):
        if address in taken:
            continue
        zone = _zone_of(inventory, network.store, address)
        if (within is None and zone is None) or (within is not None and address in within):
            return address
    where = f"zone {within}" if within is not None else "no zone"
    raise ValueError(f"store {network.store}: no free address in {where} for test equipment")


def equipment_for(inventory: Inventory, store: str) -> list[Equipment]:
    """Test equipment a store needs: one per zone nothing else sends from, one for the WAN."""
    network = _store_network(inventory, store)
    present = {host.zone for host in lab_hosts(inventory, store)}
    controller_zone = _zone_of(inventory, store, network.gateway)
    pieces = [
        Equipment(
            f"storeops-{store}-probe-{name}",
            network,
            _free_address(inventory, network, zone.subnet),
        )
        for name, zone in sorted(inventory.stores[store].zones.items())
        if name not in present and name != controller_zone
    ]
    foreign = tuple(
        host.address
        for other in sorted(inventory.stores)
        if other != store
        for host in lab_hosts(inventory, other)
    )
    if foreign:
        address = _free_address(inventory, network, None)
        pieces.append(Equipment(f"storeops-{store}-probe-{WAN}", network, address, foreign))
    return pieces


def clients_of(inventory: Inventory, store: str, equipment: Sequence[Equipment]) -> list[Client]:
    """Every source of the store's probes: controller, lab hosts, equipment, other stores."""
    network = _store_network(inventory, store)
    clients = [
        Client(f"controller ({_zone_of(inventory, store, network.gateway)})", network.gateway, None)
    ]
    clients += [
        Client(f"{host.name} ({host.zone})", host.address, container_of(host))
        for host in lab_hosts(inventory, store)
    ]
    for piece in equipment:
        if piece.extra_addresses:
            clients += [
                Client(
                    f"{_host_at(inventory, address)} via the WAN", address, piece.name, bind=True
                )
                for address in piece.extra_addresses
            ]
        else:
            zone = _zone_of(inventory, store, piece.address)
            clients.append(Client(f"{zone} device", piece.address, piece.name))
    return clients


def _host_at(inventory: Inventory, address: ipaddress.IPv4Address) -> str:
    return next(host.name for host in inventory.hosts.values() if host.address == address)


@contextmanager
def equipment_running(inventory: Inventory, store: str) -> Iterator[list[Client]]:
    """Start the store's test equipment, yield every client, remove the equipment after."""
    pieces = equipment_for(inventory, store)
    labels = {**owner_labels(inventory.root), LABEL_EQUIPMENT: "1"}
    names = [piece.name for piece in pieces]
    image = image_ref()
    podman.remove_containers(names)
    try:
        for piece in pieces:
            podman.run(piece.run_args(image, labels), timeout=60)
            for address in piece.extra_addresses:
                _exec(piece.name, ["ip", "address", "add", f"{address}/32", "dev", "eth0"])
        yield clients_of(inventory, store, pieces)
    finally:
        podman.remove_containers(names)


# ---------------------------------------------------------------------------- what is sent


def probed_services(inventory: Inventory) -> list[Service]:
    """One service per distinct port (the first of a range) or ICMP, of every flow.

    UDP flows are not probed: a silent UDP port looks the same open or dropped.
    """
    wanted: dict[str, Service] = {}
    for flow in inventory.group.storeops_flows:
        for service in flow.services:
            if service.protocol is Protocol.UDP:
                continue
            first = Service(service.protocol, service.first_port, service.first_port)
            wanted.setdefault(str(first), first)
    return list(wanted.values())


def matrix(inventory: Inventory, store: str, clients: Sequence[Client]) -> list[Probe]:
    """Every (client, destination lab host, service), with what the zone model says of it."""
    services = probed_services(inventory)
    return [
        Probe(
            client,
            host,
            service,
            zones.is_allowed(inventory, client.address, host, service),
        )
        for host in lab_hosts(inventory, store)
        for client in clients
        if client.address != host.address
        for service in services
    ]


# ---------------------------------------------------------------------------- sending


def _exec(container: str, argv: Sequence[str], timeout: float = 60) -> str:
    done = podman.exec_in(container, argv, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{container}: {' '.join(argv[:3])}... failed: {done.stderr.strip()}")
    return done.stdout


def _send_from(client: Client, probes: Sequence[Probe]) -> list[str]:
    items = [p.as_item() for p in probes]
    if client.container is None:
        return probe.probe_all(items)
    out = _exec(client.container, ["python3", "-c", PROBE_SOURCE, "probe", json.dumps(items)])
    return list(json.loads(out))


def send(probes: Sequence[Probe]) -> list[str]:
    """Send every probe (each client's at once, all clients in parallel); outcomes in order."""
    by_client: dict[Client, list[int]] = {}
    for index, one in enumerate(probes):
        by_client.setdefault(one.client, []).append(index)
    outcomes = [""] * len(probes)
    with ThreadPoolExecutor(max_workers=len(by_client) or 1) as pool:
        futures = {
            client: pool.submit(_send_from, client, [probes[i] for i in indexes])
            for client, indexes in by_client.items()
        }
        for client, indexes in by_client.items():
            for index, outcome in zip(indexes, futures[client].result(), strict=True):
                outcomes[index] = outcome
    return outcomes


# ---------------------------------------------------------------------------- receiving


def _listening_ports(container: str, address: ipaddress.IPv4Address) -> set[int]:
    """TCP ports that accept connections on ``address`` (wildcard or the address itself)."""
    reachable = {"0.0.0.0", "*", "[::]", str(address)}
    ports = set()
    for line in _exec(
        container, ["ss", "--no-header", "--tcp", "--listening", "--numeric"]
    ).splitlines():
        fields = line.split()
        if len(fields) >= 4:
            host, _, port = fields[3].rpartition(":")
            if host in reachable:
                ports.add(int(port))
    return ports


def ensure_listeners(host: Host, ports: set[int]) -> list[int]:
    """Start a stand-in server for every port in ``ports`` that nothing serves; return those."""
    name = container_of(host)
    missing = sorted(ports - _listening_ports(name, host.address))
    if missing:
        argv = ["python3", "-c", PROBE_SOURCE, "listen", str(LISTEN_SECONDS)]
        argv += [str(host.address), *map(str, missing)]
        podman.run(["exec", "--detach", name, *argv], timeout=30)
        for _ in range(50):
            if set(missing) <= _listening_ports(name, host.address):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{name}: stand-in servers on {missing} did not start")
    return missing


def stop_listeners(host: Host) -> None:
    """End the stand-in servers: probe.py's text, tag included, is their command line."""
    podman.exec_in(container_of(host), ["pkill", "--full", probe.LISTENER_TAG], timeout=30)


@contextmanager
def listeners(inventory: Inventory, store: str) -> Iterator[dict[str, list[int]]]:
    """Every probed TCP port of every lab host of the store accepts connections (real
    service or stand-in), so that only a firewall can make a probe go unanswered."""
    ports = {s.first_port for s in probed_services(inventory) if s.first_port is not None}
    hosts = lab_hosts(inventory, store)
    try:
        yield {host.name: ensure_listeners(host, ports) for host in hosts}
    finally:
        for host in hosts:
            stop_listeners(host)


def drop_counter(container: str, table: str, counter: str) -> int:
    """Packets the host's firewall has dropped so far (its named counter)."""
    listing = json.loads(
        _exec(container, ["nft", "--json", "list", "counter", "inet", table, counter])
    )
    return next(
        int(item["counter"]["packets"]) for item in listing["nftables"] if "counter" in item
    )


# ---------------------------------------------------------------------------- commit-confirm


def live_table(host: Host, table: str) -> str:
    """The host's firewall table as ``nft --stateless`` lists it ("" if it has none)."""
    done = podman.exec_in(
        container_of(host), ["nft", "--stateless", "list", "table", "inet", table]
    )
    return done.stdout if done.returncode == 0 else ""


def lockout_vars(inventory: Inventory, host: Host, confirm_timeout: int) -> dict[str, Any]:
    """Extra vars for playbooks/firewall.yml that lock the controller out of ``host``: SSH
    only from another address of the controller's zone, confirmed within the timeout."""
    network = _store_network(inventory, host.store)
    zone = inventory.stores[host.store].zones[str(_zone_of(inventory, host.store, network.gateway))]
    stranger = next(a for a in zone.subnet.hosts() if a != network.gateway)
    rule = {"flow": "lockout", "sources": [f"{stranger}/32"], "protocol": "tcp", "ports": "22"}
    return {"firewall_inbound_rules": [rule], "firewall_confirm_timeout": confirm_timeout}
