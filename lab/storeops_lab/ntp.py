"""The lab's NTP servers: Debian's chronyd on every store network's gateway, on the controller.

A real store host follows the group's time sources (roles/hardening, control
L2-7.1.4.3-b-time-sync). Lab hosts have no route out, so the lab inventory points their
chrony at the controller's address on the store network (``hardening_ntp_servers``: the
network's first address, e.g. 10.77.1.1), and ``lab up`` runs a real NTP server there:
one ``chronyd`` per gateway (chronyd binds one IPv4 address), run on the controller,
serving the controller's own clock as a stratum-10 local reference to that store's
network only. It never touches the controller's clock (``-x``) and keeps everything
under ``lab/.state`` (file names ``ntp-<gateway>``): its configuration (``.conf``, written
here), its PID file (``.pid``), and a directory chronyd creates for its drift file and
its command socket (``chronyc -h lab/.state/ntp-10.77.1.1/chronyd.sock -n clients`` shows
who asked). No UDP command port (``cmdport 0``), and no file of the machine's own chronyd
(``/run/chrony``, ``/var/lib/chrony``): a chronyd the controller runs for itself is left
alone, even one serving NTP on the wildcard address (a socket bound to the gateway address
gets the lab's packets first).

chronyd binds its address even before it exists (IP_FREEBIND), so ``lab up`` starts the
servers before the containers (a new host's chronyd asks once at boot with ``iburst``,
then backs off) and checks that they answer once the bridges are up. Another checkout's
server for the same gateway is taken over, as for the apt repository.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ntplib

from storeops.paths import LAB_STATE_DIR
from storeops_lab.errors import LabError
from storeops_lab.httpserver import shown
from storeops_lab.plan import StoreNetwork
from storeops_lab.ssh import write_if_changed

PORT = 123
STRATUM = 10  # a local reference: below any real source a host may also have
WHAT = "NTP server"
PREFIX = "ntp-"
LOG_FILE = LAB_STATE_DIR / "ntp.log"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
QUERY_TIMEOUT = 2.0
LEAP_UNSYNCHRONISED = 3  # the leap indicator of a server that has no time to give
STRATUM_UNSYNCHRONISED = 16
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
# chronyd reads its configuration word by word: a path with a blank or a control character
# would be cut (or another directive): refused, never quoted.
_CONF_PATH = re.compile(r"/[^\s\x00-\x1f\x7f]*")


@dataclass(frozen=True)
class NtpServer:
    """``chronyd -f <conf> -x``: serves on ``address``:``port`` to ``clients`` only."""

    address: ipaddress.IPv4Address
    clients: ipaddress.IPv4Network
    port: int = PORT
    state_dir: Path = LAB_STATE_DIR
    log_file: Path = LOG_FILE

    @property
    def name(self) -> str:
        """``ntp-10.77.1.1`` (on another port, e.g. a test's: ``ntp-127.0.0.1-40123``)."""
        suffix = "" if self.port == PORT else f"-{self.port}"
        return f"{PREFIX}{self.address}{suffix}"

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def conf_file(self) -> Path:
        return self.state_dir / f"{self.name}.conf"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def run_dir(self) -> Path:
        """chronyd's own directory (it creates it for its user): drift file and socket."""
        return self.state_dir / self.name

    @property
    def socket(self) -> Path:
        return self.run_dir / "chronyd.sock"

    def config(self) -> str:
        """The chrony.conf of this server; LabError for a path chronyd cannot read."""
        paths = (self.socket, self.pid_file, self.run_dir / "chronyd.drift")
        for path in paths:
            if not _CONF_PATH.fullmatch(str(path)):
                raise LabError(f"{path}: chronyd cannot use a path with blanks or controls")
        if len(str(self.socket).encode()) > SOCKET_PATH_MAX:
            raise LabError(f"{self.socket}: too long for a Unix socket: use a shorter checkout")
        socket, pid_file, drift_file = paths
        return (
            f"# Written by storeops lab up (lab/storeops_lab/ntp.py); replaced on every run.\n"
            f"# The lab's NTP server on {self.endpoint}: this machine's clock (never steered,\n"
            f"# chronyd -x) as a local reference, served to {self.clients} only.\n"
            f"local stratum {STRATUM}\n"
            f"allow {self.clients}\n"
            f"bindaddress {self.address}\n"
            f"port {self.port}\n"
            f"cmdport 0\n"
            f"bindcmdaddress {socket}\n"
            f"pidfile {pid_file}\n"
            f"driftfile {drift_file}\n"
        )

    def command(self) -> list[str]:
        """chronyd as a daemon with this configuration only: no clock control (-x), the
        system call filter Debian's service uses (-F 1), messages to the lab's log."""
        chronyd = shutil.which("chronyd") or shutil.which("chronyd", path="/usr/sbin")
        if chronyd is None:
            raise LabError("chronyd is missing: run `lab/host-setup.sh` as root first")
        return [chronyd, "-f", str(self.conf_file), "-x", "-F", "1", "-l", str(self.log_file)]

    def query(self) -> ntplib.NTPStats | None:
        """One NTP client request (mode 3) to the server; its reply, or None."""
        try:
            return ntplib.NTPClient().request(
                str(self.address), version=4, port=self.port, timeout=QUERY_TIMEOUT
            )
        except (ntplib.NTPException, OSError):
            return None

    def answering(self) -> bool:
        """It replies with time a client may follow (synchronised, a valid stratum)."""
        reply = self.query()
        return (
            reply is not None
            and reply.leap != LEAP_UNSYNCHRONISED
            and 1 <= reply.stratum < STRATUM_UNSYNCHRONISED
        )

    def processes(self) -> list[int]:
        """PIDs of every chronyd serving this name (this checkout's or another's)."""
        return sorted(
            pid
            for pid, conf in chronyd_configurations().items()
            if conf.name == self.conf_file.name
        )

    def running(self) -> int | None:
        """The PID of the PID file when it is this server's chronyd, else None."""
        return running(self.pid_file, self.conf_file)

    def start(self) -> None:
        """Start chronyd (it returns once its daemon is set up); RuntimeError if it fails."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            self.command(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0 or self.running() is None:
            detail = completed.stderr.strip() or f"see {shown(self.log_file)}"
            raise RuntimeError(f"the lab {WHAT} did not start on {self.endpoint}: {detail}")

    def ensure(self) -> list[str]:
        """Make sure this checkout's chronyd serves with this configuration; what was done.

        Restarted when it is dead, its configuration changed, or another chronyd serves
        the same name (another checkout's: taken over)."""
        changed = write_if_changed(self.conf_file, self.config())
        pid = self.running()
        if pid is not None and not changed and self.processes() == [pid]:
            return []
        actions = self.stop()
        for other in self.processes():
            terminate(other)
            actions.append(f"stopped another checkout's {WHAT} (pid {other})")
        self.start()
        started = f"{WHAT} started on {self.endpoint} (chronyd, stratum {STRATUM}"
        return [*actions, f"{started}, for {self.clients})"]

    def stop(self) -> list[str]:
        return stop_pid_file(self.pid_file, self.conf_file, f"{WHAT} on {self.endpoint}")


def chronyd_configurations() -> dict[int, Path]:
    """PID -> configuration file (``-f``) of every chronyd daemon on this machine whose
    command line names one. Not counted: its privileged helper (a child process with the
    same command line), zombies, and the lab containers' own chronyd (seen here too; it
    names no file)."""
    found: dict[int, tuple[Path, int]] = {}
    for process in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            words = (process / "cmdline").read_bytes().split(b"\0")
            if Path(os.fsdecode(words[0])).name != "chronyd" or b"-f" not in words[:-1]:
                continue
            state, parent = _state_and_parent(int(process.name))
            if state != "Z":
                conf = Path(os.fsdecode(words[words.index(b"-f") + 1]))
                found[int(process.name)] = (conf, parent)
    return {
        pid: conf
        for pid, (conf, parent) in found.items()
        if parent not in found or found[parent][0] != conf
    }


def _state_and_parent(pid: int) -> tuple[str, int]:
    """From ``/proc/PID/stat`` (the fields after the command name, which may hold blanks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def is_gone(pid: int) -> bool:
    """No process ``pid`` (or only its zombie, which its parent has not reaped yet)."""
    try:
        return _state_and_parent(pid)[0] == "Z"
    except (OSError, IndexError, ValueError):
        return True


def terminate(pid: int) -> None:
    """SIGTERM, wait until it is gone (its socket closed), SIGKILL if it is not by then."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while not is_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not is_gone(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def running(pid_file: Path, conf_file: Path) -> int | None:
    """The PID in ``pid_file`` when that process is a chronyd of ``conf_file``, else None
    (a dead server's PID may be any process's now, a lab container's chronyd too)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        if chronyd_configurations().get(pid) == conf_file:
            return pid
    return None


def stop_pid_file(pid_file: Path, conf_file: Path, what: str) -> list[str]:
    """Stop the chronyd of ``pid_file`` if it still serves ``conf_file``; the file goes."""
    pid = running(pid_file, conf_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return []
    terminate(pid)
    return [f"{what} stopped (pid {pid})"]


def server(network: StoreNetwork) -> NtpServer:
    """The store's NTP server: on its gateway, for its subnet."""
    return NtpServer(address=network.gateway, clients=network.subnet)


def serve(networks: Iterable[StoreNetwork]) -> list[str]:
    """A server on every store network's gateway; return what was done."""
    actions = []
    for network in networks:
        actions += server(network).ensure()
    return actions


def not_answering(networks: Iterable[StoreNetwork]) -> list[str]:
    """A problem for each server that does not answer (once the bridges are up)."""
    return [
        f"the lab {WHAT} on {served.endpoint} does not answer (see {shown(served.log_file)})"
        for served in map(server, networks)
        if not served.answering()
    ]


def answering(networks: Iterable[StoreNetwork]) -> dict[str, bool]:
    """``address:port`` -> whether it answers."""
    return {served.endpoint: served.answering() for served in map(server, networks)}


def stop_serving(state_dir: Path = LAB_STATE_DIR) -> list[str]:
    """Stop every gateway's server (also of gateways the inventory no longer has)."""
    actions = []
    for pid_file in sorted(state_dir.glob(f"{PREFIX}*.pid")):
        gateway = pid_file.name.removeprefix(PREFIX).removesuffix(".pid")
        actions += stop_pid_file(pid_file, pid_file.with_suffix(".conf"), f"{WHAT} on {gateway}")
    return actions
