"""The pytest plugin ``storeops audit`` loads into its pytest runs: one JSON line per test.

Runs on the controller, inside each of the audit's pytest subprocesses (``-p
storeops.compliance.audit_plugin``), and appends to the file ``STOREOPS_AUDIT_RESULTS`` names
(one short write per line: the runs of several hosts append to one file):
``{"control", "host", "outcome", "reason", "test"}`` with outcome ``passed``, ``failed``,
``not_applicable`` (``pytest.skip("not applicable: ...")``) or ``error`` (the check could not
run: no connection, a fixture failed, any other skip).

It imports nothing from pytest (pytest finds hooks by name): the storeops package does not
depend on pytest, only the audit's subprocess runs it.
"""

from __future__ import annotations

import json
import os
from typing import Any

RESULTS_ENV = "STOREOPS_AUDIT_RESULTS"
NOT_APPLICABLE = "not applicable:"
# nodeid -> (control, host, test), filled at collection
_ITEMS: dict[str, tuple[str | None, str, str]] = {}


def host_of(item: Any) -> str:
    """The inventory name of the host a testinfra test runs against."""
    callspec = getattr(item, "callspec", None)
    host = callspec.params.get("_testinfra_host") if callspec else None
    backend = getattr(host, "backend", None)
    name = getattr(getattr(backend, "host", None), "name", None) or getattr(backend, "host", None)
    if isinstance(name, str) and name:
        return name
    text = str(item.name).partition("[")[2].rstrip("]")
    return text.split("://", 1)[-1] or "?"


def control_of(item: Any) -> str | None:
    marker = item.get_closest_marker("control")
    return str(marker.args[0]) if marker and marker.args else None


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        _ITEMS[item.nodeid] = (
            control_of(item),
            host_of(item),
            str(getattr(item, "originalname", None) or item.name),
        )


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).strip()
    lines = str(longrepr or "").strip().splitlines()
    return lines[-1] if lines else ""


def record(report: Any, control: str | None, host: str, test: str) -> dict[str, Any] | None:
    """The line for one phase's report (setup, call, teardown), or None when the phase says
    nothing new (a setup or teardown that passed)."""
    if report.when != "call" and report.outcome == "passed":
        return None
    reason = _reason(report) if report.outcome != "passed" else ""
    if report.outcome == "passed":
        outcome = "passed"
    elif report.outcome == "skipped":
        outcome = "not_applicable" if reason.startswith(NOT_APPLICABLE) else "error"
    elif report.when == "call":
        outcome = "failed"
    else:
        outcome = "error"
    return {
        "control": control,
        "host": host,
        "test": test,
        "outcome": outcome,
        "reason": reason[:2000],
    }


def pytest_runtest_logreport(report: Any) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    control, host, test = _ITEMS.get(report.nodeid, (None, report.nodeid, report.nodeid))
    line = record(report, control, host, test)
    if line is not None:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(line) + "\n")
