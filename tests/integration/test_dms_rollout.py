"""playbooks/upgrade-dms.yml end to end on the two-store lab: real releases, real data.

Every test starts from the lab baseline (both stores on 3.1.0 with seeded customers, the
`baseline` fixture, built by playbooks/lab-baseline.yml after wiping the DMS) or from the
state the previous test of the module leaves (noted where it matters). State is read on
the hosts themselves through podman, not through the playbook under test.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from storeops.lab.rehearsal import (
    AUDIT_LOG,
    JOURNAL,
    copy_lab_inventory,
    reset_dms,
    set_blackout,
    set_target,
    set_window,
)
from tests.conftest import REPO
from tests.integration.ansible_run import (
    ANSIBLE_PLAYBOOK,
    PlaybookRun,
    changes_per_host,
    run_playbook,
)

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/upgrade-dms.yml"
STORES = ("sh01", "hz01")


def on(host: str, *argv: str, check: bool = True) -> str:
    done = subprocess.run(
        ["podman", "exec", f"storeops-{host}", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{host}: {argv}: {done.stderr}")
    return done.stdout


def sql(store: str, query: str) -> list[list[str]]:
    out = on(f"{store}-db", "mariadb", "--batch", "--skip-column-names", "-e", query, "storedms")
    return [line.split("\t") for line in out.splitlines()]


def health(store: str) -> dict[str, str]:
    out = on(f"{store}-dms", "curl", "-s", "--max-time", "10", "http://127.0.0.1:8080/health")
    return json.loads(out)


def customer_names(store: str) -> dict[str, str]:
    """id -> full name, whichever schema the database has."""
    columns = {row[0] for row in sql(store, "SHOW COLUMNS FROM customers")}
    expression = "name" if "name" in columns else "CONCAT(family_name, given_name)"
    return dict((row[0], row[1]) for row in sql(store, f"SELECT id, {expression} FROM customers"))


def table_checksums(store: str) -> dict[str, str]:
    tables = [row[0] for row in sql(store, "SHOW TABLES")]
    return {t: sql(store, f"CHECKSUM TABLE `{t}` EXTENDED")[0][1] for t in sorted(tables)}


def service_started(store: str) -> str:
    return on(
        f"{store}-dms", "systemctl", "show", "-P", "ExecMainStartTimestampMonotonic", "storedms"
    ).strip()


def tree_mtimes(store: str) -> str:
    return on(f"{store}-dms", "find", "/opt/storedms", "-printf", "%p %T@ %l\n")


def journal_of(store: str) -> dict[str, str] | None:
    out = on(f"{store}-dms", "cat", JOURNAL, check=False)
    return json.loads(out) if out.strip() else None


def audit_records(store: str) -> list[dict[str, object]]:
    out = on(f"{store}-dms", "cat", AUDIT_LOG, check=False)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def at_baseline(store: str) -> bool:
    try:
        state = health(store)
    except (AssertionError, ValueError):
        return False
    return (
        (state.get("version"), state.get("schema_version"), state.get("db"))
        == ("3.1.0", "0001", "ok")
        and journal_of(store) is None
        and on(f"{store}-dms", "ls", "-A", "/opt/storedms/releases").split() == ["3.1.0"]
        and sql(store, "SELECT COUNT(*) FROM customers") == [["40"]]
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rollout")


@pytest.fixture(scope="module")
def databases(lab: Inventory, scratch: Path) -> Inventory:
    """The store databases, converged once for the module."""
    done = run_playbook("playbooks/mariadb.yml", scratch)
    assert done.returncode == 0, done.stdout[-4000:]
    return lab


@pytest.fixture
def baseline(databases: Inventory, scratch: Path) -> Inventory:
    """Both stores on 3.1.0 with 40 seeded customers and no unfinished rollout.

    Rebuilt (wipe, then playbooks/lab-baseline.yml) unless the lab is in that state
    already: the refusal tests change nothing, so they share one baseline.
    """
    if all(at_baseline(store) for store in STORES):
        return databases
    for store in STORES:
        reset_dms(store)
    done = run_playbook("playbooks/lab-baseline.yml", scratch, "--skip-tags", "mariadb")
    assert done.returncode == 0, done.stdout[-4000:]
    for store in STORES:
        assert health(store)["version"] == "3.1.0"
    return databases


@pytest.fixture(autouse=True, scope="module")
def leave_the_lab_on_its_target(lab: Inventory, scratch: Path) -> Iterator[None]:
    """After the module: every store on the inventory's target, as `make demo` leaves it."""
    yield
    for store in STORES:
        reset_dms(store)
    done = run_playbook("playbooks/lab-baseline.yml", scratch, "--skip-tags", "mariadb")
    assert done.returncode == 0, done.stdout[-3000:]
    done = run_playbook(PLAYBOOK, scratch)
    assert done.returncode == 0, done.stdout[-3000:]


