"""playbooks/patch.yml on the lab: real packages from the lab's signed apt repository.

The lab repository (lab/aptrepo) holds storeops-lab-agent and storeops-lab-kernel at 1.0
(suite lab) and 1.1 (lab-security: a security update; the kernel's asks for a reboot), and
storedms-runtime at 1.0 (lab) and 2.0 (lab-updates: the DMS answers 503 on it; the
catalog pins it at 1.*). Every test starts from the packages at 1.0 (the `packages_at_1_0`
fixture puts them back through podman). State is read on the hosts through podman, never
through the playbook under test.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from storeops.inventory import Inventory
from storeops_lab.rehearsal import (
    DMS_RUNTIME,
    PATCH_STATE_FILE,
    copy_lab_inventory,
    lab_package_versions,
    reset_patch_level,
    run_on,
    set_window,
    started_at,
)
from tests.integration.ansible_run import (
    PlaybookRun,
    changes_per_host,
    run_playbook,
)

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/patch.yml"
SERVERS = {
    "sh01": ("sh01-backup", "sh01-db", "sh01-dms"),
    "hz01": ("hz01-backup", "hz01-db", "hz01-dms"),
}
LOCK = "/var/lib/storedms/rollout.lock"


def on(host: str, *argv: str, check: bool = True) -> str:
    return run_on(host, *argv, check=check)


def versions(host: str) -> dict[str, str]:
    return lab_package_versions(host)


def agent_pid(host: str) -> str:
    return on(host, "systemctl", "show", "-P", "MainPID", "storeops-lab-agent.service").strip()


def dms_health(store: str) -> dict[str, object]:
    out = on(f"{store}-dms", "curl", "-s", "--max-time", "10", "http://127.0.0.1:8080/health")
    return dict(json.loads(out))


def put_back(host: str) -> None:
    reset_patch_level(host)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("patching")


@pytest.fixture(scope="module")
def patch_lab(lab: Inventory, scratch: Path) -> Inventory:
    """The lab with its apt repository in use (lab-baseline.yml), and a recent backup of
    every store database (the database hosts' pre-check)."""
    # lab-baseline.yml's database play (tagged always) reaches every Linux host; the
    # workstation is left out: the desk-login suite uses it meanwhile (tests/lab_lanes.py).
    done = run_playbook(
        "playbooks/lab-baseline.yml", scratch, "--tags", "packages", "--limit", "all:!workstation"
    )
    assert done.returncode == 0, done.stdout[-4000:]
    status = on("sh01-db", "cat", "/var/lib/storeops/backup/status.json", check=False)
    if '"result": "ok"' not in status.replace('":"', '": "'):
        done = run_playbook("playbooks/backup.yml", scratch)
        assert done.returncode == 0, done.stdout[-4000:]
    return lab


@pytest.fixture
def packages_at_1_0(patch_lab: Inventory) -> Inventory:
    for hosts in SERVERS.values():
        for host in hosts:
            put_back(host)
    return patch_lab


class Patch:
    """patch.yml with its change report in tmp_path, on the lab or a private copy of it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.log = tmp_path / "patch-runs.jsonl"
        self.inventory: Path | None = None

    def copy_inventory(self) -> Path:
        self.inventory = copy_lab_inventory(self.tmp_path)
        return self.inventory

    def run(self, *extra: str) -> PlaybookRun:
        args = ["-e", f"patching_controller_log={self.log}", *extra]
        return run_playbook(PLAYBOOK, self.tmp_path, *args, inventory=self.inventory)

    def records(self) -> dict[str, dict[str, Any]]:
        if not self.log.exists():
            return {}
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return {str(record["host"]): record for record in lines}


@pytest.fixture
def patch(tmp_path: Path) -> Patch:
    return Patch(tmp_path)


def snapshot(*hosts: str) -> dict[str, object]:
    return {
        host: (
            versions(host),
            started_at(host),
            agent_pid(host),
            on(host, "cat", PATCH_STATE_FILE, check=False),
        )
        for host in hosts
    }


def test_check_mode_lists_the_upgrades_and_the_holds_and_changes_nothing(
    packages_at_1_0: Inventory, patch: Patch
) -> None:
    before = snapshot(*SERVERS["sh01"])
    done = patch.run("--check", "--limit", "store_sh01")
    assert done.returncode == 0, done.stdout[-4000:]
    words = done.words
    assert "storeops-lab-agent 1.0 -> 1.1" in words
    assert "storeops-lab-kernel 1.0 -> 1.1" in words
    assert "held storedms-runtime 1.0 (2.0 available; apt pin (priority 990))" in words
    assert "would patch" in words
    assert snapshot(*SERVERS["sh01"]) == before
    assert patch.records() == {}  # a check-mode run writes no change report


def test_a_closed_window_refuses_and_touches_nothing(
    packages_at_1_0: Inventory, patch: Patch
) -> None:
    inventory = patch.copy_inventory()
    set_window(inventory, "sh01", "03:00", "03:01")  # not now, except one minute a day
    before = snapshot(*SERVERS["sh01"])
    done = patch.run("--limit", "store_sh01", "-e", "storeops_now=2026-12-05T12:00:00+08:00")
    assert done.returncode != 0
    assert "refused" in done.words
    assert snapshot(*SERVERS["sh01"]) == before


def test_a_failed_post_check_stops_the_run_and_the_next_store_is_untouched(
    packages_at_1_0: Inventory, patch: Patch
) -> None:
    """Without the catalog's hold, `all` upgrades give the pilot's DMS host the runtime
    2.0: the DMS answers 503, the post-check fails, and store hz01 is never started."""
    inventory = patch.copy_inventory()
    catalog = inventory / "group_vars" / "all" / "dms_catalog.yml"
    data = yaml.safe_load(catalog.read_text())
    for release in data["dms_catalog"]:
        release.pop("packages", None)
    catalog.write_text(yaml.safe_dump(data))
    hz01_before = snapshot(*SERVERS["hz01"])
    try:
        done = patch.run(
            "--limit",
            "sh01-dms:store_hz01",
            "-e",
            "patching_upgrade=all",
            "-e",
            "patching_reboot=false",
            "-e",
            "patching_dms_retries=2",
            "-e",
            "patching_dms_delay=1",
        )
        assert done.returncode != 0
        assert versions("sh01-dms")[DMS_RUNTIME] == "2.0"
        records = patch.records()
        assert records["sh01-dms"]["result"] == "failed"
        assert "health" in str(records["sh01-dms"]["reason"]).lower()
        for host in SERVERS["hz01"]:
            assert records[host]["result"] == "not reached", records[host]
        assert snapshot(*SERVERS["hz01"]) == hz01_before
    finally:
        put_back("sh01-dms")
    assert dms_health("sh01").get("db") == "ok"


def test_a_security_run_upgrades_reboots_and_keeps_the_held_runtime(
    packages_at_1_0: Inventory, patch: Patch
) -> None:
    before = {host: started_at(host) for host in SERVERS["sh01"]}
    done = patch.run("--limit", "store_sh01")
    assert done.returncode == 0, done.stdout[-6000:]
    records = patch.records()
    for host in SERVERS["sh01"]:
        assert versions(host)["storeops-lab-agent"] == "1.1"
        assert versions(host)["storeops-lab-kernel"] == "1.1"
        assert started_at(host) != before[host], f"{host} did not reboot"
        assert on(host, "systemctl", "is-system-running", check=False).strip() == "running"
        record = records[host]
        assert (record["result"], record["rebooted"]) == ("patched", True), record
        assert {(c["package"], c["from"], c["to"]) for c in record["upgraded"]} == {
            ("storeops-lab-agent", "1.0", "1.1"),
            ("storeops-lab-kernel", "1.0", "1.1"),
        }
        assert json.loads(on(host, "cat", PATCH_STATE_FILE))["run_id"] == record["run_id"]
    assert versions("sh01-dms")[DMS_RUNTIME] == "1.0"
    assert records["sh01-dms"]["held"] == [
        {
            "package": DMS_RUNTIME,
            "version": "1.0",
            "available": "2.0",
            "by": "apt pin (priority 990)",
        }
    ]
    assert dms_health("sh01").get("db") == "ok"
    # one host at a time, the DMS host last: each starts after the one before it finished
    turns = [(records[h]["host_started"], records[h]["seconds"]) for h in SERVERS["sh01"]]
    for (started, seconds), (next_started, _) in itertools.pairwise(turns):
        assert next_started >= started + seconds - 0.5, turns

    # Nothing pending now: the run again changes nothing and reboots nothing. While it
    # holds the store's change lock (the DMS rollout's lock too), another run is refused
    # with the holder named, and changes nothing.
    (patch.tmp_path / "other").mkdir()
    other = Patch(patch.tmp_path / "other")
    with ThreadPoolExecutor(1) as pool:
        rerun = pool.submit(patch.run, "--limit", "store_sh01")
        deadline = time.monotonic() + 120
        while not on("sh01-dms", "cat", LOCK, check=False).strip():
            assert not rerun.done() and time.monotonic() < deadline, "no lock was taken"
            time.sleep(0.2)
        refused = other.run("--limit", "store_sh01")
        again = rerun.result(timeout=900)
    assert refused.returncode != 0
    assert {other.records()[h]["result"] for h in SERVERS["sh01"]} == {"refused"}
    assert "is locked by another" in str(other.records()["sh01-db"]["reason"])
    assert on("sh01-dms", "cat", LOCK, check=False).strip() == ""  # released at the end
    assert again.returncode == 0, again.stdout[-4000:]
    changed = changes_per_host(again)
    assert {host: changed[host] for host in SERVERS["sh01"]} == dict.fromkeys(SERVERS["sh01"], 0)
    assert all(started_at(host) != before[host] for host in SERVERS["sh01"])
    assert {patch.records()[h]["result"] for h in SERVERS["sh01"]} == {"up to date"}


def test_all_upgrades_move_everything_but_the_hold_and_restart_what_runs_replaced_files(
    packages_at_1_0: Inventory, patch: Patch
) -> None:
    pids = {host: agent_pid(host) for host in SERVERS["hz01"]}
    done = patch.run(
        "--limit", "store_hz01", "-e", "patching_upgrade=all", "-e", "patching_reboot=false"
    )
    assert done.returncode == 0, done.stdout[-6000:]
    records = patch.records()
    for host in SERVERS["hz01"]:
        assert versions(host)["storeops-lab-agent"] == "1.1"
        assert agent_pid(host) != pids[host]
        assert "storeops-lab-agent.service" in records[host]["restarted"]
        assert records[host]["rebooted"] is False
    assert versions("hz01-dms")[DMS_RUNTIME] == "1.0"


def test_an_interrupted_dpkg_run_is_finished_by_the_next_run(
    packages_at_1_0: Inventory, patch: Patch
) -> None:
    """A run killed between unpacking and configuring leaves the package `unpacked`
    (dpkg --audit names it); the next run finishes it and patches the host."""
    host = "hz01-backup"
    on(host, "sh", "-c", "cd /tmp && apt-get download -q storeops-lab-agent=1.1")
    on(host, "sh", "-c", "dpkg --unpack /tmp/storeops-lab-agent_1.1_*.deb")
    assert on(host, "dpkg", "--audit", check=False).strip()
    done = patch.run("--limit", host, "-e", "patching_reboot=false")
    assert done.returncode == 0, done.stdout[-6000:]
    assert on(host, "dpkg", "--audit", check=False).strip() == ""
    assert versions(host)["storeops-lab-agent"] == "1.1"
    assert patch.records()[host]["repaired"] is True


@pytest.fixture
def gpg_key(tmp_path: Path) -> Iterator[str]:
    """A public key that did not sign the lab repository."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch"]
    try:
        subprocess.run(
            [
                *gpg,
                "--passphrase",
                "",
                "--quick-gen-key",
                "stranger@example.invalid",
                "ed25519",
                "sign",
                "never",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield subprocess.run(
            [*gpg, "--armor", "--export", "stranger@example.invalid"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    finally:  # the agent gpg started for this home
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
            check=False,
            capture_output=True,
            timeout=30,
        )


@pytest.mark.parametrize("fault", ["unreachable", "unsigned"])
def test_a_repository_fault_fails_the_host_alone_with_apts_error(
    packages_at_1_0: Inventory, patch: Patch, gpg_key: str, fault: str
) -> None:
    inventory = patch.copy_inventory()
    source = {
        "name": "lab",
        "suites": ["lab", "lab-security", "lab-updates"],
        "components": ["main"],
        "uris": ["http://10.77.2.1:8809"],
    }
    if fault == "unreachable":
        source.update(
            uris=["http://10.77.2.1:8899"],
            key="{{ lookup('ansible.builtin.file', "
            "playbook_dir ~ '/../lab/aptrepo/signing-key.asc') }}",
        )
    else:
        source["key"] = gpg_key
    (inventory / "host_vars" / "hz01-backup.yml").write_text(
        yaml.safe_dump({"patching_apt_sources": [source]})
    )
    before = snapshot(*SERVERS["hz01"])
    try:
        done = patch.run("--limit", "store_hz01")
        assert done.returncode != 0
        records = patch.records()
        reason = str(records["hz01-backup"]["reason"])
        assert records["hz01-backup"]["result"] == "failed"
        expected = "Could not connect" if fault == "unreachable" else "NO_PUBKEY"
        assert expected in reason and "apt-get update failed" in reason, reason
        assert [records[h]["result"] for h in ("hz01-db", "hz01-dms")] == ["not reached"] * 2
        assert snapshot(*SERVERS["hz01"]) == before
    finally:  # the lab's own source again
        done = run_playbook(
            "playbooks/lab-baseline.yml",
            patch.tmp_path,
            "--tags",
            "packages",
            "--limit",
            "hz01-backup",
        )
        assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture(autouse=True, scope="module")
def leave_the_packages_at_1_0(patch_lab: Inventory) -> Iterator[None]:
    """After the module: the lab's packages as lab-baseline.yml leaves them."""
    yield
    for hosts in SERVERS.values():
        for host in hosts:
            put_back(host)
