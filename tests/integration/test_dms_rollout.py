"""playbooks/upgrade-dms.yml end to end on the two-store lab: real releases, real data.

Every test starts from the lab baseline (both stores on 3.1.0 with seeded customers, the
`baseline` fixture, built by playbooks/lab-baseline.yml after wiping the DMS) or from the
state the previous test of the module leaves (noted where it matters). State is read on
the hosts themselves through podman, not through the playbook under test.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from storeops.inventory import Inventory
from storeops_lab.clients import clients
from storeops_lab.rehearsal import (
    AUDIT_LOG,
    DUMP_DIR,
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
LOCK = "/var/lib/storedms/rollout.lock"


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
    return cast(dict[str, str], json.loads(out))


def customer_names(store: str) -> dict[str, str]:
    """id -> full name, whichever schema the database has."""
    columns = {row[0] for row in sql(store, "SHOW COLUMNS FROM customers")}
    expression = "name" if "name" in columns else "CONCAT(family_name, given_name)"
    return dict((row[0], row[1]) for row in sql(store, f"SELECT id, {expression} FROM customers"))


def table_checksums(store: str) -> dict[str, str]:
    """Table -> checksum of its rows, every table of the DMS database in one statement."""
    tables = ", ".join(f"`{row[0]}`" for row in sql(store, "SHOW TABLES"))
    rows = sql(store, f"CHECKSUM TABLE {tables} EXTENDED") if tables else []
    return {name.removeprefix("storedms."): checksum for name, checksum in sorted(rows)}


def service_started(store: str) -> str:
    return on(
        f"{store}-dms", "systemctl", "show", "-P", "ExecMainStartTimestampMonotonic", "storedms"
    ).strip()


def tree_mtimes(store: str) -> str:
    return on(f"{store}-dms", "find", "/opt/storedms", "-printf", "%p %T@ %l\n")


def journal_of(store: str) -> dict[str, str] | None:
    out = on(f"{store}-dms", "cat", JOURNAL, check=False)
    return json.loads(out) if out.strip() else None


def lock_of(store: str) -> dict[str, object] | None:
    out = on(f"{store}-dms", "cat", LOCK, check=False)
    return json.loads(out) if out.strip() else None


def audit_records(store: str) -> list[dict[str, object]]:
    out = on(f"{store}-dms", "cat", AUDIT_LOG, check=False)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def dms_urls(inventory: Inventory) -> dict[str, str]:
    """Each store's DMS /health as the controller reaches it."""
    hosts = {host.store: host for host in inventory.hosts.values() if "dms" in host.roles}
    return {store: f"http://{hosts[store].endpoint[0]}:8080/health" for store in STORES}


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

    A store is rebuilt (wiped, then playbooks/lab-baseline.yml) unless it is in that state
    already: the refusal tests change nothing, so they share one baseline, and the tests
    of the pilot alone leave the other store as it was.
    """
    rebuild_baseline(scratch, [store for store in STORES if not at_baseline(store)])
    for store in STORES:
        assert health(store)["version"] == "3.1.0"
    return databases


def rebuild_baseline(scratch: Path, stores: list[str]) -> None:
    """``stores`` wiped, then on 3.1.0 with their seeded customers (nothing when none)."""
    if not stores:
        return
    for store in stores:
        reset_dms(store)
    limit = ",".join([*(f"store_{store}" for store in stores), "localhost"])
    done = run_playbook(
        "playbooks/lab-baseline.yml", scratch, "--skip-tags", "mariadb", "--limit", limit
    )
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.fixture(autouse=True, scope="module")
def leave_the_lab_on_its_target(lab: Inventory, scratch: Path) -> Iterator[None]:
    """After the module: every store on the inventory's target, as `make demo` leaves it."""
    yield
    # Rebuilt as `make demo` built it, unless no rollout has touched it since its baseline.
    touched = [s for s in STORES if not at_baseline(s) or audit_records(s)]
    rebuild_baseline(scratch, touched)
    done = run_playbook(PLAYBOOK, scratch)
    assert done.returncode == 0, done.stdout[-3000:]


