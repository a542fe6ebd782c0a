"""Network device automation measurements (bench/run.py `network`).

Everything runs against the lab's emulated devices (storeops_lab.devices), started in the
bench process on free 127.0.0.1 ports, and through the real modules (library/net_backup.py,
library/net_config.py) with ``ansible-playbook`` run from the repository root, so that
ansible.cfg's library and module_utils paths and its forks (20) apply: one play, one host
per device, ``ansible_connection=local``, the venv's python as interpreter, results read
back through the ``ansible.posix.json`` stdout callback (instead of the repo's
profile_tasks text) to count what changed and what failed (storeops_lab.devices.playbook,
which tests/emulated use too).

1. net_backup of N devices (N = 2, 20, 100; every other one Cisco IOS, the rest Huawei
   VRP) into a fresh git repository: the first run (reads and commits every device) and
   the no-op second run (reads every device, commits nothing); whole-process wall time
   of ansible-playbook and devices per second.
2. A large Cisco IOS configuration (the emulator's initial switch configuration plus
   1,000 VLANs with names and a 500-entry extended ACL: over 2,500 configuration lines)
   and an intended configuration that differs from it in a few dozen lines (VLANs
   renamed, removed and added, ACL entries changed and appended): hier_config's
   remediation alone (net_config's own ``remediation`` function, loaded from library/),
   and the full net_config run on the emulator (read, remediate, push, save, re-read and
   verify), then the no-op second run.
3. For that change, the lines net_config sends (its ``remediation`` return, checked
   against the emulator's log of configuration-mode commands) against the lines a full
   replace would send (every configuration line of the intended configuration).
"""

from __future__ import annotations

import configparser
import difflib
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from storeops_lab.devices import playbook
from storeops_lab.devices.cisco_ios import CiscoIos
from storeops_lab.devices.playbook import PlayRun, run_play
from storeops_lab.devices.start import DeviceHandle, start_device

REPO = Path(__file__).resolve().parents[1]
USER = "admin"
PASSWORD = "Bench-Passw0rd-5120"
DEVICE_COUNTS = (2, 20, 100)
PLATFORM_MIX = ("cisco_ios", "huawei_vrp")  # device i runs PLATFORM_MIX[i % 2]
PLAYBOOK_TIMEOUT = 1800
MIN_REPEATS = 5  # in-process timings (the remediation alone) are repeated at least this often

# The large configuration and its change.
LARGE_NAME = "bn-core1"
VLANS = range(100, 1100)  # 1,000 VLANs: "vlan N" / " name ..."
ACL_NAME = "BENCH-BIG-IN"
ACL_ENTRIES = 500
RENAMED_VLANS = range(200, 210)
REMOVED_VLANS = range(300, 310)
ADDED_VLANS = range(2000, 2010)
CHANGED_ENTRIES = (50, 150, 250, 350, 450)  # permit -> deny
APPENDED_ENTRIES = 5
ARCHIVE = "archive\n path flash:storeops-rollback\n maximum 5\n"
REVERT_MINUTES = 10  # the role's default

LOGIN = {**playbook.LOGIN, "timeout": 30}


# ---------------------------------------------------------------------------- plumbing


def load_net_config() -> ModuleType:
    """library/net_config.py as a module (its module_utils import made to resolve)."""
    utils = "ansible.module_utils.storeops_net"
    if utils not in sys.modules:
        _load(utils, REPO / "module_utils" / "storeops_net.py")
    return _load("storeops_bench_net_config", REPO / "library" / "net_config.py")


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def repo_forks() -> int:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    parser.read(REPO / "ansible.cfg")
    return parser.getint("defaults", "forks", fallback=5)


def host_vars(handle: DeviceHandle, **extra: Any) -> dict[str, Any]:
    return playbook.host_vars(handle, PASSWORD, **extra)


