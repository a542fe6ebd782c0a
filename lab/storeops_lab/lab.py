"""``up``, ``down`` and ``status``: the lab of an inventory, converged and checked.

The inventory is the source of truth (see ``plan.py`` for what the lab consists of).
Nothing podman says is trusted (shared/lab-notes.md, stale containers): ``up`` probes
every container and recreates the ones that do not answer, run another image, sit on
the wrong network or address, or were created with other settings; networks with the
wrong subnet are recreated. It then waits for systemd and for a real SSH login with
the lab key and strict host key checking. On a healthy lab it changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import shutil
import subprocess
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from storeops.inventory import Inventory
from storeops.paths import LAB_STATE_DIR
from storeops_lab import aptrepo, container, ntp, podman
from storeops_lab.emulators import device_status, ensure_devices, stop_devices
from storeops_lab.errors import LabError
from storeops_lab.fence import fence
from storeops_lab.image import ImageBuildError, ensure_image, image_ref
from storeops_lab.plan import (
    LABEL_LAB,
    LABEL_SPEC,
    LabHost,
    LabPlan,
    StoreNetwork,
    journal_volume,
    make_plan,
    owner_labels,
)
from storeops_lab.portal import ensure_portal, stop_portal
from storeops_lab.ssh import (
    SshFiles,
    default_ssh_files,
    ensure_key,
    known_hosts_text,
    ssh_config_text,
    ssh_login,
    wait_for_ssh,
    write_if_changed,
)

SSH_TIMEOUT = 30.0
MAX_PARALLEL = 8
# Set by a runner that brought the lab up itself before starting suites side by side
# (tests/lab_lanes.py): the suites' own ``up`` would converge every host while another
# suite is, on purpose, recreating one of them.
ASSUME_UP_ENV = "STOREOPS_LAB_ASSUME_UP"
REQUIRED_COMMANDS = ("podman", "ssh", "ssh-keygen", "ip", "chronyd")

Say = Callable[[str], None]
T = TypeVar("T")
R = TypeVar("R")


# ---------------------------------------------------------------------------- results


@dataclass
class UpResult:
    """What ``up`` did. ``actions`` is empty when the lab was already up and healthy."""

    image: str
    hosts: int
    skipped: int
    actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def summary(self) -> str:
        changes = f"{len(self.actions)} change(s)" if self.actions else "nothing changed"
        devices = f" ({self.skipped} emulated devices)" if self.skipped else ""
        return f"lab is up: {self.hosts} hosts, {changes}{devices}"


@dataclass
class DownResult:
    actions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.actions:
            return "lab is down: nothing to remove"
        return "lab is down: " + "; ".join(self.actions)


@dataclass(frozen=True)
class HostStatus:
    """One inventory host as it really is (probed, not taken from podman's records)."""

    host: str
    store: str
    address: str
    container: str
    state: str
    ssh_ok: bool | None
    systemd: str
    note: str = ""
    device: bool = False  # an emulated switch or firewall (a process, not a container)

    @property
    def healthy(self) -> bool:
        if self.device:
            return self.state == "running" and self.ssh_ok is True
        return (
            self.state == "running"
            and self.ssh_ok is True
            and self.systemd in container.READY_STATES
            and not self.note
        )


# ---------------------------------------------------------------------------- helpers


def _in_parallel(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items))) as pool:
        return list(pool.map(work, items))


@contextlib.contextmanager
def _lab_lock() -> Iterator[None]:
    """One ``up`` or ``down`` at a time (e.g. pytest-xdist workers all starting the lab)."""
    LAB_STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (LAB_STATE_DIR / "lab.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def preflight() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (rootful podman, debootstrap)")
    missing = [command for command in REQUIRED_COMMANDS if shutil.which(command) is None]
    if missing:
        raise LabError(f"missing {', '.join(missing)}: run `lab/host-setup.sh` as root first")


def _explain(error: podman.PodmanError | ImageBuildError) -> LabError:
    message = str(error)
    if "rlimit" in message:
        message += "\nhint: run `lab/host-setup.sh` (podman needs runc and lower ulimits here)"
    return LabError(message)


# ---------------------------------------------------------------------------- ownership


