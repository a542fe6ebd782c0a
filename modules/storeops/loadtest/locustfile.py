"""The DMS workload locust runs (``locust -f`` this file; never imported by storeops itself).

Locust imports gevent, which monkey-patches the standard library of the process that loads
it: only :func:`storeops.loadtest.run.run_load`'s child process loads this file.

One simulated client, repeated ``-u`` times, against the DMS API of ``lab/dms``:

* 60 % ``GET /work-orders/<id>``, the id drawn from a configured range. The ids a store
  holds are not known, so 200 and 404 both count as answered.
* 20 % ``GET /health``: 200 only.
* 20 % ``POST /smoke``: one full write transaction that the DMS rolls back or deletes
  (creates a customer, vehicle and work order, reads them back, deletes them): 200 with
  ``"ok": true`` only.

It never creates anything that stays: it runs against a store's production DMS, with real
customers' data. Its parameters come from environment variables that
:mod:`storeops.loadtest.run` sets (and has validated); they are checked again here, since
this file can be run by hand.
"""

from __future__ import annotations

import csv
import os
import random
import sys
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

READ_ID_MIN = "STOREOPS_LOAD_READ_ID_MIN"
READ_ID_MAX = "STOREOPS_LOAD_READ_ID_MAX"
THINK_MS = "STOREOPS_LOAD_THINK_MS"
REQUEST_TIMEOUT_S = "STOREOPS_LOAD_REQUEST_TIMEOUT_S"
REPORT_PREFIX = "STOREOPS_LOAD_REPORT_PREFIX"
LIMITS = {
    READ_ID_MIN: (1, 9_999_999_999),
    READ_ID_MAX: (1, 9_999_999_999),  # the DMS accepts ids of up to 10 digits
    THINK_MS: (0, 60_000),
    REQUEST_TIMEOUT_S: (1, 300),
}
DEFAULTS = {READ_ID_MIN: 1, READ_ID_MAX: 1000, THINK_MS: 100, REQUEST_TIMEOUT_S: 10}


def setting(name: str) -> int:
    """An integer parameter from the environment, within its limits, else exit with why."""
    raw = os.environ.get(name, str(DEFAULTS[name]))
    low, high = LIMITS[name]
    if not raw.isdigit() or not low <= int(raw) <= high:
        sys.exit(f"storeops locustfile: {name}={raw!r}: expected an integer {low}..{high}")
    return int(raw)


ID_MIN, ID_MAX = setting(READ_ID_MIN), setting(READ_ID_MAX)
if ID_MIN > ID_MAX:
    sys.exit(f"storeops locustfile: {READ_ID_MIN}={ID_MIN} is above {READ_ID_MAX}={ID_MAX}")
THINK_S = setting(THINK_MS) / 1000
TIMEOUT_S = setting(REQUEST_TIMEOUT_S)
RUN: dict[str, Environment] = {}


def remember_environment(environment: Environment, **_: Any) -> None:
    RUN["environment"] = environment


def write_final_report(**_: Any) -> None:
    """The final statistics, in the format of locust's ``--csv`` files.

    Locust's own ``--csv`` files are rewritten once a second and not at the end, so they miss
    the run's last second (locustio/locust#1806, #2299: 194 of 258 requests in a 3 s run).
    The quit event comes after the users stopped and the summary was printed: these numbers
    are the summary's.
    """
    prefix = os.environ.get(REPORT_PREFIX)
    if not prefix or "environment" not in RUN:
        return
    report = StatsCSV(RUN["environment"], PERCENTILES_TO_REPORT)
    parts = {
        "stats": report.requests_csv,
        "failures": report.failures_csv,
        "exceptions": report.exceptions_csv,
    }
    for part, write in parts.items():
        with open(f"{prefix}_{part}.csv", "w", newline="", encoding="utf-8") as file:
            write(csv.writer(file))


# locust's EventHook.add_listener carries no annotations.
events.init.add_listener(remember_environment)  # type: ignore[no-untyped-call]
events.quit.add_listener(write_final_report)  # type: ignore[no-untyped-call]


def smoke_problem(response: Any) -> str | None:
    """Why a smoke answer is not a 200 whose JSON says ``"ok": true``, else None.

    Names the step the DMS reports (``create work order``), never the body's values.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}, not JSON"
    if response.status_code == 200 and body.get("ok") is True:
        return None
    return f"HTTP {response.status_code}, smoke failed at {str(body.get('step', '?'))[:40]}"


class DmsClient(HttpUser):
    """A store's mix of reads and writes, with a short pause between requests."""

    wait_time = between(THINK_S / 2, THINK_S * 3 / 2)

    @task(3)
    def read_work_order(self) -> None:
        work_order = random.randint(ID_MIN, ID_MAX)
        with self.client.get(
            f"/work-orders/{work_order}",
            name="/work-orders/<id>",
            catch_response=True,
            timeout=TIMEOUT_S,
        ) as response:
            if response.status_code in (200, 404):
                response.success()
            elif response.status_code:  # 0: no answer, locust records the exception
                response.failure(f"HTTP {response.status_code}")

    @task(1)
    def health(self) -> None:
        with self.client.get("/health", catch_response=True, timeout=TIMEOUT_S) as response:
            if response.status_code not in (0, 200):
                response.failure(f"HTTP {response.status_code}")

    @task(1)
    def smoke(self) -> None:
        with self.client.post("/smoke", catch_response=True, timeout=TIMEOUT_S) as response:
            problem = smoke_problem(response) if response.status_code else None
            if problem:
                response.failure(problem)
