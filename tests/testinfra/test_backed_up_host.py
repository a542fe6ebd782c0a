"""What a backed-up host (db, dms) looks like after the ``backup`` role, and whether its
backups are fresh, checked and proven: checked on the host itself.

Where the hosts come from: the ``db`` and ``dms`` groups of ``inventory/lab``, or of the
inventory ``STOREOPS_INVENTORY`` names, so the same checks audit production::

    STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_backed_up_host.py

What is expected comes from the role defaults, overridden by the host's inventory
variables. The repository password is never read: only that its file exists and that
root alone may read it. On the lab, a host that playbooks/backup.yml has not reached yet
is skipped with a reason; on any other inventory it fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
ON_LAB = LAB_INVENTORY.resolve() == INVENTORY
testinfra_hosts = [f"ansible://{group}?ansible_inventory={INVENTORY}" for group in ("db", "dms")]
pytestmark = [pytest.mark.lab] if ON_LAB else []
target = role_host.target  # fixture: the host to check


@pytest.fixture(scope="module")
def backup(host: Any) -> dict[str, Any]:
    """The role's variables for this host (never the password), and the store's time zone."""
    expected: dict[str, Any] = role_host.role_variables(
        host, "backup", "^backup_(?!repository_password$)"
    )
    expected["timezone"] = role_host.rendered(host, "{{ store.timezone }}")
    return expected


@pytest.fixture(scope="module")
def status(target: Any, backup: dict[str, Any]) -> dict[str, Any]:
    """The job's status file: what the nightly run, the check and the drill recorded."""
    path = f"{backup['backup_status_dir']}/status.json"
    with target.sudo():
        found = target.file(path)
        if not found.exists:
            if ON_LAB:
                pytest.skip("playbooks/backup.yml has not run on this lab host yet")
            pytest.fail(f"{path} is missing: this host has never been backed up")
        recorded: dict[str, Any] = json.loads(found.content_string)
    return recorded


def test_the_job_and_its_secrets_are_root_only(
    target: Any, backup: dict[str, Any], status: dict[str, Any]
) -> None:
    config_dir = backup["backup_config_dir"]
    with target.sudo():
        job = target.file("/usr/local/sbin/storeops-backup")
        assert (job.user, job.group, job.mode) == ("root", "root", 0o755)
        for secret in (f"{config_dir}/repository-password", backup["backup_key"]):
            found = target.file(secret)
            assert found.is_file and found.size > 0, secret
            assert (found.user, found.mode) == ("root", 0o600), secret
        config = json.loads(target.file(f"{config_dir}/config.json").content_string)
    retention = {kind: backup[f"backup_keep_{kind}"] for kind in ("daily", "weekly", "monthly")}
    assert config["retention"] == retention


@pytest.mark.parametrize(
    ("timer", "calendar"),
    [("storeops-backup", "backup_calendar"), ("storeops-backup-check", "backup_check_calendar")],
)
def test_the_timers_run_in_the_stores_time(
    target: Any, backup: dict[str, Any], timer: str, calendar: str
) -> None:
    unit = target.service(f"{timer}.timer")
    assert unit.is_enabled and unit.is_running
    shown = target.check_output("systemctl show -p TimersCalendar %s.timer", timer)
    time_of_day = backup[calendar].split()[-1]
    assert time_of_day in shown and backup["timezone"] in shown, shown


def test_the_last_backup_succeeded_and_is_recent(
    backup: dict[str, Any], status: dict[str, Any]
) -> None:
    assert status.get("result") == "ok", status.get("error")
    last = dt.datetime.strptime(status["last_success"], "%Y-%m-%dT%H:%M:%S%z")
    age = dt.datetime.now(dt.UTC) - last
    assert age <= dt.timedelta(hours=backup["backup_max_age_hours"]), f"last success {last}"


def test_the_last_check_and_restore_drill_passed(status: dict[str, Any]) -> None:
    """Where a check or a drill has run, its last result is a pass (never run: not failed)."""
    assert status.get("check_result", "ok") == "ok", status.get("check_error")
    assert status.get("drill_result", "passed") == "passed", status.get("drill")