class Rollout:
    """upgrade-dms.yml on a private copy of the lab inventory, audit log in tmp_path.

    The acceptance gate (two loads on the pilot) is off unless a test is about it: the
    tests of refusals, locks, kills and rollbacks do not need it and it costs seconds.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.inventory = copy_lab_inventory(tmp_path)
        self.controller_log = tmp_path / "dms-rollouts.jsonl"
        self.acceptance_gate = False

    def args(self, *extra: str) -> list[str]:
        gate = [] if self.acceptance_gate else ["-e", "dms_rollout_acceptance_gate=false"]
        return ["-e", f"dms_rollout_controller_log={self.controller_log}", *gate, *extra]

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
    (record,) = cast(list[dict[str, object]], after.pop("audit"))
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
    # The plan tells how each store's clients will live through it (the catalog's estimate).
    assert re.search(
        r"sh01\* 1 3\.1\.0 3\.2\.0 would upgrade [0-9.]+ s would queue ~[0-9.]+ s", result.words
    )
    assert re.search(
        r"hz01 2 3\.1\.0 3\.2\.0 would upgrade [0-9.]+ s would queue ~[0-9.]+ s", result.words
    )
    for store in STORES:
        assert_untouched(before[store], store)
    assert not rollout.controller_log.exists()


def test_a_migration_that_would_queue_clients_too_long_is_refused_at_plan_time(
    baseline: Inventory, rollout: Rollout
) -> None:
    """The catalog's estimate on the store's rows, over the limit: refused before anything
    moves, unless the operator accepts a maintenance page (then check mode says so)."""
    before = {store: snapshot(store) for store in STORES}
    result = rollout.run("-e", "dms_rollout_queue_limit=0.1")
    assert result.returncode != 0
    assert "the migrations of 3.2.0 are expected to hold clients about" in result.words
    assert "(40 rows of customers), over dms_rollout_queue_limit 0.1 s" in result.words
    assert "held: pilot store sh01 is not on the target" in result.words
    assert_untouched(before["hz01"], "hz01")
    (record,) = [r for r in rollout.controller_records() if r["store"] == "sh01"]
    assert record["result"] == "refused"
    assert cast(dict[str, object], record["queue"])["limit_s"] == 0.1

    accepted = rollout.run(
        "--check", "-e", "dms_rollout_queue_limit=0.1", "-e", "dms_rollout_maintenance_page=true"
    )
    assert accepted.returncode == 0, accepted.stdout[-4000:]
    assert re.search(
        r"sh01\* 1 3\.1\.0 3\.2\.0 would upgrade [0-9.]+ s would 503 ~[0-9.]+ s", accepted.words
    )
    for store in STORES:
        assert health(store)["version"] == "3.1.0"


# --- one rollout per store at a time; the window asked before every wave -------------------


def test_a_second_rollout_is_refused_while_the_first_holds_the_store(
    baseline: Inventory, rollout: Rollout, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second run (a manual one while the scheduled one runs) names the holder and leaves
    the store alone: it does not take the first run's journal for an interrupted rollout."""
    names = customer_names("sh01")
    other = snapshot("hz01")
    earlier = {record["run_id"] for record in audit_records("sh01")}  # e.g. refused runs
    seen: list[str] = []
    first = start_rollout(rollout, "--limit", "store_sh01,localhost")
    try:
        read_until(first, "Take a verified dump", seen)  # lock taken, journal written
        os.killpg(first.pid, signal.SIGSTOP)  # keep the first run right there
        try:
            second = Rollout(tmp_path_factory.mktemp("second"))
            refused = second.run()
        finally:
            os.killpg(first.pid, signal.SIGCONT)
        words = finish(first, seen)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=60)
    assert first.returncode == 0, words[-4000:]

    assert refused.returncode != 0
    holder = re.search(
        r"store sh01 is locked by another rollout: run (\S+) by (\S+) on (\S+)"
        r" \(ansible-playbook PID (\d+)\) since (\S+); its process \d+ on \S+ is running",
        refused.words,
    )
    assert holder, "\n".join(
        line for line in refused.stdout.splitlines() if "sh01" in line or "fatal" in line
    )[-6000:]
    assert (holder[3], holder[4]) == (socket.gethostname(), str(first.pid))
    assert dt.datetime.fromisoformat(holder[5]).tzinfo is not None
    assert "(it does not resume that run" in refused.words
    assert "sh01* 1 - 3.2.0 locked" in refused.words
    assert "held: pilot store sh01 is not on the target" in refused.words

    # the first run went on, untouched by the second: one record, its own, not a resumption
    state = health("sh01")
    assert (state["version"], state["schema_version"], state["db"]) == ("3.2.0", "0002", "ok")
    assert customer_names("sh01") == names
    records = [r for r in audit_records("sh01") if r["run_id"] not in earlier]
    assert [(r["run_id"], r["user"], r["result"], r["resumed_run"]) for r in records] == [
        (holder[1], holder[2], "upgraded", None)
    ]
    assert journal_of("sh01") is None and lock_of("sh01") is None
    assert_untouched(other, "hz01")
    assert lock_of("hz01") is None  # the second run released what it held


