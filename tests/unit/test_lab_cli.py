"""`storeops lab status`: a readable table (rich), or JSON with --json; no lab needed here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storeops.cli import main
from storeops_lab.cli_lab import status_table
from storeops_lab.lab import HostStatus

DB = HostStatus("sh01-db", "sh01", "10.10.10.11", "storeops-sh01-db", "running", True, "running")
SWITCH = HostStatus(
    "sh01-sw01", "sh01", "127.0.0.1:8821", "", "running", None, "-", "no answer", device=True
)


def test_status_table_has_a_header_and_one_aligned_row_per_host() -> None:
    lines = status_table([DB, SWITCH]).splitlines()
    header, rule, *rows = lines
    assert header.split() == ["HOST", "STORE", "ADDRESS", "CONTAINER", "SSH", "SYSTEMD", "NOTE"]
    assert set(rule) == {"─"}
    assert [row.split()[0] for row in rows] == ["sh01-db", "sh01-sw01"]
    # Every column starts where its header starts.
    for column in ("STORE", "ADDRESS", "SSH"):
        start = header.index(column)
        assert all(row[start - 1] == " " and row[start] != " " for row in rows), column
    assert rows[0].split()[4] == "yes" and rows[1].split()[4] == "-"
    assert "\x1b" not in "\n".join(lines)  # no colour codes in a pipe or a log


def test_status_json_lists_every_host_and_the_verdict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr("storeops_lab.cli_lab.load_valid", lambda root: object())
    monkeypatch.setattr("storeops_lab.cli_lab.status", lambda inventory: [DB, SWITCH])
    monkeypatch.setattr("storeops_lab.cli_lab.portal.answering", lambda: True)
    repository = {"http://10.77.1.1:8809": True}
    monkeypatch.setattr("storeops_lab.cli_lab._apt_repositories", lambda inventory: repository)
    status = main(["lab", "status", "--json", "-i", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    assert status == 1  # the switch does not answer SSH
    assert [h["host"] for h in report["hosts"]] == ["sh01-db", "sh01-sw01"]
    assert [h["healthy"] for h in report["hosts"]] == [True, False]
    assert report["healthy"] == 1 and report["total"] == 2 and report["portal"]["answering"]
    assert report["apt_repositories"] == [{"url": "http://10.77.1.1:8809", "answering": True}]
