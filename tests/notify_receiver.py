"""A local receiver of notifications: an HTTP server that records each POST (path, query,
JSON body) and answers as the WeCom and DingTalk robots do ({"errcode": 0, "errmsg": "ok"}).
tests/unit/test_notify.py runs it on 127.0.0.1; tests/integration/test_notify_lab.py on a
lab store's gateway address (the controller's side of the store network)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """What the server received, and what it answers (``status``, ``answer``)."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@contextmanager
def serving(host: str = "127.0.0.1", port: int = 0) -> Iterator[Receiver]:
    """A receiver listening on host:port (0: any free port) until the block ends."""
    state = Receiver(host, port)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            query = dict(urllib.parse.parse_qsl(parts.query))
            state.received.append(Received(parts.path, query, body))
            data = json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a receiver that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
