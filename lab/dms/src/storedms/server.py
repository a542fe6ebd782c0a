"""The DMS HTTP service: ``python3 -m storedms.server`` (run by ``storedms.service``).

Why it looks like this:

* **Socket activation.** Under ``storedms.socket`` systemd owns the listening port and
  hands it over as fd 3 (``LISTEN_FDS``/``LISTEN_PID``). While the service restarts on a
  release switch the kernel keeps queueing connections on that socket, so clients see a
  short delay instead of "connection refused". Without those variables it binds the port
  itself (development, tests).
* **Graceful stop.** SIGTERM stops accepting, finishes the requests in flight (request
  threads are joined, not daemonic) and exits; unaccepted connections stay queued in the
  socket for the next release. HTTP/1.0 (one request per connection) means no idle
  keep-alive connection is cut by a restart.
* **Readiness.** ``Type=notify``: READY=1 is sent once the socket is being served, so
  ``systemctl restart`` returns when the new release answers.
* **Personal data.** The access log has method, path and status only; request bodies,
  ID numbers and phone numbers are never logged, and API responses mask ID numbers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pymysql

from storedms import __version__, release, runtime, smoke, store
from storedms.config import Config, ConfigError, load
from storedms.db import connection, error_code
from storedms.identifiers import valid_id_number, valid_vin
from storedms.migrate import current_version

SD_LISTEN_FDS_START = 3
MAX_BODY = 64 * 1024
WORK_ORDER_PATH = re.compile(r"^/work-orders/(\d{1,10})\Z")


def health(config: Config) -> tuple[int, dict[str, Any]]:
    """200 when the database answers at this release's schema version and the installed
    runtime has the ABI this DMS supports (:mod:`storedms.runtime`), else 503 + reason."""
    body: dict[str, Any] = {
        "version": __version__,
        "expected_schema_version": release.SCHEMA_VERSION,
        "schema_version": None,
        "db": "ok",
    }
    try:
        with connection(config.db, timeout=2) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT version, state FROM schema_migrations")
            rows = {row["version"]: row for row in cursor.fetchall()}
    except pymysql.MySQLError as error:
        body.update(db="error", reason=f"database unreachable or not migrated: {error_code(error)}")
        return HTTPStatus.SERVICE_UNAVAILABLE, body
    body["schema_version"] = current_version(rows)
    unfinished = sorted(version for version, row in rows.items() if row["state"] != "applied")
    if unfinished:
        body.update(db="migrating", reason=f"migration(s) {', '.join(unfinished)} not finished")
        return HTTPStatus.SERVICE_UNAVAILABLE, body
    if body["schema_version"] != release.SCHEMA_VERSION:
        body.update(
            db="schema-mismatch",
            reason=f"schema {body['schema_version']} but {__version__}"
            f" needs {release.SCHEMA_VERSION}",
        )
        return HTTPStatus.SERVICE_UNAVAILABLE, body
    runtime_problem = runtime.problem()
    if runtime_problem is not None:
        body.update(runtime=runtime_problem, reason=f"storedms-runtime: {runtime_problem}")
        return HTTPStatus.SERVICE_UNAVAILABLE, body
    return HTTPStatus.OK, body


def validate_work_order(data: Any) -> str | None:
    """The first problem with a create request (names the field, never echoes the value)."""
    if not isinstance(data, dict):
        return "body must be a JSON object"
    customer, vehicle = data.get("customer"), data.get("vehicle")
    if not isinstance(customer, dict) or not isinstance(vehicle, dict):
        return "customer and vehicle objects are required"
    checks = {
        "customer.family_name": 0 < len(str(customer.get("family_name", ""))) <= 8,
        "customer.given_name": 0 < len(str(customer.get("given_name", ""))) <= 24,
        "customer.phone": bool(re.fullmatch(r"1\d{10}", str(customer.get("phone", "")))),
        "customer.id_number": valid_id_number(str(customer.get("id_number", ""))),
        "vehicle.vin": valid_vin(str(vehicle.get("vin", ""))),
        "vehicle.model": 0 < len(str(vehicle.get("model", ""))) <= 32,
        "description": 0 < len(str(data.get("description", ""))) <= 255,
    }
    bad = [field for field, ok in checks.items() if not ok]
    return f"invalid {', '.join(bad)}" if bad else None


class Handler(BaseHTTPRequestHandler):
    """Routes: GET /health, POST /smoke, POST /work-orders, GET|DELETE /work-orders/<id>."""

    server: DmsServer
    server_version = f"storedms/{__version__}"
    protocol_version = "HTTP/1.0"
    timeout = 30

    def do_GET(self) -> None:
        if self.path == "/health":
            self.send_json(*health(self.server.config))
        elif match := WORK_ORDER_PATH.match(self.path):
            self.with_db(lambda cursor: self.get_work_order(cursor, int(match.group(1))))
        else:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path == "/smoke":
            ok, report = smoke.run(self.server.config.db)
            self.send_json(HTTPStatus.OK if ok else HTTPStatus.INTERNAL_SERVER_ERROR, report)
        elif self.path == "/work-orders":
            data = self.read_json()
            problem = validate_work_order(data) if data is not None else "body is not JSON"
            if problem:
                self.send_json(HTTPStatus.BAD_REQUEST, {"error": problem})
            else:
                self.with_db(lambda cursor: self.create_work_order(cursor, data))
        else:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_DELETE(self) -> None:
        if match := WORK_ORDER_PATH.match(self.path):
            self.with_db(lambda cursor: self.delete_work_order(cursor, int(match.group(1))))
        else:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def get_work_order(self, cursor: Any, work_order_id: int) -> tuple[int, dict[str, Any]]:
        row = store.read_work_order(cursor, work_order_id)
        return (
            (HTTPStatus.OK, row) if row else (HTTPStatus.NOT_FOUND, {"error": "no such work order"})
        )

    def create_work_order(self, cursor: Any, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Create the work order; the vehicle (by VIN) and its customer only if new."""
        vehicle, c = data["vehicle"], data["customer"]
        vehicle_id = store.find_vehicle(cursor, vehicle["vin"])
        if vehicle_id is None:
            customer = store.Customer(c["family_name"], c["given_name"], c["phone"], c["id_number"])
            customer_id = store.create_customer(cursor, customer)
            vehicle_id = store.create_vehicle(cursor, customer_id, vehicle["vin"], vehicle["model"])
        work_order_id = store.create_work_order(cursor, vehicle_id, data["description"])
        return HTTPStatus.CREATED, {"id": work_order_id, "vehicle_id": vehicle_id}

    def delete_work_order(self, cursor: Any, work_order_id: int) -> tuple[int, dict[str, Any]]:
        if store.delete_work_order(cursor, work_order_id):
            return HTTPStatus.OK, {"deleted": work_order_id}
        return HTTPStatus.NOT_FOUND, {"error": "no such work order"}

    def with_db(self, action: Any) -> None:
        """Run ``action(cursor)`` in one transaction: commit on success, roll back on error."""
        try:
            with connection(self.server.config.db) as conn:
                with conn.cursor() as cursor:
                    status, body = action(cursor)
                conn.commit() if status < 400 else conn.rollback()
        except pymysql.MySQLError as error:
            self.send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": error_code(error)})
            return
        self.send_json(status, body)

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            return None
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return None

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Method, path, status: nothing from the body (personal data stays out of logs)."""
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class DmsServer(ThreadingHTTPServer):
    # Join request threads on close: a stop finishes the requests in flight.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(self, config: Config, inherited: socket.socket | None) -> None:
        self.config = config
        super().__init__(
            (config.http_bind, config.http_port), Handler, bind_and_activate=inherited is None
        )
        if inherited is not None:
            self.socket.close()
            self.socket = inherited
            self.server_address = inherited.getsockname()[:2]


def inherited_socket() -> socket.socket | None:
    """The listening socket systemd passed (fd 3), if this process is the one it meant."""
    if (
        os.environ.get("LISTEN_PID") != str(os.getpid())
        or int(os.environ.get("LISTEN_FDS", "0")) < 1
    ):
        return None
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # not for child processes
    return socket.socket(fileno=SD_LISTEN_FDS_START)


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) we are ready; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def main() -> int:
    try:
        config = load()
    except ConfigError as error:
        print(f"storedms: {error}", file=sys.stderr)
        return 2
    inherited = inherited_socket()
    server = DmsServer(config, inherited)
    origin = "socket activation (fd 3)" if inherited else "own bind"
    port = server.server_address[1]
    print(
        f"storedms {__version__} (schema {release.SCHEMA_VERSION}) on port {port} via {origin}",
        file=sys.stderr,
    )

    def stop(signum: int, _frame: object) -> None:
        sd_notify("STOPPING=1")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sd_notify("READY=1")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    print(f"storedms {__version__} stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