class Rollout:
    """upgrade-dms.yml on a private copy of the lab inventory, audit log in tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.inventory = copy_lab_inventory(tmp_path)
        self.controller_log = tmp_path / "dms-rollouts.jsonl"

    def args(self, *extra: str) -> list[str]:
        return ["-e", f"dms_rollout_controller_log={self.controller_log}", *extra]

    def run(self, *extra: str) -> PlaybookRun:
        return run_playbook(PLAYBOOK, self.tmp_path, *self.args(*extra), inventory=self.inventory)

    def controller_records(self) -> list[dict[str, object]]:
        if not self.controller_log.exists():
            return []
        return [json.loads(line) for line in self.controller_log.read_text().splitlines()]


@pytest.fixture
def rollout(tmp_path: Path) -> Rollout:
    return Rollout(tmp_path)


def assert_untouched(before: dict[str, object], store: str) -> None:
    assert snapshot(store) == before, f"{store} was changed"


def snapshot(store: str) -> dict[str, object]:
    return {
        "health": health(store),
        "started": service_started(store),
        "tree": tree_mtimes(store),
        "tables": table_checksums(store),
        "journal": journal_of(store),
        "audit": audit_records(store),
    }


# --- refusals on the baseline: nothing on any store changes -----------------------------


def test_upgrade_path_the_catalog_forbids_is_refused(baseline: Inventory, rollout: Rollout) -> None:
    before = {store: snapshot(store) for store in STORES}
    for store in STORES:
        set_target(rollout.inventory, store, "4.0.0")
    result = rollout.run()
    assert result.returncode != 0
    assert "3.1.0 -> 4.0.0 is not allowed: 4.0.0 upgrades only from 3.2.*" in result.words
    assert "held: pilot store sh01 is not on the target" in result.words
    assert_untouched(before["hz01"], "hz01")  # held: not even an audit record
    after = snapshot("sh01")
    (record,) = after.pop("audit")
    assert (record["result"], record["from"], record["to"]) == ("refused", "3.1.0", "4.0.0")
    assert after == {k: v for k, v in before["sh01"].items() if k != "audit"}
    assert [(r["store"], r["result"]) for r in rollout.controller_records()] == [
        ("sh01", "refused")
    ]


def test_tampered_artifact_is_refused_before_anything_stops(
    baseline: Inventory, rollout: Rollout
) -> None:
    served = rollout.tmp_path / "portal"
    shutil.copytree(REPO / "lab" / "dms" / "dist", served)
    artifact = served / "dms-3.2.0.tar.gz"
    data = bytearray(artifact.read_bytes())
    data[100] ^= 0x01
    artifact.write_bytes(bytes(data))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    catalog = rollout.inventory / "group_vars" / "all" / "dms_catalog.yml"
    catalog.write_text(
        catalog.read_text().replace(
            "http://127.0.0.1:8808", f"http://127.0.0.1:{server.server_address[1]}"
        )
    )
    before = {store: snapshot(store) for store in STORES}
    try:
        result = rollout.run("-e", f"dms_artifact_cache={rollout.tmp_path / 'cache'}")
    finally:
        server.shutdown()
    assert result.returncode != 0
    assert "release 3.2.0 refused, nothing was stopped: dms-3.2.0.tar.gz: sha256" in result.words
    for store in STORES:
        assert_untouched(before[store], store)


def test_closed_window_and_blackout_date_are_refused(baseline: Inventory, rollout: Rollout) -> None:
    set_window(rollout.inventory, "sh01", "22:00", "06:00")
    set_blackout(rollout.inventory, "hz01", "2026-11-25")
    before = {store: snapshot(store) for store in STORES}
    result = rollout.run("-e", "storeops_now=2026-11-25T12:00:00+08:00")
    assert result.returncode != 0
    assert "store sh01 refused: outside the maintenance window" in result.words
    assert "store hz01 refused" in result.words and "blackout" in result.words
    for store in STORES:
        assert_untouched(before[store], store)


def test_check_mode_on_a_due_store_reports_and_changes_nothing(
    baseline: Inventory, rollout: Rollout
) -> None:
    before = {store: snapshot(store) for store in STORES}
    result = rollout.run("--check", "--diff")
    assert result.returncode == 0, result.stdout[-4000:]
    changes = changes_per_host(result)
    assert changes["sh01-dms"] > 0
    assert "CHECK MODE: nothing was changed" in result.words
    assert "sh01* 1 3.1.0 3.2.0 would upgrade" in result.words
    assert "hz01 2 3.1.0 3.2.0 would upgrade" in result.words
    for store in STORES:
        assert_untouched(before[store], store)
    assert not rollout.controller_log.exists()


# --- the real rollout, then the broken release ----------------------------------------------


def test_rollout_to_3_2_0_migrates_both_stores_and_a_rerun_changes_nothing(
    baseline: Inventory, rollout: Rollout
) -> None:
    names = {store: customer_names(store) for store in STORES}
    assert all(len(n) == 40 for n in names.values())
    for store in STORES:
        set_window(rollout.inventory, store, "22:00", "06:00")
    reason = "brand-mandated DMS 3.2.0, change CHG-1234"
    result = rollout.run(
        "-e", "storeops_now=2026-11-25T12:00:00+08:00", "-e", f"dms_override_reason='{reason}'"
    )
    assert result.returncode == 0, result.stdout[-5000:]
    for store in STORES:
        state = health(store)
        assert (state["version"], state["schema_version"], state["db"]) == ("3.2.0", "0002", "ok")
        assert customer_names(store) == names[store]  # split, and every name kept whole
        split = sql(store, "SELECT COUNT(*) FROM customers WHERE CHAR_LENGTH(family_name) = 1")
        assert split == [["40"]]
        assert journal_of(store) is None
        record = audit_records(store)[-1]
        assert record["result"] == "upgraded"
        assert (record["from"], record["to"]) == ("3.1.0", "3.2.0")
        assert record["override_reason"] == reason
        assert float(str(record["downtime_s"])) >= 0
    assert "sh01* 1 3.1.0 3.2.0 upgraded" in result.words
    assert "hz01 2 3.1.0 3.2.0 upgraded" in result.words
    assert [r["store"] for r in rollout.controller_records()] == ["sh01", "hz01"]

    again = rollout.run(
        "-e", "storeops_now=2026-11-25T12:00:00+08:00", "-e", f"dms_override_reason='{reason}'"
    )
    assert again.returncode == 0, again.stdout[-4000:]
    assert set(changes_per_host(again).values()) == {0}, changes_per_host(again)
    assert "already on target" in again.words


def test_broken_release_rolls_the_pilot_back_and_leaves_the_other_store_alone(
    lab: Inventory, rollout: Rollout
) -> None:
    """Runs on what the previous test left: both stores on 3.2.0."""
    for store in STORES:
        if health(store)["version"] != "3.2.0":
            pytest.skip("needs both stores on 3.2.0 (the previous test)")
    pilot_tables = table_checksums("sh01")
    other = snapshot("hz01")
    for store in STORES:
        set_target(rollout.inventory, store, "3.2.1")
    result = rollout.run()
    assert result.returncode != 0
    state = health("sh01")
    assert (state["version"], state["db"]) == ("3.2.0", "ok")
    assert table_checksums("sh01") == pilot_tables
    assert journal_of("sh01") is None
    record = audit_records("sh01")[-1]
    assert (record["result"], record["from"], record["to"]) == ("rolled back", "3.2.0", "3.2.1")
    assert "smoke transaction" in str(record["reason"])
    assert_untouched(other, "hz01")
    assert "not reached: the rollout stopped after store sh01 failed" in result.words
    assert "1 store(s) not on their target: sh01: rolled back" in result.words or (
        "sh01: rolled back" in result.words
    )


# --- killed at three points, repaired by running again ----------------------------------------

KILL_POINTS = [
    # (the task header that shows the previous step is done, what the host looks like then)
    ("Install, migrate, switch and check the health of 3.2.0", "after the dump"),
    ("Note when the switch started", "after the migration"),
    ("Check the health and the smoke transaction", "after the switch"),
]


def run_and_kill_at(rollout: Rollout, marker: str) -> str:
    """Start the rollout of the pilot store; SIGKILL the whole run when ``marker`` starts."""
    command = [ANSIBLE_PLAYBOOK, PLAYBOOK, *rollout.args(), "-i", str(rollout.inventory)]
    command += ["--limit", "store_sh01,localhost"]
    env = dict(
        os.environ,
        ANSIBLE_NOCOLOR="true",
        PATH=f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
    )
    seen: list[str] = []
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as run:
        assert run.stdout is not None
        deadline = time.monotonic() + 600
        for line in run.stdout:
            seen.append(line)
            if line.startswith("TASK [") and marker in line:
                os.killpg(run.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the rollout did not reach the kill point"
        run.wait(timeout=60)
    output = "".join(seen)
    assert marker in output, output[-3000:]
    return output


def test_a_run_killed_at_three_points_is_repaired_by_running_it_again(
    baseline: Inventory, rollout: Rollout
) -> None:
    names = customer_names("sh01")
    for marker, where in KILL_POINTS:
        run_and_kill_at(rollout, marker)
        journal = journal_of("sh01")
        assert journal is not None, f"killed {where}: no journal"
        assert (journal["from"], journal["to"]) == ("3.1.0", "3.2.0"), where
        assert customer_names("sh01") == names, f"killed {where}: customer data changed"
    migrations = sql(
        "sh01",
        "SELECT version, state, steps_done, updated_at FROM schema_migrations ORDER BY version",
    )
    result = rollout.run("--limit", "store_sh01,localhost")
    assert result.returncode == 0, result.stdout[-5000:]
    state = health("sh01")
    assert (state["version"], state["schema_version"], state["db"]) == ("3.2.0", "0002", "ok")
    assert customer_names("sh01") == names
    assert (
        sql(
            "sh01",
            "SELECT version, state, steps_done, updated_at FROM schema_migrations ORDER BY version",
        )
        == migrations
    )
    assert journal_of("sh01") is None
    record = audit_records("sh01")[-1]
    assert record["result"] == "upgraded"
    assert record["resumed_run"] == journal["run_id"]
    dumps = on("sh01-db", "ls", "/var/backups/storedms/pre-upgrade").split()
    assert [d for d in dumps if d.endswith(".sql.gz")] == [Path(str(journal["dump"])).name]


# --- rollback of the data: the down migration, and the verified dump when that fails ------


def break_the_release_and_resume(rollout: Rollout, *removed: str) -> PlaybookRun:
    """Killed after the migration; then 3.2.0 on the host loses ``removed``; run again."""
    run_and_kill_at(rollout, "Note when the switch started")
    assert health("sh01")["schema_version"] == "0002"
    for path in removed:
        on("sh01-dms", "rm", f"/opt/storedms/releases/3.2.0/storedms/{path}")
    return rollout.run("--limit", "store_sh01,localhost", "-e", "dms_health_retries=5")


@pytest.mark.parametrize(
    ("removed", "data_path"),
    [
        pytest.param(("server.py",), "data kept by the down migrations", id="down-migration"),
        pytest.param(
            ("server.py", "migrations/0002_split_customer_name.down.sql"),
            "data restored from the verified dump",
            id="dump-when-the-down-migration-fails",
        ),
    ],
)
def test_a_release_that_does_not_start_is_rolled_back_with_its_data(
    baseline: Inventory, rollout: Rollout, removed: tuple[str, ...], data_path: str
) -> None:
    """The release's own down migration puts the data back; if it fails, the dump does."""
    tables = table_checksums("sh01")
    result = break_the_release_and_resume(rollout, *removed)
    assert result.returncode != 0
    state = health("sh01")
    assert (state["version"], state["schema_version"], state["db"]) == ("3.1.0", "0001", "ok")
    assert table_checksums("sh01") == tables
    record = audit_records("sh01")[-1]
    assert record["result"] == "rolled back"
    assert data_path in str(record["reason"])
    assert journal_of("sh01") is None
