"""What a provisioned store workstation looks like (deploys/workstation.py or
playbooks/workstation.yml): checked on the host itself.

Where the hosts come from: the ``workstation`` group of ``inventory/lab``, or of the
inventory ``STOREOPS_INVENTORY`` names (an audit of production)::

    STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_provisioned_workstation.py

A workstation with no owner in the inventory (never provisioned, or decommissioned) has
nothing to check: skipped with that reason. Everything expected comes from the host's
inventory variables (the role catalogue, the store's printer and DMS URL).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

from storeops.paths import LAB_INVENTORY
from storeops.roles import role_defaults

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
ON_LAB = LAB_INVENTORY.resolve() == INVENTORY
testinfra_hosts = [f"ansible://workstation?ansible_inventory={INVENTORY}"]
pytestmark = [pytest.mark.lab] if ON_LAB else []
target = role_host.target  # fixture: the host to check


@pytest.fixture(scope="module")
def ws(host: Any) -> dict[str, Any]:
    variables: dict[str, Any] = host.ansible.get_variables()
    if not variables.get("workstation_owner"):
        pytest.skip("no owner in the inventory: this workstation is not provisioned")
    role = variables["workstation_roles"][variables["workstation_role"]]
    return {**variables, "role": role}


def test_the_employee_must_change_the_first_password(target: Any, ws: dict[str, Any]) -> None:
    owner = target.user(ws["workstation_owner"])
    assert owner.exists and owner.shell == "/bin/bash"
    with target.sudo():
        changed = target.check_output("chage -l %s", ws["workstation_owner"])
        groups = target.check_output("id -nG %s", ws["workstation_owner"]).split()
    assert "password must be changed" in changed
    assert "sudo" not in groups  # employees get no sudo


def test_the_it_admin_has_its_tier(target: Any, ws: dict[str, Any]) -> None:
    assert target.user(ws["workstation_admin_user"]).exists
    sudoers = target.file("/etc/sudoers.d/storeops-workstation")
    with target.sudo():
        assert (sudoers.user, sudoers.mode) == ("root", 0o440)
        text = sudoers.content_string
        assert target.run("visudo -cf /etc/sudoers.d/storeops-workstation").rc == 0
    for command in ws["workstation_sudo_tiers"][ws["role"]["sudo_tier"]]["commands"]:
        assert command in text


def test_the_screen_locks_after_the_roles_idle_time(target: Any, ws: dict[str, Any]) -> None:
    seconds = int(ws["role"]["idle_timeout_minutes"]) * 60
    settings = target.file("/etc/dconf/db/local.d/00-storeops-screenlock").content_string
    assert f"idle-delay=uint32 {seconds}" in settings and "lock-enabled=true" in settings
    locks = target.file("/etc/dconf/db/local.d/locks/storeops-screenlock").content_string
    assert "/org/gnome/desktop/session/idle-delay" in locks
    assert "/org/gnome/desktop/screensaver/lock-enabled" in locks
    assert target.file("/etc/dconf/db/local").exists  # compiled by dconf update


@pytest.mark.usefixtures("ws")
def test_the_host_firewall_is_loaded(target: Any) -> None:
    table = role_defaults("firewall")["firewall_table"]
    assert target.service("nftables").is_enabled
    with target.sudo():
        assert target.run("nft list table inet %s", table).rc == 0


@pytest.mark.usefixtures("ws")
def test_only_security_updates_install_by_themselves(target: Any) -> None:
    dumped = target.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    patterns = [line for line in dumped.splitlines() if "Origins-Pattern::" in line]
    assert patterns and all("security" in line.lower() for line in patterns), patterns
    periodic = target.check_output("apt-config dump APT::Periodic::Unattended-Upgrade")
    assert '"1"' in periodic


@pytest.mark.usefixtures("ws")
def test_antivirus_updates_and_scans_on_timers(target: Any) -> None:
    assert target.package("clamav").is_installed
    for timer in ("storeops-freshclam.timer", "storeops-clamscan.timer"):
        unit = target.service(timer)
        assert unit.is_enabled and unit.is_running, timer


def test_the_stores_printer_is_the_default(target: Any, ws: dict[str, Any]) -> None:
    name = ws["workstation_printer"]["name"]
    assert target.run("lpstat -p %s", name).rc == 0
    assert name in target.check_output("lpstat -d")


def test_the_dms_client_points_at_the_stores_dms(target: Any, ws: dict[str, Any]) -> None:
    config = target.file("/etc/storedms-client/client.conf").content_string
    assert f"url = {ws['workstation_dms_url']}" in config
    assert f"store = {ws['store']['code']}" in config
    assert target.file("/usr/local/share/ca-certificates/storeops-group-ca.crt").exists


def test_the_hostname_follows_the_convention(target: Any, ws: dict[str, Any]) -> None:
    expected = f"{ws['store']['code']}-{ws['role']['hostname_label']}-{ws['workstation_asset_tag']}"
    record = target.file("/etc/storeops/workstation.yml").content_string
    assert f'hostname: "{expected}"' in record
    container = target.check_output("systemd-detect-virt --container || true").strip()
    if container == "none":  # a container keeps the name its engine gives it
        assert target.check_output("hostname") == expected