def local_window_around_now(timezone: str) -> tuple[str, str, dt.datetime]:
    """A two-hour window open now (at least an hour left): start, end, and when it closes."""
    local = dt.datetime.now(ZoneInfo(timezone))
    start = local.replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(hours=2)
    return f"{start:%H:%M}", f"{end:%H:%M}", end


def test_no_store_starts_after_its_window_closed(baseline: Inventory, rollout: Rollout) -> None:
    """The window closes while the pilot runs: the pilot finishes, the next wave is held.

    hz01's window is open now for real; the test clock (storeops_now) shows 25 s before it
    closes when the run starts and runs on from there, and the run is held after the
    pilot's dump until 30 s have passed, so wave 2 begins after the window closed.
    """
    start, end, closes = local_window_around_now("Asia/Shanghai")
    set_window(rollout.inventory, "hz01", start, end)
    clock = (closes - dt.timedelta(seconds=25)).isoformat(timespec="seconds")
    other = snapshot("hz01")
    seen: list[str] = []
    began = time.monotonic()
    run = start_rollout(rollout, "-e", f"storeops_now={clock}")
    try:
        read_until(run, "Install, migrate, switch and check the health", seen)
        os.killpg(run.pid, signal.SIGSTOP)
        time.sleep(max(0.0, 30 - (time.monotonic() - began)))
        os.killpg(run.pid, signal.SIGCONT)
        words = finish(run, seen)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=60)
    assert run.returncode != 0, words[-3000:]
    assert "sh01* 1 3.1.0 3.2.0 upgraded" in words
    assert "hz01 2 3.1.0 3.2.0 held" in words
    assert "held: store hz01 refused: outside the maintenance window" in words
    assert health("sh01")["version"] == "3.2.0"
    assert_untouched(other, "hz01")
    (record,) = audit_records("sh01")
    assert record["clock"] == clock  # the test clock is in the audit record


def test_a_test_clock_cannot_open_a_window_that_is_closed_now(
    lab: Inventory, rollout: Rollout
) -> None:
    """storeops_now may close a window, never open one; --check asks about that time alone."""
    local = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    opens = local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    set_window(
        rollout.inventory, "hz01", f"{opens:%H:%M}", f"{opens + dt.timedelta(hours=1):%H:%M}"
    )
    inside = (opens + dt.timedelta(minutes=30)).isoformat(timespec="seconds")
    preflight = ("--tags", "preflight", "--limit", "store_hz01,localhost")
    refused = rollout.run(*preflight, "-e", f"storeops_now={inside}")
    assert refused.returncode != 0
    assert "store hz01 refused: outside the maintenance window" in refused.words
    # the test clock ticks from the time given: the message shows it a few seconds on
    given = re.escape(inside[: len("2026-12-05T05:3")])
    assert re.search(rf"storeops_now={given}\S* can close a window, never open one", refused.words)
    dry = rollout.run("--check", *preflight, "-e", f"storeops_now={inside}")
    assert dry.returncode == 0, dry.stdout[-3000:]
    assert "hz01 BMW Hangzhou Xihu 4S: window open" in dry.words


# --- the real rollout, then the broken release ----------------------------------------------


