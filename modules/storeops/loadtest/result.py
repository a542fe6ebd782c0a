"""A load test's figures, read from the CSV files the locustfile writes at the end of a run.

The files have the format of locust's ``--csv`` output (``<prefix>_stats.csv``: one row per
request name and an ``Aggregated`` row; ``<prefix>_failures.csv``: method, name, error,
occurrences), written by locust's own code once the users stopped (see ``locustfile.py``).
A result also goes to and comes back from a plain dict: the baseline an Ansible task
registered before the upgrade returns as the ``baseline`` option of the one after it.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_FAILURE_REASONS = 5  # the most frequent; the count of failures is always complete
AGGREGATED = "Aggregated"


class ReportError(ValueError):
    """The report files are missing, or not what locust writes."""


@dataclass(frozen=True)
class FailureReason:
    """One kind of failed request: ``POST /smoke``, its error, how many times."""

    method: str
    path: str
    error: str
    count: int


@dataclass(frozen=True)
class LoadResult:
    """The whole run's figures (locust's Aggregated row) and its most frequent failures.

    ``workload``: the spec's parameters the figures were measured with
    (:meth:`storeops.loadtest.run.LoadSpec.workload`), so that a baseline is only compared
    with the same workload; empty when not known (a report read on its own).
    """

    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    rps: float
    failure_reasons: tuple[FailureReason, ...] = field(default=())
    workload: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain types only (an Ansible result, a JSON audit record)."""
        figures = asdict(self)
        figures["failure_reasons"] = [asdict(reason) for reason in self.failure_reasons]
        return figures

    @classmethod
    def from_dict(cls, data: Any) -> LoadResult:
        """A result as :meth:`as_dict` gave it (a registered baseline); ReportError if not."""
        if not isinstance(data, dict):
            raise ReportError(f"a load test result is a dict, not {type(data).__name__}")
        try:
            reasons = tuple(
                FailureReason(str(r["method"]), str(r["path"]), str(r["error"]), int(r["count"]))
                for r in data.get("failure_reasons") or ()
            )
            result = cls(
                requests=int(data["requests"]),
                failures=int(data["failures"]),
                p50_ms=float(data["p50_ms"]),
                p95_ms=float(data["p95_ms"]),
                rps=float(data["rps"]),
                failure_reasons=reasons,
                workload={str(k): int(v) for k, v in (data.get("workload") or {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ReportError(f"not a load test result: {error!r}") from None
        if min(result.requests, result.failures, result.p50_ms, result.p95_ms, result.rps) < 0:
            raise ReportError("not a load test result: a negative figure")
        return result


def parse_report(prefix: Path) -> LoadResult:
    """The figures in ``<prefix>_stats.csv`` and ``<prefix>_failures.csv``."""
    stats = _rows(Path(f"{prefix}_stats.csv"))
    aggregated = [row for row in stats if row.get("Name") == AGGREGATED]
    if len(aggregated) != 1:
        raise ReportError(f"{prefix}_stats.csv: expected one {AGGREGATED} row")
    total = aggregated[0]
    try:
        requests = int(total["Request Count"])
        return LoadResult(
            requests=requests,
            failures=int(total["Failure Count"]),
            p50_ms=_percentile(total["50%"], requests),
            p95_ms=_percentile(total["95%"], requests),
            rps=round(float(total["Requests/s"]), 2),
            failure_reasons=_failure_reasons(Path(f"{prefix}_failures.csv")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ReportError(f"{prefix}_stats.csv: {AGGREGATED} row unreadable: {error!r}") from None


def _percentile(value: str, requests: int) -> float:
    """A percentile column: milliseconds, or ``N/A`` when there was no request (then 0)."""
    if value == "N/A" and requests == 0:
        return 0.0
    return float(value)


def _failure_reasons(path: Path) -> tuple[FailureReason, ...]:
    reasons = [
        FailureReason(row["Method"], row["Name"], row["Error"], int(row["Occurrences"]))
        for row in _rows(path)
    ]
    reasons.sort(key=lambda reason: reason.count, reverse=True)
    return tuple(reasons[:MAX_FAILURE_REASONS])


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    except FileNotFoundError:
        raise ReportError(f"{path.name}: locust wrote no report") from None
