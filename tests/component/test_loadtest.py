"""Real load-test runs: locust (a child process) against tests/loadtest_server.py on 127.0.0.1.

Component tests run one program at a time (make component), so the latency figures are not
shared with other suites' work. 3 s per run.
"""

from __future__ import annotations

import os
import subprocess
import sys

from storeops.loadtest import LoadSpec, judge, run_load
from storeops.loadtest.run import LOCUSTFILE
from tests.loadtest_server import KNOWN_WORK_ORDERS, serving

SECONDS = 3


def test_a_release_slow_under_concurrency_fails_the_gate_that_a_fast_one_passes() -> None:
    """The same workload on three releases of one store: fast (the baseline), fast again, and
    one that serves a request at a time at 30 ms each (healthy and correct, but slow).

    The suite may run beside the lab suites (make test): the fast runs' p95 can jump by tens
    of milliseconds, so the repeat is judged with room (3x of a 50 ms floor) and the slow
    release is slow by hundreds."""
    with serving() as fast:
        baseline = run_load(LoadSpec(fast.url, duration_s=SECONDS))
        again = run_load(LoadSpec(fast.url, duration_s=SECONDS))
    with serving(delay_s=0.03, serialized=True) as slow:
        slower = run_load(LoadSpec(slow.url, duration_s=SECONDS))
    print(f"p95: fast {baseline.p95_ms} and {again.p95_ms} ms, slow {slower.p95_ms} ms")
    assert baseline.failures == again.failures == slower.failures == 0
    assert baseline.requests > 100 and slower.requests < baseline.requests
    assert baseline.workload == LoadSpec(fast.url, duration_s=SECONDS).workload()
    assert judge(baseline, again, max_p95_factor=3.0, p95_floor_ms=50).passed
    verdict = judge(baseline, slower, max_p95_factor=2.0, p95_floor_ms=20)
    assert not verdict.passed
    assert verdict.reason.startswith(f"too slow under load: p95 {slower.p95_ms:g} ms after")
    assert f"vs {baseline.p95_ms:g} ms before" in verdict.reason
    assert slower.p95_ms >= 150  # 10 clients queued behind one 30 ms request at a time


def test_failed_writes_are_counted_and_named() -> None:
    with serving(broken_smoke=True) as broken:
        figures = run_load(LoadSpec(broken.url, duration_s=SECONDS, read_id_max=100))
        answered = dict(broken.behaviour.answered)
    # Locust stops its clients mid-request at the end: it may miss the last answer or two.
    assert answered["smoke"] - 10 <= figures.failures <= answered["smoke"]
    assert answered["work-orders"] > 0 and figures.requests <= sum(answered.values())
    (reason,) = figures.failure_reasons
    assert (reason.method, reason.path, reason.count) == ("POST", "/smoke", figures.failures)
    assert "smoke failed at create work order" in reason.error


def test_work_orders_that_do_not_exist_are_answers_not_failures() -> None:
    """Ids 1..100 where the store has 1..50: half the reads are 404s, none is a failure."""
    assert max(KNOWN_WORK_ORDERS) == 50
    with serving() as store:
        figures = run_load(LoadSpec(store.url, duration_s=SECONDS, read_id_max=100))
    assert figures.requests > 100 and figures.failures == 0


def test_the_locustfile_refuses_bad_parameters_before_any_request() -> None:
    with serving() as store:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "--headless", "-f", str(LOCUSTFILE),
             "-H", store.url, "-u", "1", "-t", "3s"],
            env={**os.environ, "STOREOPS_LOAD_READ_ID_MAX": "1; DROP TABLE"},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        answered = sum(store.behaviour.answered.values())
    assert done.returncode != 0
    assert "STOREOPS_LOAD_READ_ID_MAX='1; DROP TABLE': expected an integer" in done.stderr
    assert answered == 0
