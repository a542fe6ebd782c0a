"""``storeops health`` on the lab: green when converged, then one thing broken at a time.

Store sh01 is converged first through the real playbooks (its devices, its backups with a
restic check and a restore drill, its security updates); the lab's NTP server keeps its
clocks synchronised. Then each test breaks one thing the way it breaks in a store (MariaDB
stopped, the last backup too old, a device emulator down, a device changed by hand, the
firewall table deleted, a data disk filled) and asserts that exactly the rows it explains
turn amber or red, with the reason, and that the exit code follows; then it puts the thing
back. The check itself is shown to change nothing on the hosts, their firewalls, their
units or the devices.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from storeops.inventory import Inventory
from storeops_lab.emulators import ensure_device, lab_devices, stop_device
from storeops_lab.rehearsal import run_on
from tests.conftest import REPO
from tests.integration.ansible_run import run_playbook
from tests.integration.test_network import commands, config_commands, configure_by_hand

pytestmark = pytest.mark.lab

STORE = "sh01"
STOREOPS = str(Path(sys.executable).parent / "storeops")
BACKUP_STATUS = "/var/lib/storeops/backup/status.json"
Rows = dict[tuple[str, str], dict[str, Any]]


def health(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [STOREOPS, "health", "--store", STORE, "--json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=180,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def rows(report: dict[str, Any]) -> Rows:
    (store,) = report["stores"]
    return {(row["host"], row["check"]): row for row in store["rows"]}


def not_green(report: dict[str, Any]) -> Rows:
    return {key: row for key, row in rows(report).items() if row["status"] != "ok"}


def wait_for(what: str, condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(2)


def synchronised(host: str) -> bool:
    return "Leap status     : Normal" in run_on(host, "chronyc", "-n", "tracking", check=False)


@pytest.fixture(scope="module")
def converged(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """sh01 as its playbooks leave it, and the health report of that (green) state."""

    def converge(scratch: Path, *playbooks: str) -> None:
        for playbook in playbooks:
            done = run_playbook(f"playbooks/{playbook}", scratch, "--limit", f"store_{STORE}")
            assert done.returncode == 0, done.stdout[-3000:]

    # the devices (from the controller) beside the servers (one playbook after the other),
    # each with its own SSH control sockets; the directories are made here, not in the
    # threads: pytest creates its base directory on the first mktemp, and two at once race
    scratches = [tmp_path_factory.mktemp("health") for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        devices = pool.submit(converge, scratches[0], "network.yml")
        servers = pool.submit(
            converge, scratches[1], "backup.yml", "restore-drill.yml", "patch.yml"
        )
        devices.result()
        servers.result()
    for host in (f"{STORE}-db", f"{STORE}-dms"):
        run_on(host, "systemctl", "start", "storeops-backup-check.service")
    for host in (f"{STORE}-dms", f"{STORE}-db", f"{STORE}-backup"):
        # a client that found no server for a while polls rarely: ask it to poll now
        run_on(host, "chronyc", "burst", "4/4")
        wait_for(f"{host}'s clock synchronised", lambda host=host: synchronised(host))
    code, report = health()
    return {"code": code, "report": report}


def test_the_converged_store_is_green(converged: dict[str, Any]) -> None:
    assert not_green(converged["report"]) == {}
    assert (converged["code"], converged["report"]["status"]) == (0, "ok")
    checks = {check for _, check in rows(converged["report"])}
    assert checks >= {
        "dms", "dms smoke", "database", "backup", "restic check", "restore drill", "disk",
        "inodes", "failed units", "firewall", "device", "config drift", "backup drift",
        "security updates", "reboot", "time sync", "certificates",
    }  # fmt: skip


def changed_rows(converged: dict[str, Any]) -> tuple[int, Rows]:
    code, report = health()
    return code, not_green(report)


def assert_only(found: Rows, expected: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Exactly the expected (host, check) rows are not green: status and part of the reason."""
    assert sorted(found) == sorted(expected), json.dumps(found, indent=1)
    for key, (status, reason) in expected.items():
        assert found[key]["status"] == status, found[key]
        assert reason in found[key]["reason"], found[key]


def test_mariadb_stopped(converged: dict[str, Any]) -> None:
    db = f"{STORE}-db"
    run_on(db, "systemctl", "stop", "mariadb")
    try:
        code, found = changed_rows(converged)
    finally:
        run_on(db, "systemctl", "start", "mariadb")
    dms = f"{STORE}-dms"
    assert_only(
        found,
        {
            (dms, "dms"): ("critical", "database unreachable"),
            (dms, "database"): ("critical", "database unreachable"),
            (dms, "dms smoke"): ("critical", "expected HTTP 404"),
        },
    )
    assert code == 2


def test_the_last_backup_too_old(converged: dict[str, Any]) -> None:
    db = f"{STORE}-db"
    saved = run_on(db, "cat", BACKUP_STATUS)
    status = json.loads(saved)
    status["last_success"] = "2026-01-01T02:30:00+00:00"
    run_on(db, "sh", "-c", f"cat > {BACKUP_STATUS} <<'EOF'\n{json.dumps(status)}\nEOF")
    try:
        code, found = changed_rows(converged)
    finally:
        run_on(db, "sh", "-c", f"cat > {BACKUP_STATUS} <<'EOF'\n{saved}\nEOF")
    assert_only(found, {(db, "backup"): ("critical", "older than backup_max_age_hours")})
    assert code == 2


