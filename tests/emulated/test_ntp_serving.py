"""The lab's NTP server as ``lab up`` runs it (Debian's chronyd), asked by real NTP clients.

Each test starts the lab's own NtpServer on a free 127.0.0.1 port with a state directory
of its own (no lab, no container, no gateway address): a hand-made SNTP request (RFC 4330,
a 48-byte mode-3 packet on a UDP socket) checks the reply field by field, and chrony's own
client (``chronyd -Q``, the program lab hosts run, with the hardening role's ``server``
options) must accept the server as a time source. Then the bookkeeping of ``lab up`` and
``lab down``: idempotent, restarted when dead or reconfigured, another checkout's server
taken over, stopped for good.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from storeops_lab import ntp
from storeops_lab.ntp import NtpServer
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    shutil.which("chronyd") is None or os.geteuid() != 0,
    reason="needs chronyd (lab/host-setup.sh installs chrony) and root (it drops to _chrony)",
)
LOCALHOST = ipaddress.IPv4Address("127.0.0.1")
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
HARDENING_DEFAULTS = REPO / "roles" / "hardening" / "defaults" / "main.yml"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """Like lab/.state: others may pass through it (chronyd works as _chrony in its own
    directory below it), which pytest's tmp_path (0700 parents) does not allow."""
    state = Path(tempfile.mkdtemp(prefix="storeops-ntp-"))
    state.chmod(0o755)
    yield state
    ntp.stop_serving(state)
    shutil.rmtree(state)


def server_in(state: Path, port: int, clients: str = "127.0.0.0/8") -> NtpServer:
    return NtpServer(
        LOCALHOST,
        ipaddress.IPv4Network(clients),
        port=port,
        state_dir=state,
        log_file=state / "ntp.log",
    )


@pytest.fixture
def served(state_dir: Path) -> NtpServer:
    server = server_in(state_dir, free_udp_port())
    server.ensure()
    return server


def sntp_request(port: int, source: str = "127.0.0.1") -> tuple[bytes, bytes, float] | None:
    """Send one client packet from ``source``: (request, reply, time sent), or None."""
    request = bytearray(48)
    request[0] = (0 << 6) | (4 << 3) | 3  # no leap warning, version 4, mode 3 (client)
    sent = time.time()
    seconds = int(sent) + NTP_EPOCH_OFFSET
    request[40:48] = struct.pack("!II", seconds, int((sent % 1) * 2**32))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind((source, 0))
        client.settimeout(2)
        client.sendto(request, ("127.0.0.1", port))
        try:
            reply, _ = client.recvfrom(1024)
        except TimeoutError:
            return None
    return bytes(request), reply, sent


def test_the_server_answers_a_client_packet_with_the_controllers_time(
    served: NtpServer,
) -> None:
    answer = sntp_request(served.port)
    assert answer is not None, (served.state_dir / "ntp.log").read_text()
    request, reply, sent = answer
    assert len(reply) >= 48
    leap, version, mode = reply[0] >> 6, (reply[0] >> 3) & 7, reply[0] & 7
    assert (leap, version, mode) == (0, 4, 4)  # synchronised, NTPv4, server
    assert reply[1] == ntp.STRATUM
    assert reply[12:16] == b"\x7f\x7f\x01\x01"  # chrony's local reference
    assert reply[24:32] == request[40:48]  # the reply is to this request
    seconds, fraction = struct.unpack("!II", reply[40:48])
    transmitted = seconds - NTP_EPOCH_OFFSET + fraction / 2**32
    assert abs(transmitted - sent) < 1.0  # this machine's clock, served as it is


def test_chronys_client_with_the_hardening_roles_options_takes_it_as_its_source(
    served: NtpServer, tmp_path: Path
) -> None:
    options = yaml.safe_load(HARDENING_DEFAULTS.read_text())["hardening_ntp_server_options"]
    started = time.monotonic()
    client = subprocess.run(
        [
            "chronyd",
            "-Q",  # measure once, print the offset, never set the clock
            "-t",
            "20",
            f"server 127.0.0.1 port {served.port} {options}",
            "cmdport 0",
            "bindcmdaddress /",
            f"pidfile {tmp_path}/client.pid",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert client.returncode == 0, client.stderr
    assert "System clock wrong by" in client.stderr, client.stderr
    assert time.monotonic() - started < 15  # iburst: a few seconds, not a poll interval


def test_a_client_outside_its_store_network_gets_no_time(state_dir: Path) -> None:
    server = server_in(state_dir, free_udp_port(), clients="127.0.0.2/32")
    server.ensure()
    assert sntp_request(server.port, source="127.0.0.2") is not None
    assert sntp_request(server.port, source="127.0.0.1") is None


def test_chronyd_runs_without_clock_control_and_as_its_own_user(served: NtpServer) -> None:
    pid = served.running()
    assert pid is not None
    words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"-x" in words
    assert "Disabled control of system clock" in (served.state_dir / "ntp.log").read_text()
    status = Path(f"/proc/{pid}/status").read_text()
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert uid != "0"  # chronyd dropped root (Debian: _chrony)
    assert served.socket.is_socket()  # chronyc -h <socket> works; no UDP command port


def test_a_second_ensure_changes_nothing_and_a_dead_server_is_restarted(
    served: NtpServer,
) -> None:
    pid = served.running()
    assert pid is not None
    assert served.ensure() == []
    assert served.running() == pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while served.running() == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    actions = served.ensure()
    assert actions == [
        f"NTP server started on {served.endpoint} (chronyd, stratum 10, for 127.0.0.0/8)"
    ]
    assert served.running() not in (None, pid)
    assert served.answering()


def test_a_changed_configuration_restarts_the_server(served: NtpServer) -> None:
    pid = served.running()
    narrower = server_in(served.state_dir, served.port, clients="127.0.0.1/32")
    actions = narrower.ensure()
    assert actions[0] == f"NTP server on {served.endpoint} stopped (pid {pid})"
    assert "allow 127.0.0.1/32" in narrower.conf_file.read_text()
    assert narrower.running() not in (None, pid)
    assert narrower.answering()


def test_another_checkouts_server_on_the_same_address_is_taken_over(
    served: NtpServer, state_dir: Path
) -> None:
    other_checkout = state_dir / "other"
    other_checkout.mkdir(mode=0o755)
    theirs = served.running()
    ours = server_in(other_checkout, served.port)
    actions = ours.ensure()
    assert f"stopped another checkout's NTP server (pid {theirs})" in actions
    assert ours.processes() == [ours.running()]
    assert ours.answering()
    ntp.stop_serving(other_checkout)


def test_stop_serving_stops_it_for_good(served: NtpServer) -> None:
    pid = served.running()
    assert ntp.stop_serving(served.state_dir) == [
        f"NTP server on {served.name.removeprefix('ntp-')} stopped (pid {pid})"
    ]
    assert served.processes() == []
    assert not served.pid_file.exists()
    assert not served.answering()
    assert sntp_request(served.port) is None