def _foreign_owner(labels: Mapping[str, str]) -> str | None:
    """Whose a resource is, if it is not ours to take: None for any storeops lab's.

    The lab's names are global to the machine, so the lab of another checkout (a CI clone,
    an older work tree) is taken over: its containers are recreated for this inventory.
    Anything without the storeops label is never touched.
    """
    if labels.get(LABEL_LAB) != "1":
        return "not the storeops lab (remove them yourself)"
    return None


def check_ownership(
    plan: LabPlan,
    containers: Mapping[str, podman.ContainerInfo | None],
    networks: Mapping[str, podman.NetworkInfo | None],
) -> None:
    """Refuse, before changing anything, to touch containers or networks that are not a lab's."""
    foreign: dict[str, list[str]] = {}
    for name, info in [*containers.items(), *networks.items()]:
        if info is not None and (owner := _foreign_owner(info.labels)) is not None:
            foreign.setdefault(owner, []).append(name)
    if foreign:
        raise LabError(
            "\n".join(f"{', '.join(names)} belong to {owner}" for owner, names in foreign.items())
        )


# ---------------------------------------------------------------------------- networks


def _network_mismatch(
    info: podman.NetworkInfo, network: StoreNetwork, owner: Mapping[str, str]
) -> str | None:
    if info.subnets != (network.subnet,):
        return f"subnet {', '.join(map(str, info.subnets)) or 'none'}, want {network.subnet}"
    if info.gateways != (network.gateway,):
        return f"gateway {', '.join(map(str, info.gateways)) or 'none'}, want {network.gateway}"
    if not info.internal:
        return "not --internal"
    if any(info.labels.get(key) != value for key, value in owner.items()):
        return "left over from another lab"
    return None


def ensure_network(
    network: StoreNetwork, info: podman.NetworkInfo | None, owner: Mapping[str, str]
) -> list[str]:
    """The store's internal network; a wrong one is removed with its containers first."""
    if info is None:
        podman.create_internal_network(network.name, network.subnet, network.gateway, owner)
        return [f"network {network.name}: created ({network.subnet}, gateway {network.gateway})"]
    mismatch = _network_mismatch(info, network, owner)
    if mismatch is None:
        return []
    attached = podman.containers_on_network(network.name)
    podman.remove_containers(attached)
    podman.remove_network(network.name)
    podman.create_internal_network(network.name, network.subnet, network.gateway, owner)
    removed = f"; removed {', '.join(attached)}" if attached else ""
    return [f"network {network.name}: recreated ({mismatch}){removed}"]


# ---------------------------------------------------------------------------- containers


def _settings_mismatch(info: podman.ContainerInfo, lab_host: LabHost) -> str | None:
    # Checked apart from the settings' hash: a container from before the policy, or one
    # whose policy was changed with `podman update`, would not come back after a reboot.
    if info.restart_policy != podman.RESTART_POLICY:
        return f"restart policy {info.restart_policy or 'none'}, want {podman.RESTART_POLICY}"
    if info.labels.get(LABEL_SPEC) != lab_host.spec().labels[LABEL_SPEC]:
        return "created with other settings"
    return None


def outdated_reason(
    info: podman.ContainerInfo | None, lab_host: LabHost, image_id: str | None
) -> str | None:
    """Why the container must be recreated, judged from podman's records alone."""
    if info is None:
        return "missing"
    if image_id is not None and info.image_id != image_id:
        return "runs another image"
    settings = _settings_mismatch(info, lab_host)
    if settings is not None:
        return settings
    if set(info.networks) != {lab_host.network.name}:
        return "wrong network"
    address = info.networks[lab_host.network.name]
    if address and address != str(lab_host.host.address):  # a stopped container has none
        return f"wrong address {address}"
    return None


@dataclass
class HostOutcome:
    lab_host: LabHost
    actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None
    host_key: str | None = None
    recreated: bool = False


def _forget_old_mac(address: ipaddress.IPv4Address) -> None:
    """Drop the controller's ARP entry for a recreated container's address.

    The new container has a new MAC; a still-"reachable" entry for the old one would
    blackhole SSH for up to ~30 s (seen after a stale container was replaced).
    """
    subprocess.run(
        ["ip", "neigh", "flush", "to", str(address)],
        capture_output=True,
        timeout=10,
        check=False,
    )


