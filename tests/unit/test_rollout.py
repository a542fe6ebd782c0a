"""Rollout decisions: each store's step, the waves, and the gate before each wave."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from storeops.rollout import plan_step, queue_plan, wave_gate, waves
from storeops.schema import ConstrainedRoleVars, Release
from tests.unit.test_catalog import CATALOG


@pytest.mark.parametrize(
    ("running", "target", "action", "reason"),
    [
        ("3.1.0", "3.2.0", "upgrade", "3.1.0 -> 3.2.0 is an approved upgrade path"),
        ("3.2.0", "3.2.0", "none", "already on 3.2.0"),
        (
            "3.1.0",
            "4.0.0",
            "refuse",
            "3.1.0 -> 4.0.0 is not allowed: 4.0.0 upgrades only from 3.2.*",
        ),
        (
            "3.2.0",
            "3.1.0",
            "refuse",
            "3.2.0 -> 3.1.0 is a downgrade: never allowed",
        ),
        ("3.1.0", "9.9.9", "refuse", "9.9.9 is not in the approved release catalog"),
        (
            "",
            "3.2.0",
            "refuse",
            "no DMS release is installed: a new store is installed by playbooks/dms.yml",
        ),
    ],
)
def test_step_from_the_running_release(running: str, target: str, action: str, reason: str) -> None:
    step = plan_step(CATALOG, running, target)
    assert (step.action, step.reason) == (action, reason)
    assert (step.from_version, step.to_version) == (running, target)


def test_an_interrupted_rollout_is_resumed_from_its_journal_not_from_current() -> None:
    """Killed after the switch: current is on the target already, the journal knows better."""
    journal = {"run_id": "r1", "from": "3.1.0", "to": "3.2.0"}
    step = plan_step(CATALOG, "3.2.0", "3.2.0", journal)
    assert step.action == "resume"
    assert (step.from_version, step.to_version) == ("3.1.0", "3.2.0")
    assert "run r1" in step.reason


def test_an_interrupted_rollout_to_another_target_is_refused() -> None:
    journal = {"run_id": "r1", "from": "3.1.0", "to": "3.2.0"}
    step = plan_step(CATALOG, "3.1.0", "3.2.1", journal)
    assert step.action == "refuse"
    assert "finish it with target 3.2.0 before moving to 3.2.1" in step.reason


def stores(*specs: str) -> list[dict[str, object]]:
    """'sh01*' is a pilot store."""
    return [{"code": spec.rstrip("*"), "pilot": spec.endswith("*")} for spec in specs]


@pytest.mark.parametrize(
    ("specs", "size", "expected"),
    [
        (("sh01*", "hz01"), 1, [["sh01"], ["hz01"]]),
        (("hz01", "sh01*", "nj01", "sz01"), 2, [["sh01"], ["hz01", "nj01"], ["sz01"]]),
        (("a*", "b*", "c"), 5, [["a", "b"], ["c"]]),
        (("a", "b"), 1, [["a"], ["b"]]),
        (("a*", "a*", "b", "b"), 1, [["a"], ["b"]]),
        ((), 3, []),
    ],
)
def test_waves_put_the_pilots_first(
    specs: tuple[str, ...], size: int, expected: list[list[str]]
) -> None:
    assert waves(stores(*specs), size) == expected


def test_wave_size_below_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        waves(stores("a*"), 0)


PLAN = [["sh01"], ["hz01", "nj01"], ["sz01"]]


def test_gate_opens_the_pilot_wave_and_then_needs_the_pilot_on_target() -> None:
    assert wave_gate(PLAN, 0, {}, ["sh01"]) == ""
    assert wave_gate(PLAN, 1, {"sh01": "upgraded"}, ["sh01"]) == ""
    assert wave_gate(PLAN, 1, {"sh01": "already on target"}, ["sh01"]) == ""
    assert wave_gate(PLAN, 1, {"sh01": "refused"}, ["sh01"]) == (
        "held: pilot store sh01 is not on the target"
    )


def test_first_failure_stops_every_later_wave() -> None:
    outcomes = {"sh01": "upgraded", "hz01": "rolled back", "nj01": "upgraded"}
    assert wave_gate(PLAN, 2, outcomes, ["sh01"]) == (
        "not reached: the rollout stopped after store hz01 failed"
    )
    assert wave_gate(PLAN, 1, {"sh01": "rollback FAILED"}, ["sh01"]).startswith("not reached")


def test_without_a_pilot_in_the_run_nothing_goes() -> None:
    assert wave_gate([["hz01"]], 0, {}, []) == (
        "held: no pilot store is in this run (the pilot goes first; see --limit)"
    )


# --- the clients' queue during an upgrade (dms_switch) ------------------------------------
def _release_with_estimate(**estimate: object) -> Release:
    return Release.model_validate(
        {
            "version": "3.2.0",
            "artifact": "dms-3.2.0.tar.gz",
            "sha256": "a" * 64,
            "upgrade_from": ["3.1.0"],
            "migration_estimate": estimate,
        }
    )


def test_queue_estimate_grows_with_the_rows_of_the_named_tables() -> None:
    release = _release_with_estimate(seconds=0.5, per_1000_rows={"customers": 0.2})
    rows = {"customers": 40_000, "vehicles": 9_000_000}  # vehicles: not migrated, not counted
    plan, refusal = queue_plan(release, rows, limit_s=10.0, restart_s=1.0, maintenance_page=False)
    assert (plan.mode, plan.expected_s, plan.rows, refusal) == ("queue", 9.5, 40_000, "")
    assert plan.summary == "clients queued about 9.5 s (40000 rows of customers; limit 10 s)"


def test_a_queue_over_the_limit_is_refused_at_plan_time() -> None:
    release = _release_with_estimate(seconds=0.5, per_1000_rows={"customers": 0.2})
    plan, refusal = queue_plan(
        release, {"customers": 400_000}, limit_s=4.0, restart_s=1.0, maintenance_page=False
    )
    assert plan.expected_s == 81.5
    assert "expected to hold clients about 81.5 s (400000 rows of customers)" in refusal
    assert "over dms_rollout_queue_limit 4 s" in refusal
    assert "dms_rollout_maintenance_page=true" in refusal


def test_an_accepted_maintenance_page_lets_a_long_migration_go() -> None:
    release = _release_with_estimate(seconds=0.5, per_1000_rows={"customers": 0.2})
    plan, refusal = queue_plan(
        release, {"customers": 400_000}, limit_s=4.0, restart_s=1.0, maintenance_page=True
    )
    assert (plan.mode, refusal) == ("maintenance page", "")
    assert plan.summary.startswith("maintenance page about 81.5 s")


def test_a_short_queue_stays_a_queue_even_with_a_maintenance_page_accepted() -> None:
    release = _release_with_estimate(seconds=0.5)
    plan, refusal = queue_plan(release, {}, limit_s=4.0, restart_s=1.0, maintenance_page=True)
    assert (plan.mode, plan.expected_s, refusal) == ("queue", 1.5, "")


def test_without_an_estimate_the_queue_is_the_restart_and_says_so() -> None:
    release = CATALOG[1]
    assert release.migration_estimate is None
    plan, refusal = queue_plan(release, {"customers": 10**9}, 4.0, 1.0, False)
    assert (plan.expected_s, plan.estimated, refusal) == (1.0, False, "")
    assert "no estimate in the catalog" in plan.summary


@pytest.mark.parametrize(
    ("estimate", "message"),
    [
        ({"per_1000_rows": 0.1}, "valid dictionary"),
        ({"seconds": -1}, "greater than or equal to 0"),
        ({"per_1000_rows": {"customers; DROP TABLE x": 1}}, "a table name"),
        ({"per_1000_rows": {"Customers": 1}}, "a table name"),
        ({"per_1000_rows": {"customers": -0.5}}, "greater than or equal to 0"),
    ],
)
def test_the_catalog_estimate_is_constrained(estimate: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        _release_with_estimate(**estimate)


@pytest.mark.parametrize(
    ("hold_file", "reason"),
    [
        ("/run/storedms.hold\nrm -rf /", "contains control characters"),
        ("run/storedms.hold", "is not an absolute path"),
        ("/run/a b", "is not an absolute path"),
    ],
)
def test_the_dms_hold_file_is_one_absolute_path(hold_file: str, reason: str) -> None:
    """It is written into the ExecStartPre script (a shell word) and by dms_switch."""
    with pytest.raises(ValidationError, match=reason):
        ConstrainedRoleVars.model_validate({"dms_hold_file": hold_file})
    assert ConstrainedRoleVars.model_validate({"dms_hold_file": "/run/storedms.hold"})