def test_rollout_to_3_2_0_migrates_both_stores_and_a_rerun_changes_nothing(
    baseline: Inventory, rollout: Rollout
) -> None:
    rollout.acceptance_gate = True  # the pilot's gate passes: 3.2.0 is as fast as 3.1.0
    names = {store: customer_names(store) for store in STORES}
    assert all(len(n) == 40 for n in names.values())
    for store in STORES:
        set_window(rollout.inventory, store, "22:00", "06:00")
    # Earlier rollouts' dumps (oldest first), a .part a killed dump left, a 0755 directory.
    old_dumps = [f"sh01-old{age}.sql.gz" for age in (3, 2, 1)]
    script = f"mkdir -p {DUMP_DIR} && chmod 0755 {DUMP_DIR} && cd {DUMP_DIR}"
    for age, name in zip((3, 2, 1), old_dumps, strict=True):
        script += f" && echo 110101199003077777 > {name} && echo {{}} > {name}.json"
        script += f" && touch -d '-{age} days' {name} {name}.json"
    script += " && echo 110101199003077777 > sh01-killed.sql.gz.999999.part"
    on("sh01-db", "sh", "-c", script)
    reason = "brand-mandated DMS 3.2.0, change CHG-1234"
    # The stores' clients, from the controller: 20 requests a second each, a tablet's 5 s
    # timeout. The migration (0002 changes data) must cost them time, never an error.
    with clients(dms_urls(baseline), hz=20, timeout=5) as tablets:
        result = rollout.run(
            "-e",
            "storeops_now=2026-11-25T12:00:00+08:00",
            "-e",
            f"storeops_override_reason='{reason}'",
            "-e",
            "dms_rollout_dump_keep=2",
        )
    assert result.returncode == 0, result.stdout[-5000:]
    for store, tablet in tablets.items():
        assert tablet.failed == 0, f"{store}: {tablet.summary()}"
        assert len(tablet.answers) > 100, tablet.summary()
    # Customer data at rest: the newest 2 dumps (this run's and the newest older one),
    # nothing partial, 0700 / 0600.
    listing = on(
        "sh01-db",
        "stat",
        "-c",
        "%n %a",
        DUMP_DIR,
        *on("sh01-db", "sh", "-c", f"ls -d {DUMP_DIR}/*").split(),
    )
    modes = dict(line.rsplit(" ", 1) for line in listing.splitlines())
    this_dump = str(audit_records("sh01")[-1]["dump"])
    assert modes == {
        DUMP_DIR: "700",
        this_dump: "600",
        f"{this_dump}.json": "600",
        f"{DUMP_DIR}/sh01-old1.sql.gz": "600",
        f"{DUMP_DIR}/sh01-old1.sql.gz.json": "600",
    }
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
        assert float(str(record["downtime_s"])) == 0
        queue = cast(dict[str, object], record["queue"])
        assert (queue["mode"], queue["rows"], queue["estimated"]) == ("queue", 40, True)
        # The longest wait in the queue is the longest answer a client saw, give or take
        # the time its request took once the new release served it.
        assert 0 < float(str(record["queue_s"])) < 5
        assert tablets[store].longest_s < float(str(record["queue_s"])) + 1
    # The pilot passed the acceptance gate (3.2.0 under load as fast as 3.1.0 within 2x).
    pilot_gate = cast(dict[str, object], audit_records("sh01")[-1]["gate"])
    assert pilot_gate["passed"] is True, pilot_gate
    assert audit_records("hz01")[-1]["gate"] is None  # not a pilot: no gate
    assert re.search(r"sh01\* 1 3\.1\.0 3\.2\.0 upgraded \S+ s queued [0-9.]+ s", result.words)
    assert re.search(r"hz01 2 3\.1\.0 3\.2\.0 upgraded \S+ s queued [0-9.]+ s", result.words)
    assert [r["store"] for r in rollout.controller_records()] == ["sh01", "hz01"]

    again = rollout.run(
        "-e", "storeops_now=2026-11-25T12:00:00+08:00", "-e", f"storeops_override_reason='{reason}'"
    )
    assert again.returncode == 0, again.stdout[-4000:]
    assert set(changes_per_host(again).values()) == {0}, changes_per_host(again)
    assert "already on target" in again.words


# Deletes the given work orders one by one through the DMS API (4 a second), on the DMS
# host itself; prints "<epoch> <HTTP status, 0: no answer> <id>" for each attempt.
WRITER = r"""
import os, sys, time, urllib.error, urllib.request
ids = [int(i) for i in sys.argv[1].split(",")]
deadline = time.time() + 600
while ids and time.time() < deadline and not os.path.exists("/tmp/storeops-writer.stop"):
    request = urllib.request.Request(
        f"http://127.0.0.1:8080/work-orders/{ids[0]}", method="DELETE"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            code = answer.status
    except urllib.error.HTTPError as error:
        code = error.code
    except OSError:
        code = 0
    print(f"{time.time():.3f} {code} {ids[0]}", flush=True)
    if code in (200, 404):
        ids.pop(0)
    time.sleep(0.25)
"""


def work_orders(store: str) -> set[str]:
    return {row[0] for row in sql(store, "SELECT id FROM work_orders")}