def _peers_forget_old_mac(plan: LabPlan, outcomes: Sequence[HostOutcome]) -> None:
    """The other lab hosts of a recreated container's network drop their ARP entry for it.

    Same reason as the controller's (:func:`_forget_old_mac`), seen between lab hosts: after
    the db container of a store was replaced, its DMS host's connections to the database
    went to the old MAC and failed until the entry expired.
    """
    flushes = [
        (peer.name, ["ip", "neigh", "flush", "to", str(outcome.lab_host.host.address)])
        for outcome in outcomes
        if outcome.recreated
        for peer in plan.hosts
        if peer.network == outcome.lab_host.network and peer.name != outcome.lab_host.name
    ]
    _in_parallel(lambda flush: podman.exec_in(flush[0], flush[1], timeout=15), flushes)


def _recreate(lab_host: LabHost, exists: bool) -> None:
    if exists:
        podman.remove_containers([lab_host.name])
    podman.run_container(lab_host.spec())
    _forget_old_mac(lab_host.host.address)


def _converge_host(
    lab_host: LabHost,
    info: podman.ContainerInfo | None,
    image_id: str | None,
    public_key: str,
    say: Say,
) -> HostOutcome:
    outcome = HostOutcome(lab_host)
    reason = outdated_reason(info, lab_host, image_id)
    found = None if reason is not None else container.probe(lab_host.name)
    if info is not None and reason is None and found is None:
        reason = f"not answering; podman says {info.status}"
    if reason is not None:
        _recreate(lab_host, exists=info is not None)
        outcome.recreated = True
        outcome.actions.append(f"{lab_host.name}: created ({reason})")
        say(f"  {lab_host.host.name}: container created ({reason})")
    if found is None or not found.ready:
        found = container.wait_until_ready(lab_host.name)
    if found is None or not found.ready:
        state = found.systemd if found else "not answering"
        outcome.problem = f"systemd is {state!r} after {container.SYSTEMD_TIMEOUT:g} s"
        return outcome
    if found.systemd == "degraded":
        units = ", ".join(container.failed_units(lab_host.name)) or "none listed"
        outcome.warnings.append(f"{lab_host.host.name}: systemd degraded, failed units: {units}")
    if not found.has_key(public_key):
        container.install_key(lab_host.name, public_key)
        outcome.actions.append(f"{lab_host.name}: installed the lab SSH key")
    if not found.host_key:
        outcome.problem = "sshd has no ed25519 host key"
    outcome.host_key = found.host_key or None
    return outcome


def converge_host(
    lab_host: LabHost,
    info: podman.ContainerInfo | None,
    image_id: str | None,
    public_key: str,
    say: Say,
) -> HostOutcome:
    """Bring one container to the plan; a failure is reported in the outcome, not raised."""
    try:
        return _converge_host(lab_host, info, image_id, public_key, say)
    except (podman.PodmanError, LabError) as error:
        message = str(_explain(error)) if isinstance(error, podman.PodmanError) else str(error)
        return HostOutcome(lab_host, problem=message)


# ---------------------------------------------------------------------------- up


def _remove_orphans(plan: LabPlan) -> list[str]:
    """Containers and networks of this inventory's lab that the inventory no longer has."""
    actions: list[str] = []
    wanted_containers = {lab_host.name for lab_host in plan.hosts}
    orphans = [n for n in podman.container_names(plan.owner) if n not in wanted_containers]
    if orphans:
        podman.remove_containers(orphans)
        podman.remove_volumes([journal_volume(name) for name in orphans])
        actions.append(f"removed containers no longer in the inventory: {', '.join(orphans)}")
    wanted_networks = {network.name for network in plan.networks}
    for name in podman.network_names(plan.owner):
        if name not in wanted_networks:
            podman.remove_containers(podman.containers_on_network(name))
            podman.remove_network(name)
            actions.append(f"removed network {name} (no lab host of the inventory uses it)")
    return actions


