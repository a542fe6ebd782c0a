"""The controller's scale curve (bench/run.py `scale`): 2, 50, 200 and 500 stores.

Everything the controller does before it touches a host, on synthetic store groups of the
lab's shape (storeops_lab.synthetic: six hosts per store, a switch and a firewall among
them), each phase timed on its own (median of RUNS runs; one run where a phase takes longer
than SLOW_S, so that 500 stores stay within minutes):

  validate (process)  `storeops validate DIR`, the whole process (interpreter, imports, read,
                      rules), from the repository root
  validate            storeops.validate.validate in this process: every file read, Ansible's
                      view of the hosts and groups, every rule
  ansible-inventory   `ansible-inventory -i DIR --list`, the whole process, from the
                      repository root (ansible.cfg: the constructed role groups, the vault):
                      what every ansible-playbook run pays before its first task
  waves               the DMS rollout's plan of every store: the waves (pilot first), each
                      store's step (storeops.rollout.plan_step) and queue plan, the gate
                      before each wave
  firewall            every host's inbound rules from the zone model and its nftables ruleset
                      rendered from the firewall role's template
  network             every switch's and firewall's zone model (storeops.network.device_model:
                      VLANs, routed interfaces, routes, the ACLs in the platform's syntax)

"planned" is validate + waves + firewall + network, in process; the goal (500 stores
validated and their rollout planned in under GOAL_S) is validate + waves. The linearity
figure of a phase is time(500) / time(50), 10 for a cost that grows linearly with the
stores. CPU seconds (process time) are recorded beside the wall times: the machine is
shared, and wall times move with its load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from firewall import DEFAULTS, renderer  # bench/firewall.py: the nftables template

from storeops.catalog import upgrade_allowed
from storeops.inventory import Inventory, typed_view
from storeops.network import device_model
from storeops.paths import ROLES_DIR
from storeops.rollout import Step, plan_step, queue_plan, wave_gate, waves
from storeops.schema import Release, Role
from storeops.validate import LAB_VAULT_ID, validate
from storeops.yamlfiles import VaultPasswords
from storeops.zones import inbound_rules
from storeops_lab.synthetic import generate

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LAB_PASSWORD = REPO / "lab" / "vault-password.txt"
STORE_COUNTS = (2, 50, 200, 500)
RUNS = 3
SLOW_S = 15.0  # a whole-process phase slower than this is run once
GOAL_S = 5.0
GOAL_STORES = 500
PLANNED_PHASES = ("validate", "waves", "firewall", "network")
QUEUE_LIMIT_S = 4.0  # the dms_rollout role's default queue limit and restart time
RESTART_S = 1.0

T = TypeVar("T")


# ---------------------------------------------------------------------------- timing


def in_process(action: Callable[[], T], runs: int = RUNS) -> tuple[float, float, T]:
    """Median wall and CPU seconds of ``runs`` calls, and the last call's result."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.monotonic(), time.process_time()
        result = action()
        walls.append(time.monotonic() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def whole_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU (user + system of the child) seconds of the command; one run when
    the first takes longer than SLOW_S."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = os.times()
        started = time.monotonic()
        subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.monotonic() - started)
        after = os.times()
        cpus.append(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
        if walls[0] > SLOW_S:
            break
    return statistics.median(walls), statistics.median(cpus)


def this_checkout_env() -> dict[str, str]:
    """The environment that makes a child process import this checkout's storeops."""
    paths = [str(REPO / "modules"), str(REPO / "lab"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


# ---------------------------------------------------------------------------- the phases


def upgrade_source(catalog: list[Release], target: str) -> str:
    """A release a store may upgrade to ``target`` from (the plan of a real upgrade)."""
    for release in catalog:
        if release.version != target and upgrade_allowed(catalog, release.version, target)[0]:
            return release.version
    return target  # nothing upgrades to it: the store is planned as already on it


def plan_rollout(inventory: Inventory) -> list[Step]:
    """The rollout's plan of every store: waves, step, queue plan and each wave's gate."""
    catalog = inventory.group.dms_catalog
    records = [{"code": s.code, "pilot": s.pilot} for s in inventory.stores.values()]
    plan = waves(records, inventory.group.dms_wave_size)
    steps = []
    for store in inventory.stores.values():
        target = store.dms_target_version
        step = plan_step(catalog, upgrade_source(catalog, target), target)
        release = next((r for r in catalog if r.version == step.to_version), None)
        if step.action == "upgrade" and release is not None:
            queue_plan(release, {}, QUEUE_LIMIT_S, RESTART_S, maintenance_page=False)
        steps.append(step)
    outcomes = {code: "upgraded" for wave in plan for code in wave}
    pilots = [store.code for store in inventory.stores.values() if store.pilot]
    gates = [wave_gate(plan, index, outcomes, pilots) for index in range(len(plan))]
    if any(gates):
        raise RuntimeError(f"a wave is held with every store upgraded: {gates}")
    return steps


def firewall_rulesets(inventory: Inventory) -> int:
    """Every host's inbound rules and nftables ruleset; the rulesets' total bytes."""
    template = renderer()
    total = 0
    for host in inventory.hosts.values():
        rules = [rule.as_vars() for rule in inbound_rules(inventory, host)]
        text = template.render(
            inventory_hostname=host.name, firewall_inbound_rules=rules, **DEFAULTS
        )
        total += len(text.encode())
    return total


def device_models(inventory: Inventory) -> int:
    """Every switch's and firewall's zone model; the ACL configurations' total lines."""
    devices = [*inventory.hosts_with_role(Role.SWITCH), *inventory.hosts_with_role(Role.FIREWALL)]
    return sum(device_model(inventory, host)["acl_config"].count("\n") for host in devices)


# ---------------------------------------------------------------------------- one size


def measure_size(stores: int, scratch: Path) -> dict[str, float]:
    """Every phase for a synthetic group of ``stores`` stores: seconds (wall, CPU), sizes."""
    root = generate(stores, scratch / f"group-{stores}")
    env = this_checkout_env()
    figures: dict[str, float] = {}

    def record(phase: str, wall: float, cpu: float) -> None:
        figures[f"{phase}_s_{stores}"] = round(wall, 3)
        figures[f"{phase}_cpu_s_{stores}"] = round(cpu, 3)

    command = [sys.executable, "-m", "storeops.cli", "validate", str(root)]
    record("validate_process", *whole_process(command, env))
    passwords = VaultPasswords.from_files([LAB_PASSWORD], LAB_VAULT_ID)  # as ansible.cfg does
    playbooks = [ROLES_DIR.parent / "playbooks"]
    wall, cpu, raw = in_process(lambda: validate(root, passwords, ROLES_DIR, playbooks=playbooks))
    if raw.issues:
        raise RuntimeError(f"the synthetic group of {stores} stores is invalid: {raw.issues[:3]}")
    record("validate", wall, cpu)
    inventory = typed_view(raw)
    listing = [str(BIN / "ansible-inventory"), "-i", str(root), "--list"]
    record("ansible_inventory", *whole_process(listing, env))
    wall, cpu, _ = in_process(lambda: plan_rollout(inventory))
    record("waves", wall, cpu)
    wall, cpu, size = in_process(lambda: firewall_rulesets(inventory))
    record("firewall", wall, cpu)
    figures[f"ruleset_bytes_{stores}"] = size
    wall, cpu, lines = in_process(lambda: device_models(inventory))
    record("network", wall, cpu)
    figures[f"acl_lines_{stores}"] = lines
    figures[f"hosts_{stores}"] = len(inventory.hosts)
    for kind in ("s", "cpu_s"):
        planned = sum(figures[f"{phase}_{kind}_{stores}"] for phase in PLANNED_PHASES)
        figures[f"planned_{kind}_{stores}"] = round(planned, 3)
    return figures


# ---------------------------------------------------------------------------- the curve

PHASES = (
    ("validate_process", "`storeops validate` (process)"),
    ("validate", "validate (in process)"),
    ("ansible_inventory", "`ansible-inventory --list` (process)"),
    ("waves", "wave planning"),
    ("firewall", "firewall rules + rulesets"),
    ("network", "device models + ACLs"),
    ("planned", "validate + waves + firewall + device models (in process)"),
)


def curve(figures: dict[str, Any]) -> str:
    """The curve as text: seconds per phase per N, per store, and time(500) / time(50)."""
    counts = [n for n in STORE_COUNTS if f"validate_s_{n}" in figures]
    header = f"{'phase':40}" + "".join(f"{n:>10}" for n in counts) + "   ms/store  500/50"
    lines = [header]
    for key, label in PHASES:
        seconds = [figures[f"{key}_s_{n}"] for n in counts]
        per_store = 1000 * seconds[-1] / counts[-1]
        ratio = figures.get(f"{key}_linearity", float("nan"))
        lines.append(
            f"{label:40}"
            + "".join(f"{s:10.2f}" for s in seconds)
            + f"{per_store:11.1f}{ratio:8.1f}"
        )
    return "\n".join(lines)


def scale(runs: int) -> dict[str, float]:
    """The curve at STORE_COUNTS (``runs``: unused, each phase picks its own, see RUNS)."""
    del runs
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="storeops-bench-scale-") as scratch:
        for stores in STORE_COUNTS:
            print(f"bench scale: {stores} stores...", flush=True)
            figures.update(measure_size(stores, Path(scratch)))
    low, high = 50, GOAL_STORES
    for key, _label in PHASES:
        figures[f"{key}_linearity"] = round(
            figures[f"{key}_s_{high}"] / figures[f"{key}_s_{low}"], 1
        )
        figures[f"{key}_cpu_linearity"] = round(
            figures[f"{key}_cpu_s_{high}"] / figures[f"{key}_cpu_s_{low}"], 1
        )
    print(curve(figures), flush=True)
    return figures


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 0.1 else f"{value:.2f} s"


def rows(f: dict[str, float]) -> list[str]:
    """The README's rows: one per phase, seconds at each size, and the linearity figure;
    then validation with wave planning alone, the goal's figure (under GOAL_S at 500)."""
    figures = dict(f)
    for n in STORE_COUNTS:
        figures[f"validated_waves_s_{n}"] = f[f"validate_s_{n}"] + f[f"waves_s_{n}"]
    figures["validated_waves_linearity"] = (
        figures[f"validated_waves_s_{GOAL_STORES}"] / figures["validated_waves_s_50"]
    )
    result = []
    for key, label in (*PHASES, ("validated_waves", "validate + wave planning (in process)")):
        sizes = ", ".join(f"{n}: {_seconds(figures[f'{key}_s_{n}'])}" for n in STORE_COUNTS)
        result.append(
            f"| scale: {label}, N stores of 6 hosts | "
            f"{sizes}; 500/50 = **{figures[f'{key}_linearity']:.1f}** (10 = linear) |"
        )
    return result


if __name__ == "__main__":
    print(scale(RUNS))