def test_broken_release_rolls_the_pilot_back_and_leaves_the_other_store_alone(
    lab: Inventory, rollout: Rollout
) -> None:
    """Runs on what the previous test left: both stores on 3.2.0.

    While 3.2.1 serves, a client keeps writing (deleting work orders through the API): the
    rollback stops the release before the data goes back, so no write is acknowledged
    from then until the data is back, and every acknowledged write is in the database.
    """
    for store in STORES:
        if health(store)["version"] != "3.2.0":
            pytest.skip("needs both stores on 3.2.0 (the previous test)")
    orders = work_orders("sh01")
    pilot_tables = {k: v for k, v in table_checksums("sh01").items() if k != "work_orders"}
    other = snapshot("hz01")
    for store in STORES:
        set_target(rollout.inventory, store, "3.2.1")
    on("sh01-dms", "rm", "-f", "/tmp/storeops-writer.stop")
    seen: list[str] = []
    run = start_rollout(rollout)
    try:
        read_until(run, "Check the health and the smoke transaction", seen)  # 3.2.1 is on
        writer = subprocess.Popen(
            [
                "podman",
                "exec",
                "storeops-sh01-dms",
                "python3",
                "-c",
                WRITER,
                ",".join(sorted(orders, key=int)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        words = finish(run, seen)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=60)
        on("sh01-dms", "touch", "/tmp/storeops-writer.stop")
    attempts = [line.split() for line in writer.communicate(timeout=60)[0].splitlines()]
    assert run.returncode != 0
    state = health("sh01")
    assert (state["version"], state["db"]) == ("3.2.0", "ok")
    assert journal_of("sh01") is None
    record = audit_records("sh01")[-1]
    assert (record["result"], record["from"], record["to"]) == ("rolled back", "3.2.0", "3.2.1")
    assert "smoke transaction" in str(record["reason"])
    assert_untouched(other, "hz01")
    assert "not reached: the rollout stopped after store sh01 failed" in words
    assert "2 store(s) not on their target: sh01: rolled back; hz01: not reached" in words

    timeline = record["rollback"]
    assert isinstance(timeline, dict), record
    stopped, data_from, data_until = (
        float(timeline[key]) for key in ("stopped", "data_from", "data_until")
    )
    assert float(timeline["failed"]) <= stopped <= data_from <= data_until
    acked = [(float(at), wid) for at, code, wid in attempts if code == "200"]
    assert [wid for at, wid in acked if at < stopped], "the failed release took no write"
    refused = [at for at, code, _ in attempts if code == "0" and float(at) > stopped]
    assert refused, "the client did not try to write while the DMS was stopped"
    written_meanwhile = [(at, wid) for at, wid in acked if stopped < at < data_until]
    assert written_meanwhile == [], f"writes acknowledged while the data went back: {timeline}"
    # every acknowledged write is in the data, nothing else changed
    assert work_orders("sh01") == orders - {wid for _, wid in acked}
    assert {k: v for k, v in table_checksums("sh01").items() if k != "work_orders"} == (
        pilot_tables
    )


def test_a_release_too_slow_under_load_is_stopped_at_the_pilot_by_the_acceptance_gate(
    lab: Inventory, rollout: Rollout
) -> None:
    """Runs on what the previous tests leave: both stores on 3.2.0.

    3.2.2 passes /health and the smoke transaction, but its work-order reads queue behind
    one another: under the gate's load (locust, the same workload as the baseline measured
    on 3.2.0 just before) its 95th percentile is far over 2x. The pilot is rolled back and
    no other store starts.
    """
    for store in STORES:
        if health(store)["version"] != "3.2.0":
            pytest.skip("needs both stores on 3.2.0 (the previous tests)")
    rollout.acceptance_gate = True
    other = snapshot("hz01")
    for store in STORES:
        set_target(rollout.inventory, store, "3.2.2")
    result = rollout.run()
    assert result.returncode != 0
    state = health("sh01")
    assert (state["version"], state["db"]) == ("3.2.0", "ok")
    record = audit_records("sh01")[-1]
    assert (record["result"], record["from"], record["to"]) == ("rolled back", "3.2.0", "3.2.2")
    assert "acceptance gate failed: too slow under load" in str(record["reason"])
    gate = cast(dict[str, dict[str, float]], record["gate"])
    before, after = gate["before"], gate["after"]
    assert before["requests"] > 0 and after["requests"] > 0
    assert before["failures"] == 0
    assert after["p95_ms"] > 2 * max(before["p95_ms"], 20), gate
    assert f"p95 {after['p95_ms']:g} ms after the upgrade" in result.words
    assert_untouched(other, "hz01")
    assert "not reached: the rollout stopped after store sh01 failed" in result.words
    assert "2 store(s) not on their target: sh01: rolled back; hz01: not reached" in result.words


# --- killed at three points, repaired by running again ----------------------------------------

KILL_POINTS = [
    # (the task header that shows the previous step is done, what the host looks like then)
    ("Install, migrate, switch and check the health of 3.2.0", "after the dump"),
    ("Note when the switch started", "after the install"),
    # dms_switch has migrated, switched and started 3.2.0 in one step on the host.
    ("Check the health and the smoke transaction", "after the one-step switch"),
]


def start_rollout(rollout: Rollout, *extra: str) -> subprocess.Popen[str]:
    """The rollout in the background, in its own process group, output as it comes."""
    command = [ANSIBLE_PLAYBOOK, PLAYBOOK, *rollout.args(*extra), "-i", str(rollout.inventory)]
    control_dir = rollout.tmp_path / "cp-background"
    control_dir.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        ANSIBLE_NOCOLOR="true",
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir),
        PATH=f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
    )
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def read_until(run: subprocess.Popen[str], marker: str, seen: list[str]) -> None:
    """Read the run's output into ``seen`` until the task ``marker`` starts."""
    assert run.stdout is not None
    deadline = time.monotonic() + 600
    for line in run.stdout:
        seen.append(line)
        if line.startswith("TASK [") and marker in line:
            return
        assert time.monotonic() < deadline, "the rollout did not reach " + marker
    raise AssertionError(f"the rollout ended before {marker}: {''.join(seen)[-3000:]}")


