"""One emulated device: its running configuration, its saved configuration, its command log.

The state is shared by every SSH session to the device (each session has its own prompt and
view stack, :class:`~storeops_lab.devices.platform.Session`) and guarded by one lock: a
command runs whole before the next one starts, whichever session sent it.

Persistence is what a real device does: the running configuration lives in memory only;
``write memory`` / ``save`` writes it to the saved-configuration file
(``<state_dir>/<name>.<suffix>``), and a (re)started emulator boots from that file. A device
whose file does not exist yet boots from the platform's initial configuration and saves it
at once (a device delivered configured): ``show startup-config`` always has something.

Timers run on the device, not in a session, as on the real platforms: the Cisco IOS revert
timer (``configure terminal revert timer``) rolls the running configuration back to its
checkpoint and the Huawei VRP scheduled reboot (``schedule reboot delay``) reboots to the
saved configuration when they expire, whatever sessions are open. Both count in device
minutes; ``seconds_per_minute`` (lab-only, never visible on the CLI; default 60) scales
them, and the reboot's boot time, so that a test waits seconds instead of minutes.

Reachability (the lock-out model). Every emulated device listens on a 127.0.0.1 port, so
the address the controller uses cannot be read from the packets. The device is told
instead which of its addresses the controller may use (``management_addresses``: the
inventory's ``storeops_address`` in the lab; a test may add a new address), and accepts a
new SSH connection only while its running configuration still gives the controller a way
in (:meth:`Platform.management_path`): one of those addresses on an up layer-3 interface
(an SVI whose VLAN exists and which is not shut down) and SSH allowed on the VTY lines.
Otherwise the TCP connection is closed before the SSH greeting, as a device whose address
is gone does not answer either. A local user that no longer exists (or may not use SSH)
fails the login itself. Sessions already open are kept when the path goes away: the
emulator cannot tell which address a session came through (one port for all of them), and
a real device's cut session hangs rather than ends, so what a controller must prove is a
*new* login, which is what is refused. While the device boots (after a scheduled reboot),
connections are closed the same way.

Every command received is appended to :attr:`Device.commands` and, when ``log_file`` is
set, to a JSON-lines file, with the session, the prompt it was typed at and whether it was
sent in (or into) configuration mode: a test can prove that a check-mode run sent no
configuration command. Answers to password prompts are not logged.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from storeops_lab.devices.config import ConfigNode
from storeops_lab.devices.platform import Platform, Session, clock_now


@dataclass(frozen=True)
class CommandRecord:
    """One line received by the device."""

    time: str  # ISO 8601, UTC
    session: int
    prompt: str
    command: str
    config: bool  # typed in configuration mode, or entered/left it


@dataclass(frozen=True)
class Change:
    """When the configuration last changed or was saved, and by whom."""

    at: datetime
    user: str


DEFAULT_SECONDS_PER_MINUTE = 60.0


@dataclass(eq=False)
class Countdown:
    """A device timer: what it runs when it expires, in device minutes (see the module doc).

    ``idle``: the timer starts again whenever a command is received (IOS ``revert timer
    idle``). ``started``: when it was armed or last reset (the device clock).
    """

    minutes: float
    action: Callable[[], None]
    user: str
    idle: bool = False
    started: datetime = field(default_factory=clock_now)
    deadline: float = 0.0  # time.monotonic() when it expires
    cancelled: bool = False
    timer: threading.Timer | None = None

    def remaining(self) -> float:
        """Real seconds until it expires."""
        return max(0.0, self.deadline - time.monotonic())

    def cancel(self) -> None:
        self.cancelled = True
        if self.timer is not None:
            self.timer.cancel()


class Device:
    """The state of one emulated device (see the module docstring)."""

    def __init__(
        self,
        name: str,
        platform: Platform,
        state_dir: Path,
        *,
        initial_config: str,
        log_file: Path | None = None,
        management_addresses: Sequence[str] = (),
        seconds_per_minute: float = DEFAULT_SECONDS_PER_MINUTE,
    ) -> None:
        self.name = name
        self.platform = platform
        platform.attach(self)
        self.physical_interfaces: frozenset[str] = frozenset()
        self.lock = threading.RLock()
        self.management_addresses = tuple(management_addresses) or (platform.factory_address,)
        if seconds_per_minute <= 0:
            raise ValueError("seconds_per_minute must be positive")
        self.seconds_per_minute = seconds_per_minute
        self.timers: dict[str, Countdown] = {}  # by kind: "revert", "reboot"
        self.sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        self.disconnect_all: Callable[[], None] = lambda: None  # set by the SSH server
        self.booting_until = 0.0  # time.monotonic() until which the device is booting
        self.saved_path = state_dir / f"{name}.{platform.saved_file_suffix}"
        self.log_file = log_file
        self.commands: list[CommandRecord] = []
        self.booted = clock_now()
        self._sessions = itertools.count(1)
        self.initial_config = initial_config
        state_dir.mkdir(parents=True, exist_ok=True)
        if not self.saved_path.is_file():
            self.tree = platform.parse(initial_config)
            self.last_change = Change(self.booted, "")
            self.last_saved: Change | None = None
            self.save("")
        self.tree = platform.parse(self.saved_path.read_text(encoding="utf-8"))
        saved_at = datetime.fromtimestamp(self.saved_path.stat().st_mtime, tz=self.booted.tzinfo)
        self.last_saved = Change(saved_at, "")
        self.last_change = Change(self.booted, "")
        self.physical_interfaces = frozenset(self._physical_interfaces())

    def _physical_interfaces(self) -> list[str]:
        """The ports the hardware has: the physical interfaces of the boot configuration."""
        names = [node.text.split(maxsplit=1)[1] for node in self.tree.find_words(["interface"])]
        return [name for name in names if self.platform.is_physical(name)]

    @property
    def hostname(self) -> str:
        return self.platform.hostname(self.tree)

    def open_session(self, user: str) -> Session:
        session = self.platform.open_session(self, next(self._sessions), user)
        self.sessions.add(session)
        return session

    def authenticate(self, user: str, password: str) -> bool:
        with self.lock:
            return self.platform.check_login(self.tree, user, password)

    # ---------------------------------------------------------------- reachability

    @property
    def booting(self) -> bool:
        return time.monotonic() < self.booting_until

    def reachable(self) -> bool:
        """Whether a new connection gets an SSH greeting (see the module docstring)."""
        with self.lock:
            if self.booting:
                return False
            return self.platform.management_path(self.tree, self.management_addresses)

    # ---------------------------------------------------------------- timers

    def real_seconds(self, minutes: float) -> float:
        """Device minutes -> real seconds (the lab's time scale)."""
        return minutes * self.seconds_per_minute

    def device_minutes(self, seconds: float) -> float:
        """Real seconds -> device minutes."""
        return seconds / self.seconds_per_minute

    def arm(self, kind: str, countdown: Countdown) -> Countdown:
        """Start ``countdown`` (replacing any timer of the same kind); caller holds the lock."""
        previous = self.timers.pop(kind, None)
        if previous is not None:
            previous.cancel()
        countdown.cancelled = False
        delay = self.real_seconds(countdown.minutes)
        countdown.started = clock_now()
        countdown.deadline = time.monotonic() + delay
        timer = threading.Timer(delay, self._expire, args=(kind, countdown))
        timer.daemon = True
        timer.name = f"device-{self.name}-{kind}-timer"
        countdown.timer = timer
        self.timers[kind] = countdown
        timer.start()
        return countdown

    def disarm(self, kind: str) -> Countdown | None:
        """Cancel the timer of ``kind``; the one cancelled, if any (caller holds the lock)."""
        countdown = self.timers.pop(kind, None)
        if countdown is not None:
            countdown.cancel()
        return countdown

    def _expire(self, kind: str, countdown: Countdown) -> None:
        with self.lock:
            if countdown.cancelled or self.timers.get(kind) is not countdown:
                return
            del self.timers[kind]
            countdown.action()

    def activity(self) -> None:
        """A command was received: idle timers start again (caller holds the lock)."""
        for kind, countdown in list(self.timers.items()):
            if countdown.idle:
                self.arm(kind, countdown)

    def replace_running(self, tree: ConfigNode, user: str = "") -> None:
        """The running configuration replaced whole (a rollback): sessions in configuration
        mode go back to its top level, since the views they were in may be gone."""
        with self.lock:
            self.tree = tree
            self.touch(user)
            for session in list(self.sessions):
                session.reset_views()

    def reboot(self, boot_minutes: float) -> None:
        """Reboot to the saved configuration: every connection dropped, the unsaved running
        configuration lost, no connection accepted for ``boot_minutes`` (device minutes)."""
        with self.lock:
            for countdown in list(self.timers.values()):
                countdown.cancel()
            self.timers.clear()
            self.booting_until = time.monotonic() + self.real_seconds(boot_minutes)
            self.disconnect_all()
            self.sessions = weakref.WeakSet()
            saved = self.saved_config()
            if saved is not None:
                self.tree = self.platform.parse(saved)
            self.booted = clock_now() + timedelta(minutes=boot_minutes)
            self.last_change = Change(self.booted, "")

    def factory_reset(self) -> None:
        """Back to the initial configuration, saved (a technician at the store with a
        console cable): the lab's way out of a saved configuration that locks it out."""
        with self.lock:
            for countdown in list(self.timers.values()):
                countdown.cancel()
            self.timers.clear()
            self.replace_running(self.platform.parse(self.initial_config))
            self.save("")

    def touch(self, user: str) -> None:
        """Note a configuration change (the volatile "last change" header line)."""
        self.last_change = Change(clock_now(), user)

    def running_config(self) -> str:
        with self.lock:
            return self.platform.running_config(self)

    def save(self, user: str) -> None:
        """Write the running configuration to the saved-configuration file (atomically)."""
        with self.lock:
            self.last_saved = Change(clock_now(), user)
            text = self.platform.saved_text(self)
            temporary = self.saved_path.with_suffix(self.saved_path.suffix + ".tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.saved_path)

    def saved_config(self) -> str | None:
        """The saved-configuration file's text, if there is one."""
        with self.lock:
            if not self.saved_path.is_file():
                return None
            return self.saved_path.read_text(encoding="utf-8")

    def record(self, session: int, prompt: str, command: str, *, config: bool) -> None:
        entry = CommandRecord(clock_now().isoformat(), session, prompt, command, config)
        self.commands.append(entry)
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(entry)) + "\n")

    def config_commands(self) -> list[CommandRecord]:
        """The commands sent in (or into) configuration mode."""
        with self.lock:
            return [entry for entry in self.commands if entry.config]

    def copy_tree(self) -> ConfigNode:
        with self.lock:
            return self.tree.copy()
