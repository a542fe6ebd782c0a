"""What the controller looks like after the ``controller`` role: the sampler's and the health
check's timers enabled with their intervals, the units accepted by systemd, run as the
dedicated unprivileged user with the state directory, the database URL and the vault
credential, and the database password only in the root-only environment file.

Where the host comes from:

* molecule (``roles/controller/molecule/default``) passes ``--hosts`` and its own inventory;
  its prepare step puts a stand-in ``storeops`` on the host that writes down who ran it and
  with what, and its side effect starts both services once, so the last tests read that;
* with no ``--hosts``, this machine (``local://``): the controller the tests run on, checked
  when ``playbooks/controller.yml`` was applied to it, skipped (and saying so) when not.

What is expected comes from the host's Ansible variables (the role's defaults for anything
the inventory does not set).
"""

from __future__ import annotations

import os
import shlex
import time
from typing import Any, cast

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

testinfra_hosts = ["local://"]  # unless --hosts (molecule)
target = role_host.target  # fixture: the host to check

UNIT_DIR = "/etc/systemd/system"
TIMERS = {"storeops-sample.timer": "sample", "storeops-health.timer": "health"}
SERVICES = ["storeops-sample.service", "storeops-health.service"]
UNITS = [*TIMERS, *SERVICES]
UNDER_MOLECULE = "MOLECULE_SCENARIO_NAME" in os.environ


@pytest.fixture(scope="module")
def controller(host: Any, target: Any) -> dict[str, Any]:
    """The role's variables for this host; the suite skips where the role is not applied."""
    if not UNDER_MOLECULE and not target.file(f"{UNIT_DIR}/storeops-sample.timer").exists:
        pytest.skip("the controller role is not applied here (playbooks/controller.yml)")
    return cast(dict[str, Any], role_host.role_variables(host, "controller", "^controller_"))


def _run(host: Any, command: str, *args: str) -> str:
    """Output of a command run as root; fails the test on a non-zero exit."""
    with host.sudo():
        return str(host.check_output(command, *args))


def _stat(host: Any, path: str) -> str:
    """``owner group octal-mode file-type`` of a path, in one command."""
    return _run(host, "stat -c '%%U %%G %%a %%F' %s", path)


def _storeops(controller: dict[str, Any]) -> str:
    """The command the units run (its default is built from the project directory)."""
    command = str(controller["controller_storeops"])
    if "{{" in command:
        return f"{controller['controller_project_dir']}/.venv/bin/storeops"
    return command


def test_the_units_run_as_an_unprivileged_system_user(
    target: Any, controller: dict[str, Any]
) -> None:
    user = target.user(controller["controller_user"])
    assert user.exists
    assert user.shell == "/usr/sbin/nologin"
    assert user.home == controller["controller_state_dir"]
    assert user.uid < 1000  # a system account
    assert user.groups == [controller["controller_group"]]  # no sudo, no adm
    owner = f"{controller['controller_user']} {controller['controller_group']}"
    assert _stat(target, controller["controller_state_dir"]) == f"{owner} 700 directory"


def test_the_database_password_is_only_in_the_root_only_environment_file(
    target: Any, controller: dict[str, Any]
) -> None:
    env_file = controller["controller_env_file"]
    assert _stat(target, env_file) == "root root 600 regular file"
    password = str(controller.get("controller_database_password") or "")
    if "{{" in password:  # the default points at the vault; molecule sets a value
        password = ""
    text = _run(target, "cat %s", env_file)
    assert ("STOREOPS_DATABASE_PASSWORD=" in text) == bool(password)
    for unit in UNITS:
        content = _run(target, "cat %s", f"{UNIT_DIR}/{unit}")
        assert _stat(target, f"{UNIT_DIR}/{unit}") == "root root 644 regular file"
        assert not password or password not in content
        assert "STOREOPS_DATABASE_PASSWORD" not in content.replace(
            "# STOREOPS_DATABASE_PASSWORD", ""
        )


