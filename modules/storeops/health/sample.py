"""The availability sampler: each store's DMS asked once, the answer kept as a sample.

Runs on the controller every few minutes (the ``controller`` role's storeops-sample timer,
or an AWX schedule). A sample is good when ``/health`` answers 200 within the timeout: the
DMS serves and its database answers at the release's schema. Availability, incidents and
time to recover are computed from these samples (:mod:`storeops.availability`), never typed
in. Read-only: one GET per store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from storeops.health.gather import HttpAnswer, http_get, in_parallel
from storeops.health.targets import HealthPlan, StoreTarget
from storeops.history import History, Sample, retention_cutoff
from storeops.monitoring import Status


@dataclass(frozen=True)
class StoreSample:
    sample: Sample
    url: str
    version: str = ""

    @property
    def status(self) -> Status:
        return Status.OK if self.sample.ok else Status.CRITICAL

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.sample.store,
            "at": self.sample.at.isoformat(timespec="seconds"),
            "ok": self.sample.ok,
            "latency_ms": self.sample.latency_ms,
            "reason": self.sample.reason,
            "version": self.version,
            "url": self.url,
        }

    def line(self) -> str:
        state = "up" if self.sample.ok else f"DOWN ({self.sample.reason})"
        latency = f" {self.sample.latency_ms:.0f} ms" if self.sample.latency_ms is not None else ""
        return f"{self.sample.store}: {state}{latency} {self.version}".rstrip()


def judge(store: str, answer: HttpAnswer, at: dt.datetime) -> Sample:
    """Good: HTTP 200 from /health. Else the reason (the DMS's own, or why no answer)."""
    latency = round(answer.seconds * 1000, 1) if answer.status is not None else None
    if answer.status == 200:
        return Sample(at=at, store=store, ok=True, latency_ms=latency, reason="")
    if answer.status is None:
        reason = f"no answer: {answer.error}"
    else:
        reason = f"HTTP {answer.status}: {answer.body.get('reason', '')}".rstrip(": ")
    return Sample(at=at, store=store, ok=False, latency_ms=latency, reason=reason[:500])


def sample_stores(plan: HealthPlan, history: History, now: dt.datetime) -> list[StoreSample]:
    """One sample per store with a DMS, recorded (and what is past the retention removed);
    in the stores' order."""
    stores = [store for store in plan.stores if store.dms_url is not None]
    timeout = float(plan.settings.sample_timeout_seconds)

    def ask(store: StoreTarget) -> StoreSample:
        answer = http_get(f"{store.dms_url}/health", timeout)
        version = str(answer.body.get("version", "")) if answer.status is not None else ""
        return StoreSample(judge(store.code, answer, now), f"{store.dms_url}/health", version)

    samples = in_parallel(ask, stores, workers=16, done=None)
    history.record_samples(taken.sample for taken in samples)
    history.prune(retention_cutoff(now))  # the history's retention, kept by its writer
    return samples
