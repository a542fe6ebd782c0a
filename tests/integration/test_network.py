"""playbooks/network.yml and network-backup.yml against the lab's emulated switches and firewalls.

The lab runs one emulator process per inventory device (``storeops_lab.emulators``): sh01 has
a Cisco IOS core switch and a Huawei VRP firewall, hz01 two Huawei VRP devices, all on
127.0.0.1 ports, each with a command log (``lab/.state/devices/<name>.commands.jsonl``) that
shows what the device received. The devices start from their factory configuration; the
playbooks reach them with netmiko exactly as they would reach real ones.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from netmiko import ConnectHandler

from storeops.ansible_view import load
from storeops.inventory import Inventory
from storeops_lab.emulators import (
    STATE_DIR,
    EmulatedDevice,
    ensure_device,
    lab_devices,
    reset_device,
    stop_device,
)
from storeops_lab.rehearsal import copy_lab_inventory
from tests.integration.ansible_run import PlaybookRun, changes_per_host, run_playbook

pytestmark = pytest.mark.lab

DEVICES = ("sh01-fw01", "sh01-sw01", "hz01-fw01", "hz01-sw01")


def commands(name: str) -> list[dict[str, Any]]:
    """Every line the device has received since it was last reset."""
    path = STATE_DIR / f"{name}.commands.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def config_commands(name: str, since: int = 0) -> list[str]:
    return [record["command"] for record in commands(name)[since:] if record["config"]]


def configure_by_hand(device: EmulatedDevice, lines: list[str]) -> None:
    """An operator's out-of-band change: a netmiko login with the device's lab password."""
    device_type = "cisco_ios" if device.platform == "cisco_ios" else "huawei"
    connection = ConnectHandler(
        device_type=device_type,
        host=device.host,
        port=device.port,
        username=device.username,
        password=device.password,
    )
    try:
        if device.platform == "cisco_ios":
            connection.enable()
        connection.send_config_set(lines)
    finally:
        connection.disconnect()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def network(
    tmp_path: Path,
    repo: Path,
    *args: str,
    playbook: str = "network.yml",
    inventory: Path | None = None,
) -> PlaybookRun:
    """A network playbook with its backups in ``repo`` (not the repository's .cache)."""
    return run_playbook(
        f"playbooks/{playbook}",
        tmp_path,
        "-e",
        f"network_backup_repo={repo}",
        *args,
        inventory=inventory,
    )


@pytest.fixture(scope="module")
def devices(lab: Inventory) -> dict[str, EmulatedDevice]:
    return {device.name: device for device in lab_devices(lab)}


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network-backups") / "repo"


@pytest.fixture(scope="module")
def converged(
    devices: dict[str, EmulatedDevice], backups: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PlaybookRun, PlaybookRun]]:
    """Every device reset to its factory configuration, then network.yml twice."""
    assert set(devices) == set(DEVICES)
    for device in devices.values():
        reset_device(device)
    tmp_path = tmp_path_factory.mktemp("network-run")
    first = network(tmp_path, backups)
    second = network(tmp_path, backups)
    yield first, second
    for device in devices.values():  # whatever a test did, the devices answer again
        ensure_device(device)


def test_first_run_converges_every_device_and_the_second_changes_nothing(
    converged: tuple[PlaybookRun, PlaybookRun], backups: Path
) -> None:
    first, second = converged
    assert first.returncode == 0, first.stdout[-3000:]
    # backup before, the remediation, backup after: three changes on every device
    assert changes_per_host(first) == dict.fromkeys(DEVICES, 3)
    assert second.returncode == 0, second.stdout[-3000:]
    assert changes_per_host(second) == dict.fromkeys(DEVICES, 0)
    assert "sh01-sw01: pushed 0 line(s) (in sync)" in second.words

    # What the IOS switch was sent: the zone model's SVI, ACL and route, the new VLANs,
    # the unused ports shut, and the factory lines that the inventory does not have removed.
    sent = config_commands("sh01-sw01")
    for line in (
        "interface Vlan20",
        "  ip address 10.77.1.33 255.255.255.224",
        "  ip access-group STOREOPS-IN-SERVERS in",
        "ip access-list extended STOREOPS-IN-GUEST",
        "vlan 60",
        "no ip route 0.0.0.0 0.0.0.0 192.0.2.1",
        "ip route 0.0.0.0 0.0.0.0 10.77.1.2",
        "no logging host 192.0.2.20",
        "logging host 10.77.1.1",
    ):
        assert line in sent, line
    assert sent.count("  shutdown") >= 6  # GigabitEthernet0/8, 0/11..0/15 are unused
    # The VRP firewall: its LAN, the WAN with the edge ACL, the default route upstream.
    sent = config_commands("hz01-fw01")
    for line in (
        "interface Vlanif4000",
        "  traffic-filter inbound acl name STOREOPS-WAN-IN",
        "acl name STOREOPS-WAN-IN 3999",
        "ip route-static 0.0.0.0 0.0.0.0 198.51.100.13",
        "ip route-static 10.77.2.0 255.255.255.0 10.77.2.3",
    ):
        assert line in sent, line
    # Saved: the configuration the device boots from has the change.
    assert (
        "ip access-group STOREOPS-IN-SERVERS in"
        in (STATE_DIR / "sh01-sw01.startup-config").read_text()
    )
    # History: the factory configuration, then the converged one, per device.
    log = git(backups, "log", "--format=%s").splitlines()
    assert sorted(log) == sorted(
        f"{name}: running configuration backed up by root" for name in DEVICES * 2
    )


