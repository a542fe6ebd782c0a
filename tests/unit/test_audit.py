"""``storeops audit`` without SSH: the pytest plugin's lines (from a real pytest run of a
small suite), merging recorded lines with waivers (waived, not applicable, failed, unknown),
the per-store pass rate, the table, the JSON and the monitoring exit codes."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from storeops.compliance import audit
from storeops.compliance.audit import AuditReport, Status
from storeops.compliance.audit_plugin import RESULTS_ENV
from storeops.compliance.catalogue import Catalogue, load_catalogue
from storeops.compliance.report import print_report
from storeops.compliance.schema import Waiver
from storeops.compliance.validation import PlacedWaiver
from tests.conftest import FIXTURES, REPO

RESULTS = FIXTURES / "audit" / "results.jsonl"
PWQUALITY = "L2-7.1.4.1-a-pwquality"
UMASK = "L2-7.1.4.2-d-umask"
SYSCTLS = "L2-7.1.4.4-b-network-sysctls"
AUDITD = "L2-7.1.4.3-a-auditd"
HOSTS = ["aa01-db", "aa01-dms", "bb01-db"]
STORES = {"aa01-db": "aa01", "aa01-dms": "aa01", "bb01-db": "bb01"}


@pytest.fixture
def catalogue() -> Catalogue:
    """Four controls of the real catalogue, in its order."""
    full = load_catalogue()
    keep = {PWQUALITY, UMASK, SYSCTLS, AUDITD}
    return Catalogue(controls=[c for c in full.controls if c.id in keep])


def _waiver(control: str) -> dict[str, dict[str, PlacedWaiver]]:
    waiver = Waiver(
        control=control,
        justification="DMS 4.2 installer needs umask 022",
        owner="it.aa01@dealer.example",
        expires=dt.date(2027, 3, 31),
    )
    return {
        "aa01-dms": {
            control: PlacedWaiver(waiver, Path("host_vars/aa01-dms.yml"), "aa01-dms", True)
        }
    }


def _report(catalogue: Catalogue, waivers: dict[str, dict[str, PlacedWaiver]]) -> AuditReport:
    report = AuditReport("inv", HOSTS, STORES, [c.id for c in catalogue.controls], generated="t")
    report.cells = audit.merge(catalogue, HOSTS, STORES, audit.read_lines(RESULTS), waivers)
    return report


def test_read_lines_drops_a_line_cut_short() -> None:
    lines = audit.read_lines(RESULTS)
    assert len(lines) == 14
    assert lines[0] == audit.CheckLine(PWQUALITY, "aa01-dms", "test_pwquality", "passed", "")


def test_merge_statuses(catalogue: Catalogue) -> None:
    report = _report(catalogue, _waiver(UMASK))

    def status(control: str, host: str) -> Status:
        cell = report.cell(control, host)
        assert cell is not None
        return cell.status

    assert status(PWQUALITY, "aa01-dms") is Status.PASSED
    assert status(PWQUALITY, "aa01-db") is Status.FAILED
    assert status(UMASK, "aa01-dms") is Status.WAIVED  # failed, but waived
    assert status(SYSCTLS, "aa01-dms") is Status.NOT_APPLICABLE
    assert status(SYSCTLS, "aa01-db") is Status.FAILED
    assert status(SYSCTLS, "bb01-db") is Status.UNKNOWN  # passed, then a teardown error
    assert status(AUDITD, "aa01-dms") is Status.UNKNOWN  # no connection
    assert status(AUDITD, "bb01-db") is Status.PASSED  # the runtime part skipped, files passed
    waived = report.cell(UMASK, "aa01-dms")
    assert waived is not None and waived.check == "failed"
    assert waived.reason == (
        "DMS 4.2 installer needs umask 022 (owner it.aa01@dealer.example, until 2027-03-31; "
        "check: failed)"
    )
    assert waived.waiver == {
        "justification": "DMS 4.2 installer needs umask 022",
        "owner": "it.aa01@dealer.example",
        "expires": "2027-03-31",
        "file": "host_vars/aa01-dms.yml",
    }


def test_a_control_without_result_is_unknown(catalogue: Catalogue) -> None:
    cells = audit.merge(catalogue, ["zz01-dms"], {"zz01-dms": "zz01"}, [], {})
    assert {cell.status for cell in cells} == {Status.UNKNOWN}
    assert cells[0].reason == "no result: the check did not run"


def test_store_rates(catalogue: Catalogue) -> None:
    rates = _report(catalogue, _waiver(UMASK)).store_rates()
    # aa01: 8 cells: passed 3 (pwquality dms, umask db, auditd db), failed 2, waived 1,
    # n/a 1, unknown 1
    assert rates["aa01"] == {
        "passed": 3,
        "failed": 2,
        "waived": 1,
        "not applicable": 1,
        "unknown": 1,
        "total": 8,
        "rate": 0.625,
    }
    assert rates["bb01"]["passed"] == 3 and rates["bb01"]["unknown"] == 1
    assert rates["bb01"]["rate"] == 0.75


def test_exit_codes(catalogue: Catalogue) -> None:
    report = _report(catalogue, _waiver(UMASK))
    assert report.exit_code() == audit.EXIT_FAILED
    only_unknown = [c for c in report.cells if c.status is not Status.FAILED]
    report.cells = only_unknown
    assert report.exit_code() == audit.EXIT_UNKNOWN
    report.cells = [c for c in only_unknown if c.status is not Status.UNKNOWN]
    assert report.exit_code() == audit.EXIT_OK
    report.problem = "inventory invalid"
    assert report.exit_code() == audit.EXIT_UNKNOWN
    assert AuditReport("inv", [], {}, []).exit_code() == audit.EXIT_UNKNOWN  # nothing audited


def test_json(catalogue: Catalogue) -> None:
    data = json.loads(json.dumps(_report(catalogue, _waiver(UMASK)).to_json()))
    assert data["exit_code"] == 2
    assert data["controls"] == [PWQUALITY, UMASK, AUDITD, SYSCTLS]
    assert len(data["results"]) == 12
    first = data["results"][0]
    assert first == {
        "control": PWQUALITY,
        "host": "aa01-db",
        "store": "aa01",
        "status": "failed",
        "reason": "AssertionError: minlen 8",
        "check": "failed",
        "waiver": None,
    }
    assert data["stores"]["aa01"]["rate"] == 0.625


def test_table(catalogue: Catalogue) -> None:
    stream = io.StringIO()
    print_report(_report(catalogue, _waiver(UMASK)), Console(file=stream, width=80))
    text = stream.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "MLPS 2.0 level 2: aa01 (inv)" in text, "one control x host table per store"
    row = next(line for line in text.splitlines() if PWQUALITY in line and "│" in line)
    assert "FAILED" in row and "passed" in row
    assert (
        next(line for line in text.splitlines() if UMASK in line and "│" in line).count("waived")
        == 1
    )
    assert "aa01-db L2-7.1.4.1-a-pwquality: FAILED: AssertionError: minlen 8" in text
    assert "62.5 %" in text and "75.0 %" in text
    assert "exit 2: controls failed" in text


PLUGIN_SUITE = """
import pytest

