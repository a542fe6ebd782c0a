"""A store link in front of a lab host: an SSH ProxyCommand that delays every byte.

The lab's hosts sit on the controller's own bridge, with no latency; a store is reached
over its WAN link (tens of milliseconds). This kernel has no netem, so the link is emulated
where SSH enters it: ``ssh -o ProxyCommand='python3 -m storeops_lab.slowlink %h %p 15'``
connects to the host and relays both directions, each chunk delivered ``DELAY_MS`` after it
was read, in order (a delay line, not a bandwidth limit: a 15 ms one-way delay makes a
30 ms round trip). Used by ``bench/run.py site-noop-link``; a bench tool, not a lab service.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from queue import SimpleQueue

CHUNK = 65536
Delivery = tuple[float, bytes]


def _read_into(line: SimpleQueue[Delivery], read: Callable[[], bytes], delay: float) -> None:
    """Stamp each chunk with the time it is due; an empty chunk marks the end (also of a
    connection reset: the far side then sees it closed, as ssh would)."""
    while True:
        try:
            chunk = read()
        except OSError:
            chunk = b""
        line.put((time.monotonic() + delay, chunk))
        if not chunk:
            return


def _deliver(line: SimpleQueue[Delivery], write: Callable[[bytes], None]) -> None:
    while True:
        due, chunk = line.get()
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            write(chunk)  # the empty chunk closes the far side
        except OSError:  # that side is gone: nothing more can be delivered
            return
        if not chunk:
            return


def delay_line(
    read: Callable[[], bytes], write: Callable[[bytes], None], delay: float
) -> threading.Thread:
    """One direction: ``read`` until it returns b"", each chunk written ``delay`` s later."""
    line: SimpleQueue[Delivery] = SimpleQueue()
    threading.Thread(target=_read_into, args=(line, read, delay), daemon=True).start()
    writer = threading.Thread(target=_deliver, args=(line, write), daemon=True)
    writer.start()
    return writer


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def relay(conn: socket.socket, stdin: int, stdout: int, delay: float) -> None:
    """stdin -> the host and the host -> stdout, each ``delay`` s late, until both end."""

    def to_host(data: bytes) -> None:
        if data:
            conn.sendall(data)
        else:
            conn.shutdown(socket.SHUT_WR)

    def to_client(data: bytes) -> None:
        if data:
            _write_all(stdout, data)
        else:
            os.close(stdout)

    outbound = delay_line(lambda: os.read(stdin, CHUNK), to_host, delay)
    inbound = delay_line(lambda: conn.recv(CHUNK), to_client, delay)
    inbound.join()  # the host closed: ssh has all it will get
    outbound.join(timeout=1.0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("delay_ms", type=float, help="one-way delay (half the round trip)")
    options = parser.parse_args(argv)
    if not 0 <= options.delay_ms <= 10_000:
        parser.error("delay_ms must be between 0 and 10000")
    try:
        conn = socket.create_connection((options.host, options.port), timeout=30)
    except OSError as error:
        print(f"slowlink: {options.host}:{options.port}: {error}", file=sys.stderr)
        return 255
    conn.settimeout(None)
    with conn:
        relay(conn, sys.stdin.fileno(), sys.stdout.fileno(), options.delay_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