def test_an_out_of_band_change_is_backed_up_then_reverted(
    converged: tuple[PlaybookRun, PlaybookRun],
    lab: Inventory,
    devices: dict[str, EmulatedDevice],
    backups: Path,
    tmp_path: Path,
) -> None:
    configure_by_hand(devices["sh01-sw01"], ["logging host 192.0.2.99"])  # at 22:00
    commits = len(git(backups, "log", "--oneline").splitlines())

    nightly = network(tmp_path, backups, "--limit", "store_sh01", playbook="network-backup.yml")
    assert nightly.returncode == 0, nightly.stdout[-3000:]
    changes = changes_per_host(nightly)  # (with --limit, the validation runs on a store host)
    assert {name: changes[name] for name in ("sh01-fw01", "sh01-sw01")} == {
        "sh01-fw01": 0,
        "sh01-sw01": 1,
    }
    patch = git(backups, "log", "-p", "-1", "--format=%s", "--", "sh01-sw01.cfg")
    assert "+logging host 192.0.2.99" in patch
    assert len(git(backups, "log", "--oneline").splitlines()) == commits + 1

    before = len(commands("sh01-sw01"))
    check = network(tmp_path, backups, "--limit", "sh01-sw01", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert "sh01-sw01: would push 1 line(s)" in check.words
    assert config_commands("sh01-sw01", before) == []  # check mode sent no configuration

    fix = network(tmp_path, backups, "--limit", "sh01-sw01")
    assert fix.returncode == 0, fix.stdout[-3000:]
    assert config_commands("sh01-sw01", before) == [
        "configure terminal revert timer 10",  # the device's own revert, armed first
        "end",
        "configure terminal",
        "no logging host 192.0.2.99",
        "end",
    ]
    confirmed = [r for r in commands("sh01-sw01")[before:] if r["command"] == "configure confirm"]
    assert len(confirmed) == 1  # over a new login, then saved
    assert "192.0.2.99" not in (STATE_DIR / "sh01-sw01.startup-config").read_text()


def test_bad_input_stops_the_run_before_any_device_is_contacted(
    lab: Inventory, tmp_path: Path, backups: Path
) -> None:
    inventory = copy_lab_inventory(tmp_path)
    host_vars = inventory / "host_vars" / "hz01-sw01.yml"
    data = yaml.safe_load(host_vars.read_text())
    data["network_ports"]["GigabitEthernet0/0/2"] = {"access": "showroom"}  # no such zone
    host_vars.write_text(yaml.safe_dump(data))
    seen = {name: len(commands(name)) for name in DEVICES}

    run = network(tmp_path, backups, inventory=inventory)

    assert run.returncode != 0
    assert 'hz01-sw01: network_ports.GigabitEthernet0/0/2: {"access": "showroom"}' in run.words
    assert {name: len(commands(name)) for name in DEVICES} == seen  # no login anywhere


def test_a_stopped_device_and_a_wrong_password_fail_alone(
    converged: tuple[PlaybookRun, PlaybookRun],
    lab: Inventory,
    devices: dict[str, EmulatedDevice],
    backups: Path,
    tmp_path: Path,
) -> None:
    stop_device(devices["hz01-fw01"])  # the firewall is down
    firewall = devices["sh01-fw01"]
    new_password = "Changed-By-Hand-4417"
    # Someone changed the admin password on the device: the vault's no longer works.
    configure_by_hand(
        firewall,
        ["aaa", f"local-user {firewall.username} password irreversible-cipher {new_password}"],
    )
    try:
        run = network(tmp_path, backups)
        assert run.returncode != 0
        recap = run.recap
        assert recap["hz01-fw01"].failed == 1 and recap["sh01-fw01"].failed == 1
        assert recap["sh01-sw01"].failed == 0 and recap["hz01-sw01"].failed == 0
        words = run.words
        assert (
            f"hz01-fw01: FAILED: 127.0.0.1:{devices['hz01-fw01'].port}: device unreachable" in words
        )
        failed = f"sh01-fw01: FAILED: 127.0.0.1:{firewall.port}: authentication failed for user"
        assert failed in words and "(wrong username or password)" in words  # quotes: YAML's
        assert "sh01-sw01: pushed 0 line(s) (in sync)" in words
        secrets = load(lab.root)["sh01-fw01"].variables
        assert secrets["vault_network_password"] not in run.stdout + run.stderr
        assert new_password not in run.stdout + run.stderr
    finally:
        reset_device(firewall)
        ensure_device(devices["hz01-fw01"])
