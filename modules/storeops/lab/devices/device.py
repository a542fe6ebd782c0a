"""One emulated device: its running configuration, its saved configuration, its command log.

The state is shared by every SSH session to the device (each session has its own prompt and
view stack, :class:`~storeops.lab.devices.platform.Session`) and guarded by one lock: a
command runs whole before the next one starts, whichever session sent it.

Persistence is what a real device does: the running configuration lives in memory only;
``write memory`` / ``save`` writes it to the saved-configuration file
(``<state_dir>/<name>.<suffix>``), and a (re)started emulator boots from that file. A device
whose file does not exist yet boots from the platform's initial configuration and saves it
at once (a device delivered configured): ``show startup-config`` always has something.

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
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from storeops.lab.devices.config import ConfigNode
from storeops.lab.devices.platform import Platform, Session, clock_now


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
    ) -> None:
        self.name = name
        self.platform = platform
        platform.attach(self)
        self.physical_interfaces: frozenset[str] = frozenset()
        self.lock = threading.RLock()
        self.saved_path = state_dir / f"{name}.{platform.saved_file_suffix}"
        self.log_file = log_file
        self.commands: list[CommandRecord] = []
        self.booted = clock_now()
        self._sessions = itertools.count(1)
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
        return self.platform.open_session(self, next(self._sessions), user)

    def authenticate(self, user: str, password: str) -> bool:
        with self.lock:
            return self.platform.check_login(self.tree, user, password)

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
