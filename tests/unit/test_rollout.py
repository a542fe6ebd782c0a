"""Rollout decisions: each store's step, the waves, and the gate before each wave."""

from __future__ import annotations

import pytest

from storeops.rollout import plan_step, wave_gate, waves
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
