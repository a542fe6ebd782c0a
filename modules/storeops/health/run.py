"""One ``storeops health`` run: read every store at once, judge, keep the result.

Runs on the controller. The hosts' probes, the DMS requests and the devices' logins all go
out together (threads), so the run takes about as long as its slowest host, not the sum.
With a history database, each row is recorded (the firewall's dropped counter is compared
with the previous run's) and the monthly report reads the rows back.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from storeops.health.devices import device_targets, net_utils, read_devices
from storeops.health.evaluate import (
    UNKNOWN,
    Row,
    certificate_row,
    dms_rows,
    host_rows,
)
from storeops.health.gather import DmsFacts, HostFacts, probe_dms, probe_host
from storeops.health.targets import HealthPlan, StoreTarget
from storeops.history import CheckName, CheckRecord, History
from storeops.monitoring import Status, worst
from storeops.paths import state_path


@dataclass
class HealthRun:
    run_id: str
    started: dt.datetime
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    host_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return worst(row.status for row in self.rows)

    def rows_of(self, store: str) -> list[Row]:
        return [row for row in self.rows if row.store == store]

    def to_json(self, plan: HealthPlan) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "generated": self.started.isoformat(timespec="seconds"),
            "seconds": round(self.seconds, 2),
            "status": self.status.value,
            "exit_code": self.status.exit_code,
            "stores": [
                {
                    "code": store.code,
                    "name": store.name,
                    "status": worst(row.status for row in self.rows_of(store.code)).value,
                    "rows": [
                        {**row.__dict__, "status": row.status.value}
                        for row in self.rows_of(store.code)
                    ],
                }
                for store in plan.stores
            ],
        }


def _certificate_not_after(pem: str) -> dt.datetime:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


def _served_certificate(url: str, timeout: float) -> str:
    parts = urlsplit(url)
    return ssl.get_server_certificate((parts.hostname or "", parts.port or 443), timeout=timeout)


def certificate_rows(plan: HealthPlan, store: StoreTarget, now: dt.datetime) -> list[Row]:
    """The group's CA the DMS clients trust, and the DMS's own certificate when it is HTTPS."""
    rows = []
    if plan.ca_certificate:
        try:
            expiry, error = _certificate_not_after(plan.ca_certificate), ""
        except ValueError as exc:
            expiry, error = None, f"unreadable: {exc}"
        rows.append(
            certificate_row(
                store.code, "DMS client CA", expiry, error=error, settings=plan.settings, now=now
            )
        )
    if store.dms_url and store.dms_url.startswith("https://"):
        try:
            pem = _served_certificate(store.dms_url, plan.settings.timeout_seconds)
            expiry, error = _certificate_not_after(pem), ""
        except (OSError, ValueError) as exc:
            expiry, error = None, str(exc)
        rows.append(
            certificate_row(
                store.code, "DMS service", expiry, error=error, settings=plan.settings, now=now
            )
        )
    return rows


def compliance_rows(plan: HealthPlan, store: StoreTarget) -> list[Row]:
    """The store's last ``storeops audit``, where one was kept."""
    path = state_path("compliance-audit.json", project=plan.project)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rate = (kept.get("stores") or {}).get(store.code)
    if not isinstance(rate, dict) or "rate" not in rate:
        return []
    percent = 100 * float(rate["rate"])  # storeops.compliance.audit: a fraction
    value = f"{percent:.1f}% of controls ({rate.get('generated', '?')})"
    if percent < 100:
        failed = rate.get("failed", "?")
        why = f"{failed} control(s) failing: storeops audit --limit store_{store.code}"
        return [Row(store.code, "", CheckName.COMPLIANCE, Status.WARNING, value, why, percent)]
    return [Row(store.code, "", CheckName.COMPLIANCE, Status.OK, value, "", percent)]


def _previous_dropped(history: History | None, store: str, host: str) -> float | None:
    if history is None:
        return None
    last = history.last_check(store, host, CheckName.FIREWALL)
    return last.metric if last is not None else None


def read_plan_devices(plan: HealthPlan, names: list[str], workers: int) -> list[Any]:
    """The devices' facts (storeops.health.devices), from the inventory the plan holds."""

    assert plan.checked is not None  # plan() always sets it
    timeout = float(plan.settings.timeout_seconds)
    found = device_targets(plan.checked, plan.view, plan.project, names, timeout)
    repo = state_path("network-backups", project=plan.project)
    return read_devices(net_utils(plan.project), found, repo, workers, timeout)


def gather_all(
    plan: HealthPlan, workers: int, done: Callable[[], None] | None = None
) -> tuple[dict[str, HostFacts], dict[str, DmsFacts | None], list[Any]]:
    """Every host's probe, every store's DMS and every device, all at once."""
    timeout = plan.settings.timeout_seconds

    def counted(future: Future[Any]) -> None:
        if done is not None:
            done()

    with ThreadPoolExecutor(max_workers=max(2, workers)) as pool:
        hosts = {
            host.name: pool.submit(probe_host, plan.project, host, timeout)
            for store in plan.stores
            for host in store.hosts
        }
        dms = {
            store.code: pool.submit(probe_dms, store, plan.settings.dms_smoke_path, timeout)
            for store in plan.stores
        }
        devices = [name for store in plan.stores for name in store.devices]
        device_future = pool.submit(read_plan_devices, plan, devices, workers)
        pending: list[Future[Any]] = [*hosts.values(), *dms.values()]
        for future in pending:
            future.add_done_callback(counted)
        return (
            {name: future.result() for name, future in hosts.items()},
            {code: future.result() for code, future in dms.items()},
            device_future.result() if devices else [],
        )


def run(
    plan: HealthPlan,
    history: History | None = None,
    workers: int = 16,
    done: Callable[[], None] | None = None,
) -> HealthRun:
    from storeops.health.evaluate import device_rows

    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    result = HealthRun(f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}", started)
    hosts, dms, devices = gather_all(plan, workers, done)
    by_store: dict[str, list[Any]] = {}
    for device in devices:
        by_store.setdefault(device.store, []).append(device)
    for store in plan.stores:
        result.rows += dms_rows(store, dms.get(store.code), plan.settings)
        for host in store.hosts:
            previous = _previous_dropped(history, store.code, host.name)
            result.rows += host_rows(host, hosts[host.name], plan.settings, started, previous)
            result.host_seconds[host.name] = hosts[host.name].seconds
        for device in by_store.get(store.code, []):
            result.rows += device_rows(device)
            result.host_seconds[device.host] = device.seconds
        result.rows += certificate_rows(plan, store, started)
        result.rows += compliance_rows(plan, store)
        if not result.rows_of(store.code):
            result.rows.append(Row(store.code, "", "checks", UNKNOWN, "none", "nothing to check"))
    result.seconds = time.monotonic() - clock
    if history is not None:
        history.record_checks(_records(result))
    return result


def _records(result: HealthRun) -> list[CheckRecord]:
    return [
        CheckRecord(
            at=result.started,
            run_id=result.run_id,
            store=row.store,
            host=row.host,
            check=row.check,
            status=row.status,
            value=row.value,
            reason=row.reason,
            metric=row.metric,
        )
        for row in result.rows
    ]
