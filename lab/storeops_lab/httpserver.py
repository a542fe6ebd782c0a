"""A directory served over HTTP by a detached ``python -m http.server``, its PID in a file.

What the lab's brand portal (:mod:`storeops_lab.portal`) and its apt repository
(:mod:`storeops_lab.aptrepo`) share: start it detached (it outlives ``lab up``), know
whether it answers and whether it serves this checkout's files (another checkout's server
on the same address and port is taken over), and stop it from its PID file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storeops.paths import REPO_ROOT

START_TIMEOUT = 10.0
FETCH_TIMEOUT = 2.0
TAKEOVER_PAUSE = 0.5  # the port is free a moment after the old server got SIGTERM


@dataclass(frozen=True)
class StaticServer:
    """``python -m http.server PORT --bind HOST --directory DIRECTORY``."""

    what: str  # for messages: "brand portal"
    host: str
    port: int
    directory: Path
    pid_file: Path
    log_file: Path
    probe: str  # a file it serves once it is up (relative URL path)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fetch(self, name: str) -> bytes | None:
        """The body of ``URL/name`` (200 only), or None."""
        try:
            with urllib.request.urlopen(f"{self.url}/{name}", timeout=FETCH_TIMEOUT) as response:
                body: bytes = response.read()
                return body if response.status == 200 else None
        except (urllib.error.URLError, OSError):
            return None

    def answering(self) -> bool:
        return self.fetch(self.probe) is not None

    def serves(self, names: list[str]) -> bool:
        """It serves these files of ``directory`` as they are here (not another checkout's)."""
        return bool(names) and all(
            self.fetch(name) == (self.directory / name).read_bytes() for name in names
        )

    def processes(self) -> list[int]:
        """PIDs of any http.server on this address and port (this checkout's or another's)."""
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                words = cmdline.read_bytes().split(b"\0")
                if (
                    b"http.server" in words
                    and str(self.port).encode() in words
                    and self.host.encode() in words
                ):
                    found.append(int(cmdline.parent.name))
        return found

    def start(self) -> None:
        """Start it detached and wait until it answers; RuntimeError if it does not."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "http.server",
                    str(self.port),
                    "--bind",
                    self.host,
                    "--directory",
                    str(self.directory),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.answering():
                return
            if process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the lab {self.what} did not start on {self.url} (see {self.log_file})")

    def ensure(self, serves_this_checkout: Callable[[], bool]) -> list[str]:
        """Make sure it serves this checkout; return what was done."""
        if serves_this_checkout():
            return []
        actions = self.stop()
        for pid in self.processes():  # another checkout's server holds the port: take over
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                actions.append(f"stopped another checkout's {self.what} (pid {pid})")
        time.sleep(TAKEOVER_PAUSE)
        self.start()
        served = shown(self.directory)
        return [*actions, f"{self.what} started on {self.url} (serving {served})"]

    def stop(self) -> list[str]:
        """Stop the server of the PID file (if it is still an http.server)."""
        return stop_pid_file(self.pid_file, self.what)


def shown(path: Path) -> Path:
    """A path as messages show it: relative to the checkout when it is inside it."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def stop_pid_file(pid_file: Path, what: str) -> list[str]:
    if not pid_file.is_file():
        return []
    pid = int(pid_file.read_text().strip() or 0)
    pid_file.unlink()
    with contextlib.suppress(ProcessLookupError, PermissionError, FileNotFoundError):
        if pid and "http.server" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGTERM)
            return [f"{what} stopped (pid {pid})"]
    return []
