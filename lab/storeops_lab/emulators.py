"""The lab's switches and firewalls: one emulated device process per inventory device.

Every host of the inventory with a ``storeops_platform`` runs in the lab as a stateful
emulator (:mod:`storeops_lab.devices`) listening on ``ansible_host:ansible_port`` (the lab
inventory puts them on 127.0.0.1), in a process of its own, started detached by ``lab up``
and stopped by ``lab down``, so that a test can stop one device ("the switch is down")
and the next ``lab up`` brings it back. A device boots from its saved configuration
(``write memory`` / ``save``) in ``lab/.state/devices/`` when there is one, else from its
platform's factory configuration with the local admin ``network_username`` and the
store's ``vault_network_password``: the lab's devices start out of line with the
inventory, and ``playbooks/network.yml`` brings them in.

A device answers only while its running configuration holds its inventory address
(``storeops_address``) on an up interface, and allows SSH (the lock-out model of
:mod:`storeops_lab.devices.device`); its factory configuration's management interface
holds that address. A device whose saved configuration locks the controller out when its
process starts (a lab left by an older checkout, or a test that saved a lock-out) is reset
to its factory configuration, as a technician with a console cable would: ``up`` can
always bring the lab back. ``STOREOPS_LAB_SECONDS_PER_MINUTE`` (lab-only; default 60) scales the
devices' revert and reboot timers for tests that wait for them.

Nothing is trusted that was not probed: ``up`` checks that each device's process is
alive with this checkout's arguments and that its port answers with an SSH banner, and
(re)starts the ones that do not. A process of another checkout on the port is replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storeops.ansible_view import load
from storeops.inventory import Inventory
from storeops.paths import LAB_STATE_DIR
from storeops.roles import role_defaults
from storeops_lab.errors import LabError

STATE_DIR = LAB_STATE_DIR / "devices"
PASSWORD_ENV = "STOREOPS_DEVICE_PASSWORD"
TIME_SCALE_ENV = "STOREOPS_LAB_SECONDS_PER_MINUTE"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
MODULE = "storeops_lab.emulators"
# The same program before the lab became its own package (a checkout of before the move):
# still recognised on a port, so that ``up`` replaces it instead of failing to bind.
FORMER_MODULES = ("storeops.lab.emulators",)


@dataclass(frozen=True)
class EmulatedDevice:
    """One inventory device as the lab runs it."""

    name: str
    platform: str
    host: str
    port: int
    username: str
    password: str
    address: str = ""  # the management address the controller uses (storeops_address)
    seconds_per_minute: float = 60.0

    @property
    def pid_file(self) -> Path:
        return STATE_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return STATE_DIR / f"{self.name}.log"

    def argv(self) -> list[str]:
        """The process's command line: everything that identifies this device's settings
        (the password only as a digest: a changed password restarts the device)."""
        digest = hashlib.sha256(self.password.encode()).hexdigest()[:12]
        return [
            sys.executable,
            "-m",
            MODULE,
            "serve",
            self.name,
            self.platform,
            str(self.port),
            self.username,
            str(STATE_DIR),
            f"--password-digest={digest}",
            f"--management-address={self.address}",
            f"--seconds-per-minute={self.seconds_per_minute:g}",
        ]


@dataclass(frozen=True)
class DeviceStatus:
    name: str
    endpoint: str
    running: bool  # this checkout's process, with the inventory's settings
    answering: bool  # an SSH banner on the port


def lab_devices(inventory: Inventory) -> list[EmulatedDevice]:
    """The inventory's switches and firewalls, with the login the lab boots them with."""
    hosts = [host for host in inventory.hosts.values() if host.platform is not None]
    if not hosts:
        return []
    variables = {name: host.variables for name, host in load(inventory.root).items()}
    default_user = str(role_defaults("network")["network_username"])
    scale = _time_scale()
    devices = []
    for host in hosts:
        host_vars = variables[host.name]
        if host.port is None:
            raise LabError(f"{host.name}: an emulated device needs ansible_port in the inventory")
        if "vault_network_password" not in host_vars:
            raise LabError(f"{host.name}: no vault_network_password for the lab device's login")
        devices.append(
            EmulatedDevice(
                name=host.name,
                platform=str(host.platform),
                host=str(host.endpoint[0]),
                port=host.port,
                username=str(host_vars.get("network_username", default_user)),
                password=str(host_vars["vault_network_password"]),
                address=str(host.address),
                seconds_per_minute=scale,
            )
        )
    return devices


def _time_scale() -> float:
    """``STOREOPS_LAB_SECONDS_PER_MINUTE`` (a positive number of seconds), else 60."""
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return 60.0
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise LabError(f"{TIME_SCALE_ENV}={raw!r}: give a number of seconds between 0 and 3600")
    return value


# ---------------------------------------------------------------------------- probes