def play(directory: Path, hosts: dict[str, dict[str, Any]], tasks: list[dict[str, Any]]) -> PlayRun:
    """Run ``tasks`` on ``hosts``: per-task results and the whole process's wall time."""
    return run_play(directory, hosts, tasks, user="bench", timeout=PLAYBOOK_TIMEOUT)


@contextmanager
def devices(platforms: list[str], state_dir: Path) -> Iterator[list[DeviceHandle]]:
    """Emulated devices on free ports, stopped on the way out (even on an error)."""
    handles: list[DeviceHandle] = []
    try:
        for number, platform in enumerate(platforms, 1):
            kind = "sw1" if platform == "cisco_ios" else "fw1"
            handles.append(
                start_device(f"bn{number:03d}-{kind}", platform, 0, USER, PASSWORD, state_dir)
            )
        yield handles
    finally:
        for handle in handles:
            handle.stop()


def count(results: dict[str, dict[str, Any]], key: str) -> int:
    return sum(1 for result in results.values() if result.get(key))


# ---------------------------------------------------------------------------- 1. backups


def backups(runs: int) -> dict[str, float]:
    """net_backup of 2 / 20 / 100 devices: first run (commits) and no-op second run."""
    figures: dict[str, float] = {"forks": repo_forks()}
    for total in DEVICE_COUNTS:
        platforms = [PLATFORM_MIX[i % len(PLATFORM_MIX)] for i in range(total)]
        firsts: list[float] = []
        seconds: list[float] = []
        with tempfile.TemporaryDirectory(prefix="storeops-bench-net-") as scratch:
            root = Path(scratch)
            with devices(platforms, root / "state") as handles:
                figures[f"backup_start_s_{total}"] = round(
                    sum(h.startup_seconds for h in handles), 2
                )
                hosts = {h.name: host_vars(h) for h in handles}
                for run in range(runs):
                    repo = root / f"backups-{run}"
                    task = {
                        "name": "backup",
                        "net_backup": {**LOGIN, "name": "{{ net_name }}", "repo": str(repo)},
                    }
                    first, second = play(root, hosts, [task]), play(root, hosts, [task])
                    firsts.append(first.seconds)
                    seconds.append(second.seconds)
                    commits = len(
                        subprocess.run(
                            ["git", "-C", str(repo), "log", "--oneline"],
                            capture_output=True,
                            text=True,
                            check=False,
                        ).stdout.splitlines()
                    )
        first_s, second_s = statistics.median(firsts), statistics.median(seconds)
        figures |= {
            f"backup_first_s_{total}": round(first_s, 2),
            f"backup_noop_s_{total}": round(second_s, 2),
            f"backup_first_per_s_{total}": round(total / first_s, 2),
            f"backup_noop_per_s_{total}": round(total / second_s, 2),
            # the last run's outcome: every device committed once, nothing on the re-run
            f"backup_first_changed_{total}": count(first.results["backup"], "changed"),
            f"backup_first_failed_{total}": count(first.results["backup"], "failed"),
            f"backup_noop_changed_{total}": count(second.results["backup"], "changed"),
            f"backup_noop_failed_{total}": count(second.results["backup"], "failed"),
            f"backup_commits_{total}": commits,
        }
    figures["backup_runs"] = runs
    return figures


# ---------------------------------------------------------------------------- 2./3. large config


def large_config() -> str:
    """The IOS initial switch configuration with 1,000 named VLANs and a 500-entry ACL."""
    base = CiscoIos().initial_config(LARGE_NAME, USER, PASSWORD, None)
    vlans = "".join(f"vlan {n}\n name STORE-{n}\n" for n in VLANS)
    acl = f"ip access-list extended {ACL_NAME}\n" + "".join(
        f" {_entry(i)}\n" for i in range(ACL_ENTRIES)
    )
    anchor_vlans, anchor_acl = "vlan 40\n name OFFICE\n", "ip forward-protocol nd\n"
    anchor_archive = "no aaa new-model\n"  # the archive the revert timer's checkpoint needs
    if any(anchor not in base for anchor in (anchor_vlans, anchor_acl, anchor_archive)):
        raise RuntimeError("the IOS initial configuration changed: update bench/network.py")
    return (
        base.replace(anchor_vlans, anchor_vlans + vlans)
        .replace(anchor_acl, anchor_acl + acl)
        .replace(anchor_archive, anchor_archive + ARCHIVE)
    )


