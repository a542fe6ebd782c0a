"""``storeops workstation``: refusals run nothing; runs update the register once, re-runs nothing.

pyinfra itself is replaced by a recorder (PyinfraRun.run): these tests check what the CLI
decides and writes. The deploys under pyinfra are tested in test_workstation_deploy.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from storeops.cli import main
from storeops.workstation import deploy_env as env
from storeops.workstation.cli import PyinfraRun
from tests.conftest import REPO

LAB_PASSWORD = REPO / "lab" / "vault-password.txt"
IDENTITY = {
    "serial": "mid-0123456789abcdef",
    "serial_source": "machine-id",
    "model": "container (podman)",
    "mac": "aa:bb:cc:dd:ee:01",
    "virtualization": "podman",
}


class Recorder:
    """Stands in for pyinfra: records each run, plays the deploy's part, returns ``status``."""

    def __init__(self) -> None:
        self.runs: list[PyinfraRun] = []
        self.status = 0
        self.failing_deploy: str | None = None  # this deploy alone returns 1
        self.home_exists = True  # the employee's account, until the remove phase

    def __call__(self, run: PyinfraRun) -> int:
        self.runs.append(run)
        if run.deploy == self.failing_deploy:
            return 1
        variables = run.environment
        if self.status == 0 and not run.dry and env.REPORT in variables:
            report = {key: variables[name] for key, name in (("owner", env.OWNER), ("role", env.ROLE), ("asset_tag", env.ASSET), ("host", env.HOST))}  # fmt: skip
            store = report["host"][:4]
            hostname = (
                f"{store}-{'sales' if report['role'] == 'sales' else 'fin'}-{report['asset_tag']}"
            )
            report |= {"store": store, "hostname": hostname, **IDENTITY}
            Path(variables[env.REPORT]).write_text(json.dumps(report))
        if variables.get(env.PHASE) == "archive" and not run.dry and self.home_exists:
            archive = Path(variables[env.ARCHIVE_LOCAL])
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(b"ciphertext")
        if variables.get(env.PHASE) == "remove":
            self.home_exists = False
        return self.status

    def phases(self) -> list[tuple[str | None, str | None]]:
        return [(run.environment.get(env.PHASE), run.limit) for run in self.runs]


@pytest.fixture
def pyinfra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(PyinfraRun, "run", lambda run: recorder(run))  # noqa: PLW0108 - a method
    monkeypatch.setenv("STOREOPS_STATE_DIR", str(tmp_path / "state"))  # archives under it
    return recorder


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    return shutil.copytree(REPO / "inventory" / "lab", tmp_path / "lab")


def _storeops(lab: Path, *args: str) -> int:
    action, host, *rest = args
    return main(
        [
            "workstation",
            action,
            host,
            "-i",
            str(lab),
            "--vault-password-file",
            str(LAB_PASSWORD),
            *rest,
        ]
    )


def _snapshot(lab: Path) -> dict[str, str]:
    return {str(p.relative_to(lab)): p.read_text() for p in sorted(lab.rglob("*.yml"))}


def _register(lab: Path, store: str = "sh01") -> list[dict[str, object]]:
    rows: list[dict[str, object]] = yaml.safe_load((lab / "assets" / f"{store}.yml").read_text())[
        "assets"
    ]
    return rows


def _host_vars(lab: Path, host: str = "sh01-ws01") -> dict[str, str]:
    data: dict[str, str] = yaml.safe_load(
        (lab / "host_vars" / host / "workstation.yml").read_text()
    )
    return data


REFUSALS: list[tuple[list[str], str]] = [
    (["provision", "sh01-ws01", "--owner", "wang.fang", "--role", "clerk"], "unknown role 'clerk'"),
    (
        ["provision", "sh01-ws09", "--owner", "wang.fang", "--role", "sales"],
        "unknown host 'sh01-ws09'",
    ),
    (
        ["provision", "sh01-dms", "--owner", "wang.fang", "--role", "sales"],
        "sh01-dms is not a workstation",
    ),
    (["provision", "sh01-ws01", "--role", "sales"], "owner missing"),
    (
        ["provision", "sh01-ws01", "--owner", "root", "--role", "sales"],
        "'root' is a system or IT account",
    ),
    (["decommission", "sh01-ws01"], "sh01-ws01 has no owner"),
]


