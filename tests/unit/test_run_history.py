"""Run history: ARA records a playbook run, never a vault value or a no_log result, and
storeops.run_history reads the runs back with the stores they touched.

The playbook (tests/fixtures/ara/secrets.yml) runs on localhost with the lab inventory's
vaulted variables used as the roles use them (a templated file, a copied one, a command's
stdin, a module argument that is a secret), with --diff, ARA recording into a temporary
directory through ansible.cfg's ara_default callback; then every decrypted vault value of
inventory/lab is searched for in every table of ARA's SQLite file."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storeops import run_history
from tests.ara_secrets import LAB, contains, lab_secrets, leaks
from tests.conftest import RECORDING_CALLBACKS, REPO
from tests.notify_receiver import closed_port

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
PLAYBOOK = REPO / "tests" / "fixtures" / "ara" / "secrets.yml"


@pytest.fixture(scope="module")
def recorded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("ara")
    scratch = tmp_path_factory.mktemp("scratch")
    env = {
        **os.environ,
        "ARA_BASE_DIR": str(base),
        "ANSIBLE_CALLBACKS_ENABLED": RECORDING_CALLBACKS,
        "ARA_SECRETS_SCRATCH": str(scratch),
        "ARA_SECRETS_DEAD_PORT": str(closed_port()),
        "ANSIBLE_NOCOLOR": "true",
    }
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(LAB), str(PLAYBOOK), "--diff"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return base / "ansible.sqlite", done


def test_the_run_is_recorded_and_the_search_finds_what_was_recorded(
    recorded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    database, done = recorded
    assert database.is_file()
    assert contains(database, "ara-canary False")  # zlib-compressed results are searched
    assert contains(database, "A secret on a command's standard input")
    assert "the notification did not go" in done.stdout + done.stderr  # reported, not fatal


def test_no_vault_value_reaches_aras_database(
    recorded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    database, done = recorded
    secrets = lab_secrets()
    # the secrets the playbook used are all there (every store's vault and the group's)
    assert {
        "group_vars/store_sh01/vault.yml:vault_notify_dingtalk_secret",
        "group_vars/all/vault.yml:vault_dms_db_password",
    } <= set(secrets)
    assert leaks(database, secrets) == []
    assert not [name for name, value in secrets.items() if value in done.stdout + done.stderr]


def test_the_search_would_see_a_leak(
    tmp_path: Path, recorded: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    """The same search finds a recorded value named as a secret (it can fail)."""
    database, _ = recorded
    assert leaks(database, {"canary": "ara-canary False"}) != []


def test_runs_reads_the_run_back_with_its_link(
    recorded: tuple[Path, subprocess.CompletedProcess[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, _ = recorded
    monkeypatch.setenv("ARA_BASE_DIR", str(database.parent))
    monkeypatch.delenv("ARA_API_CLIENT", raising=False)
    now = dt.datetime.now(dt.UTC)
    found = run_history.runs(now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1), LAB)
    (run,) = [r for r in found if r.playbook == str(PLAYBOOK)]
    assert run.status == "completed"
    assert run.hosts == ("localhost",) and run.stores == ()
    assert run.link == (database.parent / "html" / "playbooks" / f"{run.id}.html").as_uri()
    assert run_history.runs(now + dt.timedelta(minutes=1), now + dt.timedelta(hours=1), LAB) == []


def test_a_run_counts_for_the_stores_of_its_hosts() -> None:
    stores = run_history.store_of_hosts(LAB)
    assert stores["sh01-dms"] == "sh01" and stores["hz01-fw01"] == "hz01"
    started = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    runs = [
        run_history.Run(
            1, "playbooks/backup.yml", started, None, "completed", ("hz01", "sh01"), (), ""
        ),
        run_history.Run(2, "playbooks/patch.yml", started, None, "failed", ("sh01",), (), ""),
    ]
    assert run_history.runs_per_store(runs) == {"hz01": 1, "sh01": 2}


def test_the_link_is_the_shared_servers_page_when_one_is_configured() -> None:
    environ = {"ARA_API_CLIENT": "http", "ARA_API_SERVER": "https://ara.hq.example/"}
    assert run_history.link_for(7, environ) == "https://ara.hq.example/playbooks/7.html"
    assert (
        run_history.link_for(7, {"STOREOPS_ARA_HTML": "/srv/ara-html"})
        == "file:///srv/ara-html/playbooks/7.html"
    )


def test_what_was_skipped_everywhere_is_not_recorded(
    recorded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """callback_plugins/ara_default.py records a task at its first result that ran, and no
    skipped result: the canary task that ran is there, the task skipped on every host is
    not."""
    database, _ = recorded
    with sqlite3.connect(database) as db:
        names = {name for (name,) in db.execute("SELECT name FROM tasks")}
        statuses = {status for (status,) in db.execute("SELECT status FROM results")}
    assert "The search's positive control (recorded, not a secret)" in names
    assert not [name for name in names if name.startswith("ara-skipped-everywhere")]
    assert "ok" in statuses and "skipped" not in statuses