def _record_host_keys(plan: LabPlan, outcomes: Sequence[HostOutcome], files: SshFiles) -> list[str]:
    """known_hosts lines ``<address> <key>`` and ``<host name> <key>`` for every host."""
    entries: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.host_key is not None:
            entries[str(outcome.lab_host.host.address)] = outcome.host_key
            entries[outcome.lab_host.host.name] = outcome.host_key
    existing = files.known_hosts.read_text() if files.known_hosts.exists() else ""
    actions: list[str] = []
    if write_if_changed(files.known_hosts, known_hosts_text(existing, entries)):
        actions.append(f"recorded host keys in {files.known_hosts}")
    hosts = [(h.host.name, h.host.address) for h in plan.hosts]
    write_if_changed(files.config, ssh_config_text(plan.root, hosts, files))  # a convenience
    return actions


def _wait_for_logins(files: SshFiles, outcomes: Sequence[HostOutcome]) -> list[str]:
    ready = [outcome.lab_host for outcome in outcomes if outcome.problem is None]
    errors = _in_parallel(lambda h: wait_for_ssh(files, h.host.address, SSH_TIMEOUT), ready)
    return [
        f"{lab_host.host.name}: no SSH login at {lab_host.host.address}: {error}"
        for lab_host, error in zip(ready, errors, strict=True)
        if error is not None
    ]


def _serve_aptrepo(plan: LabPlan, result: UpResult) -> list[str]:
    """The apt repository on every store network's gateway (there once its bridge is up,
    i.e. after the containers); returns the problem, if any."""
    try:
        result.actions += aptrepo.serve(network.gateway for network in plan.networks)
    except RuntimeError as error:
        return [str(error)]
    return []


def _serve_ntp(plan: LabPlan, result: UpResult) -> list[str]:
    """The NTP server on every store network's gateway, started before the containers (it
    binds the gateway address before the bridge has it: a new host's chrony asks once at
    boot); returns the problem, if any."""
    try:
        result.actions += ntp.serve(plan.networks)
    except (RuntimeError, subprocess.SubprocessError) as error:
        return [str(error)]
    return []


def assumed_up() -> bool:
    """True when the runner of this process has brought the lab up already."""
    return os.environ.get(ASSUME_UP_ENV) == "1"


def _hosts_named(plan: LabPlan, only: Collection[str] | None) -> tuple[LabHost, ...]:
    """The plan's hosts that ``up`` converges: all of them, or the ones named in ``only``."""
    if only is None:
        return plan.hosts
    known = {lab_host.host.name for lab_host in plan.hosts}
    unknown = sorted(set(only) - known)
    if unknown:
        raise LabError(f"no lab container for {', '.join(unknown)} in the inventory")
    return tuple(lab_host for lab_host in plan.hosts if lab_host.host.name in only)


def _up(inventory: Inventory, files: SshFiles, say: Say, only: Collection[str] | None) -> UpResult:
    image = ensure_image(say=say)
    image_id = podman.image_id(image)
    plan = make_plan(inventory, image)
    targets = _hosts_named(plan, only)
    result = UpResult(image=image, hosts=len(plan.hosts), skipped=len(plan.skipped))
    containers = podman.inspect_containers([h.name for h in plan.hosts])
    networks = {n.name: podman.inspect_network(n.name) for n in plan.networks}
    check_ownership(plan, containers, networks)

    result.actions += fence(network.subnet for network in plan.networks)
    result.actions += ensure_portal()
    result.actions += aptrepo.build_repository()
    result.actions += ensure_devices(inventory)
    result.actions += ensure_key(files)
    public_key = files.public_key.read_text().strip()
    result.actions += _remove_orphans(plan)
    for network in plan.networks:
        network_actions = ensure_network(network, networks[network.name], plan.owner)
        if network_actions:  # its containers may be gone now: look again
            containers = podman.inspect_containers([h.name for h in plan.hosts])
        result.actions += network_actions
    problems = _serve_ntp(plan, result)

    outcomes = _in_parallel(
        lambda h: converge_host(h, containers[h.name], image_id, public_key, say), targets
    )
    for outcome in outcomes:
        result.actions += outcome.actions
        result.warnings += outcome.warnings
    _peers_forget_old_mac(plan, outcomes)
    result.actions += _record_host_keys(plan, outcomes, files)
    problems += [f"{o.lab_host.host.name}: {o.problem}" for o in outcomes if o.problem]
    problems += _serve_aptrepo(plan, result)
    problems += ntp.not_answering(plan.networks)
    problems += _wait_for_logins(files, outcomes)
    for warning in result.warnings:
        say(f"  warning: {warning}")
    if problems:
        raise LabError("the lab is not healthy:\n  " + "\n  ".join(problems))
    return result


