"""Start and stop emulated devices: one SSH server per device, in this process (the
platforms by name in ``PLATFORMS``; see the package docstring for what they emulate)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storeops_lab.devices.cisco_ios import CiscoIos
from storeops_lab.devices.device import DEFAULT_SECONDS_PER_MINUTE, CommandRecord, Device
from storeops_lab.devices.huawei_vrp import HuaweiVrp
from storeops_lab.devices.platform import Platform
from storeops_lab.devices.server import ADDRESS, DeviceSshServer

PLATFORMS: dict[str, type[Platform]] = {"cisco_ios": CiscoIos, "huawei_vrp": HuaweiVrp}

__all__ = ["PLATFORMS", "CommandRecord", "Device", "DeviceHandle", "start_device", "stop_device"]


@dataclass
class DeviceHandle:
    """A running emulated device: where it listens, its state, how long it took to start."""

    name: str
    platform: str
    host: str
    port: int
    username: str
    device: Device
    server: DeviceSshServer
    startup_seconds: float

    @property
    def netmiko_device_type(self) -> str:
        return self.device.platform.netmiko_device_type

    @property
    def commands(self) -> list[CommandRecord]:
        """Every command the device received, in order (see :class:`CommandRecord`)."""
        return list(self.device.commands)

    def netmiko_params(self) -> dict[str, str | int]:
        """``ConnectHandler`` arguments, except the password (and the enable secret)."""
        return {
            "device_type": self.netmiko_device_type,
            "host": self.host,
            "port": self.port,
            "username": self.username,
        }

    def stop(self) -> None:
        """Stop listening and close every session (the running configuration is lost)."""
        self.server.stop()


def start_device(  # noqa: PLR0917 - the lab's start_device(name, platform, port, ...)
    name: str,
    platform: str,
    port: int,
    username: str,
    password: str,
    state_dir: Path,
    *,
    enable_secret: str | None = None,
    initial_config: str | None = None,
    log_commands: bool = True,
    management_addresses: Sequence[str] = (),
    seconds_per_minute: float = DEFAULT_SECONDS_PER_MINUTE,
) -> DeviceHandle:
    """Boot an emulated device and serve its CLI over SSH on 127.0.0.1:``port``.

    The device boots from ``<state_dir>/<name>.<suffix>`` when that saved configuration
    exists; otherwise from ``initial_config`` (a configuration text in the platform's
    syntax) or the platform's initial switch configuration, made for ``name``, the local
    user ``username``/``password`` and, on Cisco IOS, ``enable_secret`` (none: ``enable``
    asks for nothing). ``username`` and ``password`` only seed that configuration: logins
    are checked against the local users it holds. With ``log_commands``, every command is
    also appended to ``<state_dir>/<name>.commands.jsonl``.

    ``management_addresses``: the addresses the controller may reach the device at (none:
    the factory configuration's); the factory configuration's management interface holds
    the first one. ``seconds_per_minute``: the length of a device minute in real seconds,
    for the revert and reboot timers (default 60; tests scale it down).
    """
    started = time.perf_counter()
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}: one of {', '.join(PLATFORMS)}")
    emulated = PLATFORMS[platform]()
    addresses = tuple(management_addresses) or (emulated.factory_address,)
    text = initial_config or emulated.initial_config(
        name, username, password, enable_secret, address=addresses[0]
    )
    log_file = state_dir / f"{name}.commands.jsonl" if log_commands else None
    device = Device(
        name,
        emulated,
        Path(state_dir),
        initial_config=text,
        log_file=log_file,
        management_addresses=addresses,
        seconds_per_minute=seconds_per_minute,
    )
    server = DeviceSshServer(device, port)
    server.start()
    return DeviceHandle(
        name=name,
        platform=platform,
        host=ADDRESS,
        port=server.port,
        username=username,
        device=device,
        server=server,
        startup_seconds=time.perf_counter() - started,
    )


def stop_device(handle: DeviceHandle) -> None:
    """Stop a device started by :func:`start_device`."""
    handle.stop()
