"""Host firewall measurements (bench/run.py `firewall`).

1. Render only, no lab: inventories of 1, 10 and 50 stores (each a copy of the lab store
   sh01 with its own code and network): how long the controller takes to load and
   validate the inventory and compute every host's inbound rules, and the largest
   rendered ruleset of a host (accept rules, bytes). Flows resolve inside one store, so a
   host's ruleset should not grow with the group.
2. On the running lab: wall time of playbooks/firewall.yml when every host's ruleset
   changes (one more flow in a copy of the inventory), against a run that changes nothing;
   then the lab's own flows are put back.
3. On the running lab: from the moment a ruleset that locks the controller out is live on
   a host to the moment the host has put the previous table back by itself (bounded by
   firewall_confirm_timeout), polled every 0.2 s through podman.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jinja2
import yaml
from ansible.plugins.filter.core import regex_replace

from storeops import quoting
from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY
from storeops.roles import role_defaults
from storeops.validate import load_valid
from storeops.zones import inbound_rules
from storeops_lab.rehearsal import copy_lab_inventory
from storeops_lab.traffic import live_table, lockout_vars

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ROLE = REPO / "roles" / "firewall"
DEFAULTS = role_defaults("firewall")
TEMPLATE = "etc/nftables.conf.j2"
STORE_COUNTS = (1, 10, 50)
TEMPLATE_STORE = "sh01"
CUT_HOST = "sh01-backup"
CUT_TIMEOUT = 10
EXTRA_FLOW = """  - name: bench-extra
    from: [office]
    to: [all]
    services: [tcp/9100]
    description: a flow added by the benchmark so that every host's ruleset changes
"""


# ---------------------------------------------------------------------------- render only


def group_of(stores: int, directory: Path) -> Path:
    """inventory/lab with its stores replaced by ``stores`` copies of sh01 (bn01, bn02, ...)."""
    target = directory / f"group-{stores}"
    shutil.copytree(LAB_INVENTORY, target)
    source = target / "group_vars" / f"store_{TEMPLATE_STORE}"
    hosts: dict[str, dict[str, object]] = {}
    lab_hosts = yaml.safe_load((LAB_INVENTORY / "hosts.yml").read_text(encoding="utf-8"))
    template_hosts = lab_hosts["all"]["children"]["stores"]["children"][f"store_{TEMPLATE_STORE}"]
    for number in range(1, stores + 1):
        code, octet = f"bn{number:02d}", str(number)
        store_dir = target / "group_vars" / f"store_{code}"
        shutil.copytree(source, store_dir)
        store_file = store_dir / "store.yml"
        text = store_file.read_text(encoding="utf-8").replace("10.77.1.", f"10.77.{octet}.")
        store_file.write_text(text.replace(f"code: {TEMPLATE_STORE}", f"code: {code}"))
        hosts[f"store_{code}"] = {
            "hosts": {
                name.replace(TEMPLATE_STORE, code): {
                    **entry,
                    "ansible_host": entry["ansible_host"].replace("10.77.1.", f"10.77.{octet}."),
                }
                for name, entry in template_hosts["hosts"].items()
            }
        }
    for old in ("sh01", "hz01"):
        shutil.rmtree(target / "group_vars" / f"store_{old}")
    document = {"all": {"children": {"stores": {"children": hosts}}}}
    (target / "hosts.yml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def renderer() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["regex_replace"] = regex_replace
    environment.filters.update(quoting.FILTERS)  # the role's quoting filters (filter_plugins/)
    return environment.get_template(TEMPLATE)


def render_sizes(inventory: Inventory) -> tuple[float, int, int]:
    """Seconds to compute every host's rules; the largest ruleset's accept rules and bytes."""
    template = renderer()
    started = time.monotonic()
    per_host = {host.name: inbound_rules(inventory, host) for host in inventory.hosts.values()}
    computed = time.monotonic() - started
    rules = bytes_ = 0
    for name, host_rules in per_host.items():
        text = template.render(
            inventory_hostname=name,
            firewall_inbound_rules=[rule.as_vars() for rule in host_rules],
            **DEFAULTS,
        )
        rules = max(rules, text.count("accept comment"))
        bytes_ = max(bytes_, len(text.encode()))
    return computed, rules, bytes_


def render_only() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="storeops-bench-fw-") as scratch:
        for stores in STORE_COUNTS:
            root = group_of(stores, Path(scratch))
            started = time.monotonic()
            inventory = load_valid(root)
            loaded = time.monotonic() - started
            computed, rules, size = render_sizes(inventory)
            figures[f"hosts_{stores}"] = len(inventory.hosts)
            figures[f"load_s_{stores}"] = round(loaded, 2)
            figures[f"rules_s_{stores}"] = round(computed, 3)
            figures[f"max_rules_{stores}"] = rules
            figures[f"max_bytes_{stores}"] = size
    return figures


# ---------------------------------------------------------------------------- on the lab


def playbook(*args: str) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "playbooks/firewall.yml", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return round(time.monotonic() - started, 1), done.stdout


def apply_times() -> dict[str, float]:
    """A changed ruleset on every lab host vs a run that changes nothing."""
    playbook()  # the lab's own flows, so that the next run is the no-op
    noop, _ = playbook()
    with tempfile.TemporaryDirectory(prefix="storeops-bench-fw-") as scratch:
        inventory = copy_lab_inventory(Path(scratch))
        flows = inventory / "group_vars" / "all" / "flows.yml"
        flows.write_text(flows.read_text(encoding="utf-8") + EXTRA_FLOW, encoding="utf-8")
        changed, _ = playbook("-i", str(inventory))
    restored, _ = playbook()
    return {"apply_changed_s": changed, "apply_noop_s": noop, "apply_restore_s": restored}


def revert_time() -> dict[str, float]:
    """Seconds from the lock-out ruleset going live to the host's own revert."""
    lab = load_valid(LAB_INVENTORY)
    host, table = lab.hosts[CUT_HOST], DEFAULTS["firewall_table"]
    confirmed = live_table(host, table)
    extra = lockout_vars(lab, host, CUT_TIMEOUT)
    seen: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            current = live_table(host, table)
            now = time.monotonic()
            if current != confirmed and "cut" not in seen:
                seen["cut"] = now
            if current == confirmed and "cut" in seen:
                seen["back"] = now
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    playbook("--limit", CUT_HOST, "-e", json.dumps(extra))
    watcher.join(timeout=CUT_TIMEOUT + 60)
    stop.set()
    playbook("--limit", CUT_HOST)  # reachable again: load the confirmed table as the run's own
    if "back" not in seen:
        raise RuntimeError(f"{CUT_HOST}: no revert seen within {CUT_TIMEOUT + 60} s")
    return {
        "revert_after_s": round(seen["back"] - seen["cut"], 1),
        "revert_confirm_timeout_s": CUT_TIMEOUT,
    }


def firewall(runs: int) -> dict[str, float]:
    del runs  # one run: the lab parts change the lab
    return {**render_only(), **apply_times(), **revert_time()}
