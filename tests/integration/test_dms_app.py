"""The reference DMS, for real: its releases in a throwaway systemd container with MariaDB.

One container (``storeops-dmstest``, ``--network none``, removed at the end even on
failure) from the lab image; everything goes through ``podman exec``/``podman cp``, and
HTTP traffic stays inside it (127.0.0.1). The releases are built by ``lab/dms/build.py``,
unpacked side by side under ``/opt/storedms/releases/<version>``, and served through the
``lab/dms/systemd`` socket + service pair, switched with the ``current`` symlink - as the
rollout will do it. Each test works on its own database, so each can run alone.
The lab's own containers (storeops-sh01-*, storeops-hz01-*) are never touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.lab

IMAGE = "localhost/storeops-lab:latest"
CONTAINER = "storeops-dmstest"
DMS = REPO / "lab" / "dms"
VERSIONS = ("3.1.0", "3.2.0", "3.2.1", "3.2.2", "4.0.0")
DB_USER, DB_PASSWORD = "storedms", "lab-only-test-password"

# Runs inside the container: ``poll.py STOP HZ LIMIT TIMEOUT`` polls /health at HZ until
# the file STOP exists (at most LIMIT seconds), counts outcomes. The test writes STOP_FILE
# after the last restart, so the polling spans every restart however long a busy machine
# makes them take. A request may wait up to TIMEOUT (REQUEST_TIMEOUT_S): socket activation
# queues a connection while the service restarts (waiting is the promise, refusing is the
# failure), and at load 13 a restart of the service took more than 2 s.
STOP_FILE = "/tmp/poll.stop"
POLL_LIMIT_S = 120
REQUEST_TIMEOUT_S = 30
POLLER = """
import json, os, sys, time, urllib.error, urllib.request
stop, hz, limit, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
counts = {"ok": 0, "refused": 0, "http_error": 0, "other": 0}
worst, end = 0.0, time.monotonic() + limit
while not os.path.exists(stop) and time.monotonic() < end:
    start = time.monotonic()
    try:
        with urllib.request.urlopen("http://127.0.0.1:8080/health", timeout=timeout) as response:
            counts["ok" if response.status == 200 else "http_error"] += 1
    except urllib.error.HTTPError:
        counts["http_error"] += 1
    except urllib.error.URLError as error:
        counts["refused" if isinstance(error.reason, ConnectionRefusedError) else "other"] += 1
    except OSError:
        counts["other"] += 1
    took = time.monotonic() - start
    worst = max(worst, took)
    time.sleep(max(0.0, 1 / hz - took))
stopped = os.path.exists(stop)
print(json.dumps({**counts, "worst_latency_s": round(worst, 3), "stopped": stopped}))
"""


def podman(
    *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["podman", *args], input=stdin, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def sh(script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A bash script inside the test container."""
    return podman("exec", CONTAINER, "bash", "-ec", script, check=check)


def sql(database: str, query: str) -> list[list[str]]:
    """Rows of a query run as MariaDB's root (unix socket), tab-separated, no headers."""
    out = podman(
        "exec", "-i", CONTAINER, "mariadb", "--default-character-set=utf8mb4", "-N", "-B", database,
        stdin=query,
    ).stdout  # fmt: skip
    return [line.split("\t") for line in out.splitlines()]


def table_digest(database: str, table: str) -> str:
    """sha256 of every row (ordered by id) plus the table's definition."""
    result = sh(
        f"mariadb -N -B {database} -e 'SELECT * FROM {table} ORDER BY 1' | sha256sum;"
        f" mariadb -N -B {database} -e 'SHOW CREATE TABLE {table}' | sed 's/ AUTO_INCREMENT=[0-9]*//' | sha256sum"
    )
    return result.stdout


