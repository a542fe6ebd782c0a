"""Run history on the lab: ARA records a real playbook that uses the vault's secrets
(playbooks/backup.yml --check: the repository password, templated configuration, the
drill-style no_log tasks) and not one decrypted vault value of inventory/lab reaches its
database; storeops.run_history counts the run for the store it touched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storeops import run_history
from storeops.inventory import Inventory
from tests.ara_secrets import LAB, contains, lab_secrets, leaks
from tests.conftest import RECORDING_CALLBACKS
from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.lab


def test_a_lab_playbook_with_secrets_leaves_none_in_ara(
    lab: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "ara"
    monkeypatch.setenv("ARA_BASE_DIR", str(base))
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", RECORDING_CALLBACKS)
    started = dt.datetime.now(dt.UTC)
    done = run_playbook(
        "playbooks/backup.yml", tmp_path, "--check", "--diff", "--limit", "store_sh01"
    )
    assert done.returncode == 0, done.stdout[-3000:]
    database = base / "ansible.sqlite"
    assert contains(database, "The repository password (root only)")  # the task was recorded
    assert leaks(database, lab_secrets()) == []

    (run,) = run_history.runs(started - dt.timedelta(seconds=5), dt.datetime.now(dt.UTC), LAB)
    assert run.playbook.endswith("playbooks/backup.yml")
    assert run.status == "completed"
    assert run.stores == ("sh01",)
