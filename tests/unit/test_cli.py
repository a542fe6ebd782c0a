"""The CLI: `storeops validate`'s exit codes and output, and the options every command shares
(-i and its default, --json, --version, usage errors)."""

from __future__ import annotations

import argparse
import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from storeops.cli import build_parser, main
from storeops.cli_options import default_inventory, prepare
from tests.conftest import (
    BAD_INVENTORIES,
    FIXTURE_ROLES,
    FIXTURE_VAULT_PASSWORD,
    build_inventory,
)


def test_valid_inventory_prints_one_line_and_exits_zero(
    good_inventory: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    status = main(
        ["validate", str(good_inventory), "--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert out.count("\n") == 1
    assert out.startswith("inventory inventory OK: 2 stores")


def test_the_inventory_is_given_with_dash_i_like_every_command(
    good_inventory: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    password = ["--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    assert main(["validate", "-i", str(good_inventory), *password]) == 0
    assert capsys.readouterr().out.startswith("inventory inventory OK: 2 stores")
    assert main(["validate", "-i", str(good_inventory), "elsewhere", *password]) == 2


def test_invalid_inventory_lists_every_error_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    inventory = build_inventory(tmp_path / "inv", BAD_INVENTORIES / "overlapping-subnets")
    status = main(
        ["validate", str(inventory), "--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[0] == f"3 error(s) in inventory {inventory}:"
    assert "group_vars/store_bb01/store.yml: store.network: 192.168.10.128/25 overlaps" in err


def test_missing_password_file_is_a_usage_error(
    good_inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["validate", str(good_inventory), "--vault-password-file", str(tmp_path / "none")]
    )
    assert status == 2
    assert "cannot load the vault password" in capsys.readouterr().err


# ---------------------------------------------------------------------------- one CLI

# Commands that work on no inventory: building the lab's base image, and writing README.md's
# compliance table from the control catalogue. Every other command takes -i.
NO_INVENTORY = {"lab image", "compliance table", "notify incidents"}  # no inventory read
# Commands that report (a person reads a table, a machine the JSON): --json. The operations
# commands join this list as they are registered.
REPORTING = {"validate", "audit", "lab status", "health", "awx schedules", "awx templates"}


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every runnable command of the CLI ('lab status', 'workstation provision'...)."""
    found: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(_leaves(child, (*path, name)))
    return found or {" ".join(path): parser}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


REQUIRED_VALUES = {"month": "2026-11"}


def _argv(name: str, parser: argparse.ArgumentParser, *extra: str) -> list[str]:
    """A command line of the command with its required arguments filled in."""
    required = [
        "x"
        for action in parser._actions
        if not action.option_strings
        and not isinstance(action, argparse._SubParsersAction)
        and action.nargs is None
    ]
    # required options, each with a value its type accepts (a month for --month)
    options = [
        word
        for action in parser._actions
        if action.required and action.option_strings
        for word in (action.option_strings[-1], REQUIRED_VALUES.get(action.dest, "sh01"))
    ]
    return [*name.split(), *required, *options, *extra]


COMMANDS = _leaves(build_parser())
WITH_INVENTORY = sorted(set(COMMANDS) - NO_INVENTORY)


def test_the_commands_are_registered_and_the_exemptions_exist() -> None:
    assert {"validate", "audit", "lab status", "lab up", "workstation provision"} <= set(COMMANDS)
    assert set(COMMANDS) >= NO_INVENTORY


@pytest.mark.parametrize("name", WITH_INVENTORY)
def test_every_command_takes_dash_i(name: str, tmp_path: Path) -> None:
    parser = COMMANDS[name]
    assert {"-i", "--inventory"} <= _options(parser)
    args = prepare(build_parser().parse_args(_argv(name, parser, "-i", str(tmp_path))))
    assert args.inventory == tmp_path.resolve()


@pytest.mark.parametrize("name", sorted(REPORTING & set(COMMANDS)))
def test_every_reporting_command_takes_json(name: str) -> None:
    parser = COMMANDS[name]
    args = build_parser().parse_args(_argv(name, parser, "--json"))
    assert args.json is True


def _project(root: Path, inventory_line: str) -> Path:
    """A storeops project (ansible.cfg beside roles/) with a lab and a production inventory."""
    (root / "roles").mkdir(parents=True)
    (root / "inventory" / "lab").mkdir(parents=True)
    (root / "inventory" / "stores").mkdir(parents=True)
    (root / "sub" / "dir").mkdir(parents=True)
    (root / "ansible.cfg").write_text(f"[defaults]\n{inventory_line}\nforks = 5\n")
    return root


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No project, config or inventory named by the environment (restored afterwards)."""
    for name in ("STOREOPS_PROJECT", "ANSIBLE_CONFIG", "ANSIBLE_INVENTORY"):
        monkeypatch.setenv(name, "")  # recorded, so that the test's changes are undone
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("name", WITH_INVENTORY)
def test_the_default_inventory_is_ansible_cfgs_of_the_project_of_the_current_directory(
    name: str, tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "store-group", "inventory = inventory/stores")
    clean_environment.chdir(project / "sub" / "dir")  # a directory inside the project
    args = prepare(build_parser().parse_args(_argv(name, COMMANDS[name])))
    # the lab's commands build containers: always the lab inventory of the project
    expected = "lab" if name.startswith("lab ") else "stores"
    assert args.inventory == (project / "inventory" / expected).resolve()
    assert os.environ["ANSIBLE_CONFIG"] == str(project / "ansible.cfg")


def test_without_an_inventory_in_ansible_cfg_the_default_is_the_projects_lab(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "group", "# no inventory here")
    clean_environment.chdir(project)
    assert default_inventory(project) == project / "inventory" / "lab"
    clean_environment.setenv("ANSIBLE_INVENTORY", str(project / "inventory" / "stores"))
    assert default_inventory(project) == project / "inventory" / "stores"  # as Ansible does


def test_several_inventories_in_ansible_cfg_are_a_usage_error(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path / "group", "inventory = inventory/lab,inventory/stores")
    clean_environment.chdir(project)
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "names 2 inventories" in err and "give one with -i" in err


def test_outside_any_project_the_installed_checkout_is_never_the_default(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_environment.chdir(tmp_path)
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("storeops audit: no storeops project")
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "-i", "no-such-inventory"], "validate: no inventory directory"),
        (["lab", "status", "-i", "no-such-inventory"], "lab status: no inventory directory"),
        (
            ["workstation", "provision", "sh01-ws01", "-i", "no-such-inventory"],
            "workstation provision: no inventory directory",
        ),
        (
            ["audit", "--vault-password-file", "no-such-file"],
            "audit: cannot load the vault password",
        ),
    ],
)
def test_a_usage_error_is_one_line_and_exit_two(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"storeops {message}")
    assert "Traceback" not in err and err.count("\n") == 1


def test_a_bad_option_is_argparses_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", "--no-such-option"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"storeops {version('storeops')}\n"


def test_validate_json_is_the_result_alone_on_stdout(
    good_inventory: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    password = ["--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    assert main(["validate", "-i", str(good_inventory), "--json", *password]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True and result["issues"] == []
    assert result["summary"].startswith("inventory inventory OK: 2 stores")


def test_validate_json_lists_the_issues_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: FIXTURE_ROLES)
    inventory = build_inventory(tmp_path / "inv", BAD_INVENTORIES / "overlapping-subnets")
    password = ["--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    assert main(["validate", str(inventory), "--json", *password]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err == ""
    assert result["valid"] is False and len(result["issues"]) == 3
    assert {"file", "field", "message"} == set(result["issues"][0])