def dms_tool(
    version: str, database: str, command: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python3 -m storedms.<command>`` of one installed release, against ``database``."""
    return sh(
        f"cd /tmp && PYTHONPATH=/opt/storedms/releases/{version} STOREDMS_CONFIG=/etc/storedms/{database}.conf"
        f" python3 -m storedms.{command}",
        check=check,
    )


def migrate(version: str, database: str, args: str) -> dict[str, Any]:
    return cast(
        dict[str, Any], json.loads(dms_tool(version, database, f"migrate --json {args}").stdout)
    )


def fresh_database(name: str) -> str:
    """An empty database and a config file for it (the DMS user may use dms_*)."""
    sql("mysql", f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4;")
    conf = f"[db]\nhost = 127.0.0.1\nport = 3306\nname = {name}\nuser = {DB_USER}\npassword = {DB_PASSWORD}\n"
    podman("exec", "-i", CONTAINER, "sh", "-c", f"cat > /etc/storedms/{name}.conf", stdin=conf)
    return name


def serve(version: str, database: str) -> None:
    """Switch ``current`` to ``version`` on ``database`` and restart, as the rollout will."""
    sh(
        f"cp /etc/storedms/{database}.conf /etc/storedms/storedms.conf"
        f" && ln -sfn /opt/storedms/releases/{version} /opt/storedms/current.new"
        " && mv -T /opt/storedms/current.new /opt/storedms/current"
        # The tests restart the service more often than systemd's start limit (5 starts in
        # 10 s) allows; each test starts with a clean count.
        " && systemctl reset-failed storedms.service"
        " && systemctl restart storedms.service"
    )


def http(method: str, path: str) -> tuple[int, dict[str, Any]]:
    out = sh(f"curl -s -m 10 -X {method} -w '\\n%{{http_code}}' http://127.0.0.1:8080{path}").stdout
    body, status = out.rsplit("\n", 1)
    return int(status), json.loads(body)


def counts(database: str) -> dict[str, int]:
    tables = ("customers", "vehicles", "work_orders")
    rows = sql(database, " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in tables))
    return {name: int(count) for name, count in rows}


def install(dist: Path) -> None:
    for version in VERSIONS:
        podman("cp", str(dist / f"dms-{version}.tar.gz"), f"{CONTAINER}:/tmp/")
    for unit in ("storedms.socket", "storedms.service"):
        podman("cp", str(DMS / "systemd" / unit), f"{CONTAINER}:/etc/systemd/system/{unit}")
    podman("exec", "-i", CONTAINER, "sh", "-c", "cat > /tmp/poll.py", stdin=POLLER)
    sh(
        "for v in " + " ".join(VERSIONS) + "; do mkdir -p /opt/storedms/releases/$v;"
        " tar -xzf /tmp/dms-$v.tar.gz -C /opt/storedms/releases/$v; done;"
        " useradd --system --no-create-home --shell /usr/sbin/nologin storedms; mkdir -p /etc/storedms;"
        " systemctl daemon-reload; systemctl enable --now storedms.socket"
    )
    grants = "".join(
        f"CREATE USER '{DB_USER}'@'{host}' IDENTIFIED BY '{DB_PASSWORD}';"
        f" GRANT ALL ON `dms\\_%`.* TO '{DB_USER}'@'{host}';"
        for host in ("127.0.0.1", "localhost")
    )
    sql("mysql", grants)


def wait_for_boot(deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        state = podman(
            "exec", CONTAINER, "systemctl", "is-system-running", check=False
        ).stdout.strip()
        mariadb = podman(
            "exec", CONTAINER, "systemctl", "is-active", "mariadb", check=False
        ).stdout.strip()
        if state in {"running", "degraded"} and mariadb == "active":
            return
        time.sleep(0.3)
    raise AssertionError(f"{CONTAINER} did not boot (system {state!r}, mariadb {mariadb!r})")


@pytest.fixture(scope="module")
def dms_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"lab image {IMAGE} is missing: `storeops lab image` builds it")
    root = tmp_path_factory.mktemp("dms-build")
    build = subprocess.run(
        [sys.executable, str(DMS / "build.py"), "--dist", str(root / "dist"),
         "--key-dir", str(root / "keys"), "--pubkey", str(root / "signing-key.pub")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    podman("rm", "-f", CONTAINER, check=False)
    try:
        podman(
            "run",
            "-d",
            "--systemd=always",
            "--network",
            "none",
            "--name",
            CONTAINER,
            IMAGE,
            "/sbin/init",
        )
        wait_for_boot()
        install(root / "dist")
        yield CONTAINER
    finally:
        podman("rm", "-f", "-t", "2", CONTAINER, check=False)


def test_310_migrates_seeds_and_passes_health_and_smoke(dms_host: str) -> None:
    db = fresh_database("dms_base")
    first = migrate("3.1.0", db, "up")
    assert first["ran"] == ["0001_initial"] and first["schema_version"] == "0001"
    again = dms_tool("3.1.0", db, "migrate up").stdout
    assert "nothing to apply" in again  # idempotent: the second `up` applies nothing
    assert migrate("3.1.0", db, "up") == {
        **first,
        "changed": False,
        "ran": [],
        "log": ["nothing to apply"],
    }
    assert "seeded 200 customers" in dms_tool("3.1.0", db, "seed --rows 200").stdout
    before = counts(db)
    assert before["customers"] == before["vehicles"] == 200 and before["work_orders"] >= 200
    serve("3.1.0", db)
    assert http("GET", "/health") == (
        200,
        {
            "version": "3.1.0",
            "expected_schema_version": "0001",
            "schema_version": "0001",
            "db": "ok",
        },
    )
    status, smoke = http("POST", "/smoke")
    assert (status, smoke["ok"]) == (200, True)
    assert counts(db) == before  # the smoke transaction leaves nothing behind


def test_seed_writes_valid_identifiers(dms_host: str) -> None:
    db = fresh_database("dms_seed")
    migrate("3.1.0", db, "up")
    dms_tool("3.1.0", db, "seed --rows 300")
    sys.path.insert(0, str(DMS / "src"))
    try:
        # lab/dms/src, put on sys.path just above: outside mypy_path
        from storedms.identifiers import valid_id_number, valid_vin  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(DMS / "src"))
    customers = sql(db, "SELECT name, phone, id_number FROM customers")
    assert all(
        2 <= len(name) <= 4 and len(phone) == 11 and valid_id_number(number)
        for name, phone, number in customers
    )
    assert all(valid_vin(vin) for (vin,) in sql(db, "SELECT vin FROM vehicles"))


def test_320_splits_names_and_the_down_path_restores_them_exactly(dms_host: str) -> None:
    db = fresh_database("dms_split")
    migrate("3.1.0", db, "up")
    dms_tool("3.1.0", db, "seed --rows 300")
    names = dict(sql(db, "SELECT id, name FROM customers"))
    digest = table_digest(db, "customers")

    assert migrate("3.2.0", db, "up")["ran"] == ["0002_split_customer_name"]
    split = {
        row[0]: (row[1], row[2])
        for row in sql(db, "SELECT id, family_name, given_name FROM customers")
    }
    assert split.keys() == names.keys()
    for customer_id, (family, given) in split.items():
        assert (family, given) == (names[customer_id][0], names[customer_id][1:])
    assert not sql(db, "SHOW COLUMNS FROM customers LIKE 'name'")
    serve("3.2.0", db)
    assert http("GET", "/health")[1] | {"expected_schema_version": None} == {
        "version": "3.2.0", "schema_version": "0002", "db": "ok", "expected_schema_version": None,
    }  # fmt: skip
    assert http("POST", "/smoke")[0] == 200

    assert migrate("3.2.0", db, "down --to 0001")["ran"] == ["0002_split_customer_name"]
    assert table_digest(db, "customers") == digest  # same rows, same table definition
    serve("3.1.0", db)
    assert http("GET", "/health")[0] == 200 and http("POST", "/smoke")[0] == 200


def test_a_killed_migration_resumes_where_it_stopped(dms_host: str) -> None:
    """Killed after statement 3 ran but before its journal entry: `up` resumes, data right."""
    db = fresh_database("dms_resume")
    migrate("3.1.0", db, "up")
    dms_tool("3.1.0", db, "seed --rows 100")
    names = dict(sql(db, "SELECT id, name FROM customers"))
    statements = (
        Path(DMS / "src/storedms/migrations/0002_split_customer_name.up.sql")
        .read_text()
        .split(";\n")
    )
    sql(db, ";\n".join(statements[:3]) + ";\n"
        "INSERT INTO schema_migrations (version, name, state, steps_done)"
        " VALUES ('0002', 'split_customer_name', 'applying', 2);")  # fmt: skip
    serve("3.2.0", db)
    status, body = http("GET", "/health")
    assert status == 503 and body["db"] == "migrating"
    result = migrate("3.2.0", db, "up")
    assert result["log"][0] == "resuming up 0002_split_customer_name at statement 3"
    assert dict(sql(db, "SELECT id, CONCAT(family_name, given_name) FROM customers")) == names
    assert http("GET", "/health")[0] == 200


def test_321_is_healthy_but_fails_the_smoke_transaction_and_changes_nothing(dms_host: str) -> None:
    db = fresh_database("dms_broken")
    migrate("3.1.0", db, "up")
    dms_tool("3.1.0", db, "seed --rows 100")
    migrate("3.2.0", db, "up")
    assert migrate("3.2.1", db, "up")["ran"] == []  # "passes migration": nothing to do
    digests = [table_digest(db, table) for table in ("customers", "vehicles", "work_orders")]
    serve("3.2.1", db)
    status, body = http("GET", "/health")
    assert (status, body["version"], body["db"]) == (200, "3.2.1", "ok")
    status, smoke = http("POST", "/smoke")
    assert status == 500 and smoke["ok"] is False
    assert smoke["step"] == "create work order" and "1054" in smoke["error"]
    assert [
        table_digest(db, table) for table in ("customers", "vehicles", "work_orders")
    ] == digests


# Runs inside the container: N clients read work order 1 at the same moment; the slowest
# answer's seconds and the statuses.
CONCURRENT_READS = """
import json, sys, threading, time, urllib.request
clients = int(sys.argv[1])
answers, start = [], threading.Barrier(clients)
def read():
    start.wait()
    began = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:8080/work-orders/1", timeout=10) as response:
        answers.append((response.status, time.monotonic() - began))
threads = [threading.Thread(target=read) for _ in range(clients)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(json.dumps({"statuses": sorted({s for s, _ in answers}), "slowest_s": max(t for _, t in answers)}))
"""


def concurrent_reads(clients: int) -> dict[str, Any]:
    podman("exec", "-i", CONTAINER, "sh", "-c", "cat > /tmp/reads.py", stdin=CONCURRENT_READS)
    return cast(dict[str, Any], json.loads(sh(f"python3 /tmp/reads.py {clients}").stdout))


def test_322_passes_health_and_smoke_but_queues_work_order_reads(dms_host: str) -> None:
    """3.2.2 (deliberately slow): one read at a time is quick, 10 at once queue one by one.

    Each read holds the work orders' named lock for its transaction and pays 50 ms inside
    it (releases/3.2.2), so the 10th of 10 simultaneous readers waits about 0.5 s, where
    3.2.0 answers all 10 in a fraction of that. Same data as the lab (40 customers).
    """
    db = fresh_database("dms_slow")
    migrate("3.1.0", db, "up")
    dms_tool("3.1.0", db, "seed --rows 40")
    migrate("3.2.0", db, "up")
    serve("3.2.0", db)
    before = concurrent_reads(10)
    assert migrate("3.2.2", db, "up")["ran"] == []  # no migration of its own
    serve("3.2.2", db)
    status, body = http("GET", "/health")
    assert (status, body["version"], body["db"]) == (200, "3.2.2", "ok")
    assert http("POST", "/smoke")[0] == 200
    alone = concurrent_reads(1)
    after = concurrent_reads(10)
    assert before["statuses"] == alone["statuses"] == after["statuses"] == [200]
    assert alone["slowest_s"] < 0.5  # one request alone: quick enough for any check
    assert after["slowest_s"] >= 10 * 0.05 * 0.9  # serialised: 10 x 50 ms, give or take
    assert after["slowest_s"] >= 3 * before["slowest_s"], (before, after)


def test_400_migrates_from_320_and_fills_status_from_existing_rows(dms_host: str) -> None:
    db = fresh_database("dms_v4")
    migrate("3.1.0", db, "up")
    dms_tool("3.1.0", db, "seed --rows 200")
    migrate("3.2.0", db, "up")
    assert migrate("4.0.0", db, "up")["ran"] == ["0003_work_order_status"]
    expected = sql(
        db, "SELECT IF(closed_at IS NULL, 'open', 'closed') s, COUNT(*) FROM work_orders GROUP BY s"
    )
    assert sorted(
        sql(db, "SELECT status, COUNT(*) FROM work_order_status GROUP BY status")
    ) == sorted(expected)
    serve("4.0.0", db)
    assert http("GET", "/health")[1]["schema_version"] == "0003"
    assert http("POST", "/smoke")[0] == 200
    # An older release refuses a schema it does not know; it needs 4.0.0's down path first.
    refused = dms_tool("3.2.0", db, "migrate up", check=False)
    assert refused.returncode == 2 and "does not know" in refused.stderr
    assert migrate("4.0.0", db, "down --to 0002")["ran"] == ["0003_work_order_status"]
    assert migrate("3.2.0", db, "status")["schema_version"] == "0002"


def test_health_is_503_when_the_schema_is_not_the_release_s(dms_host: str) -> None:
    db = fresh_database("dms_mismatch")
    migrate("3.1.0", db, "up")
    serve("3.2.0", db)  # code switched, migration not run
    status, body = http("GET", "/health")
    assert status == 503 and body["db"] == "schema-mismatch" and "needs 0002" in body["reason"]


def poll_while_restarting(restarts: int, unit: str) -> dict[str, Any]:
    """Poll /health at 20 Hz inside the container, from before the first of ``restarts``
    restarts of ``unit`` to after the last."""
    sh(f"rm -f {STOP_FILE}")
    poller = subprocess.Popen(
        ["podman", "exec", CONTAINER, "python3", "/tmp/poll.py", STOP_FILE, "20",
         str(POLL_LIMIT_S), str(REQUEST_TIMEOUT_S)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    pids = []
    time.sleep(0.8)
    for _ in range(restarts):
        sh(f"systemctl reset-failed {unit}; systemctl restart {unit}")
        pids.append(sh(f"systemctl show -p MainPID --value {unit}").stdout.strip())
        time.sleep(0.9)
    sh(f"touch {STOP_FILE}")
    out, _ = poller.communicate(timeout=POLL_LIMIT_S + REQUEST_TIMEOUT_S + 20)
    assert len(set(pids)) == restarts, f"{unit} did not restart each time: {pids}"
    result = cast(dict[str, Any], json.loads(out))
    assert result["stopped"], f"the poller gave up after {POLL_LIMIT_S} s: {result}"
    return result


def test_socket_activation_restarts_refuse_no_connection(dms_host: str) -> None:
    db = fresh_database("dms_socket")
    migrate("3.2.0", db, "up")
    serve("3.2.0", db)
    result = poll_while_restarting(3, "storedms.service")
    assert result["refused"] == 0 and result["other"] == 0 and result["http_error"] == 0, result
    # answered throughout (a count, not a rate: a busy machine answers fewer per second)
    assert result["ok"] >= 20, result


def test_without_the_socket_unit_the_same_restarts_are_refused(dms_host: str) -> None:
    """The control: proves the poller sees refusals, so the zero above means something."""
    db = fresh_database("dms_plain")
    migrate("3.2.0", db, "up")
    serve("3.2.0", db)
    sh(
        "systemctl stop storedms.service storedms.socket;"
        " systemd-run --unit storedms-plain -p User=storedms -p Type=notify"
        " -E PYTHONPATH=/opt/storedms/current -E STOREDMS_CONFIG=/etc/storedms/storedms.conf"
        " /usr/bin/python3 -m storedms.server"
    )
    try:
        result = poll_while_restarting(3, "storedms-plain.service")
        assert result["refused"] > 0, result
    finally:
        sh("systemctl stop storedms-plain.service; systemctl start storedms.socket", check=False)
