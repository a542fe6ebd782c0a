"""`storeops lab status`: a readable table (rich), or JSON with --json; no lab needed here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storeops.cli import main
from storeops.validate import load_valid
from storeops_lab.cli_lab import _ntp_servers, status_table
from storeops_lab.lab import HostStatus
from storeops_lab.ntp import NtpServer
from tests.conftest import REPO

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
    monkeypatch.setattr(
        "storeops_lab.cli_lab._ntp_servers", lambda inventory: {"10.77.1.1:123": True}
    )
    status = main(["lab", "status", "--json", "-i", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    assert status == 1  # the switch does not answer SSH
    assert [h["host"] for h in report["hosts"]] == ["sh01-db", "sh01-sw01"]
    assert [h["healthy"] for h in report["hosts"]] == [True, False]
    assert report["healthy"] == 1 and report["total"] == 2 and report["portal"]["answering"]
    assert report["apt_repositories"] == [{"url": "http://10.77.1.1:8809", "answering": True}]
    assert report["ntp_servers"] == [{"endpoint": "10.77.1.1:123", "answering": True}]


@pytest.mark.parametrize("as_json", [True, False])
def test_a_silent_ntp_server_makes_a_healthy_lab_fail_its_status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    as_json: bool,
) -> None:
    monkeypatch.setattr("storeops_lab.cli_lab.load_valid", lambda root: object())
    monkeypatch.setattr("storeops_lab.cli_lab.status", lambda inventory: [DB])
    monkeypatch.setattr("storeops_lab.cli_lab.portal.answering", lambda: True)
    monkeypatch.setattr("storeops_lab.cli_lab._apt_repositories", lambda inventory: {})
    servers = {"10.77.1.1:123": True, "10.77.2.1:123": False}
    monkeypatch.setattr("storeops_lab.cli_lab._ntp_servers", lambda inventory: servers)
    status = main(["lab", "status", "-i", str(tmp_path), *(["--json"] if as_json else [])])
    out = capsys.readouterr().out
    assert status == 1
    if as_json:
        assert [s["answering"] for s in json.loads(out)["ntp_servers"]] == [True, False]
    else:
        assert "NTP server 10.77.1.1:123: answering" in out
        assert "NTP server 10.77.2.1:123: NOT answering" in out


def test_the_ntp_servers_of_the_status_are_the_store_gateways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def answers(self: NtpServer) -> bool:
        asked.append(f"{self.endpoint} for {self.clients}")
        return True

    monkeypatch.setattr(NtpServer, "answering", answers)
    inventory = load_valid(REPO / "inventory" / "lab")
    assert _ntp_servers(inventory) == {"10.77.1.1:123": True, "10.77.2.1:123": True}
    assert asked == ["10.77.1.1:123 for 10.77.1.0/24", "10.77.2.1:123 for 10.77.2.0/24"]
