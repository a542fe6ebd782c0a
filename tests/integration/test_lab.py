"""The lab itself: every host answers Ansible over SSH, ``up`` is idempotent and repairs.

Traffic goes only to lab hosts on the lab's internal networks (and podman on this machine).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.validate import load_valid
from storeops_lab.errors import LabError
from storeops_lab.image import image_ref
from storeops_lab.lab import status, up
from storeops_lab.plan import LabHost, make_plan
from storeops_lab.ssh import default_ssh_files, known_hosts_text, ssh_login

ANSIBLE = str(Path(sys.executable).parent / "ansible")


def lab_hosts(inventory: Inventory) -> list[LabHost]:
    return list(make_plan(inventory, "unused").hosts)


def close_shared_connections(control_dir: Path) -> None:
    """End the SSH master connections Ansible left behind (ControlPersist) in control_dir."""
    for socket in control_dir.iterdir():
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "unused"],
            capture_output=True,
            timeout=10,
            check=False,
        )


def ansible_ping(names: list[str], tmp_path: Path) -> dict[str, str]:
    """``ansible -m ping`` from the repo root (its ansible.cfg): host -> result word."""
    control_dir = tmp_path / "cp"
    control_dir.mkdir(exist_ok=True)
    completed = subprocess.run(
        [
            ANSIBLE,
            ",".join(names),
            "-i",
            "inventory/lab",
            "-m",
            "ansible.builtin.ping",
            "--one-line",
        ],
        cwd=REPO_ROOT,
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(Path.home()),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
            "ANSIBLE_NOCOLOR": "true",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    close_shared_connections(control_dir)
    results = {}
    for line in completed.stdout.splitlines():
        name, _, rest = line.partition(" | ")
        if rest:
            results[name.strip()] = rest.split()[0]
    assert results, completed.stdout + completed.stderr
    return results


def quiet(_: str) -> None:
    """Keep ``up``'s progress lines out of the test output."""


# ---------------------------------------------------------------------------- with the lab


@pytest.mark.lab
def test_every_lab_host_answers_ansible_ping_over_ssh(lab: Inventory, tmp_path: Path) -> None:
    names = [lab_host.host.name for lab_host in lab_hosts(lab)]
    assert ansible_ping(names, tmp_path) == dict.fromkeys(names, "SUCCESS")


@pytest.mark.lab
def test_up_on_a_healthy_lab_changes_nothing(lab: Inventory) -> None:
    result = up(lab, say=quiet)
    assert result.actions == []
    assert result.summary().startswith(f"lab is up: {result.hosts} hosts, nothing changed")


@pytest.mark.lab
def test_status_reports_every_lab_host_healthy(lab: Inventory) -> None:
    statuses = status(lab)
    assert [s.host for s in statuses] == list(lab.hosts)
    unhealthy = [s for s in statuses if not s.healthy]
    assert unhealthy == []


def _kill_container_processes(name: str) -> None:
    """Leave a container as a session's end leaves it: conmon and init killed, records kept."""
    pids = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.ConmonPid}} {{.State.Pid}}", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    subprocess.run(["kill", "-KILL", *pids], check=True, timeout=10)


BREAKERS = {
    "removed": lambda name: subprocess.run(["podman", "rm", "-f", name], check=True, timeout=60),
    "killed": lambda name: subprocess.run(["podman", "kill", name], check=True, timeout=60),
    "stale": _kill_container_processes,
}


@pytest.mark.lab
@pytest.mark.parametrize("breakage", sorted(BREAKERS))
def test_up_repairs_only_the_broken_host(lab: Inventory, breakage: str, tmp_path: Path) -> None:
    victim = next(h for h in lab_hosts(lab) if h.host.name == "sh01-db")
    BREAKERS[breakage](victim.name)

    result = up(lab, say=quiet)

    host_actions = [a for a in result.actions if not a.startswith("recorded host keys")]
    assert host_actions, result.actions
    assert all(a.startswith(f"{victim.name}: ") for a in host_actions), result.actions
    assert any(": created (" in a for a in host_actions)
    assert ssh_login(default_ssh_files(), victim.host.address) == (True, "")
    assert ansible_ping([victim.host.name], tmp_path) == {victim.host.name: "SUCCESS"}


# ---------------------------------------------------------------------------- without the lab


def test_a_host_on_the_gateway_address_is_refused() -> None:
    inventory = load_valid(LAB_INVENTORY)
    name, host = next(iter(inventory.hosts.items()))
    gateway = inventory.stores[host.store].network.network_address + 1
    broken = dataclasses.replace(
        inventory, hosts={**inventory.hosts, name: dataclasses.replace(host, address=gateway)}
    )
    with pytest.raises(LabError, match="gateway"):
        make_plan(broken, "unused")


def test_known_hosts_keeps_other_labs_and_replaces_ours() -> None:
    existing = "10.9.9.9 ssh-ed25519 OTHER\n10.77.1.41 ssh-ed25519 OLD\nsh01-db ssh-ed25519 OLD\n"
    new = known_hosts_text(
        existing, {"10.77.1.41": "ssh-ed25519 NEW", "sh01-db": "ssh-ed25519 NEW"}
    )
    assert new == (
        "10.9.9.9 ssh-ed25519 OTHER\n10.77.1.41 ssh-ed25519 NEW\nsh01-db ssh-ed25519 NEW\n"
    )


def test_lab_addresses_never_take_the_default_route(lab: Inventory) -> None:
    """Each store network has an 'unreachable' fallback: if its bridge is gone, no packet leaves."""
    for store in lab.stores.values():
        fallback = subprocess.run(
            ["ip", "-4", "route", "show", "type", "unreachable", "exact", str(store.network)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert fallback.strip(), f"no fallback route for {store.network}"
        host = lab.hosts_of(store.code)[0]
        route = subprocess.run(
            ["ip", "-4", "route", "get", str(host.address)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert " via " not in route, f"{host.address} would be routed through a gateway: {route}"


@pytest.mark.lab
def test_every_host_has_its_own_host_key_and_the_image_has_none(lab: Inventory) -> None:
    """Host keys are made at first boot, per host; known_hosts holds exactly those."""
    keys = {}
    for lab_host in lab_hosts(lab):
        keys[lab_host.host.name] = subprocess.run(
            ["podman", "exec", lab_host.name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()[1]
    assert len(set(keys.values())) == len(keys), "two lab hosts share an SSH host key"
    known = default_ssh_files().known_hosts.read_text()
    for name, key in keys.items():
        assert f"{lab.hosts[name].address} ssh-ed25519 {key}" in known
    image_keys = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "/bin/sh",
            image_ref(),
            "-c",
            "ls /etc/ssh/ | grep -c '^ssh_host_' || true",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert image_keys == "0", "the lab image carries SSH host keys"


@pytest.mark.lab
def test_host_key_checking_is_on(lab: Inventory, tmp_path: Path) -> None:
    """With a known_hosts that does not know the host, SSH refuses: checking is not disabled."""
    files = default_ssh_files()
    host = lab.hosts["sh01-dms"]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    refused = subprocess.run(
        [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={empty}",
            "-o",
            "ConnectTimeout=10",
            "-i",
            str(files.key),
            f"storeops@{host.address}",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stderr
    ok, detail = ssh_login(files, host.address)
    assert ok, detail
