"""A stand-in for a store's DMS under load: the three endpoints the load test calls, on 127.0.0.1.

stdlib only, in a thread of the test's process (the load itself comes from locust in a child
process). Variants: ``fast`` answers at once; ``slow`` serves one request at a time and takes
``delay_s`` for each (a release that is healthy and correct but slow under concurrency, like a
missing index); ``broken_smoke`` answers ``POST /smoke`` with the DMS's 500 (the 3.2.1 kind
of release). It counts the requests it answered per path, so a test can compare them with
what locust reports.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORK_ORDER = re.compile(r"^/work-orders/(\d{1,10})\Z")
KNOWN_WORK_ORDERS = range(1, 51)  # ids 1..50 exist; any other answers 404


@dataclass
class Behaviour:
    delay_s: float = 0.0
    serialized: bool = False
    broken_smoke: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)  # one request at a time
    counting: threading.Lock = field(default_factory=threading.Lock)
    answered: Counter[str] = field(default_factory=Counter)


class Handler(BaseHTTPRequestHandler):
    server: LoadTestServer
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(200, {"version": "3.2.0", "db": "ok"})
        elif match := WORK_ORDER.match(self.path):
            found = int(match.group(1)) in KNOWN_WORK_ORDERS
            self.answer(200 if found else 404, {"id": int(match.group(1))} if found else {})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/smoke":
            self.answer(404, {"error": "not found"})
        elif self.server.behaviour.broken_smoke:
            self.answer(500, {"ok": False, "step": "create work order", "error": "1054"})
        else:
            self.answer(200, {"ok": True, "steps": ["create", "read", "delete"]})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        behaviour = self.server.behaviour
        if behaviour.serialized:
            with behaviour.lock:
                time.sleep(behaviour.delay_s)
        elif behaviour.delay_s:
            time.sleep(behaviour.delay_s)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        with behaviour.counting:
            behaviour.answered[self.path.split("/")[1]] += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: thousands of requests per test."""


class LoadTestServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up: locust stops its users mid-request at the end."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(**behaviour: Any) -> Iterator[LoadTestServer]:
    """A server with the given :class:`Behaviour` on a free port, stopped on exit."""
    server = LoadTestServer(Behaviour(**behaviour))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