def _normalised(target: Any, span: str) -> str:
    """A time span as systemd prints it (``90s`` -> ``1min 30s``), asked of systemd itself."""
    out = _run(target, "systemd-analyze timespan %s", span)
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if "Human:" in line)


@pytest.mark.parametrize("timer", list(TIMERS))
def test_the_timers_are_enabled_with_their_intervals(
    target: Any, controller: dict[str, Any], timer: str
) -> None:
    unit = target.service(timer)
    assert unit.is_enabled
    assert unit.is_running  # active (waiting)
    interval = _normalised(target, controller[f"controller_{TIMERS[timer]}_interval"])
    monotonic = _run(target, "systemctl show %s -p TimersMonotonic --value", timer)
    assert f"OnUnitActiveUSec={interval} " in monotonic, monotonic
    assert f"OnActiveUSec={interval} " in monotonic, monotonic
    calendar = _run(target, "systemctl show %s -p TimersCalendar --value", timer)
    assert calendar.strip() == ""  # intervals, not calendar events


def test_systemd_analyze_verifies_the_installed_units(
    target: Any, controller: dict[str, Any]
) -> None:
    paths = " ".join(shlex.quote(f"{UNIT_DIR}/{unit}") for unit in UNITS)
    with target.sudo():
        done = target.run(f"systemd-analyze verify {paths}")
    ours = [line for line in done.stderr.splitlines() if "storeops-" in line]
    assert ours == [], done.stderr
    assert done.rc == 0, done.stderr


# ---------------------------------------------------------------------------- one run each


def _settled(target: Any, service: str, within: float = 120.0) -> str:
    """The service's state once no run of it is in progress.

    The timers keep running while the tests do: a slow machine reaches verify after the
    sampler's first interval, and its timer has started a run that is still going. That
    run is what the service is for, so wait for it (bounded) instead of reading a file it is
    writing; a run that never ends fails the test with the state it was left in.
    """
    deadline = time.monotonic() + within
    while True:
        status = str(target.run("systemctl is-failed %s", service).stdout.strip())
        if status not in ("activating", "deactivating", "reloading") or time.monotonic() > deadline:
            return status
        time.sleep(1)


def _ran(target: Any, controller: dict[str, Any], command: str) -> dict[str, str]:
    """What molecule's stand-in storeops wrote down when the service ran (side_effect.yml)."""
    path = f"{controller['controller_state_dir']}/ran-{command}.txt"
    if not UNDER_MOLECULE:
        pytest.skip("needs molecule's stand-in storeops (roles/controller/molecule)")
    status = _settled(target, f"storeops-{command}.service")
    assert status == "inactive"  # ran and succeeded (a run its timer started included)
    return dict(line.split("=", 1) for line in _run(target, "cat %s", path).splitlines())


@pytest.mark.parametrize(("command", "extra"), [("sample", ""), ("health", " --record --notify")])
def test_each_service_ran_storeops_as_the_user_with_its_environment(
    target: Any, controller: dict[str, Any], command: str, extra: str
) -> None:
    ran = _ran(target, controller, command)
    state_dir = controller["controller_state_dir"]
    assert ran["user"] == controller["controller_user"]
    assert ran["cwd"] == controller["controller_project_dir"]
    assert ran["argv"] == f"{command} -i {controller['controller_inventory']}{extra}"
    assert ran["state_dir"] == state_dir
    assert ran["facts"] == f"{state_dir}/ansible-facts"
    assert ran["database_url"] == controller["controller_database_url"]
    # the root-only vault password file, readable by the unprivileged service as a credential
    assert ran["vault_password"] == "molecule-vault-password"
    password = _run(target, "cat %s", f"{state_dir}/password-{command}.txt")
    assert password == controller["controller_database_password"]  # read back exactly


def test_the_user_cannot_read_the_vault_password_file_itself(
    target: Any, controller: dict[str, Any]
) -> None:
    if not controller.get("controller_vault_password_file"):
        pytest.skip("no vault password file configured")
    assert _stat(target, controller["controller_vault_password_file"]).startswith("root root 600")
