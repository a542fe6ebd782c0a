"""storeops.loadtest without load: the report files of a real run, the verdict, the options.

The runs themselves (locust against a local server) are in tests/component/test_loadtest.py,
the Ansible action in tests/emulated/test_dms_load_test.py.
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from storeops.loadtest import (
    FailureReason,
    LoadResult,
    LoadSpec,
    LoadTestError,
    ReportError,
    judge,
    parse_report,
    run_load,
)
from storeops.loadtest.run import locust_command, locust_environment
from tests.conftest import FIXTURES, REPO, load_plugin
from tests.unit.test_module_docs import doc_strings

REPORTS = FIXTURES / "loadtest"


def result(p95_ms: float, failures: int = 0, requests: int = 200) -> LoadResult:
    reasons = (FailureReason("POST", "/smoke", "HTTP 500", failures),) if failures else ()
    return LoadResult(requests, failures, p95_ms / 2, p95_ms, 60.0, reasons)


# --------------------------------------------------------------- the report of a real run


def test_the_aggregated_row_and_the_failures_of_a_real_run() -> None:
    figures = parse_report(REPORTS / "broken-smoke")
    assert figures.requests == 275 and figures.failures == 68
    assert (figures.p50_ms, figures.p95_ms, figures.rps) == (3.0, 5.0, 99.53)
    assert figures.failure_reasons == (
        FailureReason(
            "POST",
            "/smoke",
            "CatchResponseError('HTTP 500, smoke failed at create work order')",
            68,
        ),
    )


def test_a_run_without_requests_has_zero_figures() -> None:
    figures = parse_report(REPORTS / "no-requests")
    assert figures == LoadResult(0, 0, 0.0, 0.0, 0.0, ())


def test_missing_or_foreign_report_files_are_report_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="locust wrote no report"):
        parse_report(tmp_path / "nothing")
    (tmp_path / "other_stats.csv").write_text("Type,Name\nGET,/health\n")
    with pytest.raises(ReportError, match="expected one Aggregated row"):
        parse_report(tmp_path / "other")
    shutil.copy(REPORTS / "broken-smoke_stats.csv", tmp_path / "cut_stats.csv")
    with pytest.raises(ReportError, match=r"cut_failures\.csv"):
        parse_report(tmp_path / "cut")
    text = (REPORTS / "broken-smoke_stats.csv").read_text().replace(",275,", ",many,")
    (tmp_path / "bad_stats.csv").write_text(text)
    shutil.copy(REPORTS / "broken-smoke_failures.csv", tmp_path / "bad_failures.csv")
    with pytest.raises(ReportError, match="Aggregated row unreadable"):
        parse_report(tmp_path / "bad")


def test_most_frequent_failure_reasons_first_and_at_most_five(tmp_path: Path) -> None:
    shutil.copy(REPORTS / "broken-smoke_stats.csv", tmp_path / "many_stats.csv")
    rows = [f"GET,/work-orders/<id>,HTTP 50{n},{n + 1},,\n" for n in range(7)]
    (tmp_path / "many_failures.csv").write_text(
        "Method,Name,Error,Occurrences,First Seen,Last Seen\n" + "".join(rows)
    )
    reasons = parse_report(tmp_path / "many").failure_reasons
    assert [reason.count for reason in reasons] == [7, 6, 5, 4, 3]


def test_a_result_survives_the_round_trip_through_a_registered_variable() -> None:
    figures = replace(
        parse_report(REPORTS / "broken-smoke"), workload=LoadSpec("http://dms:8080").workload()
    )
    registered = {"changed": False, "msg": "...", **figures.as_dict()}
    assert LoadResult.from_dict(registered) == figures
    assert figures.workload["spawn_rate"] == 10 and figures.workload["duration_s"] == 20


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"requests": 10},
        {**result(9).as_dict(), "p95_ms": "fast"},
        {**result(9).as_dict(), "requests": -1},
    ],
    ids=["none", "list", "empty", "partial", "text", "negative"],
)
def test_a_baseline_that_is_not_a_result_is_refused(data: object) -> None:
    with pytest.raises(ReportError, match="load test result"):
        LoadResult.from_dict(data)


# --------------------------------------------------------------- the verdict


def test_same_speed_and_no_failure_passes_with_both_figures() -> None:
    verdict = judge(result(38), result(61), max_p95_factor=2.0, p95_floor_ms=20)
    assert verdict.passed
    assert verdict.reason == (
        "no request failed in 200; p95 61 ms after the upgrade vs 38 ms before (limit 2x)"
    )


def test_too_slow_fails_and_says_by_how_much() -> None:
    verdict = judge(result(38), result(412), max_p95_factor=2.0, p95_floor_ms=20)
    assert not verdict.passed
    assert verdict.reason == (
        "too slow under load: p95 412 ms after the upgrade vs 38 ms before (limit 2x)"
    )


def test_the_limit_itself_passes_and_just_above_fails() -> None:
    assert judge(result(40), result(80), 2.0, 20).passed
    assert not judge(result(40), result(80.5), 2.0, 20).passed


def test_a_tiny_baseline_counts_as_the_floor() -> None:
    verdict = judge(result(3), result(35), max_p95_factor=2.0, p95_floor_ms=20)
    assert verdict.passed, verdict.reason
    assert "vs 3 ms before (limit 2x of a 20 ms floor)" in verdict.reason
    assert not judge(result(3), result(41), 2.0, 20).passed


def test_any_failed_request_fails_even_when_fast() -> None:
    verdict = judge(result(38), result(10, failures=1), max_p95_factor=2.0, p95_floor_ms=20)
    assert not verdict.passed
    assert verdict.reason.startswith("1 of 200 requests failed (0.5%); e.g. POST /smoke: HTTP 500")
    assert "p95 10 ms after the upgrade vs 38 ms before" in verdict.reason


def test_no_request_after_the_upgrade_fails() -> None:
    assert not judge(result(38), LoadResult(0, 0, 0, 0, 0), 2.0, 20).passed


@pytest.mark.parametrize(("factor", "floor"), [(0.5, 20), (2.0, -1)])
def test_a_limit_that_would_pass_a_slower_release_is_refused(factor: float, floor: float) -> None:
    with pytest.raises(ValueError, match="max_p95_factor"):
        judge(result(38), result(38), factor, floor)


# --------------------------------------------------------------- the spec


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://dms.sh01:8080", "not an http or https URL"),
        ("http://", "not an http or https URL"),
        ("http://dms.sh01:99999", "not an http or https URL"),
        ("http://dms.sh01:8080 -u 1000", "not an http or https URL"),
        ("http://dms.sh01:8080\n", "not an http or https URL"),
        ("http://admin:secret@dms.sh01:8080", "credentials"),
        ("http://dms.sh01:8080/work-orders", "without a path"),
        ("http://dms.sh01:8080/?debug=1", "without a path"),
    ],
)
def test_only_a_base_http_url_is_accepted(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        LoadSpec(url)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"users": 0}, "users: 0 is not an integer in 1..200"),
        ({"users": 1000}, "users: 1000"),
        ({"users": True}, "users: True"),
        ({"users": 5, "spawn_rate": 6}, "spawn_rate: 6 is not an integer in 1..5"),
        ({"duration_s": 1}, "duration_s: 1 is not an integer in 3..600"),
        ({"duration_s": 3600}, "duration_s: 3600"),
        ({"read_id_min": 50, "read_id_max": 10}, "read_id_max: 10 is not an integer in 50.."),
        ({"read_id_max": 10**10}, "read_id_max"),
        ({"think_ms": -1}, "think_ms"),
    ],
)
def test_a_spec_out_of_bounds_is_refused(options: dict[str, int], problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace(".", r"\.")):
        LoadSpec("http://10.20.1.10:8080", **options)


def test_the_locust_command_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = LoadSpec("https://dms.sh01.example:8443/", users=4, duration_s=15, read_id_max=5000)
    command = locust_command(spec)
    assert command[:4] == [sys.executable, "-m", "locust", "--headless"]
    assert command[command.index("-u") + 1 : command.index("-u") + 4] == ["4", "-r", "4"]
    assert "15s" in command and "https://dms.sh01.example:8443/" in command
    monkeypatch.setenv("LOCUST_USERS", "500")
    environment = locust_environment(spec, tmp_path, tmp_path / "report")
    assert "LOCUST_USERS" not in environment
    assert environment["HOME"] == str(tmp_path)
    assert environment["STOREOPS_LOAD_READ_ID_MAX"] == "5000"


# --------------------------------------------------------------- errors before any load


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_dms_is_an_error_not_a_traceback() -> None:
    with pytest.raises(LoadTestError, match=r"does not answer: \[Errno 111\] Connection refused"):
        run_load(LoadSpec(f"http://127.0.0.1:{closed_port()}", duration_s=3))


def test_without_locust_the_error_says_so() -> None:
    """The base interpreter of the venv, which has no locust (a real missing install)."""
    base = Path(sys.base_prefix) / "bin" / "python3"
    probe = subprocess.run(
        [base, "-c", "import importlib.util as u; print(u.find_spec('locust') is None)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if probe.stdout.strip() != "True":
        pytest.skip(f"{base} has locust (or does not run)")
    code = (
        "from storeops.loadtest import LoadSpec, LoadTestError, run_load\n"
        "try:\n    run_load(LoadSpec('http://127.0.0.1:9'))\n"
        "except LoadTestError as error:\n    print(error)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "modules")}
    done = subprocess.run([base, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert "locust is not installed" in done.stdout, done.stderr


# --------------------------------------------------------------- the action's documentation


def test_the_documented_options_are_the_actions_argument_spec() -> None:
    """library/dms_load_test.py documents what action_plugins/dms_load_test.py validates."""
    action = load_plugin("dms_load_test_action", REPO / "action_plugins" / "dms_load_test.py")
    documented = yaml.safe_load(doc_strings(REPO / "library" / "dms_load_test.py")["DOCUMENTATION"])
    options = {
        name: {key: option[key] for key in ("type", "default", "required") if key in option}
        for name, option in documented["options"].items()
    }
    assert options == action.ARGUMENT_SPEC


# --------------------------------------------------------------- the workload writes nothing


def test_the_workload_only_reads_and_runs_the_smoke_transaction() -> None:
    """It runs against production DMSes: no request that creates or deletes a customer's data.
    Every request of the locustfile, as written (method, path)."""
    from storeops.loadtest.run import LOCUSTFILE

    requests = set()
    for node in ast.walk(ast.parse(LOCUSTFILE.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "client"
        ):
            path = node.args[0]
            text = ast.unparse(path) if isinstance(path, ast.JoinedStr) else ast.literal_eval(path)
            requests.add((node.func.attr, text))
    assert requests == {
        ("get", "f'/work-orders/{work_order}'"),
        ("get", "/health"),
        ("post", "/smoke"),
    }
