"""The lab suites' schedule (tests/lab_lanes.py): every lab test module in exactly one lane."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid
from storeops_lab.errors import LabError
from storeops_lab.lab import _hosts_named
from storeops_lab.plan import make_plan
from tests import lab_lanes
from tests.lab_lanes import PHASES, Phase, lab_test_modules, pytest_command, unscheduled


def test_every_lab_module_on_disk_is_scheduled_once() -> None:
    assert unscheduled(PHASES, lab_test_modules()) == []


def test_the_lab_comes_first_and_the_audit_last() -> None:
    """test_lab recreates containers; the audit reads what every converge before it left."""
    assert PHASES[0].lanes == (("tests/integration/test_lab.py",),)
    assert all(m.startswith("tests/testinfra/") for lane in PHASES[-1].lanes for m in lane)


def test_a_new_module_a_duplicate_and_a_removed_one_are_refused() -> None:
    phases = (
        Phase("one", (("tests/integration/test_a.py", "tests/integration/test_b.py"),), ""),
        Phase("two", (("tests/integration/test_b.py",), ("tests/integration/test_gone.py",)), ""),
    )
    on_disk = [
        "tests/integration/test_a.py",
        "tests/integration/test_b.py",
        "tests/integration/test_new.py",
    ]
    assert unscheduled(phases, on_disk) == [
        "tests/integration/test_new.py: in no phase of tests/lab_lanes.py",
        "tests/integration/test_b.py: scheduled 2 times",
        "tests/integration/test_gone.py: scheduled but not found",
    ]


def test_modules_are_found_in_both_lab_suites(tmp_path: Path) -> None:
    for name in (
        "tests/integration/test_x.py",
        "tests/testinfra/test_y.py",
        "tests/unit/test_z.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "tests/integration/helpers.py").write_text("")
    assert lab_test_modules(tmp_path) == [
        "tests/integration/test_x.py",
        "tests/testinfra/test_y.py",
    ]


def test_each_lane_has_its_own_temporary_directory() -> None:
    """pytest empties its basetemp when it starts: two lanes sharing one would collide."""
    commands = [
        pytest_command(phase.name, number, lane, ["--durations=10"])
        for phase in PHASES
        for number, lane in enumerate(phase.lanes, start=1)
    ]
    basetemps = [arg for command in commands for arg in command if arg.startswith("--basetemp=")]
    assert len(basetemps) == len(set(basetemps)) == len(commands)
    assert all(command[-1] == "--durations=10" for command in commands)


def test_up_converges_only_the_hosts_named() -> None:
    """A suite that recreated one container brings back only that one (tests run beside it)."""
    plan = make_plan(load_valid(LAB_INVENTORY), "localhost/storeops-lab-base:test")
    assert _hosts_named(plan, None) == plan.hosts
    assert [h.host.name for h in _hosts_named(plan, ["sh01-db"])] == ["sh01-db"]
    with pytest.raises(LabError, match="no lab container for sh99-db"):
        _hosts_named(plan, ["sh01-db", "sh99-db"])


def test_a_phase_whose_lab_is_not_up_stops_the_run_after_what_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lanes that ran are still reported, and the run says where it stopped."""
    calls: list[int] = []

    def fake_up(*_args: object, **_kwargs: object) -> SimpleNamespace:
        calls.append(1)
        if len(calls) > 1:
            raise LabError("sh01-db: no SSH")
        return SimpleNamespace(actions=[])

    monkeypatch.setattr(lab_lanes, "up", fake_up)
    monkeypatch.setattr(lab_lanes, "LOG_DIR", tmp_path)
    monkeypatch.setattr(lab_lanes, "pytest_command", lambda *_: [sys.executable, "-c", "pass"])
    phases = [Phase(name, (("tests/integration/test_x.py",),), "why") for name in "abc"]
    lanes, stopped_at = lab_lanes.run(phases, [])
    assert [lane.label for lane in lanes] == ["a-1"] and lanes[0].returncode == 0
    assert stopped_at is phases[1]
    assert "phase b: the lab is not up" in capsys.readouterr().out
