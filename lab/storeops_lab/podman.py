"""A thin, typed wrapper over the podman CLI (subprocess with an argument list, no shell).

Only what the lab needs: containers, networks, images. Every call has a timeout, so a
wedged podman (or a stale container, see shared/lab-notes.md) cannot hang ``lab up``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PODMAN = "podman"
DEFAULT_TIMEOUT = 120.0
STOP_TIMEOUT_SECONDS = 3  # systemd in a lab container halts in well under a second
# A lab host rebooted from inside (`systemctl reboot`, the patching role) exits; with this
# policy podman starts it again (in about 6 s), as a real host comes back after a reboot.
RESTART_POLICY = "always"


class PodmanError(RuntimeError):
    """A podman command failed or timed out."""

    def __init__(self, command: Sequence[str], detail: str) -> None:
        self.command = list(command)
        self.detail = detail.strip()
        super().__init__(f"`{' '.join(command)}` failed: {self.detail}")


def run(
    args: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS``; raise :class:`PodmanError` on timeout, or on failure if ``check``."""
    command = [PODMAN, *args]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PodmanError(command, f"timed out after {timeout:g} s") from None
    if check and completed.returncode != 0:
        raise PodmanError(command, completed.stderr or f"exit status {completed.returncode}")
    return completed


def _json(args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Any:
    return json.loads(run(args, timeout=timeout).stdout or "null")


def _label_filters(labels: Mapping[str, str]) -> list[str]:
    return [arg for key, value in labels.items() for arg in ("--filter", f"label={key}={value}")]


# ---------------------------------------------------------------------------- containers


@dataclass(frozen=True)
class ContainerSpec:
    """What ``podman run -d`` gets for one systemd lab host."""

    name: str
    hostname: str
    image: str
    network: str
    address: ipaddress.IPv4Address
    labels: Mapping[str, str] = field(default_factory=dict)
    cap_add: tuple[str, ...] = ("NET_ADMIN", "NET_RAW")
    volumes: tuple[tuple[str, str], ...] = ()  # (named volume, mount point)

    def run_args(self) -> list[str]:
        args = [
            "run",
            "--detach",
            "--name",
            self.name,
            "--hostname",
            self.hostname,
            "--network",
            self.network,
            "--ip",
            str(self.address),
            "--systemd=always",
            f"--restart={RESTART_POLICY}",
            "--cap-add",
            ",".join(self.cap_add),
        ]
        for volume, mount_point in self.volumes:
            args += ["--volume", f"{volume}:{mount_point}"]
        for key, value in sorted(self.labels.items()):
            args += ["--label", f"{key}={value}"]
        return [*args, self.image, "/sbin/init"]


@dataclass(frozen=True)
class ContainerInfo:
    """The parts of ``podman container inspect`` the lab looks at."""

    name: str
    image_id: str
    status: str
    labels: Mapping[str, str]
    networks: Mapping[str, str]  # network name -> IPv4 address in it
    restart_policy: str = ""  # HostConfig.RestartPolicy.Name ("" or "no": none)
    started_at: str = ""  # State.StartedAt: a new value after every (re)start

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ContainerInfo:
        state = data.get("State") or {}
        config = data.get("Config") or {}
        settings = (data.get("NetworkSettings") or {}).get("Networks") or {}
        restart = (data.get("HostConfig") or {}).get("RestartPolicy") or {}
        return cls(
            name=str(data.get("Name", "")),
            image_id=str(data.get("Image", "")),
            status=str(state.get("Status", "unknown")),
            labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
            networks={
                str(name): str((details or {}).get("IPAddress", ""))
                for name, details in settings.items()
            },
            restart_policy=str(restart.get("Name", "")),
            started_at=str(state.get("StartedAt", "")),
        )


def inspect_containers(names: Sequence[str]) -> dict[str, ContainerInfo | None]:
    """Inspect data by name (None for a name with no container), in one podman call."""
    if not names:
        return {}
    completed = run(["container", "inspect", *names], check=False, timeout=30)
    errors = [line for line in completed.stderr.splitlines() if line.strip()]
    if completed.returncode != 0 and not all("no such container" in e.lower() for e in errors):
        raise PodmanError([PODMAN, "container", "inspect", *names], completed.stderr)
    found = [ContainerInfo.from_inspect(item) for item in json.loads(completed.stdout or "[]")]
    by_name = {info.name: info for info in found}
    return {name: by_name.get(name) for name in names}


def inspect_container(name: str) -> ContainerInfo | None:
    """The container's inspect data, or None if there is no container of that name."""
    return inspect_containers([name])[name]


def container_names(labels: Mapping[str, str]) -> list[str]:
    """Names of all containers (any state) that carry every one of ``labels``."""
    out = run(["ps", "--all", "--format", "{{.Names}}", *_label_filters(labels)], timeout=30)
    return sorted(line for line in out.stdout.split() if line)


def containers_on_network(network: str) -> list[str]:
    out = run(["ps", "--all", "--format", "{{.Names}}", "--filter", f"network={network}"])
    return sorted(line for line in out.stdout.split() if line)


def run_container(spec: ContainerSpec) -> None:
    run(spec.run_args(), timeout=60)


def remove_containers(names: Sequence[str]) -> None:
    """``podman stop``, then ``podman rm -f``, tried twice.

    Stopped first: a container with ``--restart=always`` that podman stops stays stopped,
    so podman does not start it again while it is being removed. On a stale container
    (its conmon killed) the stop may fail and the first removal can fail with "timed out
    waiting for file /run/libpod/exits/..."; that attempt marks it exited, and the
    second one removes it.
    """
    if not names:
        return
    with contextlib.suppress(PodmanError):  # a stale one: `rm --force` still removes it
        run(["stop", "--ignore", "--time", str(STOP_TIMEOUT_SECONDS), *names], timeout=60)
    command = ["rm", "--force", "--ignore", "--time", str(STOP_TIMEOUT_SECONDS), *names]
    try:
        run(command, timeout=60)
    except PodmanError:
        run(command, timeout=60)


def exec_in(
    name: str,
    argv: Sequence[str],
    *,
    timeout: float = 30,
    user: str | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``podman exec`` (never raises on a non-zero exit; raises on timeout)."""
    options = ["--interactive"] if input_text is not None else []
    if user is not None:
        options += ["--user", user]
    return run(["exec", *options, name, *argv], timeout=timeout, check=False, input_text=input_text)


# ---------------------------------------------------------------------------- networks


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    subnets: tuple[ipaddress.IPv4Network, ...]
    gateways: tuple[ipaddress.IPv4Address, ...]
    internal: bool
    labels: Mapping[str, str]

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> NetworkInfo:
        subnets = [entry for entry in data.get("subnets") or [] if ":" not in entry["subnet"]]
        return cls(
            name=str(data.get("name", "")),
            subnets=tuple(ipaddress.IPv4Network(entry["subnet"]) for entry in subnets),
            gateways=tuple(
                ipaddress.IPv4Address(entry["gateway"]) for entry in subnets if "gateway" in entry
            ),
            internal=bool(data.get("internal", False)),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
        )


def inspect_network(name: str) -> NetworkInfo | None:
    if run(["network", "exists", name], check=False, timeout=30).returncode != 0:
        return None
    items = _json(["network", "inspect", name], timeout=30)
    return NetworkInfo.from_inspect(items[0]) if items else None


def network_names(labels: Mapping[str, str]) -> list[str]:
    out = run(["network", "ls", "--format", "{{.Name}}", *_label_filters(labels)], timeout=30)
    return sorted(line for line in out.stdout.split() if line)


def create_internal_network(
    name: str,
    subnet: ipaddress.IPv4Network,
    gateway: ipaddress.IPv4Address,
    labels: Mapping[str, str],
) -> None:
    args = ["network", "create", "--internal", "--subnet", str(subnet), "--gateway", str(gateway)]
    for key, value in sorted(labels.items()):
        args += ["--label", f"{key}={value}"]
    run([*args, name], timeout=60)


def remove_network(name: str) -> None:
    run(["network", "rm", name], timeout=60)


# ---------------------------------------------------------------------------- volumes


def remove_volumes(names: Sequence[str]) -> list[str]:
    """``podman volume rm`` of those that exist; returns the names removed."""
    existing = [n for n in names if run(["volume", "exists", n], check=False).returncode == 0]
    if existing:
        run(["volume", "rm", "--force", *existing], timeout=60)
    return existing


# ---------------------------------------------------------------------------- images


def image_id(ref: str) -> str | None:
    """The full ID of a local image, or None if it does not exist."""
    if run(["image", "exists", ref], check=False, timeout=30).returncode != 0:
        return None
    return run(["image", "inspect", "--format", "{{.Id}}", ref], timeout=30).stdout.strip()