def _entry(index: int, action: str = "permit") -> str:
    return f"{action} tcp host 10.20.{index // 250}.{index % 250 + 1} any eq 8443"


def intended_from(running: str) -> str:
    """``running`` (as the device prints it) with a few dozen lines changed."""
    edits = [
        (f"vlan {n}\n name STORE-{n}\n", f"vlan {n}\n name RENAMED-{n}\n") for n in RENAMED_VLANS
    ]
    edits += [(f"vlan {n}\n name STORE-{n}\n!\n", "") for n in REMOVED_VLANS]
    last_vlan = f"vlan {VLANS[-1]}\n name STORE-{VLANS[-1]}\n!\n"
    added = "".join(f"vlan {n}\n name NEW-{n}\n!\n" for n in ADDED_VLANS)
    edits.append((last_vlan, last_vlan + added))
    edits += [(f" {_entry(i)}\n", f" {_entry(i, 'deny')}\n") for i in CHANGED_ENTRIES]
    last_entry = f" {_entry(ACL_ENTRIES - 1)}\n"
    appended = "".join(
        f" permit udp host 10.30.0.{k} any eq 5353\n" for k in range(1, APPENDED_ENTRIES + 1)
    )
    edits.append((last_entry, last_entry + appended))
    text = running
    for old, new in edits:
        if text.count(old) != 1:
            raise RuntimeError(f"the large configuration has {text.count(old)} of {old!r}")
        text = text.replace(old, new)
    return text


def config_lines(net_config: ModuleType, text: str) -> list[str]:
    """The configuration lines of an IOS text: what a full replace sends (no ``!``, no header)."""
    stripped: str = net_config.strip_volatile("cisco_ios", text)
    return [
        line
        for line in stripped.splitlines()
        if line.strip() and not line.lstrip().startswith("!") and line.strip() != "end"
    ]


def show_running(handle: DeviceHandle) -> str:
    """The running configuration, read on a CLI session of the device (no SSH)."""
    session = handle.device.open_session(USER)
    session.execute("enable", lambda question, echo: "")
    return session.execute("show running-config", lambda question, echo: "").output


def remediation_alone(net_config: ModuleType, running: str, intended: str, runs: int) -> float:
    """net_config's remediation: hier_config plus the make-before-break ordering pass."""
    times = []
    for _ in range(max(runs, MIN_REPEATS)):
        started = time.monotonic()
        net_config.remediation("cisco_ios", running, intended)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def hier_config_alone(running: str, intended: str, runs: int) -> float:
    """hier_config's remediation without the ordering pass (the texts prepared alike)."""
    from hier_config import WorkflowRemediation

    net = sys.modules["ansible.module_utils.storeops_net"]
    times = []
    for _ in range(max(runs, MIN_REPEATS)):
        started = time.monotonic()
        before, after = net._parse("cisco_ios", running), net._parse("cisco_ios", intended)
        list(WorkflowRemediation(before, after).remediation_config.dump_simple())
        times.append(time.monotonic() - started)
    return statistics.median(times)


