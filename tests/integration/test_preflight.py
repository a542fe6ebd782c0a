"""The preflight of playbooks/upgrade-dms.yml against the running lab.

"Nothing contacted" is proven on the hosts themselves: sshd's journal, read through podman
(not over SSH), shows no new login. A positive control (a good run) shows that the same
check does see logins.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from storeops.schema import Role
from tests.conftest import REPO
from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/upgrade-dms.yml"


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


def copy_lab_inventory(tmp_path: Path) -> Path:
    """A private copy of the lab inventory; its portal key path still points at the lab's key."""
    target = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "lab", target)
    catalog = target / "group_vars" / "all" / "dms_catalog.yml"
    relative_key = "signing_key: ../../lab/dms/signing-key.pub"
    assert relative_key in catalog.read_text()
    catalog.write_text(
        catalog.read_text().replace(
            relative_key, f"signing_key: {REPO / 'lab' / 'dms' / 'signing-key.pub'}"
        )
    )
    return target


def set_window(inventory: Path, store: str, start: str, end: str) -> None:
    path = inventory / "group_vars" / f"store_{store}" / "store.yml"
    text = path.read_text()
    text = text.replace('start: "00:00"', f'start: "{start}"').replace(
        'end: "24:00"', f'end: "{end}"'
    )
    path.write_text(text)


def test_good_run_reaches_every_host(lab: Inventory, tmp_path: Path) -> None:
    since = time.time()
    result = run_playbook(PLAYBOOK, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    for host in lab.hosts.values():
        assert f"{host.name}" in result.stdout
        assert ssh_logins_since(host.name, since), f"{host.name}: no SSH login seen"


def test_bad_inventory_is_refused_before_any_host_is_contacted(
    lab: Inventory, tmp_path: Path
) -> None:
    inventory = copy_lab_inventory(tmp_path)
    set_window(inventory, "hz01", "25:00", "06:00")
    hosts_file = inventory / "hosts.yml"
    hosts_file.write_text(hosts_file.read_text().replace("10.77.1.41", "10.77.1.40"))
    since = time.time()

    result = run_playbook(PLAYBOOK, tmp_path, inventory=inventory)

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
    for host in lab.hosts.values():
        assert ssh_logins_since(host.name, since) == [], f"{host.name} was contacted"


def test_store_outside_its_window_is_refused_and_left_alone(lab: Inventory, tmp_path: Path) -> None:
    inventory = copy_lab_inventory(tmp_path)
    set_window(inventory, "hz01", "22:00", "06:00")
    since = time.time()

    result = run_playbook(
        PLAYBOOK, tmp_path, "-e", "storeops_now=2026-11-25T12:00:00+08:00", inventory=inventory
    )

    assert result.returncode != 0
    assert (
        "store hz01 refused: outside the maintenance window (mon,tue,wed,thu,fri,sat,sun 22:00-06:00 Asia/Shanghai)"
        in result.words
    )
    assert "next window opens 2026-11-25T22:00:00+08:00" in result.words
    for host in lab.hosts_of("hz01"):
        assert ssh_logins_since(host.name, since) == [], f"{host.name} was contacted"
    for host in lab.hosts_of("sh01"):
        assert ssh_logins_since(host.name, since), f"{host.name} was not reached"


def test_override_reason_lets_a_closed_store_run_and_is_shown(
    lab: Inventory, tmp_path: Path
) -> None:
    inventory = copy_lab_inventory(tmp_path)
    set_window(inventory, "hz01", "22:00", "06:00")
    result = run_playbook(
        PLAYBOOK,
        tmp_path,
        "-e",
        "storeops_now=2026-11-25T12:00:00+08:00",
        "-e",
        "dms_override_reason='brand hotfix DMS-4711 approved by region'",
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


def test_tampered_release_on_the_portal_is_refused(lab: Inventory, tmp_path: Path) -> None:
    """A portal serving a modified artifact: every store's target is refused by the preflight."""
    served = tmp_path / "portal"
    shutil.copytree(REPO / "lab" / "dms" / "dist", served)
    artifact = served / "dms-3.1.0.tar.gz"
    data = bytearray(artifact.read_bytes())
    data[100] ^= 0x01
    artifact.write_bytes(bytes(data))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    inventory = copy_lab_inventory(tmp_path)
    catalog = inventory / "group_vars" / "all" / "dms_catalog.yml"
    catalog.write_text(
        catalog.read_text()
        .replace("http://127.0.0.1:8808", f"http://127.0.0.1:{server.server_address[1]}")
        .replace("../../lab/dms/signing-key.pub", str(REPO / "lab/dms/signing-key.pub"))
    )
    try:
        result = run_playbook(
            PLAYBOOK,
            tmp_path,
            "-e",
            f"dms_artifact_cache={tmp_path / 'cache'}",
            inventory=inventory,
        )
    finally:
        server.shutdown()
    assert result.returncode != 0
    assert "release 3.1.0 refused, nothing was stopped: dms-3.1.0.tar.gz: sha256" in result.words
    assert "does not match the catalog" in result.words
    for host in lab.hosts_with_role(Role.DMS):
        assert result.recap[host.name].failed == 1
