"""What the lab of an inventory consists of: networks, containers, and the hosts it skips.

Pure data, no podman: one internal network ``storeops-<store>`` per store (the
controller owns the first usable address, the gateway) and one container
``storeops-<host>`` per host with a server or workstation role. Switches and firewalls
are emulated devices (processes, not containers: :mod:`storeops_lab.emulators`), so the
plan skips them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storeops.inventory import Host, Inventory
from storeops.schema import Role
from storeops_lab import podman
from storeops_lab.errors import LabError

CONTAINER_ROLES = frozenset({Role.DMS, Role.DB, Role.BACKUP, Role.WORKSTATION})
NAME_PREFIX = "storeops-"

LABEL_LAB = "storeops.lab"  # the podman label (not the package name)
LABEL_INVENTORY = "storeops.inventory"
LABEL_STORE = "storeops.store"
LABEL_HOST = "storeops.host"
LABEL_SPEC = "storeops.spec"


def owner_labels(root: Path) -> dict[str, str]:
    """The labels that mark a container or network as part of this inventory's lab."""
    return {LABEL_LAB: "1", LABEL_INVENTORY: str(root.resolve())}


def journal_volume(container: str) -> str:
    return f"{container}-journal"


def runs_in_lab(host: Host) -> bool:
    return bool(CONTAINER_ROLES.intersection(host.roles))


@dataclass(frozen=True)
class StoreNetwork:
    store: str
    subnet: ipaddress.IPv4Network

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}{self.store}"

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The first usable address: the controller's side of the bridge."""
        return self.subnet.network_address + 1


@dataclass(frozen=True)
class LabHost:
    host: Host
    network: StoreNetwork
    image: str
    owner: Mapping[str, str]

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}{self.host.name}"

    @property
    def volumes(self) -> tuple[tuple[str, str], ...]:
        """The journal on a named volume: podman's systemd mode puts a tmpfs on
        /var/log/journal, which would make "persistent" journald lose every log at restart."""
        return ((journal_volume(self.name), "/var/log/journal"),)

    def spec(self) -> podman.ContainerSpec:
        """The container to run; a label carries a hash of every other setting."""
        labels = {**self.owner, LABEL_STORE: self.host.store, LABEL_HOST: self.host.name}
        base = podman.ContainerSpec(
            name=self.name,
            hostname=self.host.name,
            image=self.image,
            network=self.network.name,
            address=self.host.address,
            labels=labels,
            volumes=self.volumes,
        )
        digest = hashlib.sha256(json.dumps(base.run_args()).encode()).hexdigest()[:12]
        return podman.ContainerSpec(
            name=base.name,
            hostname=base.hostname,
            image=base.image,
            network=base.network,
            address=base.address,
            labels={**labels, LABEL_SPEC: digest},
            cap_add=base.cap_add,
            volumes=base.volumes,
        )


@dataclass(frozen=True)
class LabPlan:
    root: Path
    networks: tuple[StoreNetwork, ...]
    hosts: tuple[LabHost, ...]
    skipped: tuple[Host, ...]

    @property
    def owner(self) -> dict[str, str]:
        return owner_labels(self.root)


def _check_address(host: Host, network: StoreNetwork) -> None:
    where = f"host {host.name} ({host.address}) of store {host.store}"
    if host.address not in network.subnet:
        raise LabError(f"{where} is outside the store's network {network.subnet}")
    if host.address == network.gateway:
        raise LabError(
            f"{where} has the gateway address of {network.subnet}: the lab controller owns "
            f"{network.gateway}; give the host another address in the inventory"
        )
    if host.address in (network.subnet.network_address, network.subnet.broadcast_address):
        raise LabError(f"{where} is the network or broadcast address of {network.subnet}")


def make_plan(inventory: Inventory, image: str) -> LabPlan:
    """The lab of this inventory; raises LabError on an address the lab cannot use."""
    root = inventory.root.resolve()
    owner = owner_labels(root)
    networks = {code: StoreNetwork(code, store.network) for code, store in inventory.stores.items()}
    lab_hosts: list[LabHost] = []
    skipped: list[Host] = []
    for host in inventory.hosts.values():
        if not runs_in_lab(host):
            skipped.append(host)
            continue
        if host.store not in networks:
            raise LabError(f"host {host.name} belongs to unknown store {host.store!r}")
        _check_address(host, networks[host.store])
        lab_hosts.append(LabHost(host, networks[host.store], image, owner))
    used = sorted({lab_host.network.store for lab_host in lab_hosts})
    return LabPlan(
        root=root,
        networks=tuple(networks[code] for code in used),
        hosts=tuple(lab_hosts),
        skipped=tuple(skipped),
    )
