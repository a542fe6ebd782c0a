"""The controller's schedule (role controller): its values constrained by the schema, the
units rendered from the role's defaults and accepted by systemd (``systemd-analyze
verify``), the database password only in the root-only environment file, read back exactly.

No host is contacted; the role itself is converged in its molecule scenario
(roles/controller/molecule/default).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from storeops import schema
from storeops.quoting import QuotingError, systemd_env_value, systemd_exec_word
from storeops.role_templates import play_variables, render_role_template
from storeops.validate import validate
from storeops.yamlfiles import VaultPasswords
from tests.conftest import FIXTURE_VAULT_PASSWORD, FIXTURES, REPO, build_inventory

ROLE = REPO / "roles" / "controller"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
UNITS = [
    "storeops-sample.service",
    "storeops-sample.timer",
    "storeops-health.service",
    "storeops-health.timer",
]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


# ---------------------------------------------------------------------------- the schema


def test_the_defaults_pass_and_every_value_written_into_a_unit_is_constrained() -> None:
    schema.ConstrainedRoleVars.model_validate(DEFAULTS)
    # the password is a secret (vault), quoted where it is written (systemd_env_value)
    written = set(DEFAULTS) - {"controller_database_password"}
    assert written - set(schema.ConstrainedRoleVars.model_fields) == set()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("controller_sample_interval", "5min"),
        ("controller_sample_interval", "1h30min"),
        ("controller_sample_interval", "90"),
        ("controller_health_interval", "1d"),
        ("controller_database_url", "mysql+pymysql://storeops@db.hq.example/storeops"),
        (
            "controller_database_url",
            "mysql+pymysql://storeops@10.0.0.5:3306/storeops?charset=utf8mb4",
        ),
        ("controller_database_url", "sqlite:////var/lib/storeops-controller/history.sqlite"),
        ("controller_database_url", ""),
        ("controller_vault_password_file", "/etc/storeops/vault-password"),
        ("controller_project_dir", "/opt/storeops"),
    ],
)
def test_good_controller_values_pass(variable: str, value: Any) -> None:
    schema.ConstrainedRoleVars.model_validate({variable: value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("controller_user", "root\nExecStartPre=/bin/sh -c 'id'"),
        ("controller_user", "storeops ops"),
        ("controller_group", "0"),
        ("controller_state_dir", "var/lib/storeops"),
        ("controller_state_dir", "/var/lib/../../etc"),
        ("controller_state_dir", "/var/lib/storeops\nUser=root"),
        ("controller_project_dir", "/opt/storeops; rm -rf /"),
        ("controller_storeops", "/opt/storeops/.venv/bin/storeops --debug"),
        ("controller_inventory", "/opt/storeops/inventory/$HOME"),
        ("controller_inventory", "/opt/inv\u2028User=root"),
        ("controller_vault_password_file", "vault-password.txt"),
        ("controller_env_file", "/etc/storeops/controller.env\x00"),
        ("controller_sample_interval", "5 min"),  # two words in the unit
        ("controller_sample_interval", "1s"),  # hammering the stores
        ("controller_sample_interval", "0"),
        ("controller_sample_interval", "2d"),
        ("controller_sample_interval", "5min\nOnCalendar=*:*:*"),
        ("controller_sample_interval", 300),  # YAML read a number: quote a time span
        ("controller_health_interval", "15M"),  # months
        ("controller_health_interval", "-15min"),
        ("controller_database_url", "mysql+pymysql://storeops:s3cret@db.hq.example/storeops"),
        ("controller_database_url", "mysql+pymysql://:s3cret@db.hq.example/storeops"),
        ("controller_database_url", "mysql://storeops@db/storeops\nEnvironment=X=1"),
        ("controller_database_url", "mysql://storeops@db/storeops storeops"),
        ("controller_database_url", "mysql://storeops@db/st%oreops"),
        ("controller_database_url", "sqlite:///relative.sqlite"),
        ("controller_database_url", "sqlite:////var/lib/../../etc/shadow"),
        ("controller_database_url", 'mysql://u@db/s?x="1"'),
    ],
)
def test_hostile_controller_values_are_refused(variable: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        schema.ConstrainedRoleVars.model_validate({variable: value})
    assert {error["loc"][0] for error in refused.value.errors()} == {variable}


def test_a_password_in_the_url_is_refused_with_where_it_belongs() -> None:
    with pytest.raises(ValidationError, match="vault_controller_database_password"):
        schema.ConstrainedRoleVars.model_validate(
            {"controller_database_url": "mysql+pymysql://storeops:pw@db/storeops"}
        )


def test_storeops_validate_names_the_file_and_field_of_a_hostile_interval(tmp_path: Path) -> None:
    root = build_inventory(tmp_path / "inv", FIXTURES / "inventories" / "workstation" / "valid")
    path = root / "group_vars" / "all" / "controller.yml"
    path.write_text(yaml.safe_dump({"controller_sample_interval": "5min\nUser=root"}))
    raw = validate(root, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), REPO / "roles")
    reasons = [i.message for i in raw.issues if i.file == path]
    assert reasons and all("unknown variable" not in reason for reason in reasons)
    assert [i.field for i in raw.issues if i.file == path] == ["controller_sample_interval"]


# ---------------------------------------------------------------------------- the quoting


@pytest.mark.parametrize(
    "password", ["plain", "with space", "q\"uo'te", "back\\slash", "$HOME and ${X}", "`id`", "%n"]
)
def test_the_environment_file_value_reads_back_exactly(password: str, tmp_path: Path) -> None:
    """systemd's own parser (``systemd-run --property EnvironmentFile`` needs a running
    systemd; ``systemd-analyze`` does not parse environment files), so the rules of
    systemd.exec(5) are checked by a POSIX shell, which unquotes double quotes the same way
    for these four characters."""
    line = systemd_env_value(password, "controller_database_password")
    env_file = tmp_path / "controller.env"
    env_file.write_text(f"STOREOPS_DATABASE_PASSWORD={line}\n")
    done = subprocess.run(
        ["sh", "-c", f'. "{env_file}"; printf %s "$STOREOPS_DATABASE_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert done.stdout == password


def test_a_password_with_a_newline_is_refused_not_written() -> None:
    with pytest.raises(QuotingError, match="controller_database_password: control character"):
        systemd_env_value(
            "pw\nSTOREOPS_DATABASE_URL=sqlite:////tmp/x", "controller_database_password"
        )


def test_an_exec_argument_doubles_the_dollar_and_refuses_a_second_word() -> None:
    assert systemd_exec_word("/opt/$x/storeops") == "/opt/$$x/storeops"
    with pytest.raises(QuotingError):
        systemd_exec_word("/opt/storeops ; /bin/sh")


# ---------------------------------------------------------------------------- the units


def _rendered(tmp_path: Path, **overrides: Any) -> dict[str, str]:
    """The role's units as the template module writes them (defaults, then ``overrides``)."""
    storeops = tmp_path / "project" / ".venv" / "bin" / "storeops"
    storeops.parent.mkdir(parents=True)
    storeops.write_text("#!/bin/sh\n")
    storeops.chmod(0o755)
    variables = play_variables(
        "localhost",
        {
            "playbook_dir": str(tmp_path / "project" / "playbooks"),
            "ansible_inventory_sources": [str(tmp_path / "project" / "inventory" / "lab")],
            **overrides,
        },
        roles=("controller",),
    )
    return {
        unit: render_role_template(
            "controller", f"etc/systemd/system/{unit}.j2", f"/etc/systemd/system/{unit}", variables
        )
        for unit in UNITS
    }