def answers_ssh(host: str, port: int, timeout: float = 2.0) -> bool:
    """A TCP connection to ``host:port`` that greets with an SSH banner."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            return connection.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _recorded_pid(device: EmulatedDevice) -> int | None:
    try:
        return int(device.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _own_process(device: EmulatedDevice) -> int | None:
    """The pid of this device's process with exactly the expected arguments, if alive."""
    pid = _recorded_pid(device)
    return pid if pid is not None and _cmdline(pid) == device.argv() else None


def _emulators_on_port(port: int) -> list[int]:
    """Every lab device emulator serving ``port`` (this checkout's or another's)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        words = _cmdline(int(entry.name))
        ours = any(module in words for module in (MODULE, *FORMER_MODULES))
        if ours and "serve" in words and str(port) in words:
            found.append(int(entry.name))
    return found


def _terminate(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        for pid in pids:  # reap our own children, if they are ours
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------- up / down


def _start(device: EmulatedDevice) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with device.log_file.open("ab") as log:
        process = subprocess.Popen(
            device.argv(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env={**os.environ, PASSWORD_ENV: device.password},
        )
    device.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if answers_ssh(device.host, device.port, timeout=0.5):
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise LabError(
        f"{device.name}: the emulated {device.platform} device did not start on "
        f"{device.host}:{device.port} (see {device.log_file})"
    )


def ensure_device(device: EmulatedDevice) -> list[str]:
    """Start ``device`` unless its own process already answers; what was done."""
    if _own_process(device) is not None and answers_ssh(device.host, device.port):
        return []
    _terminate(_emulators_on_port(device.port))
    _start(device)
    return [f"{device.name}: emulated {device.platform} started on {device.host}:{device.port}"]


def ensure_devices(inventory: Inventory) -> list[str]:
    """Every device of the inventory running and answering; what was done."""
    return [action for device in lab_devices(inventory) for action in ensure_device(device)]


def stop_device(device: EmulatedDevice) -> bool:
    """Stop the device's process (its saved configuration stays); whether one ran."""
    pids = sorted(set(_emulators_on_port(device.port)) | {p for p in [_own_process(device)] if p})
    _terminate(pids)
    device.pid_file.unlink(missing_ok=True)
    return bool(pids)


def reset_device(device: EmulatedDevice) -> None:
    """Back to the factory configuration: stop, forget what it saved, start again."""
    stop_device(device)
    for saved in STATE_DIR.glob(f"{device.name}.*"):
        if saved.suffix not in {".pid", ".log"}:
            saved.unlink()
    _start(device)


def stop_devices(inventory: Inventory) -> list[str]:
    """Stop every device and forget their saved configurations (``lab down``)."""
    stopped = [device.name for device in lab_devices(inventory) if stop_device(device)]
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    return [f"stopped {len(stopped)} emulated device(s)"] if stopped else []


def device_status(inventory: Inventory) -> list[DeviceStatus]:
    return [
        DeviceStatus(
            name=device.name,
            endpoint=f"{device.host}:{device.port}",
            running=_own_process(device) is not None,
            answering=answers_ssh(device.host, device.port),
        )
        for device in lab_devices(inventory)
    ]


# ---------------------------------------------------------------------------- the process


def serve(argv: Sequence[str] | None = None) -> int:
    """``python -m storeops_lab.emulators serve NAME PLATFORM PORT USER STATE_DIR``.

    Runs one emulated device until SIGTERM; the password comes from the environment
    (``STOREOPS_DEVICE_PASSWORD``), never from the command line.
    """
    from storeops_lab.devices.start import start_device

    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("name")
    parser.add_argument("platform")
    parser.add_argument("port", type=int)
    parser.add_argument("username")
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("--password-digest", default="")
    parser.add_argument("--management-address", action="append", default=[])
    parser.add_argument("--seconds-per-minute", type=float, default=60.0)
    args = parser.parse_args(argv)
    password = os.environ.pop(PASSWORD_ENV, "")
    if not password:
        print(f"{PASSWORD_ENV} is not set", file=sys.stderr)
        return 2
    args.state_dir.mkdir(parents=True, exist_ok=True)
    handle = start_device(
        args.name,
        args.platform,
        args.port,
        args.username,
        password,
        args.state_dir,
        management_addresses=[address for address in args.management_address if address],
        seconds_per_minute=args.seconds_per_minute,
    )
    print(f"{args.name}: {args.platform} on {handle.host}:{handle.port}", flush=True)
    if not handle.device.reachable():
        handle.device.factory_reset()
        print(
            f"{args.name}: the saved configuration let no new login in at "
            f"{', '.join(handle.device.management_addresses)}: reset to the factory "
            "configuration (the lab's console cable)",
            flush=True,
        )
    stop = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop:
        signal.pause()
    handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
