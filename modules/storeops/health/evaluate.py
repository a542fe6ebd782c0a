"""From what was read to the health table: one row per check, green, amber or red, and why.

Pure: facts in (the host probes' JSON, the DMS answers, the devices' drift, the previous
run's counters, the last compliance audit), rows out. Tested with one JSON fixture per
case (tests/unit/test_health_evaluate.py); nothing here reads a host or a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storeops.health.gather import DmsFacts, HostFacts
from storeops.health.targets import HealthPlan, HostTarget, StoreTarget
from storeops.history import CheckName
from storeops.monitoring import Status
from storeops.schema import HealthSettings

OK, WARNING, CRITICAL, UNKNOWN = Status.OK, Status.WARNING, Status.CRITICAL, Status.UNKNOWN


@dataclass(frozen=True)
class Row:
    store: str
    host: str
    check: str
    status: Status
    value: str
    reason: str = ""  # why it is not green (empty when it is)
    metric: float | None = None  # the number behind the value, for the history


def _iso(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _age(since: dt.datetime, now: dt.datetime) -> str:
    hours = (now - since).total_seconds() / 3600
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.1f} days ago"


# ------------------------------------------------------------------------------ the DMS


def dms_rows(store: StoreTarget, dms: DmsFacts | None, settings: HealthSettings) -> list[Row]:
    if dms is None:
        return []
    host = store.dms_host
    health = dms.health
    if health.status is None:
        return [
            Row(store.code, host, CheckName.DMS, CRITICAL, "no answer", health.error),
            Row(
                store.code, host, CheckName.DATABASE, UNKNOWN, "not asked", "the DMS did not answer"
            ),
        ]
    body, version = health.body, str(health.body.get("version", "?"))
    rows = [_dms_row(store, host, health.status, version, body)]
    rows.append(_database_row(store.code, host, health.status, body))
    if dms.smoke is not None:
        rows.append(_smoke_row(store.code, host, dms.smoke.status, dms.smoke.error, settings))
    return rows


def _dms_row(store: StoreTarget, host: str, status: int, version: str, body: Any) -> Row:
    if status != 200:
        why = str(body.get("reason") or f"/health answered HTTP {status}")
        return Row(store.code, host, CheckName.DMS, CRITICAL, f"{version}, HTTP {status}", why)
    if version != store.dms_target_version:
        why = f"the store's target is {store.dms_target_version}"
        return Row(store.code, host, CheckName.DMS, WARNING, version, why)
    return Row(store.code, host, CheckName.DMS, OK, version)


def _database_row(store: str, host: str, status: int, body: Mapping[str, Any]) -> Row:
    state = str(body.get("db", "unknown"))
    if state == "ok":
        return Row(store, host, CheckName.DATABASE, OK, "accepts the DMS user")
    if state == "unknown":
        return Row(
            store, host, CheckName.DATABASE, UNKNOWN, "not reported", f"/health HTTP {status}"
        )
    severity = WARNING if state == "migrating" else CRITICAL
    return Row(store, host, CheckName.DATABASE, severity, state, str(body.get("reason", "")))


def _smoke_row(
    store: str, host: str, status: int | None, error: str, settings: HealthSettings
) -> Row:
    if status == settings.dms_smoke_status:
        return Row(store, host, CheckName.DMS_SMOKE, OK, f"GET {settings.dms_smoke_path}: {status}")
    got = f"HTTP {status}" if status is not None else error
    why = f"expected HTTP {settings.dms_smoke_status} (a read-only query the DMS answers)"
    return Row(
        store, host, CheckName.DMS_SMOKE, CRITICAL, f"GET {settings.dms_smoke_path}: {got}", why
    )


# ------------------------------------------------------------------------------ a host


def host_rows(
    target: HostTarget,
    read: HostFacts,
    settings: HealthSettings,
    now: dt.datetime,
    previous_dropped: float | None = None,
) -> list[Row]:
    if read.error:
        return [Row(target.store, target.name, CheckName.REACHABLE, CRITICAL, "no", read.error)]
    facts = read.facts
    rows = [*_disk_rows(target, facts.get(CheckName.DISK, {}), settings)]
    rows.append(_units_row(target, facts.get("units", {})))
    rows.append(_time_row(target, facts.get("time", {}), settings))
    if "updates" in facts:
        rows.append(_updates_row(target, facts["updates"]))
    rows.append(_reboot_row(target, facts.get(CheckName.REBOOT, {})))
    if "firewall" in facts:
        rows.append(_firewall_row(target, facts["firewall"], previous_dropped))
    if "backup" in facts:
        rows.extend(_backup_rows(target, facts["backup"], settings, now))
    return rows


def _row(target: HostTarget, check: str, status: Status, value: str, reason: str = "") -> Row:
    return Row(target.store, target.name, check, status, value, reason)


def _error_row(target: HostTarget, check: str, section: Mapping[str, Any]) -> Row | None:
    if "error" in section:
        return _row(target, check, UNKNOWN, "not read", str(section["error"]))
    return None


def _free_status(percent: float, warning: int, critical: int) -> Status:
    return CRITICAL if percent < critical else WARNING if percent < warning else OK


def _disk_rows(
    target: HostTarget, section: Mapping[str, Any], settings: HealthSettings
) -> list[Row]:
    if (failed := _error_row(target, CheckName.DISK, section)) is not None:
        return [failed]
    rows = []
    limits = (
        (CheckName.DISK, "free_percent", settings.disk_free_warning_percent,
         settings.disk_free_critical_percent),
        (CheckName.INODES, "inodes_free_percent", settings.inodes_free_warning_percent,
         settings.inodes_free_critical_percent),
    )  # fmt: skip
    for kind, key, warning, critical in limits:
        measured = [m for m in section.get("mounts", []) if m.get(key) is not None]
        if not measured:
            rows.append(_row(target, kind, UNKNOWN, "no mount measured"))
            continue
        low = min(measured, key=lambda m: float(m[key]))
        status = _free_status(float(low[key]), warning, critical)
        value = f"{low[key]}% free on {low['mount']}"
        if kind == "disk":
            value += f" ({low['free_mib']} MiB)"
        why = f"below {critical if status is CRITICAL else warning}%" if status is not OK else ""
        rows.append(Row(target.store, target.name, kind, status, value, why, float(low[key])))
    return rows


def _units_row(target: HostTarget, section: Mapping[str, Any]) -> Row:
    if (failed := _error_row(target, CheckName.UNITS, section)) is not None:
        return failed
    units = list(section.get("failed", []))
    if units:
        return Row(
            target.store, target.name, CheckName.UNITS, CRITICAL, ", ".join(units),
            f"{len(units)} failed unit(s)", float(len(units)),
        )  # fmt: skip
    return Row(target.store, target.name, CheckName.UNITS, OK, "none", "", 0.0)


def _time_row(target: HostTarget, section: Mapping[str, Any], settings: HealthSettings) -> Row:
    if (failed := _error_row(target, CheckName.TIME, section)) is not None:
        return failed
    if not section.get("synchronised"):
        why = str(section.get("leap") or section.get("detail") or "no time source selected")
        return _row(target, CheckName.TIME, CRITICAL, "not synchronised", why)
    offset = section.get("offset_s")
    server = section.get("server") or section.get("source", "")
    value = f"{server}" + (f", offset {offset * 1000:.1f} ms" if offset is not None else "")
    if offset is not None and abs(offset) > settings.time_offset_warning_seconds:
        why = f"offset above {settings.time_offset_warning_seconds} s"
        return _row(target, CheckName.TIME, WARNING, value, why)
    return _row(target, CheckName.TIME, OK, value)


def _updates_row(target: HostTarget, section: Mapping[str, Any]) -> Row:
    if (failed := _error_row(target, CheckName.PATCHES, section)) is not None:
        return failed
    pending = list(section.get("security", []))
    if pending:
        shown = ", ".join(pending[:3]) + (f" (+{len(pending) - 3})" if len(pending) > 3 else "")
        why = "pending: patch in the window (playbooks/patch.yml)"
        return Row(
            target.store, target.name, CheckName.PATCHES, WARNING, shown, why, float(len(pending))
        )
    return Row(target.store, target.name, CheckName.PATCHES, OK, "none pending", "", 0.0)


def _reboot_row(target: HostTarget, section: Mapping[str, Any]) -> Row:
    if (failed := _error_row(target, CheckName.REBOOT, section)) is not None:
        return failed
    if section.get("required"):
        packages = ", ".join(section.get("packages", [])) or "a package"
        return _row(target, CheckName.REBOOT, WARNING, "required", f"by {packages}")
    return _row(target, CheckName.REBOOT, OK, "not required")


def _firewall_row(
    target: HostTarget, section: Mapping[str, Any], previous_dropped: float | None
) -> Row:
    if (failed := _error_row(target, CheckName.FIREWALL, section)) is not None:
        return failed
    table = f"{target.probe['firewall']['family']} {target.probe['firewall']['table']}"
    if not section.get("loaded"):
        return _row(
            target,
            CheckName.FIREWALL,
            CRITICAL,
            f"table {table} not loaded",
            section.get("detail", ""),
        )
    dropped = section.get("dropped_packets")
    value = f"{table} loaded" + _dropped_text(dropped, previous_dropped)
    metric = float(dropped) if dropped is not None else None
    if section.get("awaiting_confirmation"):
        why = "a load is waiting for its confirmation: it reverts unless confirmed"
        return Row(target.store, target.name, CheckName.FIREWALL, WARNING, value, why, metric)
    if section.get("matches_confirmed") is False:
        why = "the loaded ruleset differs from the one the firewall role confirmed"
        return Row(target.store, target.name, CheckName.FIREWALL, CRITICAL, value, why, metric)
    if section.get("matches_confirmed") is None:
        why = "no confirmed ruleset recorded (never applied by the firewall role)"
        return Row(target.store, target.name, CheckName.FIREWALL, WARNING, value, why, metric)
    return Row(target.store, target.name, CheckName.FIREWALL, OK, value, "", metric)


def _dropped_text(dropped: Any, previous: float | None) -> str:
    if dropped is None:
        return ""
    if previous is None:
        return f", {dropped} dropped"
    growth = dropped - previous if dropped >= previous else dropped  # reset by a reload
    return f", {dropped} dropped (+{int(growth)} since the last check)"


def _backup_rows(
    target: HostTarget, section: Mapping[str, Any], settings: HealthSettings, now: dt.datetime
) -> list[Row]:
    if (failed := _error_row(target, CheckName.BACKUP, section)) is not None:
        return [failed]
    status = section.get("status") or {}
    return [
        _backup_age_row(target, status, now),
        _dated_result_row(
            target, CheckName.RESTIC_CHECK, status, at_key="last_check", result_key="check_result",
            good="ok", max_days=settings.restic_check_max_age_days, now=now,
        ),
        _dated_result_row(
            target, CheckName.RESTORE_DRILL, status, at_key="last_drill", result_key="drill_result",
            good="passed", max_days=settings.restore_drill_max_age_days, now=now,
        ),
    ]  # fmt: skip


def _backup_age_row(target: HostTarget, status: Mapping[str, Any], now: dt.datetime) -> Row:
    limit = target.backup_max_age_hours or 0.0
    success = _iso(status.get("last_success"))
    if status.get("result") == "failed":
        why = f"the last run failed: {status.get('error') or 'no reason recorded'}"
        value = f"last success {_age(success, now)}" if success else "no success yet"
        metric = (now - success).total_seconds() / 3600 if success else None
        return Row(target.store, target.name, CheckName.BACKUP, CRITICAL, value, why, metric)
    if success is None:
        why = "no backup has succeeded" if status else "no backup status on the host: never ran"
        return _row(target, CheckName.BACKUP, CRITICAL, "no success yet", why)
    hours = (now - success).total_seconds() / 3600
    if hours > limit:
        why = f"older than backup_max_age_hours ({limit:g} h)"
        return Row(
            target.store, target.name, CheckName.BACKUP, CRITICAL, _age(success, now), why, hours
        )
    return Row(target.store, target.name, CheckName.BACKUP, OK, _age(success, now), "", hours)


def _dated_result_row(
    target: HostTarget,
    check: str,
    status: Mapping[str, Any],
    *,
    at_key: str,
    result_key: str,
    good: str,
    max_days: int,
    now: dt.datetime,
) -> Row:
    at, result = _iso(status.get(at_key)), status.get(result_key)
    if at is None:
        return _row(target, check, WARNING, "never ran", f"none recorded (every {max_days} days)")
    value = f"{result} {_age(at, now)}"
    if result != good:
        return _row(target, check, CRITICAL, value, f"the last {check} did not pass")
    if now - at > dt.timedelta(days=max_days):
        return _row(target, check, WARNING, value, f"older than {max_days} days")
    return _row(target, check, OK, value)


# ------------------------------------------------------------------------------ the whole run


def certificate_row(
    store: str,
    what: str,
    not_after: dt.datetime | None,
    *,
    error: str,
    settings: HealthSettings,
    now: dt.datetime,
) -> Row:
    if not_after is None:
        return Row(store, "", CheckName.CERTIFICATES, UNKNOWN, what, error or "not read")
    days = (not_after - now).total_seconds() / 86400
    value = f"{what}: expires {not_after:%Y-%m-%d} ({days:.0f} days)"
    if days < 0:
        return Row(store, "", CheckName.CERTIFICATES, CRITICAL, value, "expired", days)
    if days < settings.certificate_warning_days:
        why = f"expires within {settings.certificate_warning_days} days"
        return Row(store, "", CheckName.CERTIFICATES, WARNING, value, why, days)
    return Row(store, "", CheckName.CERTIFICATES, OK, value, "", days)


def store_order(plan: HealthPlan) -> Sequence[str]:
    return [store.code for store in plan.stores]


# ------------------------------------------------------------------------------ network devices


def device_rows(device: Any) -> list[Row]:
    """A switch or firewall (a ``storeops.health.devices.DeviceFacts``): reached, drifted?"""
    store, host = device.store, device.host
    if not device.reachable:
        return [Row(store, host, CheckName.DEVICE, CRITICAL, "unreachable", device.error)]
    rows = [Row(store, host, CheckName.DEVICE, OK, f"{device.platform}, logged in")]
    if device.intended_error:
        rows.append(
            Row(store, host, CheckName.CONFIG_DRIFT, UNKNOWN, "not compared", device.intended_error)
        )
    elif device.remediation:
        lines = list(device.remediation)
        why = f"{len(lines)} line(s) to reach the intended configuration: {'; '.join(lines[:3])}"
        rows.append(
            Row(
                store,
                host,
                "config drift",
                WARNING,
                f"{len(lines)} line(s)",
                why,
                float(len(lines)),
            )
        )
    else:
        rows.append(Row(store, host, CheckName.CONFIG_DRIFT, OK, "as intended", "", 0.0))
    rows.append(_backup_drift_row(store, host, device.backup_changes, device.backup_at))
    return rows


def _backup_drift_row(
    store: str, host: str, changes: Sequence[str] | None, taken: dt.datetime | None
) -> Row:
    when = f" ({taken:%Y-%m-%d %H:%M})" if taken else ""
    if changes is None:
        return Row(
            store, host, CheckName.BACKUP_DRIFT, WARNING, "no backup yet", "run network-backup.yml"
        )
    if changes:
        why = f"changed since the last backup{when}: {'; '.join(list(changes)[:3])}"
        return Row(
            store,
            host,
            "backup drift",
            WARNING,
            f"{len(changes)} line(s)",
            why,
            float(len(changes)),
        )
    return Row(store, host, CheckName.BACKUP_DRIFT, OK, f"same as the backup{when}", "", 0.0)
