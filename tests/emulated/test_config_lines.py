"""The config_lines module through ansible-playbook, on files of this machine (connection
local): N lines set in one call, check mode that writes nothing, the diff, a second run
that changes nothing, and the file's mode. No device: the module runs where a store host
would run it, in the same Python interpreter Ansible gives it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from storeops_lab.devices.playbook import PlayOutputError, Results, run_play

HOSTS = {"host": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
BEFORE = "log_file = /var/log/audit/audit.log\nmax_log_file_action = ROTATE\n"
WANTED = (
    "log_file = /var/log/audit/audit.log\nmax_log_file_action = keep_logs\n"
    "disk_full_action = suspend\n"
)


def play(tmp_path: Path, path: Path, *args: str) -> dict[str, Any]:
    task = {
        "name": "set",
        "config_lines": {
            "path": str(path),
            "lines": [
                {
                    "regexp": r"^\s*max_log_file_action\s*=",
                    "line": "max_log_file_action = keep_logs",
                },
                {"regexp": r"^\s*disk_full_action\s*=", "line": "disk_full_action = suspend"},
            ],
            "mode": "0640",
        },
    }
    try:
        run = run_play(tmp_path, HOSTS, [task], *args, user="tester", timeout=120)
    except PlayOutputError as error:
        pytest.fail(f"ansible-playbook gave no JSON: {error.output}")
    results: Results = run.results
    return results["set"]["host"]


def test_check_then_set_then_nothing_to_do(tmp_path: Path) -> None:
    path = tmp_path / "auditd.conf"
    path.write_text(BEFORE)
    path.chmod(0o644)
    checked = play(tmp_path, path, "--check", "--diff")
    assert checked["changed"] is True and path.read_text() == BEFORE  # nothing written
    assert checked["diff"]["after"] == WANTED
    assert [e["action"] for e in checked["edits"]] == ["replaced", "appended"]
    done = play(tmp_path, path)
    assert done["changed"] is True and path.read_text() == WANTED
    assert path.stat().st_mode & 0o777 == 0o640
    again = play(tmp_path, path)
    assert again["changed"] is False, again
    assert [e["action"] for e in again["edits"]] == ["unchanged", "unchanged"]


def test_only_the_mode_differs(tmp_path: Path) -> None:
    path = tmp_path / "auditd.conf"
    path.write_text(WANTED)
    path.chmod(0o644)
    assert play(tmp_path, path)["changed"] is True
    assert path.read_text() == WANTED and path.stat().st_mode & 0o777 == 0o640


def test_a_missing_file_fails_unless_created(tmp_path: Path) -> None:
    result = play(tmp_path, tmp_path / "absent.conf")
    assert result["failed"] is True and "does not exist" in result["msg"]
