"""The gate's decision: the release under load against the same store before its upgrade."""

from __future__ import annotations

from dataclasses import dataclass

from storeops.loadtest.result import LoadResult


@dataclass(frozen=True)
class Verdict:
    """Passed or not, and why in words for the run's summary and the audit record."""

    passed: bool
    reason: str


def judge(
    baseline: LoadResult, after: LoadResult, max_p95_factor: float, p95_floor_ms: float
) -> Verdict:
    """Pass when no request failed after the upgrade and its p95 latency is at most
    ``max_p95_factor`` times the baseline's.

    The baseline's p95 counts as at least ``p95_floor_ms``: a DMS answering in 3 ms could
    otherwise fail on 7 ms of scheduling jitter, which no user notices.
    """
    if max_p95_factor < 1 or p95_floor_ms < 0:
        raise ValueError("max_p95_factor must be at least 1 and p95_floor_ms not negative")
    figures = (
        f"p95 {after.p95_ms:g} ms after the upgrade vs {baseline.p95_ms:g} ms before"
        f" (limit {max_p95_factor:g}x"
        + (f" of a {p95_floor_ms:g} ms floor)" if baseline.p95_ms < p95_floor_ms else ")")
    )
    if after.requests == 0:
        return Verdict(False, "no request was made after the upgrade")
    if after.failures:
        share = after.failures / after.requests
        worst = after.failure_reasons[0] if after.failure_reasons else None
        example = f"; e.g. {worst.method} {worst.path}: {worst.error}" if worst else ""
        return Verdict(
            False,
            f"{after.failures} of {after.requests} requests failed ({share:.1%}){example}; "
            + figures,
        )
    limit = max(baseline.p95_ms, p95_floor_ms) * max_p95_factor
    if after.p95_ms > limit:
        return Verdict(False, f"too slow under load: {figures}")
    return Verdict(True, f"no request failed in {after.requests}; {figures}")