def up(
    inventory: Inventory,
    *,
    files: SshFiles | None = None,
    say: Say = print,
    only: Collection[str] | None = None,
) -> UpResult:
    """Create or repair the lab the inventory describes; a healthy lab is left alone.

    ``only`` names the hosts to converge (a test that recreated one container while other
    suites use the rest); networks, devices and the gateway's services are checked either
    way. Raises LabError (with every host's problem) if the lab cannot be made healthy.
    """
    preflight()
    with _lab_lock():
        try:
            return _up(inventory, files or default_ssh_files(), say, only)
        except (podman.PodmanError, ImageBuildError) as error:
            raise _explain(error) from error


# ---------------------------------------------------------------------------- down


def down(inventory: Inventory) -> DownResult:
    """Remove this inventory's containers and networks (by label). Keeps image and key."""
    preflight()
    owner = owner_labels(inventory.root)
    result = DownResult()
    with _lab_lock():
        try:
            names = podman.container_names(owner)
            podman.remove_containers(names)
            if names:
                result.actions.append(f"removed {len(names)} container(s)")
            result.actions += stop_portal()
            result.actions += aptrepo.stop_serving()
            result.actions += ntp.stop_serving()
            result.actions += stop_devices(inventory)
            volumes = podman.remove_volumes([journal_volume(name) for name in names])
            if volumes:
                result.actions.append(f"removed {len(volumes)} journal volume(s)")
            networks = podman.network_names(owner)
            for network in networks:
                podman.remove_network(network)
            if networks:
                result.actions.append(f"removed network(s) {', '.join(networks)}")
        except podman.PodmanError as error:
            raise _explain(error) from error
    return result


# ---------------------------------------------------------------------------- status


def _device_statuses(inventory: Inventory) -> dict[str, HostStatus]:
    statuses = {}
    for probed in device_status(inventory):
        host = inventory.hosts[probed.name]
        state = "running" if probed.running else "no process"
        if probed.running and not probed.answering:
            state = "running, not answering"
        statuses[host.name] = HostStatus(
            host=host.name,
            store=host.store,
            address=str(host.address),
            container="-",
            state=state,
            ssh_ok=probed.answering,
            systemd="-",
            note=f"emulated {host.platform} on {probed.endpoint}",
            device=True,
        )
    return statuses


def _host_status(lab_host: LabHost, image_id: str | None, files: SshFiles) -> HostStatus:
    host = lab_host.host
    info = podman.inspect_container(lab_host.name)
    state, systemd, ssh_ok, note = "missing", "-", False, ""
    if info is not None:
        note = outdated_reason(info, lab_host, image_id) or ""
        found = container.probe(lab_host.name)
        if found is None:
            state = f"{info.status}, not answering"
        else:
            state, systemd = info.status, found.systemd
            ssh_ok = files.key.exists() and ssh_login(files, host.address)[0]
    return HostStatus(
        host=host.name,
        store=host.store,
        address=str(host.address),
        container=lab_host.name,
        state=state,
        ssh_ok=ssh_ok,
        systemd=systemd,
        note=note,
    )


def status(inventory: Inventory, *, files: SshFiles | None = None) -> list[HostStatus]:
    """Every inventory host, in inventory order; switches and firewalls as emulated devices."""
    files = files or default_ssh_files()
    try:
        image = image_ref()
        plan = make_plan(inventory, image)
        image_id = podman.image_id(image)
        statuses = _in_parallel(lambda h: _host_status(h, image_id, files), plan.hosts)
    except (podman.PodmanError, ImageBuildError) as error:
        raise _explain(error) from error
    by_name = {item.host: item for item in statuses}
    by_name.update(_device_statuses(inventory))
    return [by_name[name] for name in inventory.hosts]
