"""OS patching decisions: the order hosts are patched in, the gate before each step, the
apt holds a store's DMS release needs, and the change report's lines.

Pure functions (no Ansible, no I/O), used by the filters of ``roles/patching`` and pinned
by tests/unit/test_patching.py.

The order: stores in the rollout's waves (pilot first, storeops.rollout.waves); inside a
store one host at a time, in the order of ``role_order`` (backup server, then database,
then DMS host by default), so that the DMS is unavailable as little as possible: its own
host, whose reboot stops it, comes last, after the hosts it only depends on. The stores
of one wave are patched side by side, host position by host position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storeops.catalog import find
from storeops.rollout import waves
from storeops.schema import Release

# Outcomes of a host (the change report's `result`) that these functions decide on; the
# role sets the others (patched, up to date, would patch, held, refused).
FAILED = "failed"
NOT_REACHED = "not reached"


def host_rank(roles: Sequence[str], role_order: Sequence[str]) -> int:
    """A host's position inside its store: that of its latest role in ``role_order``
    (a host that is both database and DMS goes with the DMS); unknown roles go first."""
    ranks = [role_order.index(role) for role in roles if role in role_order]
    return max(ranks, default=-1)


def store_hosts(
    hosts: Mapping[str, Mapping[str, Any]], role_order: Sequence[str]
) -> dict[str, list[str]]:
    """Store code -> its hosts in patch order. ``hosts`` maps inventory name to the host's
    ``store`` and ``storeops_roles`` (its hostvars); ties keep the inventory order."""
    by_store: dict[str, list[tuple[int, int, str]]] = {}
    for position, (name, host) in enumerate(hosts.items()):
        rank = host_rank(list(host.get("storeops_roles", [])), role_order)
        by_store.setdefault(str(host["store"]["code"]), []).append((rank, position, name))
    return {code: [name for _, _, name in sorted(entries)] for code, entries in by_store.items()}


def steps(
    hosts: Mapping[str, Mapping[str, Any]], role_order: Sequence[str], wave_size: int
) -> list[list[str]]:
    """The run's steps: each a list of hosts patched side by side (one per store of a
    wave), in order. A store with fewer hosts simply has none in the later steps."""
    ordered = store_hosts(hosts, role_order)
    plan: list[list[str]] = []
    for wave in waves([host["store"] for host in hosts.values()], wave_size):
        depth = max(len(ordered[code]) for code in wave)
        for position in range(depth):
            plan.append([ordered[code][position] for code in wave if position < len(ordered[code])])
    return plan


def step_gate(plan: Sequence[Sequence[str]], index: int, outcomes: Mapping[str, str]) -> str:
    """Why step ``index`` must not start ('' when it may): the first failed host stops
    the run; every later host, in its store or any other, stays untouched."""
    earlier = [host for step in plan[:index] for host in step]
    failed = [host for host in earlier if outcomes.get(host) == FAILED]
    if failed:
        return f"{NOT_REACHED}: the run stopped after {', '.join(failed)} failed"
    return ""


def holds(catalog: Sequence[Release], target: str) -> list[dict[str, str]]:
    """The apt holds of a store on DMS release ``target``: each package the release needs,
    kept at the versions it allows (an apt pin). An unknown target holds nothing (the
    validator refuses it before)."""
    release = find(catalog, target)
    if release is None:
        return []
    return [
        {"package": package, "version": version, "reason": f"DMS {target} needs {version}"}
        for package, version in sorted(release.packages.items())
    ]


def report_line(host: str, hostvars: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    """One host's record of the change report (a JSON line under logs/, a table row), from
    its hostvars: ``patching_result`` when it had its turn, else why it had none."""
    result = hostvars.get("patching_result") or {}
    window = hostvars.get("store_window") or {}
    reached = hostvars.get("patching_reached") or {}
    outcome, reason = str(result.get("result", "")), str(result.get("reason", ""))
    if not outcome:
        if window and not (window.get("open", True) or window.get("overridden", False)):
            outcome, reason = "refused", str(window.get("reason", "outside the window"))
        elif reached.get("unreachable") or reached.get("failed"):
            outcome, reason = "unreachable", str(reached.get("msg", ""))
        else:
            outcome, reason = NOT_REACHED, "the run ended before this host"
    return {
        "run_id": run.get("id"),
        "user": run.get("user"),
        "started": run.get("started"),
        "check_mode": bool(run.get("check_mode", False)),
        "upgrade": run.get("upgrade"),
        "override_reason": window.get("override_reason"),
        "host": host,
        "store": str((hostvars.get("store") or {}).get("code", "")),
        "result": outcome,
        "reason": reason.strip(),
        "upgraded": [
            {"package": item["name"], "from": item["from"], "to": item["to"]}
            for item in result.get("upgraded", [])
        ],
        "pending": [
            {"package": item["name"], "from": item["from"], "to": item["to"]}
            for item in result.get("pending", [])
        ],
        "held": [
            {
                "package": item["name"],
                "version": item["kept_at"],
                "available": item["available"],
                "by": item["by"],
            }
            for item in result.get("held", [])
        ],
        "restarted": list(result.get("restarted", [])),
        "rebooted": bool(result.get("rebooted", False)),
        "repaired": bool(result.get("repaired", False)),
        "host_started": round(float(result.get("started", 0.0) or 0.0), 1),  # epoch seconds
        "seconds": round(float(result.get("seconds", 0.0) or 0.0), 1),
        "pending_security": int(result.get("pending_security", 0) or 0),
    }


def report_table(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The change report as lines of text (Ansible prints it at the end of the run): one
    row per host, then its package changes, holds and restarts indented below it."""
    row = "{:<14} {:<5} {:<12} {:>4} {:>4} {:<6} {:>7}  {}"
    lines = [row.format("HOST", "STORE", "RESULT", "PKGS", "HELD", "REBOOT", "TIME", "DETAIL")]
    for record in records:
        changes = record["upgraded"] or record["pending"]
        lines.append(
            row.format(
                record["host"],
                record["store"],
                record["result"],
                len(changes),
                len(record["held"]),
                "yes" if record["rebooted"] else "no",
                f"{record['seconds']:.1f} s" if record["seconds"] else "-",
                record["reason"],
            )
        )
        lines += [f"    {c['package']} {c['from']} -> {c['to']}" for c in changes]
        lines += [
            f"    held {h['package']} {h['version']} ({h['available']} available; {h['by']})"
            for h in record["held"]
        ]
        if record["restarted"]:
            lines.append(f"    restarted {', '.join(record['restarted'])}")
    return lines
