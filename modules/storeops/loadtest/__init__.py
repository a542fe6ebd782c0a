"""The load test of a store's DMS: the acceptance gate after a rollout's pilot wave.

Before a pilot store's upgrade, :func:`run_load` drives a short, mixed read/write workload
(``locustfile.py``: 60 % work-order reads, 20 % ``/health``, 20 % ``POST /smoke``, which
leaves no rows) against its DMS and keeps the figures as the store's baseline; after the
upgrade it runs the same workload again, and :func:`judge` passes the release only if no
request failed and the 95th percentile latency stayed within a factor of the baseline's.
A store is measured against itself: stores differ in hardware and data, a release's cost
under load shows as the difference on the same store.

The load comes from locust in a child process (``python -m locust --headless``): locust
loads gevent, which monkey-patches the standard library of the process that imports it, so
nothing here imports locust. The Ansible face is the ``dms_load_test`` action
(``action_plugins/dms_load_test.py``).
"""

from __future__ import annotations

from storeops.loadtest.result import FailureReason, LoadResult, ReportError, parse_report
from storeops.loadtest.run import LoadSpec, LoadTestError, run_load
from storeops.loadtest.verdict import Verdict, judge

__all__ = [
    "FailureReason",
    "LoadResult",
    "LoadSpec",
    "LoadTestError",
    "ReportError",
    "Verdict",
    "judge",
    "parse_report",
    "run_load",
]
