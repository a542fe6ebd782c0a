"""The emulated store link (storeops_lab.slowlink): an SSH ProxyCommand that delays bytes."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that sends back what it gets, then closes at EOF."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def through_link(port: int, payload: bytes, delay_ms: int) -> tuple[bytes, float, int]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "storeops_lab.slowlink", "127.0.0.1", str(port), str(delay_ms)],
        input=payload,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.stdout, time.monotonic() - started, done.returncode


def test_bytes_arrive_whole_and_in_order(echo_port: int) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB: many chunks each way
    echoed, _, code = through_link(echo_port, payload, 5)
    assert code == 0
    assert echoed == payload


def test_a_round_trip_takes_at_least_both_delays(echo_port: int) -> None:
    """Not a speed assertion: the link's one job is to hold each byte back, both ways."""
    echoed, elapsed, code = through_link(echo_port, b"ping", 150)
    assert (code, echoed) == (0, b"ping")
    assert elapsed >= 0.3


def test_a_host_that_does_not_answer_is_reported_as_ssh_expects() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "storeops_lab.slowlink", "127.0.0.1", str(port), "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 255
    assert f"slowlink: 127.0.0.1:{port}:" in done.stderr


def test_a_delay_out_of_range_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "storeops_lab.slowlink", "127.0.0.1", "22", "-5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "delay_ms must be between 0 and 10000" in done.stderr