def _settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_the_units_run_storeops_as_the_user_with_the_state_dir(tmp_path: Path) -> None:
    units = _rendered(tmp_path)
    sample, health = _settings(units[UNITS[0]]), _settings(units[UNITS[2]])
    storeops = tmp_path / "project" / ".venv" / "bin" / "storeops"
    inventory = tmp_path / "project" / "inventory" / "lab"
    assert sample["ExecStart"] == [f"{storeops} sample -i {inventory}"]
    assert health["ExecStart"] == [f"{storeops} health -i {inventory} --record --notify"]
    for settings in (sample, health):
        assert settings["User"] == ["storeops-ops"]
        assert "STOREOPS_STATE_DIR=/var/lib/storeops-controller" in settings["Environment"]
        assert settings["WorkingDirectory"] == [str(tmp_path / "project")]
        assert settings["EnvironmentFile"] == ["-/etc/storeops/controller.env"]
        assert not any("DATABASE_URL" in value for value in settings["Environment"])
    assert health["SuccessExitStatus"] == ["1 2"]  # WARNING and CRITICAL are the stores'


def test_the_timers_carry_the_intervals(tmp_path: Path) -> None:
    units = _rendered(tmp_path, controller_sample_interval="2min", controller_health_interval="1h")
    sample, health = _settings(units[UNITS[1]]), _settings(units[UNITS[3]])
    assert sample["OnUnitActiveSec"] == sample["OnActiveSec"] == ["2min"]
    assert health["OnUnitActiveSec"] == health["OnActiveSec"] == ["1h"]
    assert _settings(units[UNITS[0]])["TimeoutStartSec"] == ["2min"]


def test_the_database_url_and_the_vault_credential_but_never_the_password(tmp_path: Path) -> None:
    url = "mysql+pymysql://storeops@db.hq.example/storeops"
    units = _rendered(
        tmp_path,
        controller_database_url=url,
        controller_vault_password_file="/etc/storeops/vault-password",
        vault_controller_database_password="s3cret-in-the-vault",
    )
    for unit in (UNITS[0], UNITS[2]):
        settings = _settings(units[unit])
        assert f"STOREOPS_DATABASE_URL={url}" in settings["Environment"]
        assert settings["LoadCredential"] == ["vault-password:/etc/storeops/vault-password"]
        assert "ANSIBLE_VAULT_PASSWORD_FILE=%d/vault-password" in settings["Environment"]
    assert not any("s3cret" in text for text in units.values())


def test_a_hostile_value_that_escaped_the_schema_fails_the_rendering(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="controller_user"):
        _rendered(tmp_path, controller_user="root\nExecStartPre=/bin/sh")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    units = _rendered(
        tmp_path,
        controller_database_url="mysql+pymysql://storeops@db.hq.example/storeops",
        controller_vault_password_file="/etc/storeops/vault-password",
    )
    directory = tmp_path / "units"
    directory.mkdir()
    for unit, text in units.items():
        (directory / unit).write_text(text)
    done = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", *(str(directory / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # Lines about the host's own units (the container or machine the tests run on) are not
    # the role's: only messages naming our units count.
    ours = [line for line in done.stderr.splitlines() if "storeops-" in line]
    assert ours == [], done.stderr
    assert done.returncode == 0, done.stderr
