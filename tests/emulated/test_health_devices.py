"""The health check's network devices (storeops.health.devices) against the lab's four devices,
emulated standalone (no lab): reachable, drift against the intended configuration and against
the last backup, and read-only.

Each test copies the lab inventory, starts one emulator per lab device (on a free port, the
copy's hosts.yml pointed at it) running the device's intended configuration as the check
renders it (a converged device), and keeps the controller's state (the network-backup
repository) under its tmp_path. Backups are taken by the real net_backup module, through
ansible-playbook, as the network role takes them.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from storeops.health.devices import DeviceFacts, Target, gather_devices, targets
from storeops.yamlfiles import VaultPasswords
from storeops_lab.devices import playbook
from storeops_lab.devices.playbook import run_play
from storeops_lab.devices.start import DeviceHandle, start_device
from tests.conftest import REPO

LAB_PASSWORDS = [REPO / "lab" / "vault-password.txt"]
LAB_DEVICES = ("hz01-fw01", "hz01-sw01", "sh01-fw01", "sh01-sw01")


@dataclass
class Lab:
    """The lab's devices, emulated: the inventory copy pointing at them, their handles."""

    inventory: Path
    passwords: VaultPasswords
    targets: dict[str, Target]
    devices: dict[str, DeviceHandle]
    backups: Path
    tmp_path: Path

    def gather(self, timeout: float = 10.0) -> dict[str, DeviceFacts]:
        return {f.host: f for f in gather_devices(self.inventory, self.passwords, timeout=timeout)}

    def back_up(self) -> None:
        """net_backup (the module the network role runs) for every device, one play."""
        hosts = {
            name: playbook.host_vars(handle, self.targets[name].login["password"])
            for name, handle in self.devices.items()
        }
        task = {
            "name": "backup",
            "net_backup": {**playbook.LOGIN, "name": "{{ net_name }}", "repo": str(self.backups)},
        }
        run = run_play(self.tmp_path, hosts, [task], user="tester", timeout=120)
        assert all(r.get("commit") for r in run.results["backup"].values()), run.output


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    inventory = shutil.copytree(REPO / "inventory" / "lab", tmp_path / "inventory-lab")
    passwords = VaultPasswords.from_files(LAB_PASSWORDS)
    state = tmp_path / "controller"
    monkeypatch.setenv("STOREOPS_STATE_DIR", str(state))
    rendered = {t.host: t for t in targets(inventory, passwords, None, 10.0)}
    assert sorted(rendered) == sorted(LAB_DEVICES)
    devices: dict[str, DeviceHandle] = {}
    hosts = (inventory / "hosts.yml").read_text()
    try:
        for name, device in rendered.items():
            assert not device.intended_error, device.intended_error
            handle = start_device(
                name,
                device.platform,
                0,
                device.login["username"],
                device.login["password"],
                tmp_path / "devices",
                initial_config=device.intended,
                management_addresses=[device.management["address"]],
            )
            devices[name] = handle
            hosts, count = re.subn(
                rf"(\n {{12}}{name}:\n(?: {{14}}.*\n)*? {{14}}ansible_port: )\d+",
                rf"\g<1>{handle.port}",
                hosts,
            )
            assert count == 1, name
        (inventory / "hosts.yml").write_text(hosts)
        yield Lab(inventory, passwords, rendered, devices, state / "network-backups", tmp_path)
    finally:
        for handle in devices.values():
            handle.stop()


def snapshot(handle: DeviceHandle) -> tuple[str, str | None]:
    """The device's running and saved configuration, exactly."""
    return handle.device.running_config(), handle.device.saved_config()


def type_by_hand(handle: DeviceHandle, password: str, lines: list[str]) -> None:
    """Configuration lines typed on the device with netmiko, as a technician would."""
    conn = ConnectHandler(**handle.netmiko_params(), password=password)
    try:
        if handle.platform == "cisco_ios":
            conn.enable()
        conn.send_config_set(lines)
    finally:
        conn.disconnect()