def push_large(
    root: Path, initial: str, revert_minutes: int, net_config: ModuleType, figures: dict[str, float]
) -> tuple[float, float, dict[str, Any], list[str]]:
    """The large change on a fresh emulated switch: push and no-op times, the push's result
    and the configuration-mode commands the device received."""
    handle = start_device(
        LARGE_NAME, "cisco_ios", 0, USER, PASSWORD, root / "state", initial_config=initial
    )
    try:
        running = show_running(handle)
        intended = intended_from(running)
        if not figures:
            figures |= describe_change(net_config, running, intended, MIN_REPEATS)
        hosts = {LARGE_NAME: host_vars(handle, net_intended=intended)}
        task = {
            "net_config": {
                **LOGIN,
                "intended": "{{ net_intended }}",
                "revert_minutes": revert_minutes,
            }
        }
        first = play(root, hosts, [{"name": "push", **task}])
        sent = [r.command for r in handle.device.config_commands()]
        second = play(root, hosts, [{"name": "again", **task}])
    finally:
        handle.stop()
    pushed, again = first.results["push"][LARGE_NAME], second.results["again"][LARGE_NAME]
    if pushed.get("failed") or again.get("failed") or again.get("changed"):
        raise RuntimeError(f"net_config failed: {pushed.get('msg')} {again.get('msg')}")
    return first.seconds, second.seconds, pushed, sent


def large_remediation(runs: int) -> dict[str, float]:
    """The large change pushed without the device's revert, then with it (armed, confirmed
    over a new login, saved after): the time the safety net adds per device."""
    net_config = load_net_config()
    initial = large_config()
    plain: list[float] = []
    armed: list[float] = []
    noops: list[float] = []
    figures: dict[str, float] = {}
    for _ in range(runs):
        for minutes, times in ((0, plain), (REVERT_MINUTES, armed)):
            with tempfile.TemporaryDirectory(prefix="storeops-bench-net-") as scratch:
                push_s, noop_s, pushed, sent = push_large(
                    Path(scratch), initial, minutes, net_config, figures
                )
            times.append(push_s)
            if not minutes:
                noops.append(noop_s)
                plain_result, plain_sent = pushed, sent
            elif pushed["safety_net"] != "confirmed":
                raise RuntimeError(f"the revert was not confirmed: {pushed}")
    full_replace = figures["large_config_lines"]
    push_s, armed_s = statistics.median(plain), statistics.median(armed)
    figures |= {
        "net_config_push_s": round(push_s, 2),
        "net_config_noop_s": round(statistics.median(noops), 2),
        "net_config_armed_push_s": round(armed_s, 2),
        "safety_net_added_s": round(armed_s - push_s, 2),
        "safety_net_over_plain": round(armed_s / push_s, 2),
        "net_config_changed": int(bool(plain_result["changed"])),
        "net_config_passes": plain_result["passes"],
        "remediation_lines_sent": len(plain_result["remediation"]),
        # everything typed in configuration mode, "configure terminal" and "end" included
        "config_mode_commands": len(plain_sent),
        "device_log_matches": int(plain_sent[1:-1] == plain_result["remediation"]),
        "full_replace_lines": full_replace,
        "full_replace_over_remediation": round(full_replace / len(plain_result["remediation"]), 1),
        "net_config_runs": runs,
    }
    return figures


def describe_change(
    net_config: ModuleType, running: str, intended: str, runs: int
) -> dict[str, float]:
    """Size of the configuration, of the change, and the remediation's own time."""
    before, after = config_lines(net_config, running), config_lines(net_config, intended)
    differing = sum(
        1
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    lines = net_config.remediation("cisco_ios", running, intended)[0]
    unordered_s = hier_config_alone(running, intended, runs)
    ordered_s = remediation_alone(net_config, running, intended, runs)
    return {
        "large_config_lines": len(after),
        "large_config_bytes": len(intended.encode()),
        "large_running_lines": len(before),
        "large_differing_lines": differing,
        "remediation_lines": len(lines),
        "remediation_alone_s": round(ordered_s, 3),
        "remediation_unordered_s": round(unordered_s, 3),
        "ordering_over_unordered": round(ordered_s / unordered_s, 2),
    }


# ---------------------------------------------------------------------------- entry point


def network(runs: int) -> dict[str, float]:
    return {**backups(runs), **large_remediation(runs)}
