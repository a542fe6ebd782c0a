"""DMS rollout decisions: what each store's run does, and in which wave.

Pure functions (no Ansible, no I/O), used by the ``dms_plan`` action and the
``storeops_waves`` filter, and pinned by tests/unit/test_rollout.py.

A store's step comes from three facts: the release ``current`` points at, the rollout
journal an interrupted run left on the DMS host (``/var/lib/storedms/rollout.json``), and
the store's target. The journal wins: a run killed after the switch has ``current`` on
the target already, but its rollout is not finished (health, audit) until a re-run says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from storeops.catalog import find, upgrade_allowed
from storeops.schema import Release

Action = Literal["none", "upgrade", "resume", "refuse"]
QueueMode = Literal["queue", "maintenance page"]


@dataclass(frozen=True)
class Step:
    """What the rollout does on one store in this run."""

    action: Action
    from_version: str
    to_version: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def plan_step(
    catalog: Sequence[Release],
    running: str,
    target: str,
    interrupted: Mapping[str, Any] | None = None,
) -> Step:
    """The step a store on ``running`` (or with an interrupted rollout) takes to ``target``."""
    if find(catalog, target) is None:
        return Step("refuse", running, target, f"{target} is not in the approved release catalog")
    if interrupted:
        return _resume(running, target, interrupted)
    if not running:
        return Step(
            "refuse",
            running,
            target,
            "no DMS release is installed: a new store is installed by playbooks/dms.yml",
        )
    if running == target:
        return Step("none", running, target, f"already on {target}")
    allowed, why = upgrade_allowed(catalog, running, target)
    return Step("upgrade" if allowed else "refuse", running, target, why)


def _resume(running: str, target: str, interrupted: Mapping[str, Any]) -> Step:
    was_from, was_to = str(interrupted.get("from", "")), str(interrupted.get("to", ""))
    if was_to != target:
        return Step(
            "refuse",
            running,
            target,
            f"an interrupted rollout {was_from} -> {was_to} is recorded in the journal"
            f" (run {interrupted.get('run_id', '?')}): finish it with target {was_to}"
            f" before moving to {target}",
        )
    return Step(
        "resume",
        was_from,
        was_to,
        f"resuming the interrupted rollout {was_from} -> {was_to}"
        f" (run {interrupted.get('run_id', '?')}, current is {running or 'unset'})",
    )


@dataclass(frozen=True)
class QueuePlan:
    """How the store's clients live through its upgrade (the ``dms_switch`` module).

    ``queue``: new connections wait in the socket's queue while the service is stopped,
    the migrations run and the new release starts, about ``expected_s``.
    ``maintenance page``: the old release answers 503 ("migrating") meanwhile (the
    operator accepted it because the queue would be held longer than ``limit_s``).
    """

    mode: QueueMode
    expected_s: float
    limit_s: float
    rows: int
    estimated: bool
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_queue_seconds(
    release: Release, table_rows: Mapping[str, int], restart_s: float
) -> tuple[float, int]:
    """The catalog's estimate of ``release``'s migrations on these row counts, plus the
    service's stop and start (``restart_s``): how long a client waits; and the rows counted."""
    estimate = release.migration_estimate
    if estimate is None:
        return restart_s, 0
    counted = {table: int(table_rows.get(table, 0)) for table in estimate.per_1000_rows}
    seconds = estimate.seconds + sum(
        rate * counted[table] / 1000 for table, rate in estimate.per_1000_rows.items()
    )
    return round(restart_s + seconds, 2), sum(counted.values())


def queue_plan(
    release: Release,
    table_rows: Mapping[str, int],
    limit_s: float,
    restart_s: float,
    maintenance_page: bool,
) -> tuple[QueuePlan, str]:
    """The store's queue plan, and why the upgrade must be refused ('' when it may go):
    a queue the catalog expects to last longer than ``limit_s`` is refused unless the
    operator accepted a maintenance page."""
    expected, rows = expected_queue_seconds(release, table_rows, restart_s)
    estimated = release.migration_estimate is not None
    basis = (
        f"{rows} rows of {', '.join(release.migration_estimate.per_1000_rows) or 'no table'}"
        if release.migration_estimate is not None
        else "no estimate in the catalog"
    )
    over = expected > limit_s
    mode: QueueMode = "maintenance page" if over and maintenance_page else "queue"
    if mode == "queue":
        summary = f"clients queued about {expected:g} s ({basis}; limit {limit_s:g} s)"
    else:
        summary = (
            f"maintenance page about {expected:g} s ({basis}): the queue limit"
            f" {limit_s:g} s would be exceeded; the operator accepted a maintenance page"
        )
    plan = QueuePlan(mode, expected, limit_s, rows, estimated, summary)
    if over and not maintenance_page:
        return plan, (
            f"the migrations of {release.version} are expected to hold clients about {expected:g} s"
            f" ({basis}), over dms_rollout_queue_limit {limit_s:g} s: a client would time out"
            " in the queue. Migrate in a longer window with a maintenance page"
            " (-e dms_rollout_maintenance_page=true) or raise the limit."
        )
    return plan, ""


def waves(stores: Sequence[Mapping[str, Any]], wave_size: int) -> list[list[str]]:
    """Store codes in rollout order: every pilot store first, then ``wave_size`` at a time.

    ``stores`` are the store records of the hosts in the run, in inventory order; a store
    that appears twice (several hosts) counts once.
    """
    if wave_size < 1:
        raise ValueError(f"dms_wave_size must be at least 1, not {wave_size}")
    codes: dict[str, bool] = {}
    for store in stores:
        codes.setdefault(str(store["code"]), bool(store.get("pilot", False)))
    pilots = [code for code, pilot in codes.items() if pilot]
    others = [code for code, pilot in codes.items() if not pilot]
    batches = [others[i : i + wave_size] for i in range(0, len(others), wave_size)]
    return ([pilots] if pilots else []) + batches


# "would upgrade": a check-mode run plans the later waves as if the pilot had gone.
ON_TARGET = frozenset({"upgraded", "already on target", "would upgrade"})
FAILED = frozenset({"rolled back", "rollback FAILED", "gate failed"})


def wave_gate(
    plan: Sequence[Sequence[str]],
    index: int,
    outcomes: Mapping[str, str],
    pilots: Sequence[str],
) -> str:
    """Why wave ``index`` of ``plan`` must not start ('' when it may).

    ``outcomes`` maps store code to the outcome of stores that already ran (see
    ``ON_TARGET`` / ``FAILED``). The first failure stops the rollout: later waves stay
    untouched. Waves after the pilot wave also need every pilot store on the target.
    """
    earlier = [code for wave in plan[:index] for code in wave]
    failed = [code for code in earlier if outcomes.get(code) in FAILED]
    if failed:
        return f"not reached: the rollout stopped after store {', '.join(failed)} failed"
    is_pilot_wave = bool(pilots) and index == 0 and set(plan[0]) <= set(pilots)
    if is_pilot_wave:
        return ""
    if not pilots:
        return "held: no pilot store is in this run (the pilot goes first; see --limit)"
    behind = [code for code in pilots if outcomes.get(code) not in ON_TARGET]
    if behind:
        return f"held: pilot store {', '.join(behind)} is not on the target"
    return ""