def test_converged_devices_show_no_drift_and_the_check_only_reads(lab: Lab) -> None:
    before = {name: snapshot(handle) for name, handle in lab.devices.items()}

    started = time.monotonic()
    first = lab.gather()
    took = time.monotonic() - started
    assert sorted(first) == sorted(LAB_DEVICES)
    for name, facts in first.items():
        assert facts.reachable and not facts.error, facts
        assert facts.remediation == () and not facts.intended_error, facts
        assert facts.backup_changes is None and facts.backup_at is None  # no backup yet
        assert facts.store == name[:4]
    print(f"\nhealth devices, the lab's 4 (no backup): {took:.2f} s; per device:",
          {name: round(facts.seconds, 2) for name, facts in first.items()})  # fmt: skip

    lab.back_up()
    backed_up = {name: snapshot(handle) for name, handle in lab.devices.items()}
    commands = {name: len(handle.commands) for name, handle in lab.devices.items()}
    second = lab.gather()
    for facts in second.values():
        assert facts.reachable and facts.remediation == (), facts
        assert facts.backup_changes == (), facts
        assert facts.backup_at is not None and abs(time.time() - facts.backup_at.timestamp()) < 300

    # Read-only: the configurations are byte-identical, nothing was typed in configuration
    # mode, and the check's own commands are the login's and the one read.
    for name, handle in lab.devices.items():
        assert snapshot(handle) == before[name] == backed_up[name]
        assert handle.device.config_commands() == []
        sent = [record.command for record in handle.commands[commands[name] :]]
        show = "show running-config" if handle.platform == "cisco_ios" else "display current-"
        assert [c for c in sent if c.startswith(("show", "display"))] == [
            c for c in sent if c.startswith(show)
        ]
        assert len([c for c in sent if c.startswith(show)]) == 1, sent
        assert not any(c.startswith(("conf", "system-view", "write", "save")) for c in sent), sent


def test_a_line_changed_by_hand_is_remediation_and_a_change_against_the_backup(lab: Lab) -> None:
    lab.back_up()
    switch = lab.devices["sh01-sw01"]
    password = lab.targets["sh01-sw01"].login["password"]
    intended = lab.targets["sh01-sw01"].intended
    location = next(
        line for line in intended.splitlines() if line.startswith("snmp-server location")
    )
    type_by_hand(switch, password, ["snmp-server location by hand", "logging host 192.0.2.99"])
    changed = snapshot(switch)

    facts = lab.gather()
    drifted = facts["sh01-sw01"]
    assert drifted.reachable, drifted
    # what net_config would push (hier_config's IOS driver negates the old location first)
    assert sorted(drifted.remediation) == sorted(
        ["no logging host 192.0.2.99", "no snmp-server location by hand", location]
    )
    assert drifted.backup_changes is not None
    assert sorted(drifted.backup_changes) == sorted(
        [f"-{location}", "+snmp-server location by hand", "+logging host 192.0.2.99"]
    )
    assert snapshot(switch) == changed  # shown, never pushed
    for name in ("hz01-fw01", "hz01-sw01", "sh01-fw01"):
        assert facts[name].remediation == () and facts[name].backup_changes == (), facts[name]


def test_a_stopped_device_is_unreachable_with_the_reason_and_the_others_are_read(
    lab: Lab,
) -> None:
    stopped = lab.devices["hz01-fw01"]
    stopped.stop()
    started = time.monotonic()
    facts = lab.gather(timeout=5.0)
    assert time.monotonic() - started < 15
    down = facts["hz01-fw01"]
    assert down.reachable is False
    assert down.error.startswith(f"127.0.0.1:{stopped.port}: device unreachable"), down.error
    assert down.remediation == () and down.backup_changes is None
    assert lab.targets["hz01-fw01"].login["password"] not in down.error
    for name in ("hz01-sw01", "sh01-fw01", "sh01-sw01"):
        assert facts[name].reachable and facts[name].remediation == (), facts[name]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung device)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_device_that_never_answers_costs_at_most_the_timeout(lab: Lab, silent_port: int) -> None:
    hosts = (lab.inventory / "hosts.yml").read_text()
    port = lab.devices["sh01-fw01"].port
    (lab.inventory / "hosts.yml").write_text(hosts.replace(f": {port}\n", f": {silent_port}\n"))
    started = time.monotonic()
    facts = lab.gather(timeout=2.0)
    took = time.monotonic() - started
    hung = facts["sh01-fw01"]
    assert hung.reachable is False and hung.error, hung
    assert hung.seconds < 2.5, hung
    assert took < 6, took
    assert facts["sh01-sw01"].reachable and facts["sh01-sw01"].remediation == ()