HOSTS = ["ansible://h1", "ansible://h2"]

@pytest.mark.control("L2-X-pass")
@pytest.mark.parametrize("host", HOSTS, ids=HOSTS)
def test_passes(host):
    pass

@pytest.mark.control("L2-X-fail")
@pytest.mark.parametrize("host", HOSTS, ids=HOSTS)
def test_fails(host):
    assert host.endswith("h1"), f"minlen 8 on {host}"

@pytest.mark.control("L2-X-na")
@pytest.mark.parametrize("host", HOSTS, ids=HOSTS)
def test_not_applicable(host):
    pytest.skip("not applicable: a container")

@pytest.mark.control("L2-X-setup")
@pytest.mark.parametrize("host", HOSTS, ids=HOSTS)
def test_setup_error(host, missing_fixture):
    pass

def test_unmarked():
    pass
"""


def test_plugin_writes_one_line_per_test(tmp_path: Path) -> None:
    suite = tmp_path / "test_suite.py"
    suite.write_text(PLUGIN_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    control(id): a control\n")
    results = tmp_path / "results.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            audit.PLUGIN,
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            str(suite),
        ],
        cwd=tmp_path,
        env={**__import__("os").environ, RESULTS_ENV: str(results)},
        check=False,
        capture_output=True,
    )
    lines = {(line.control, line.host): line for line in audit.read_lines(results)}
    assert (None, "test_suite.py::test_unmarked") not in lines
    assert lines[("L2-X-pass", "h1")].outcome == "passed"
    assert lines[("L2-X-fail", "h1")].outcome == "passed"
    assert lines[("L2-X-fail", "h2")].outcome == "failed"
    assert "minlen 8 on ansible://h2" in lines[("L2-X-fail", "h2")].reason
    assert lines[("L2-X-na", "h1")].outcome == "not_applicable"
    assert lines[("L2-X-na", "h1")].reason == "not applicable: a container"
    assert lines[("L2-X-setup", "h2")].outcome == "error"
    assert any(control is None for control, _ in lines)  # an unmarked test: no control
    assert len(lines) == 9


def test_pytest_command_targets_one_host_of_the_inventory() -> None:
    command = audit.pytest_command(Path("/inv"), "a-dms")
    assert command[1:4] == ["-m", "pytest", str(audit.AUDIT_TESTS)]
    assert "--hosts=ansible://a-dms?ansible_inventory=/inv" in command
    assert command[command.index("-p") + 1] == audit.PLUGIN
    assert (REPO / audit.AUDIT_TESTS).is_file()


def test_the_audit_multiplexes_ssh_with_a_short_socket_path() -> None:
    """ssh itself reads the audit's client configuration: one control socket per host in
    a directory short enough for a socket, the user's own configuration still included."""
    with audit.ssh_multiplexing() as config:
        assert config is not None
        command = audit.pytest_command(Path("/inv"), "a-dms", ssh_config=config)
        assert f"--ssh-config={config}" in command
        effective = subprocess.run(
            ["ssh", "-G", "-F", str(config), "-l", "storeops", "10.77.1.40"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        control_path = next(
            line.split(" ", 1)[1]
            for line in effective.splitlines()
            if line.startswith("controlpath ")
        )
        assert Path(control_path).parent == config.parent
        assert len(control_path) <= audit.SOCKET_PATH_MAX
    assert not config.exists(), "the directory goes when the audit ends"


def test_no_ssh_config_when_the_socket_path_would_be_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with audit.ssh_multiplexing() as config:
        assert config is None
    assert "--ssh-config" not in " ".join(audit.pytest_command(Path("/inv"), "a-dms"))


def test_run_checks_runs_every_command_and_collects_the_lines(tmp_path: Path) -> None:
    """Two stand-in runs (no SSH): each appends its lines, one exits 1, one cannot run."""
    write = (
        "import json, os, sys; "
        "open(os.environ['STOREOPS_AUDIT_RESULTS'], 'a').write(json.dumps("
        "{'control': 'C', 'host': sys.argv[1], 'outcome': 'failed', 'reason': 'r'}) + '\\n'); "
        "print('done', sys.argv[1]); sys.exit(int(sys.argv[2]))"
    )
    commands = [[sys.executable, "-c", write, "h1", "1"], [sys.executable, "-c", write, "h2", "4"]]
    seen: list[int] = []
    lines, runs = audit.run_checks(commands, tmp_path, {}, workers=1, progress=seen.append)
    assert sorted(line.host for line in lines) == ["h1", "h2"]
    assert runs == [(1, "done h1"), (4, "done h2")]
    assert seen[-1] == 2


# ---------------------------------------------------------------------------- the audit's parsers


@pytest.fixture(scope="module")
def checks() -> Any:
    """tests/testinfra/test_hardening.py, imported as pytest imports it (its directory on
    sys.path for role_host), to test its parsers without a host."""
    sys.path.insert(0, str(REPO / "tests" / "testinfra"))
    try:
        return importlib.import_module("test_hardening")
    finally:
        sys.path.remove(str(REPO / "tests" / "testinfra"))


def test_sudoers_rules_for_single_users_are_found(checks: Any) -> None:
    sudoers = (
        "Defaults env_reset\n"
        "Defaults:storeops !requiretty\n"
        "root ALL=(ALL:ALL) ALL\n"
        "%sudo ALL=(ALL:ALL) ALL\n"
        "User_Alias ADMINS = alice, %wheel\n"
        "User_Alias GROUPS = %a, %b\n"
        "ADMINS ALL=(ALL) ALL\n"
        "GROUPS ALL=(ALL) ALL\n"
        "%tier ALL=(root) NOPASSWD: /usr/bin/apt-get update, \\\n"
        "   /usr/sbin/lpadmin\n"
        "storeops ALL=(ALL) NOPASSWD:ALL  # the automation account\n"
        "@includedir /etc/sudoers.d\n"
        "#includedir /etc/sudoers.d\n"
    )
    assert checks.single_user_rules(sudoers) == [
        "ADMINS ALL=(ALL) ALL",
        "storeops ALL=(ALL) NOPASSWD:ALL  # the automation account",
    ]
    assert checks.single_user_rules("ALL ALL=(ALL) ALL\n") == ["ALL ALL=(ALL) ALL"]
    assert checks.single_user_rules("%storeops-automation ALL=(ALL) NOPASSWD:ALL\n") == []


def test_pam_lines_and_time_spans(checks: Any) -> None:
    assert checks._pam_module("password [success=1 default=ignore] pam_unix.so obscure") == (
        "pam_unix.so",
        ["obscure"],
    )
    assert checks._pam_module("auth requisite pam_faillock.so preauth") == (
        "pam_faillock.so",
        ["preauth"],
    )
    assert checks.timespan_seconds("180day") == 180 * 86400
    assert checks.timespan_seconds("6month") >= 180 * 86400
    assert checks.timespan_seconds("1month") < 180 * 86400
    assert checks.timespan_seconds("15552000") == 180 * 86400
    assert checks._login_defs("PASS_MAX_DAYS\t90\nUMASK\t\t027\n# UMASK 022\n") == {
        "PASS_MAX_DAYS": "90",
        "UMASK": "027",
    }


def test_not_applicable_skips_are_worded_for_the_plugin(
    checks: Any,
) -> None:
    source = (REPO / audit.AUDIT_TESTS).read_text()
    skips = re.findall(r'pytest\.skip\(\s*"([^"]*)"', source)
    assert skips and all(text.startswith("not applicable: ") for text in skips)


def test_storeops_audit_on_the_lab_inventory_with_recorded_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's glue: the lab's Linux hosts, --limit, one pytest run per host (replaced
    by recorded lines), the JSON file and the exit code."""
    from storeops import cli

    calls: list[list[str]] = []

    def recorded(commands: Any, cwd: Path, environment: Any, workers: int, progress: Any) -> Any:
        calls.extend(list(c) for c in commands)
        progress(2)
        lines = [
            audit.CheckLine(PWQUALITY, "sh01-db", "test_pwquality", "passed"),
            audit.CheckLine(UMASK, "sh01-db", "test_umask", "failed", "login.defs UMASK 022"),
        ]
        return lines, [(1, "")] * len(commands)

    monkeypatch.setattr(audit, "run_checks", recorded)
    status = cli.main(["audit", "--limit", "store_sh01:&db", "--json"])
    assert status == audit.EXIT_FAILED
    assert len(calls) == 1 and "--hosts=ansible://sh01-db?ansible_inventory=" in calls[0][4]
    out = capsys.readouterr().out
    data = json.loads(out)  # the JSON alone on stdout: no table
    assert data["hosts"] == ["sh01-db"]
    statuses = {r["control"]: r["status"] for r in data["results"]}
    assert statuses[PWQUALITY] == "passed" and statuses[UMASK] == "failed"
    assert statuses[AUDITD] == "unknown"  # no line recorded for it
    assert data["stores"]["sh01"]["passed"] == 1
    assert any("login.defs UMASK 022" in r["reason"] for r in data["results"] if r["reason"])
    assert cli.main(["audit", "--limit", "store_sh01:&db"]) == audit.EXIT_FAILED
    assert "login.defs UMASK 022" in capsys.readouterr().out  # the table's notes
