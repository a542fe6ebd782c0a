"""The lab's NTP server (storeops_lab.ntp): its chrony.conf and its bookkeeping, no chronyd.

The configuration is parsed back into directives; the PID-file bookkeeping is exercised on
stand-in processes whose command line is a chronyd's (``chronyd -f <conf>``, a sleeping
Python underneath), so stopping is real without the NTP server (tests/emulated runs that).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeops.paths import LAB_STATE_DIR
from storeops_lab import ntp
from storeops_lab.errors import LabError
from storeops_lab.ntp import NtpServer
from storeops_lab.plan import StoreNetwork

SH01 = StoreNetwork("sh01", ipaddress.IPv4Network("10.77.1.0/24"))
# The process tests' store: a network no lab uses, so that a lab running on this machine
# (make test runs the unit tests beside it) is never seen, let alone stopped, by a test.
NOWHERE = StoreNetwork("zz99", ipaddress.IPv4Network("10.199.99.0/24"))
SLEEP = "import time; time.sleep(60)"
# Directives that would make the lab's server steer a clock or follow another source.
CLOCK_OR_SOURCE = {"server", "pool", "peer", "refclock", "makestep", "rtcsync", "hwclockfile"}


def directives(text: str) -> dict[str, str]:
    """chrony.conf as {directive: its arguments} (each directive is written once here)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, arguments = line.partition(" ")
            assert name not in found, f"{name} twice"
            found[name] = arguments
    return found


def test_a_store_gets_a_server_on_its_gateway_for_its_own_network_only() -> None:
    conf = directives(ntp.server(SH01).config())
    assert conf["bindaddress"] == "10.77.1.1"
    assert conf["allow"] == "10.77.1.0/24"
    assert conf["port"] == "123"
    assert conf["local"] == "stratum 10"


def test_the_server_steers_no_clock_and_has_no_command_port() -> None:
    served = ntp.server(SH01)
    conf = directives(served.config())
    assert not CLOCK_OR_SOURCE & conf.keys()
    assert conf["cmdport"] == "0"
    command = served.command()
    assert Path(command[0]).name == "chronyd"
    assert "-x" in command  # never touches the controller's clock
    assert command[command.index("-f") + 1] == str(LAB_STATE_DIR / "ntp-10.77.1.1.conf")


def test_every_file_of_the_server_is_under_the_lab_state_directory() -> None:
    conf = directives(ntp.server(SH01).config())
    assert conf["pidfile"] == str(LAB_STATE_DIR / "ntp-10.77.1.1.pid")
    assert conf["bindcmdaddress"] == str(LAB_STATE_DIR / "ntp-10.77.1.1" / "chronyd.sock")
    assert conf["driftfile"] == str(LAB_STATE_DIR / "ntp-10.77.1.1" / "chronyd.drift")
    assert not set(conf.values()) & {"/run/chrony", "/var/lib/chrony"}


def test_another_port_has_its_own_files() -> None:
    served = NtpServer(
        ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv4Network("127.0.0.0/8"), port=40123
    )
    assert served.name == "ntp-127.0.0.1-40123"
    assert served.endpoint == "127.0.0.1:40123"
    assert directives(served.config())["port"] == "40123"


@pytest.mark.parametrize("state", ["/srv/my lab/.state", "/srv/lab\n/.state", "/srv/\tlab"])
def test_a_state_path_chronyd_would_cut_is_refused(state: str) -> None:
    served = NtpServer(SH01.gateway, SH01.subnet, state_dir=Path(state))
    with pytest.raises(LabError, match="blanks or controls"):
        served.config()


def test_a_socket_path_too_long_for_unix_sockets_is_refused() -> None:
    served = NtpServer(SH01.gateway, SH01.subnet, state_dir=Path("/" + "d" * 90))
    with pytest.raises(LabError, match="too long"):
        served.config()


# ------------------------------------------------------------------------ bookkeeping


