"""The preflight of playbooks/upgrade-dms.yml against the running lab.

"Nothing contacted" is proven on the hosts themselves: sshd's journal, read through podman
(not over SSH), shows no new login. A positive control (a good run) shows that the same
check does see logins.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from storeops_lab.plan import runs_in_lab
from storeops_lab.rehearsal import copy_lab_inventory, set_window
from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/upgrade-dms.yml"
PREFLIGHT_ONLY = ("--tags", "preflight")


def ssh_logins_since(host: str, since: float) -> list[str]:
    """sshd's 'Accepted ...' journal lines on a lab host after an instant, read via podman."""
    result = subprocess.run(
        [
            "podman",
            "exec",
            f"storeops-{host}",
            "journalctl",
            "_COMM=sshd",
            "--no-pager",
            "-q",
            "-o",
            "json",
            "--since",
            f"@{int(since) - 1}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    entries = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [
        entry["MESSAGE"]
        for entry in entries
        if int(entry["__REALTIME_TIMESTAMP"]) > since * 1_000_000
        and str(entry.get("MESSAGE", "")).startswith("Accepted")
    ]


def test_good_run_reaches_every_host(lab: Inventory, tmp_path: Path) -> None:
    since = time.time()
    result = run_playbook(PLAYBOOK, tmp_path, *PREFLIGHT_ONLY)
    assert result.returncode == 0, result.stdout[-3000:]
    for host in filter(runs_in_lab, lab.hosts.values()):
        assert f"{host.name}" in result.stdout
        assert ssh_logins_since(host.name, since), f"{host.name}: no SSH login seen"


def test_a_release_the_operator_did_not_confirm_stops_the_run(
    lab: Inventory, tmp_path: Path
) -> None:
    """AWX's survey asks which release the run rolls out; a store targeting another stops it
    before its download (the preflight's first step on the DMS hosts)."""
    targets = {store.dms_target_version for store in lab.stores.values()}
    refused = run_playbook(
        PLAYBOOK, tmp_path, *PREFLIGHT_ONLY, "-e", "storeops_expected_version=9.9.9"
    )
    assert refused.returncode != 0
    stores = ", ".join(sorted(lab.stores))
    assert f"confirmed release 9.9.9, but {stores} target another" in refused.words
    assert "Download the target release" not in refused.stdout
    (target,) = targets
    confirmed = run_playbook(
        PLAYBOOK, tmp_path, *PREFLIGHT_ONLY, "-e", f"storeops_expected_version={target}"
    )
    assert confirmed.returncode == 0, confirmed.stdout[-3000:]


def test_bad_inventory_is_refused_before_any_host_is_contacted(
    lab: Inventory, tmp_path: Path
) -> None:
    inventory = copy_lab_inventory(tmp_path)
    set_window(inventory, "hz01", "25:00", "06:00")
    hosts_file = inventory / "hosts.yml"
    hosts_file.write_text(hosts_file.read_text().replace("10.77.1.41", "10.77.1.40"))
    since = time.time()

    result = run_playbook(PLAYBOOK, tmp_path, *PREFLIGHT_ONLY, inventory=inventory)

    assert result.returncode != 0
    output = result.words
    assert (
        "group_vars/store_hz01/store.yml: store.maintenance_window.start: '25:00' is not a time"
        in output
    )
    assert (
        "hosts.yml: all.children.stores.children.store_sh01.hosts.sh01-db.ansible_host: duplicate address 10.77.1.40"
        in output
    )
    assert "no host was contacted" in output
    for host in filter(runs_in_lab, lab.hosts.values()):
        assert ssh_logins_since(host.name, since) == [], f"{host.name} was contacted"


def test_store_outside_its_window_is_refused_and_left_alone(lab: Inventory, tmp_path: Path) -> None:
    inventory = copy_lab_inventory(tmp_path)
    set_window(inventory, "hz01", "22:00", "06:00")
    since = time.time()

    result = run_playbook(
        PLAYBOOK,
        tmp_path,
        *PREFLIGHT_ONLY,
        "-e",
        "storeops_now=2026-11-25T12:00:00+08:00",
        inventory=inventory,
    )

    assert result.returncode != 0
    assert (
        "store hz01 refused: outside the maintenance window (mon,tue,wed,thu,fri,sat,sun 22:00-06:00 Asia/Shanghai)"
        in result.words
    )
    assert "next window opens 2026-11-25T22:00:00+08:00" in result.words
    for host in filter(runs_in_lab, lab.hosts_of("hz01")):
        assert ssh_logins_since(host.name, since) == [], f"{host.name} was contacted"
    for host in filter(runs_in_lab, lab.hosts_of("sh01")):
        assert ssh_logins_since(host.name, since), f"{host.name} was not reached"


def test_override_reason_lets_a_closed_store_run_and_is_shown(
    lab: Inventory, tmp_path: Path
) -> None:
    inventory = copy_lab_inventory(tmp_path)
    set_window(inventory, "hz01", "22:00", "06:00")
    result = run_playbook(
        PLAYBOOK,
        tmp_path,
        *PREFLIGHT_ONLY,
        "-e",
        "storeops_now=2026-11-25T12:00:00+08:00",
        "-e",
        "storeops_override_reason='brand hotfix DMS-4711 approved by region'",
        "--limit",
        "store_hz01,localhost",
        inventory=inventory,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    words = result.words
    assert "OVERRIDDEN: brand hotfix DMS-4711 approved by region" in words
    assert (
        "hz01 BMW Hangzhou Xihu 4S: OVERRIDDEN: brand hotfix DMS-4711 approved by region; hosts reached 4/4"
        in words
    )