def finish(run: subprocess.Popen[str], seen: list[str]) -> str:
    assert run.stdout is not None
    seen.extend(run.stdout)
    run.wait(timeout=600)
    return " ".join("".join(seen).split())


def run_and_kill_at(rollout: Rollout, marker: str) -> str:
    """Start the rollout of the pilot store; SIGKILL the whole run when ``marker`` starts."""
    seen: list[str] = []
    with start_rollout(rollout, "--limit", "store_sh01,localhost") as run:
        read_until(run, marker, seen)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    return "".join(seen)


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
        lock = lock_of("sh01")  # what the killed run leaves: its lock, its process gone
        assert lock is not None, f"killed {where}: no lock record"
        assert not Path(f"/proc/{lock['pid']}").exists(), where
    assert journal is not None and lock is not None  # for mypy: the loop checked both
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
    assert record["lock_taken_over"] == lock["run_id"]  # the last killed run's lock
    assert f"took over the lock of run {lock['run_id']}" in result.words
    assert "its process" in result.words and "is gone" in result.words
    assert lock_of("sh01") is None
    dumps = on("sh01-db", "ls", "/var/backups/storedms/pre-upgrade").split()
    assert [d for d in dumps if d.endswith(".sql.gz")] == [Path(str(journal["dump"])).name]


# --- rollback of the data: the down migration, and the verified dump when that fails ------


def break_the_release_and_resume(rollout: Rollout, *broken: str) -> PlaybookRun:
    """Killed once 3.2.0 is installed; then its files ``broken`` are made garbage (a
    server that cannot start; a down migration that is not SQL); run again: dms_switch
    migrates, switches and fails to start it, and the rollback takes the data back."""
    run_and_kill_at(rollout, "Note when the switch started")
    assert health("sh01")["schema_version"] == "0001"
    for path in broken:
        release_file = f"/opt/storedms/releases/3.2.0/storedms/{path}"
        on("sh01-dms", "sh", "-c", f"echo 'this is not code;' > {release_file}")
    return rollout.run("--limit", "store_sh01,localhost", "-e", "dms_health_retries=5")


@pytest.mark.parametrize(
    ("broken", "data_path"),
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
    baseline: Inventory, rollout: Rollout, broken: tuple[str, ...], data_path: str
) -> None:
    """The release's own down migration puts the data back; if it fails, the dump does."""
    tables = table_checksums("sh01")
    result = break_the_release_and_resume(rollout, *broken)
    assert result.returncode != 0
    state = health("sh01")
    assert (state["version"], state["schema_version"], state["db"]) == ("3.1.0", "0001", "ok")
    assert table_checksums("sh01") == tables
    record = audit_records("sh01")[-1]
    assert record["result"] == "rolled back"
    assert data_path in str(record["reason"])
    assert journal_of("sh01") is None
