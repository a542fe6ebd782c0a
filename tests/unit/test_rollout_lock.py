"""The per-store rollout lock: who holds it, whether the holder is alive, who may take it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from storeops.rollout_lock import Controller, Holder, holder_alive, holder_for, process_started
from tests.conftest import REPO


def _load_host_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "storeops_test_rollout_lock", REPO / "library" / "storeops_rollout_lock.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


host = _load_host_module()
HERE = Controller.here()
HOUR = 3600.0


def a_process() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_live_holder_on_this_controller_is_alive_and_a_killed_one_is_not() -> None:
    run = a_process()
    holder = holder_for("run-A", "wang.fang", run.pid, "2026-11-25T14:00:00+00:00")
    assert holder.pid_started == process_started(run.pid) != ""
    # even silent for a day: its process runs, so it holds the store
    assert holder_alive(holder, HERE, heard_ago=86400, stale_after=HOUR) == (
        True,
        f"its process {run.pid} on {HERE.hostname} is running",
    )
    run.kill()
    run.wait()
    # heard from a second ago, but its process is gone: a kill -9 releases the lock at once
    alive, why = holder_alive(holder, HERE, heard_ago=1, stale_after=HOUR)
    assert (alive, why) == (False, f"its process {run.pid} on {HERE.hostname} is gone")


def test_a_reused_pid_is_not_the_holder() -> None:
    run = a_process()
    try:
        holder = holder_for("run-A", "wang.fang", run.pid, "since")
        reused = Holder(**{**holder.as_dict(), "pid_started": "1"})  # another process, same PID
        assert holder_alive(reused, HERE, heard_ago=1, stale_after=HOUR)[0] is False
    finally:
        run.kill()
        run.wait()


def test_a_holder_from_before_the_controller_rebooted_is_dead() -> None:
    holder = Holder(**{**holder_for("run-A", "u", 1, "since").as_dict(), "boot_id": "old-boot"})
    assert holder_alive(holder, HERE, heard_ago=1, stale_after=HOUR) == (
        False,
        f"{HERE.hostname} has rebooted since",
    )


def test_a_holder_on_another_controller_is_alive_until_its_heartbeat_is_stale() -> None:
    awx = Holder(
        run_id="run-AWX",
        user="awx",
        controller="awx-job-4711",
        boot_id="b",
        pid_namespace="pid:[1]",
        pid=1,  # PID 1 is alive here too: it must not be asked about
        pid_started="1",
        since="2026-11-25T14:00:00+00:00",
    )
    alive, why = holder_alive(awx, HERE, heard_ago=600, stale_after=HOUR)
    assert alive and "another controller" in why
    alive, why = holder_alive(awx, HERE, heard_ago=HOUR + 1, stale_after=HOUR)
    assert not alive and "not heard from for 3601 s" in why
    assert awx.describe() == (
        "run run-AWX by awx on awx-job-4711 (ansible-playbook PID 1)"
        " since 2026-11-25T14:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("state", "found", "takeover", "expected"),
    [
        ("acquired", None, None, (True, "write")),
        ("acquired", {"run_id": "me"}, None, (True, "write")),
        ("acquired", {"run_id": "other"}, None, (False, "nothing")),
        ("acquired", {"run_id": "other"}, "someone-else", (False, "nothing")),
        ("acquired", {"run_id": "other"}, "other", (True, "write")),
        ("held", {"run_id": "me"}, None, (True, "write")),
        ("held", {"run_id": "other"}, "other", (False, "nothing")),  # renewal never takes over
        ("held", None, None, (True, "write")),
        ("released", {"run_id": "me"}, None, (False, "remove")),
        ("released", {"run_id": "other"}, None, (False, "nothing")),
    ],
)
def test_the_host_side_decision(
    state: str, found: dict[str, str] | None, takeover: str | None, expected: tuple[bool, str]
) -> None:
    assert host.decide(state, found, {"run_id": "me"}, takeover) == expected


def test_the_record_is_written_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "rollout.lock"
    with host.exclusive(str(tmp_path)):
        host.write_record(str(path), {"run_id": "me", "heartbeat": 1.0})
    assert json.loads(path.read_text()) == {"run_id": "me", "heartbeat": 1.0}
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rollout.lock"]
    path.write_text("{not json")
    assert host.read_record(str(path)) == {"run_id": "?", "unreadable": str(path)}
