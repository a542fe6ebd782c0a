"""The file_states module through ansible-playbook, on files of this machine (connection
local, as the current user, whose own name and group are the owner asked): modes set in
one call, check mode that changes nothing, a second run that changes nothing, a file
removed, a directory created, a directory never removed."""

from __future__ import annotations

import getpass
import grp
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from storeops_lab.devices.playbook import PlayOutputError, run_play

HOSTS = {"host": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
USER = getpass.getuser()
GROUP = grp.getgrgid(os.getgid()).gr_name


def play(tmp_path: Path, paths: list[dict[str, Any]], *args: str) -> dict[str, Any]:
    task = {"name": "states", "file_states": {"paths": paths}}
    try:
        run = run_play(tmp_path, HOSTS, [task], *args, user="tester", timeout=120)
    except PlayOutputError as error:
        pytest.fail(f"ansible-playbook gave no JSON: {error.output}")
    return run.results["states"]["host"]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_modes_absence_and_a_directory_in_one_call(tmp_path: Path) -> None:
    shadow, trust, new_dir = tmp_path / "shadow", tmp_path / "hosts.equiv", tmp_path / "d"
    shadow.write_text("x\n")
    shadow.chmod(0o644)
    trust.write_text("+\n")
    paths = [
        {"path": str(shadow), "owner": USER, "group": GROUP, "mode": "0640"},
        {"path": str(trust), "state": "absent"},
        {"path": str(new_dir), "state": "directory", "mode": "0750"},
    ]
    checked = play(tmp_path, paths, "--check", "--diff")
    assert checked["changed"] is True, checked.get("msg")
    assert checked["changed_paths"] == [str(shadow), str(trust), str(new_dir)]
    assert mode(shadow) == 0o644 and trust.exists() and not new_dir.exists()
    assert f"{shadow}: file {USER}:{GROUP} 0640" in checked["diff"]["after"]
    done = play(tmp_path, paths)
    assert done["changed"] is True
    assert mode(shadow) == 0o640 and not trust.exists() and mode(new_dir) == 0o750
    again = play(tmp_path, paths)
    assert again["changed"] is False and again["changed_paths"] == []


def test_a_directory_is_never_removed_and_a_bad_mode_refused(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    refused = play(tmp_path, [{"path": str(kept), "state": "absent"}])
    assert refused["failed"] is True and "directory" in refused["msg"] and kept.is_dir()
    bad = play(tmp_path, [{"path": str(kept), "state": "directory", "mode": "u+s"}])
    assert bad["failed"] is True and "octal" in bad["msg"]


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    result = play(tmp_path, [{"path": str(tmp_path / "absent"), "mode": "0644"}])
    assert result["failed"] is True and "does not exist" in result["msg"]
