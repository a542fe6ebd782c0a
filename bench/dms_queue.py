"""The DMS's clients during an upgrade with a data migration (bench/run.py `dms-queue`).

One run on the lab. At each data size (the lab's 40 customers times 1, 10, 100, then
sizes where the migration takes seconds), the three ways of upgrading both stores from
3.1.0 to 3.2.0 (0002 rewrites every customer row) take turns:

  rollout      upgrade-dms.yml: dms_switch holds new clients in the socket's queue while
               the old release stops, the migration runs and the new release starts
  maintenance  upgrade-dms.yml with dms_rollout_maintenance_page=true: the old release
               answers 503 while the migration runs (how every rollout did it before)
  naive        by hand: stop the socket and the service, unpack, migrate, relink, start

The stores' clients ask GET /health with a workshop tablet's 5 s timeout, sh01 at 10 Hz
and hz01 at 100 Hz; failed requests (refused, timed out, not 200) and the longest answer
are counted over the whole upgrade. Between two turns the stores go back to 3.1.0 with
3.2.0's own down migration (the data stays). The acceptance gate is off: this measures
the switch. At each size the plan's bound (storeops.rollout.queue_plan, the catalog's
estimate on the store's rows, limit 4 s) says whether a default rollout would have been
refused at plan time; the rollout turn runs with the limit lifted, to see what the
clients would have seen.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import yaml
from dms import REPO, STORES, naive_upgrade, playbook, wait_healthy

from storeops.catalog import find
from storeops.rollout import queue_plan
from storeops.schema import Release
from storeops_lab.clients import Client, clients
from storeops_lab.plan import NAME_PREFIX
from storeops_lab.rehearsal import reset_dms

LAB_ROWS = 40
SIZES = (1, 10, 100, 5_000, 15_000)  # times the lab's customers: 40 ... 600,000
RATES = {"sh01": 10.0, "hz01": 100.0}
TIMEOUT_S = 5.0
QUEUE_LIMIT_S = 4.0  # dms_rollout_queue_limit's default
RESTART_S = 1.0  # dms_rollout_restart_seconds' default
METHODS = ("rollout", "maintenance", "naive")
RELEASE_DIR = "/opt/storedms/releases"
CONFIG = "/etc/storedms/storedms.conf"


def on(host: str, *argv: str) -> str:
    done = subprocess.run(
        ["podman", "exec", f"{NAME_PREFIX}{host}", *argv],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def dms_tool(store: str, release: str, *argv: str) -> str:
    """python3 -m <argv> with release ``release``'s code on the store's DMS host."""
    path = f"{RELEASE_DIR}/{release}"
    return on(f"{store}-dms", "env", f"PYTHONPATH={path}", "python3", "-m", *argv)


def seed(store: str, rows: int) -> None:
    if rows > 0:
        dms_tool(store, "3.1.0", "storedms.seed", "--config", CONFIG, "--rows", str(rows))


def customers(store: str) -> int:
    out = on(f"{store}-db", "mariadb", "-N", "-e", "SELECT COUNT(*) FROM storedms.customers")
    return int(out.strip())


def back_to_3_1_0(store: str) -> None:
    """3.2.0's down migration (the data stays), current back to 3.1.0, started again."""
    host = f"{store}-dms"
    on(host, "systemctl", "stop", "storedms.socket", "storedms.service")
    dms_tool(store, "3.2.0", "storedms.migrate", "--config", CONFIG, "down", "--to", "0001")
    on(host, "ln", "-sfn", "releases/3.1.0", "/opt/storedms/current")
    on(host, "systemctl", "start", "storedms.socket", "storedms.service")
    wait_healthy(store)


def upgrade(method: str, scratch: Path) -> None:
    """Both stores 3.1.0 -> 3.2.0, the ``method`` way."""
    if method == "naive":
        for store in STORES:  # one after the other, as the rollout's waves do
            naive_upgrade(store, "3.2.0")
            wait_healthy(store)
        return
    extra = ["-e", f"dms_rollout_controller_log={scratch}/dms-rollouts.jsonl"]
    extra += ["-e", "dms_rollout_acceptance_gate=false", "-e", "dms_rollout_queue_limit=600"]
    if method == "maintenance":
        extra += ["-e", "dms_rollout_maintenance_page=true"]
    playbook("playbooks/upgrade-dms.yml", *extra)


def plan_at(rows: int) -> dict[str, object]:
    """What the rollout's plan says of 3.2.0 on a store with ``rows`` customers."""
    catalog_file = REPO / "inventory" / "lab" / "group_vars" / "all" / "dms_catalog.yml"
    entries = yaml.safe_load(catalog_file.read_text())["dms_catalog"]
    release = find([Release.model_validate(e) for e in entries], "3.2.0")
    assert release is not None
    plan, refusal = queue_plan(release, {"customers": rows}, QUEUE_LIMIT_S, RESTART_S, False)
    return {"expected_s": plan.expected_s, "refused": bool(refusal)}


def figures(prefix: str, client: Client) -> dict[str, float]:
    """``<prefix>_failed``, ``_requests``, ``_longest_s``; the outcomes are printed."""
    print(f"  {prefix}: {client.summary()}", flush=True)
    return {
        f"{prefix}_failed": client.failed,
        f"{prefix}_requests": len(client.answers),
        f"{prefix}_longest_s": client.longest_s,
    }


def dms_queue(runs: int) -> dict[str, float]:
    """Every size, every method in turn; ``runs`` is 1 (each turn needs the last).
    Keys: x<size>_rows, x<size>_plan_expected_s, x<size>_plan_refused, and per method
    and store x<size>_<method>_<store>_failed / _requests / _longest_s."""
    playbook("playbooks/mariadb.yml")
    for store in STORES:
        reset_dms(store)
    playbook("playbooks/lab-baseline.yml", "--skip-tags", "mariadb")
    results: dict[str, float] = {"runs": runs, "timeout_s": TIMEOUT_S}
    urls = {store: f"http://{address}:8080/health" for store, address in STORES.items()}
    with tempfile.TemporaryDirectory(prefix="storeops-bench-") as scratch:
        for size in SIZES:
            for store in STORES:
                seed(store, size * LAB_ROWS - customers(store))
            rows = customers("sh01")
            plan = plan_at(rows)
            results[f"x{size}_rows"] = rows
            results[f"x{size}_plan_expected_s"] = float(str(plan["expected_s"]))
            results[f"x{size}_plan_refused"] = float(bool(plan["refused"]))
            print(f"dms-queue x{size}: {rows} customers, plan {plan}", flush=True)
            for method in METHODS:
                with clients(urls, hz=RATES, timeout=TIMEOUT_S) as running:
                    upgrade(method, Path(scratch))
                for store, client in running.items():
                    results.update(figures(f"x{size}_{method}_{store}", client))
                for store in STORES:
                    back_to_3_1_0(store)
    return results
