"""The dms_load_test action through ansible-playbook, against tests/loadtest_server.py.

No emulated device: the action runs on the controller (connection local) and its locust
talks HTTP to stand-in DMS servers started in this process on 127.0.0.1. The slow server
serves one request at a time at 50 ms each, so its p95 is far above any fast baseline even
while other emulator tests share the cores.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from storeops_lab.devices.playbook import PlayOutputError, Results, run_play
from tests.loadtest_server import serving
from tests.unit.test_loadtest import closed_port

HOSTS = {"pilot": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
GENEROUS_BASELINE = {"requests": 100, "failures": 0, "p50_ms": 400, "p95_ms": 800, "rps": 20}
WORKLOAD = {"users": 10, "spawn_rate": 10, "duration_s": 10, "read_id_min": 1}
SHORTER_BASELINE = {**GENEROUS_BASELINE, "workload": WORKLOAD}


def play(tmp_path: Path, tasks: list[dict[str, Any]], *args: str) -> tuple[Results, str]:
    try:
        run = run_play(
            tmp_path, HOSTS, tasks, *args, user="tester", timeout=300,
            environment={"ANSIBLE_CACHE_PLUGIN": "memory"},
        )  # fmt: skip
    except PlayOutputError as error:
        pytest.fail(f"ansible-playbook gave no JSON: {error.output}")
    return run.results, run.output


def load_test(name: str, url: str, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "dms_load_test": {"url": url, "duration": 3, **options},
        "register": name.replace(" ", "_"),
        "ignore_errors": True,
    }


def test_baseline_then_a_slow_release_fails_the_verdict_not_the_task(tmp_path: Path) -> None:
    with serving() as fast, serving(delay_s=0.05, serialized=True) as slow:
        results, output = play(
            tmp_path,
            [
                load_test("baseline", fast.url),
                load_test("slow release", slow.url, baseline="{{ baseline }}"),
                load_test("fast release", fast.url, baseline=GENEROUS_BASELINE),
            ],
        )
    baseline = results["baseline"]["pilot"]
    assert baseline.get("failed") is not True, output[-3000:]
    assert baseline["requests"] > 50 and baseline["failures"] == 0
    assert "passed" not in baseline and baseline["changed"] is False
    assert baseline["workload"]["duration_s"] == 3 and baseline["workload"]["users"] == 10
    slow_run = results["slow release"]["pilot"]
    assert slow_run.get("failed") is not True, output[-3000:]
    assert slow_run["passed"] is False and slow_run["baseline_p95_ms"] == baseline["p95_ms"]
    assert slow_run["reason"].startswith("too slow under load: p95 ")
    assert f"vs {baseline['p95_ms']:g} ms before (limit 2x" in slow_run["reason"]
    fast_run = results["fast release"]["pilot"]
    assert fast_run["passed"] is True, fast_run["reason"]


def test_errors_fail_the_task_with_the_reason(tmp_path: Path) -> None:
    port = closed_port()
    results, output = play(
        tmp_path,
        [
            load_test("unreachable", f"http://127.0.0.1:{port}"),
            load_test("not http", "file:///etc/passwd"),
            load_test("no users", "http://127.0.0.1:9", users=0),
            load_test("too long", "http://127.0.0.1:9", duration=86400),
            load_test("foreign baseline", "http://127.0.0.1:9", baseline={"p95": 3}),
            load_test("unknown option", "http://127.0.0.1:9", rate=5),
            load_test("other workload", "http://127.0.0.1:9", baseline=SHORTER_BASELINE),
        ],
    )
    messages = {name: hosts["pilot"].get("msg", "") for name, hosts in results.items()}
    assert all(hosts["pilot"].get("failed") for hosts in results.values()), output[-3000:]
    assert messages["unreachable"] == (
        f"load test of http://127.0.0.1:{port}: http://127.0.0.1:{port} does not answer:"
        " [Errno 111] Connection refused"
    )
    assert "is not an http or https URL" in messages["not http"]
    assert "users: 0 is not an integer in 1..200" in messages["no users"]
    assert "duration_s: 86400 is not an integer in 3..600" in messages["too long"]
    assert messages["foreign baseline"].startswith("baseline: not a load test result")
    assert "rate" in messages["unknown option"]
    assert "'duration_s': 10" in messages["other workload"]
    assert messages["other workload"].endswith("the figures would not compare")


def test_check_mode_generates_no_load(tmp_path: Path) -> None:
    with serving() as store:
        results, output = play(tmp_path, [load_test("gate", store.url)], "--check")
        answered = sum(store.behaviour.answered.values())
    result = results["gate"]["pilot"]
    assert result.get("failed") is not True, output[-3000:]
    assert result["skipped_load"] is True and "no load in check mode" in result["msg"]
    assert answered == 0