@pytest.mark.parametrize(("args", "message"), REFUSALS, ids=[m for _, m in REFUSALS])
def test_bad_input_is_refused_and_nothing_runs_or_changes(
    args: list[str], message: str, lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(lab)
    assert _storeops(lab, *args) == 1
    assert message in capsys.readouterr().err
    assert pyinfra.runs == []
    assert _snapshot(lab) == before


def test_an_invalid_inventory_stops_everything(
    lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    (lab / "group_vars" / "store_sh01" / "workstation.yml").write_text(
        "---\nworkstation_dms_url: http://10.77.1.41:8080\n"
    )
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 1
    err = capsys.readouterr().err
    assert "run storeops validate first" in err
    assert "workstation_dms_url: 10.77.1.41 is not a DMS host of store sh01" in err
    assert pyinfra.runs == []


def test_provision_runs_the_deploy_then_registers_once(
    lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 0
    run, confirmation = pyinfra.runs  # the firewall is confirmed over a second connection
    command = run.command()
    assert command[1] == "-y"
    assert command[2:4] == ["--limit", "sh01-ws01"]
    assert command[-2:] == ["deploys/inventory.py", str(REPO / "deploys" / "workstation.py")]
    assert run.environment[env.INVENTORY] == str(lab.resolve())
    assert confirmation.command()[1:] == [
        "-y", "--limit", "sh01-ws01", "deploys/inventory.py",
        str(REPO / "deploys" / "workstation_firewall.py"),
    ]  # fmt: skip
    (record,) = _register(lab)
    assert (record["asset_tag"], record["owner"], record["role"], record["status"]) == (
        "0101",
        "wang.fang",
        "sales",
        "in_use",
    )
    assert (record["serial"], record["mac"], record["hostname"]) == (
        IDENTITY["serial"],
        IDENTITY["mac"],
        "sh01-sales-0101",
    )
    assert _host_vars(lab) == {
        "workstation_asset_tag": "0101",
        "workstation_owner": "wang.fang",
        "workstation_role": "sales",
    }
    assert "asset 0101 added" in capsys.readouterr().out

    register_text = (lab / "assets" / "sh01.yml").read_text()
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 0
    assert (lab / "assets" / "sh01.yml").read_text() == register_text
    assert "asset 0101 unchanged" in capsys.readouterr().out
    assert len(pyinfra.runs) == 4


def test_a_failed_deploy_registers_nothing(
    lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    pyinfra.status = 1
    before = _snapshot(lab)
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 1
    assert "nothing registered" in capsys.readouterr().err
    assert _snapshot(lab) == before
    assert len(pyinfra.runs) == 1  # no confirmation after a failed deploy


def test_an_unconfirmed_firewall_registers_nothing(
    lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    pyinfra.failing_deploy = "workstation_firewall.py"  # the new connection does not get in
    before = _snapshot(lab)
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 1
    error = capsys.readouterr().err
    assert "not confirmed" in error and "the previous ruleset comes back" in error
    assert "nothing registered" in error
    assert _snapshot(lab) == before


def test_dry_passes_dry_to_pyinfra_and_writes_nothing(lab: Path, pyinfra: Recorder) -> None:
    before = _snapshot(lab)
    assert (
        _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales", "--dry")
        == 0
    )
    assert [run.command()[1] for run in pyinfra.runs] == ["--dry", "--dry"]
    assert _snapshot(lab) == before


def test_local_runs_the_same_deploy_at_local(
    lab: Path, pyinfra: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert (
        _storeops(lab, "provision", "hz01-ws01", "--owner", "li.na", "--role", "finance", "--local")
        == 0
    )
    command = pyinfra.runs[0].command()
    assert command[-2:] == ["@local", str(REPO / "deploys" / "workstation.py")]
    assert "--limit" not in command
    assert pyinfra.runs[0].environment[env.HOST] == "hz01-ws01"
    assert len(pyinfra.runs) == 1  # the deploy confirms its firewall itself: no connection
    assert _register(lab, "hz01")[0]["owner"] == "li.na"


def test_someone_else_s_machine_is_refused(
    lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 0
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "li.na", "--role", "sales") == 1
    assert "in use by wang.fang" in capsys.readouterr().err
    assert len(pyinfra.runs) == 2  # the first provisioning's deploy and confirmation


def test_decommission_archives_first_then_removes_then_returns_the_asset(
    lab: Path, pyinfra: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 0
    pyinfra.runs.clear()
    assert _storeops(lab, "decommission", "sh01-ws01") == 0
    assert pyinfra.phases() == [
        ("archive", "sh01-ws01"),
        ("store", "sh01-backup"),
        ("remove", "sh01-ws01"),
    ]
    store, remove = pyinfra.runs[1].environment, pyinfra.runs[2].environment
    assert store[env.ARCHIVE_OF] == "sh01-ws01"
    assert store[env.ARCHIVE_NAME].startswith("wang.fang-0101-")
    assert remove[env.ARCHIVE_STORED] == "yes"
    assert not Path(store[env.ARCHIVE_LOCAL]).exists()  # the backup server holds it now
    archives = Path(os.environ["STOREOPS_STATE_DIR"]) / "workstation-archives"
    assert Path(store[env.ARCHIVE_LOCAL]).is_relative_to(archives)
    assert archives.stat().st_mode & 0o777 == 0o700  # the home archive passed through it
    (record,) = _register(lab)
    assert (record["status"], record["owner"]) == ("returned", "wang.fang")
    assert _host_vars(lab) == {"workstation_asset_tag": "0101"}
    assert "marked returned" in capsys.readouterr().out

    pyinfra.runs.clear()
    before = _snapshot(lab)
    assert _storeops(lab, "decommission", "sh01-ws01") == 0
    assert pyinfra.phases() == [("archive", "sh01-ws01"), ("remove", "sh01-ws01")]
    assert _snapshot(lab) == before
    assert "already returned" in capsys.readouterr().out


def test_a_failed_archive_removes_nothing_and_returns_nothing(lab: Path, pyinfra: Recorder) -> None:
    assert _storeops(lab, "provision", "sh01-ws01", "--owner", "wang.fang", "--role", "sales") == 0
    pyinfra.runs.clear()
    pyinfra.status = 1
    assert _storeops(lab, "decommission", "sh01-ws01") == 1
    assert pyinfra.phases() == [("archive", "sh01-ws01")]
    assert _register(lab)[0]["status"] == "in_use"


def test_local_needs_root(
    lab: Path,
    pyinfra: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert (
        _storeops(lab, "provision", "hz01-ws01", "--owner", "li.na", "--role", "sales", "--local")
        == 1
    )
    assert "run it as root" in capsys.readouterr().err
    assert pyinfra.runs == []