@pytest.fixture
def stand_ins() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test (each looks like ``chronyd -f <conf>`` or not)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def stand_in(
    started: list[subprocess.Popen[bytes]], name: str, *args: str, code: str = SLEEP
) -> int:
    """A Python running ``code`` whose command line is ``name -c code args...``; its PID."""
    process = subprocess.Popen([name, "-c", code, *args], executable=sys.executable)
    started.append(process)
    for _ in range(100):  # until exec has replaced the command line
        if Path(f"/proc/{process.pid}/cmdline").read_bytes().startswith(name.encode()):
            break
        time.sleep(0.01)
    return process.pid


def children_of(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
    return found


def served_in(state: Path) -> NtpServer:
    return NtpServer(NOWHERE.gateway, NOWHERE.subnet, state_dir=state, log_file=state / "ntp.log")


def test_stop_serving_stops_each_servers_chronyd_and_removes_its_pid_file(
    tmp_path: Path, stand_ins: list[subprocess.Popen[bytes]]
) -> None:
    served = served_in(tmp_path)
    pid = stand_in(stand_ins, "/usr/sbin/chronyd", "-f", str(served.conf_file), "-x")
    served.pid_file.write_text(f"{pid}\n")
    assert served.running() == pid and served.processes() == [pid]
    assert ntp.stop_serving(tmp_path) == [f"NTP server on 10.199.99.1 stopped (pid {pid})"]
    assert stand_ins[0].wait(timeout=5) == -15  # SIGTERM
    assert not served.pid_file.exists()
    assert ntp.stop_serving(tmp_path) == []


@pytest.mark.parametrize(
    "command",
    [
        ["/usr/sbin/chronyd", "-F", "1", "-x"],  # a lab container's chronyd, seen from here
        ["/usr/sbin/chronyd", "-f", "/etc/chrony/chrony.conf"],  # the controller's own
        ["python3", "-f", "CONF"],  # the PID reused by another program
    ],
)
def test_a_pid_file_naming_another_process_stops_nothing(
    tmp_path: Path, stand_ins: list[subprocess.Popen[bytes]], command: list[str]
) -> None:
    served = served_in(tmp_path)
    args = [str(served.conf_file) if word == "CONF" else word for word in command[1:]]
    pid = stand_in(stand_ins, command[0], *args)
    served.pid_file.write_text(f"{pid}\n")
    assert served.running() is None
    assert served.processes() == []
    assert ntp.stop_serving(tmp_path) == []
    assert stand_ins[0].poll() is None  # still running
    assert not served.pid_file.exists()  # a stale PID file goes


def test_another_checkouts_server_for_the_gateway_is_found_by_its_file_name(
    tmp_path: Path, stand_ins: list[subprocess.Popen[bytes]]
) -> None:
    served = served_in(tmp_path / "here")
    other = served_in(tmp_path / "elsewhere")
    pid = stand_in(stand_ins, "chronyd", "-f", str(other.conf_file))
    assert served.processes() == [pid]
    assert served.running() is None  # not this checkout's


def test_chronyds_privileged_helper_is_not_a_second_server(
    tmp_path: Path, stand_ins: list[subprocess.Popen[bytes]]
) -> None:
    conf = str(served_in(tmp_path).conf_file)
    helper = ["chronyd", "-c", SLEEP, "-f", conf]
    # fork and exec only (the stand-in's Python, named chronyd, finds no stdlib extensions)
    spawn = (
        f"import os, time\nif os.fork() == 0:\n    os.execv({sys.executable!r}, {helper!r})\n"
        "time.sleep(60)"
    )
    pid = stand_in(stand_ins, "chronyd", "-f", conf, code=spawn)
    for _ in range(200):
        if children := children_of(pid):
            break
        time.sleep(0.05)
    (child,) = children
    try:
        for _ in range(100):  # until the helper's command line is a chronyd's
            if Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"chronyd"):
                break
            time.sleep(0.05)
        assert served_in(tmp_path).processes() == [pid]
    finally:
        os.kill(child, signal.SIGKILL)
