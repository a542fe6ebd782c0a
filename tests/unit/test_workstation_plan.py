"""What a workstation gets, from the lab inventory: the request checks, the plan, the files.

The lab inventory is copied (the register checks read and write assets/); nothing here
contacts a host. The files are rendered as the deploy renders them: the workstation role's
templates, and the other Ansible roles' templates, through Ansible's templating engine.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from storeops.ansible_view import load as load_ansible_view
from storeops.role_templates import play_variables, render_role_template, resolve
from storeops.workstation.plan import (
    FEATURE_PACKAGES,
    Checked,
    WorkstationInputError,
    WorkstationPlan,
    assignment_for,
    check_register,
    load_checked,
    plan_for,
)
from storeops.workstation.register import AssetRegister
from storeops.workstation.schema import AssetRecord
from storeops.yamlfiles import VaultPasswords
from storeops.zones import inbound_rules
from tests.conftest import REPO

LAB_PASSWORDS = [REPO / "lab" / "vault-password.txt"]


@pytest.fixture
def lab(tmp_path: Path) -> Checked:
    root = shutil.copytree(REPO / "inventory" / "lab", tmp_path / "lab")
    return load_checked(root, VaultPasswords.from_files(LAB_PASSWORDS))


def _problems(lab: Checked, host: str, **request: str | None) -> list[str]:
    with pytest.raises(WorkstationInputError) as refused:
        assignment_for(lab, host, **request)
    return refused.value.problems


def _plan(lab: Checked, role: str = "finance") -> WorkstationPlan:
    return plan_for(lab, "sh01-ws01", assignment_for(lab, "sh01-ws01", "wang.fang", role))


def _deploy_file(plan: WorkstationPlan, dest: str) -> str:
    template = f"{dest.lstrip('/')}.j2"  # the workstation role's, as the deploy renders it
    return render_role_template("workstation", template, dest, plan.template_vars())


# ---------------------------------------------------------------------------- the request


def test_every_problem_of_a_request_is_named_at_once(lab: Checked) -> None:
    problems = _problems(lab, "sh01-ws01", owner=None, role="clerk", asset_tag="A 1")
    assert problems[0] == "owner missing: give the employee's login name (--owner LOGIN)"
    assert problems[1].startswith("unknown role 'clerk': the catalogue in ")
    assert problems[1].endswith("has finance, parts, sales, service_advisor, workshop")
    assert problems[2].startswith("asset tag: 'A 1' is not an asset tag")


@pytest.mark.parametrize("owner", ["root", "storeops", "it-admin", "Wang Fang", "x" * 33])
def test_system_admin_and_malformed_logins_are_refused(lab: Checked, owner: str) -> None:
    assert _problems(lab, "sh01-ws01", owner=owner, role="sales")[0].startswith("owner: ")


def test_an_unknown_host_names_the_workstations(lab: Checked) -> None:
    (problem,) = _problems(lab, "sh01-ws99", owner="wang.fang", role="sales")
    assert problem.startswith("unknown host 'sh01-ws99': not in ")
    assert problem.endswith("(workstations: hz01-ws01, sh01-ws01)")


def test_a_server_is_not_a_workstation(lab: Checked) -> None:
    assert _problems(lab, "sh01-db", owner="wang.fang", role="sales") == [
        "sh01-db is not a workstation (storeops_roles: db)"
    ]


def test_the_asset_tag_comes_from_host_vars_unless_given(lab: Checked) -> None:
    assert assignment_for(lab, "sh01-ws01", "wang.fang", "sales").asset_tag == "0101"
    assert assignment_for(lab, "sh01-ws01", "wang.fang", "sales", "0150").asset_tag == "0150"


def _register(lab: Checked, owner: str, host: str = "sh01-ws01", tag: str = "0101") -> None:
    register = AssetRegister.load(lab.raw.root, "sh01")
    register.upsert(
        AssetRecord(
            asset_tag=tag, store="sh01", host=host, hostname=f"sh01-sales-{tag}",
            serial=f"mid-{tag}", serial_source="machine-id", model="container (podman)",
            mac="aa:bb:cc:dd:ee:01", owner=owner, role="sales", provisioned=dt.date(2026, 1, 5),
        )
    )  # fmt: skip
    register.save()


def test_a_machine_in_use_by_someone_else_must_be_decommissioned_first(lab: Checked) -> None:
    _register(lab, owner="li.na")
    assignment = assignment_for(lab, "sh01-ws01", "wang.fang", "sales")
    with pytest.raises(WorkstationInputError, match=r"in use by li\.na .*decommission sh01-ws01"):
        check_register(lab, "sh01-ws01", assignment)
    check_register(lab, "sh01-ws01", assignment_for(lab, "sh01-ws01", "li.na", "sales"))


def test_an_asset_tag_in_use_on_another_machine_is_refused(lab: Checked) -> None:
    _register(lab, owner="li.na", host="sh01-ws02", tag="0150")
    assignment = assignment_for(lab, "sh01-ws01", "wang.fang", "sales", "0150")
    with pytest.raises(WorkstationInputError, match=r"asset 0150 is in use on sh01-ws02"):
        check_register(lab, "sh01-ws01", assignment)


# ---------------------------------------------------------------------------- the plan


def test_the_plan_follows_the_role_and_the_store(lab: Checked) -> None:
    plan = _plan(lab, "finance")
    assert plan.hostname == "sh01-fin-0101"
    assert plan.packages == (*FEATURE_PACKAGES, "w3m", "catdoc", "poppler-utils", "sc")
    assert (plan.sudo_tier, plan.idle_timeout_seconds) == ("desk-support", 300)
    assert plan.sudo_group == "storeops-tier-desk-support"
    assert "ALL" not in plan.sudo_commands
    assert plan.printer["uri"] == "ipp://10.77.1.110/ipp/print"
    assert plan.dms_url == "http://10.77.1.40:8080"
    sales = _plan(lab, "sales")
    assert (sales.hostname, sales.sudo_commands, sales.idle_timeout_seconds) == (
        "sh01-sales-0101",
        ("ALL",),
        600,
    )


def test_the_firewall_rules_are_the_zone_model_s(lab: Checked) -> None:
    host = lab.inventory.hosts["sh01-ws01"]
    expected = tuple(rule.as_vars() for rule in inbound_rules(lab.inventory, host))
    assert _plan(lab).firewall_rules == expected
    assert {rule["flow"] for rule in expected} == {"mgmt-ssh", "mgmt-ping"}


# ---------------------------------------------------------------------------- the files


def test_every_screen_lock_key_is_set_and_locked(lab: Checked) -> None:
    plan = _plan(lab, "finance")
    settings = _deploy_file(plan, "/etc/dconf/db/local.d/00-storeops-screenlock")
    locks = _deploy_file(plan, "/etc/dconf/db/local.d/locks/storeops-screenlock")
    assert "idle-delay=uint32 300\n" in settings
    section, keys = "", set()
    for line in settings.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            keys.add(f"/{section}/{line.split('=')[0]}")
    locked = {line for line in locks.splitlines() if line.startswith("/")}
    assert keys == locked
    assert len(keys) == 5


def test_sudo_tier_of_the_admin_and_none_for_the_employee(lab: Checked) -> None:
    rules = [
        line
        for line in _deploy_file(
            _plan(lab, "finance"), "/etc/sudoers.d/storeops-workstation"
        ).splitlines()
        if line and not line.startswith("#")
    ]
    assert rules == [
        "%storeops-tier-desk-support ALL=(root) NOPASSWD: /usr/bin/apt-get update, "
        "/usr/bin/apt-get --yes upgrade, "
        '/usr/sbin/lpadmin, /usr/bin/systemctl restart cups.service, /usr/bin/freshclam ""'
    ]


def test_unattended_upgrades_take_security_origins_only(lab: Checked) -> None:
    text = _deploy_file(_plan(lab), "/etc/apt/apt.conf.d/52storeops-security-only")
    assert "#clear Unattended-Upgrade::Origins-Pattern;" in text
    assert "#clear Unattended-Upgrade::Allowed-Origins;" in text
    assert re.findall(r'^\s+"(.*)";$', text, re.MULTILINE) == [
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security"
    ]


def test_the_dms_client_points_at_the_store(lab: Checked) -> None:
    conf = _deploy_file(_plan(lab), "/etc/storedms-client/client.conf")
    assert "url = http://10.77.1.40:8080\n" in conf
    assert "store = sh01\n" in conf
    cert = _deploy_file(_plan(lab), "/usr/local/share/ca-certificates/storeops-group-ca.crt")
    assert cert.startswith("-----BEGIN CERTIFICATE-----\n")
    assert cert.endswith("-----END CERTIFICATE-----\n")


def _machine_variables(lab: Checked) -> dict[str, object]:
    passwords = VaultPasswords.from_files(LAB_PASSWORDS)
    host = load_ansible_view(lab.raw.root, passwords)["sh01-ws01"]
    variables = play_variables("sh01-ws01", host.variables, ("common", "hardening", "firewall"))
    variables["firewall_inbound_rules"] = list(_plan(lab).firewall_rules)
    return variables


def test_the_roles_templates_render_with_the_inventory_as_ansible_does(lab: Checked) -> None:
    variables = _machine_variables(lab)
    assert resolve(variables, "common_timezone") == "Asia/Shanghai"
    chrony = render_role_template(
        "hardening", "etc/chrony/chrony.conf.j2", "/etc/chrony/chrony.conf", variables
    )
    assert (
        "\nserver 10.77.1.1 iburst\n" in chrony
    )  # "{{ store.network | ansible.utils.nthhost(1) }}"
    ruleset = render_role_template(
        "firewall", "etc/nftables.conf.j2", "/etc/nftables.conf", variables
    )
    accepts = [
        line.strip()
        for line in ruleset.splitlines()
        if line.strip().endswith('"') and "accept" in line
    ]
    assert accepts == [
        'ip saddr 10.77.1.0/27 tcp dport 22 counter accept comment "flow mgmt-ssh"',
        'ip saddr 10.77.1.0/27 icmp type echo-request counter accept comment "flow mgmt-ping"',
    ]


@pytest.mark.skipif(
    shutil.which("nft") is None or os.geteuid() != 0, reason="nft -c needs nftables and root"
)
def test_the_workstation_ruleset_passes_nft_check(lab: Checked, tmp_path: Path) -> None:
    ruleset = tmp_path / "nftables.conf"
    ruleset.write_text(
        render_role_template(
            "firewall", "etc/nftables.conf.j2", "/etc/nftables.conf", _machine_variables(lab)
        )
    )
    checked = subprocess.run(
        ["nft", "-c", "-f", str(ruleset)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