def test_a_device_emulator_stopped(lab: Inventory, converged: dict[str, Any]) -> None:
    device = {d.name: d for d in lab_devices(lab)}[f"{STORE}-fw01"]
    stop_device(device)
    try:
        code, found = changed_rows(converged)
    finally:
        ensure_device(device)
    assert list(found) == [(device.name, "device")]
    assert found[(device.name, "device")]["status"] == "critical"
    assert found[(device.name, "device")]["reason"]
    assert code == 2


def test_a_device_changed_by_hand(
    lab: Inventory, converged: dict[str, Any], tmp_path: Path
) -> None:
    switch = f"{STORE}-sw01"
    configure_by_hand({d.name: d for d in lab_devices(lab)}[switch], ["logging host 192.0.2.99"])
    try:
        code, found = changed_rows(converged)
    finally:
        repaired = run_playbook("playbooks/network.yml", tmp_path, "--limit", switch)
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    assert_only(
        found,
        {
            (switch, "config drift"): ("warning", "no logging host 192.0.2.99"),
            (switch, "backup drift"): ("warning", "logging host 192.0.2.99"),
        },
    )
    assert code == 1


def test_the_firewall_table_deleted(converged: dict[str, Any]) -> None:
    dms = f"{STORE}-dms"
    run_on(dms, "nft", "delete", "table", "inet", "storeops")
    try:
        code, found = changed_rows(converged)
    finally:
        run_on(dms, "nft", "-f", "/var/lib/storeops/firewall/applied.nft")
    assert_only(found, {(dms, "firewall"): ("critical", "No such file or directory")})
    assert code == 2


@contextmanager
def small_data_disk(container: str, mountpoint: str) -> Iterator[None]:
    """A 64 MiB ext4 disk attached to a lab host at ``mountpoint`` (a loop device on the
    controller, mounted inside the container's mount namespace)."""
    image = Path(f"/tmp/storeops-health-{container}.img")
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    loop = subprocess.run(
        ["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True
    ).stdout.strip()
    minor = loop.removeprefix("/dev/loop")
    pid = subprocess.run(
        ["podman", "inspect", "-f", "{{.State.Pid}}", container],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    inside = ["nsenter", "-t", pid, "-m", "--", "sh", "-c"]
    subprocess.run(["podman", "exec", container, "mkdir", "-p", mountpoint], check=True)
    subprocess.run(
        [
            *inside,
            f"mknod /dev/loop{minor} b 7 {minor} && mount /dev/loop{minor} {mountpoint}",
        ],
        check=True,
    )
    try:
        yield
    finally:
        subprocess.run([*inside, f"umount {mountpoint}; rm -f /dev/loop{minor}"], check=False)
        subprocess.run(["losetup", "-d", loop], check=False)
        image.unlink(missing_ok=True)


def test_a_data_disk_filled_past_the_threshold(converged: dict[str, Any]) -> None:
    db = f"{STORE}-db"
    with small_data_disk(f"storeops-{db}", "/srv/data"):
        run_on(db, "fallocate", "-l", "52M", "/srv/data/filler")
        code, found = changed_rows(converged)
    assert_only(found, {(db, "disk"): ("critical", "below 10%")})
    assert "/srv/data" in found[(db, "disk")]["value"]
    assert code == 2


def host_state(host: str) -> str:
    """What the check must not change: files outside the volatile places, units, tables."""
    files = run_on(
        host, "sh", "-c",
        "find / -xdev \\( -path /proc -o -path /sys -o -path /run -o -path /tmp -o -path /var/tmp"
        " -o -path /var/log -o -path /var/lib/mysql -o -path /var/lib/chrony"
        " -o -path /var/lib/systemd \\) -prune -o -newer /run/storeops-health-mark -print",
    )  # fmt: skip
    units = run_on(host, "systemctl", "list-units", "--all", "--plain", "--no-legend")
    ruleset = run_on(host, "nft", "-s", "list", "ruleset")
    return "\n".join((files, units, ruleset))


def device_sessions(lab: Inventory) -> dict[str, tuple[int, list[str]]]:
    """Per device of the store: how many lines it has received, and the configuration ones."""
    names = [d.name for d in lab_devices(lab) if d.name.startswith(f"{STORE}-")]
    return {name: (len(commands(name)), config_commands(name)) for name in names}


def test_the_check_changes_nothing(lab: Inventory, converged: dict[str, Any]) -> None:
    hosts = (f"{STORE}-dms", f"{STORE}-db", f"{STORE}-backup")
    for host in hosts:
        run_on(host, "touch", "/run/storeops-health-mark")
    time.sleep(1.1)  # mtimes after the mark are newer by at least a second
    before = {host: host_state(host) for host in hosts}
    devices_before = device_sessions(lab)
    code, report = health()
    assert code == 0, not_green(report)
    assert {host: host_state(host) for host in hosts} == before
    after = device_sessions(lab)
    for name, (count, configuration) in after.items():
        assert count > devices_before[name][0]  # the check did read the device
        assert configuration == devices_before[name][1]  # and sent no configuration line
