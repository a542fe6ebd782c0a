"""storeops sample: each store's DMS asked once over real HTTP (a local server stands in for
the DMS), the sample judged, recorded, and the history kept to its retention."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from storeops.health.sample import sample_stores
from storeops.health.targets import HealthPlan, StoreTarget
from storeops.history import History, Sample
from storeops.schema import HealthSettings
from storeops.statedb import database_url

NOW = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)


class Dms(BaseHTTPRequestHandler):
    """/health as the reference DMS answers it: 200, or 503 with its reason."""

    answers: ClassVar[dict[int, tuple[int, dict[str, str]]]] = {}

    def do_GET(self) -> None:
        port = int(self.server.server_address[1])  # type: ignore[index]
        status, body = self.answers[port]
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def dms() -> Iterator[list[int]]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Dms) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def plan(ports: list[int], tmp_path: Path) -> HealthPlan:
    stores = (
        StoreTarget("hz01", "West Lake", "3.2.0", f"http://127.0.0.1:{ports[0]}", "hz01-dms"),
        StoreTarget("sh01", "Pudong", "3.2.0", f"http://127.0.0.1:{ports[1]}", "sh01-dms"),
        StoreTarget("nj01", "Nanjing", "3.2.0", None),  # no DMS host: not sampled
    )
    return HealthPlan(tmp_path, None, tmp_path, HealthSettings(), stores)


def test_a_round_records_one_sample_per_store_and_prunes_the_old_ones(
    dms: list[int], tmp_path: Path
) -> None:
    Dms.answers = {
        dms[0]: (200, {"version": "3.2.0", "db": "ok"}),
        dms[1]: (503, {"version": "3.2.0", "db": "error", "reason": "database unreachable"}),
    }
    history = History.open(database_url(f"sqlite:///{tmp_path}/h.sqlite", environ={}))
    old = NOW - dt.timedelta(days=401)
    history.record_sample(Sample(at=old, store="sh01", ok=True, latency_ms=3.0, reason=""))
    taken = sample_stores(plan(dms, tmp_path), history, NOW)
    assert [(s.sample.store, s.sample.ok, s.version) for s in taken] == [
        ("hz01", True, "3.2.0"),
        ("sh01", False, "3.2.0"),
    ]
    assert taken[1].sample.reason == "HTTP 503: database unreachable"
    kept = history.samples(old - dt.timedelta(days=1), NOW + dt.timedelta(seconds=1))
    assert [(s.store, s.ok) for s in kept] == [("hz01", True), ("sh01", False)]  # old: gone


def test_a_dms_that_does_not_answer_is_a_failed_sample(tmp_path: Path) -> None:
    history = History.open(database_url(f"sqlite:///{tmp_path}/h.sqlite", environ={}))
    closed = StoreTarget("sh01", "Pudong", "3.2.0", "http://127.0.0.1:9", "sh01-dms")
    (taken,) = sample_stores(
        HealthPlan(tmp_path, None, tmp_path, HealthSettings(), (closed,)), history, NOW
    )
    assert not taken.sample.ok
    assert taken.sample.reason.startswith("no answer:")
    assert taken.sample.latency_ms is None
