"""Real packets for the firewall tests: open connections, or listen for them.

Self-contained (standard library only): the traffic tests run this file inside lab
containers with ``python3 -c <this source> <command> ...`` (the lab hosts have Python but
not the ``storeops`` package), and import it on the controller. Two commands:

``probe '<json list>'``
    Each item ``{"to": "10.77.1.41", "service": "tcp/3306" | "icmp", "source": null |
    "10.77.2.40"}``; all run at once, and one JSON list of outcomes is printed, in order.
    A TCP probe waits :data:`TCP_WAIT` seconds, less than the kernel's first SYN
    retransmission (1 s), so that a dropped probe is exactly one dropped packet; an ICMP
    probe is one echo request (``ping -c 1``). An answered TCP connection is closed
    cleanly (write side first, then read to the end), so that no stray packet of it is
    left for a firewall to count.

``listen <seconds> <address> <port>...``
    Accepts and closes TCP connections on <address>:<port> until the time is up: the
    stand-in server for a flow's port where no real service listens on that address (the
    host's own address, not 0.0.0.0: a service on 127.0.0.1 may hold the port there).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ANSWERED = "answered"  # TCP handshake completed, or an echo reply came back
REFUSED = "refused"  # TCP reset: the packet passed, nothing listens
SILENT = "silent"  # nothing came back in time: dropped on the way
UNREACHABLE = "unreachable"  # no route, or an ICMP error came back

TCP_WAIT = 0.9
ICMP_WAIT = 1
CLOSE_WAIT = 2.0
LISTENER_TAG = "storeops-traffic-listener"


def _close_cleanly(sock: socket.socket) -> None:
    sock.settimeout(CLOSE_WAIT)
    try:
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass
    except OSError:
        pass


def probe_tcp(to: str, port: int, source: str | None) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if source:
            sock.bind((source, 0))
        sock.settimeout(TCP_WAIT)
        try:
            sock.connect((to, port))
        except ConnectionRefusedError:
            return REFUSED
        except TimeoutError:
            return SILENT
        except OSError:
            return UNREACHABLE
        _close_cleanly(sock)
        return ANSWERED


def probe_icmp(to: str, source: str | None) -> str:
    command = ["ping", "-n", "-q", "-c", "1", "-W", str(ICMP_WAIT)]
    if source:
        command += ["-I", source]
    done = subprocess.run([*command, to], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return ANSWERED
    # 1: no reply; "+N errors": an ICMP error came back instead; 2: no route, bad address.
    return SILENT if done.returncode == 1 and "errors" not in done.stdout else UNREACHABLE


def probe(item: dict[str, Any]) -> str:
    service = str(item["service"])
    source = item.get("source")
    if service == "icmp":
        return probe_icmp(str(item["to"]), source)
    protocol, _, port = service.partition("/")
    if protocol != "tcp":
        raise ValueError(f"cannot probe {service!r}: only tcp/<port> and icmp")
    return probe_tcp(str(item["to"]), int(port), source)


def probe_all(items: list[dict[str, Any]]) -> list[str]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(len(items), 64)) as pool:
        return list(pool.map(probe, items))


def _serve(server: socket.socket) -> None:
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        _close_cleanly(connection)
        connection.close()


def listen(seconds: float, address: str, ports: list[int]) -> None:
    servers = []
    for port in ports:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(64)
        servers.append(server)
        threading.Thread(target=_serve, args=(server,), daemon=True).start()
    time.sleep(seconds)


def main(argv: list[str]) -> int:
    if argv[:1] == ["probe"] and len(argv) == 2:
        print(json.dumps(probe_all(json.loads(argv[1]))))
        return 0
    if argv[:1] == ["listen"] and len(argv) >= 4:
        listen(float(argv[1]), argv[2], [int(port) for port in argv[3:]])
        return 0
    print("usage: probe '<json list>' | listen <seconds> <address> <port>...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
