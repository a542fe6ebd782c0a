"""OS patching decisions: the order of hosts, the gate, the DMS holds, the change report,
and the patching variables' constraints (storeops.patching, storeops.schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from storeops import schema
from storeops.patching import holds, report_line, report_table, step_gate, steps
from storeops.schema import Release

REPO = Path(__file__).resolve().parents[2]
ORDER = ["backup", "db", "dms"]
LAB_KEY = (
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ0AAABYJKwYBBAHaRw8BAQdA\n=abcd\n"
    "-----END PGP PUBLIC KEY BLOCK-----\n"
)


def _host(code: str, role: str, *, pilot: bool = False) -> dict[str, Any]:
    return {"store": {"code": code, "pilot": pilot}, "storeops_roles": [role]}


# Inventory order is deliberately not the patch order.
HOSTS = {
    "sh01-dms": _host("sh01", "dms", pilot=True),
    "sh01-db": _host("sh01", "db", pilot=True),
    "sh01-backup": _host("sh01", "backup", pilot=True),
    "hz01-dms": _host("hz01", "dms"),
    "hz01-db": _host("hz01", "db"),
    "hz01-backup": _host("hz01", "backup"),
    "nj01-db": _host("nj01", "db"),
    "nj01-dms": _host("nj01", "dms"),
}


def test_the_pilot_store_goes_first_one_host_at_a_time_dms_host_last() -> None:
    assert steps(HOSTS, ORDER, 1)[:3] == [["sh01-backup"], ["sh01-db"], ["sh01-dms"]]
    assert steps(HOSTS, ORDER, 1)[3:] == [
        ["hz01-backup"],
        ["hz01-db"],
        ["hz01-dms"],
        ["nj01-db"],
        ["nj01-dms"],
    ]


def test_the_stores_of_a_wave_are_patched_side_by_side_position_by_position() -> None:
    assert steps(HOSTS, ORDER, 2)[3:] == [
        ["hz01-backup", "nj01-db"],
        ["hz01-db", "nj01-dms"],
        ["hz01-dms"],
    ]


def test_a_host_with_the_db_and_the_dms_goes_with_the_dms_and_unknown_roles_go_first() -> None:
    hosts = {
        "x-both": {"store": {"code": "x"}, "storeops_roles": ["db", "dms"]},
        "x-ws": {"store": {"code": "x"}, "storeops_roles": ["workstation"]},
        "x-backup": {"store": {"code": "x"}, "storeops_roles": ["backup"]},
    }
    assert steps(hosts, ORDER, 1) == [["x-ws"], ["x-backup"], ["x-both"]]


def test_the_first_failed_host_stops_every_later_step() -> None:
    plan = steps(HOSTS, ORDER, 1)
    assert step_gate(plan, 1, {"sh01-backup": "patched"}) == ""
    gate = step_gate(plan, 3, {"sh01-backup": "patched", "sh01-db": "failed"})
    assert gate == "not reached: the run stopped after sh01-db failed"
    # Held or refused hosts do not stop the run; only a failure does.
    assert step_gate(plan, 3, {"sh01-backup": "held", "sh01-db": "refused"}) == ""


def test_the_holds_follow_the_stores_dms_target() -> None:
    catalog = [
        Release(
            version="3.1.0", artifact="a", sha256="1" * 64, packages={"storedms-runtime": "1.*"}
        ),
        Release(
            version="4.0.0",
            artifact="d",
            sha256="4" * 64,
            upgrade_from=["3.1.0"],
            packages={"storedms-runtime": "2.*", "libfoo1": "1:2.3-4"},
        ),
    ]
    assert holds(catalog, "3.1.0") == [
        {"package": "storedms-runtime", "version": "1.*", "reason": "DMS 3.1.0 needs 1.*"}
    ]
    assert [(h["package"], h["version"]) for h in holds(catalog, "4.0.0")] == [
        ("libfoo1", "1:2.3-4"),
        ("storedms-runtime", "2.*"),
    ]
    assert holds(catalog, "9.9.9") == []


@pytest.mark.parametrize(
    "packages",
    [
        {"storedms-runtime": "1.*\nPin-Priority: 1001"},
        {"storedms-runtime\nPackage: *": "1.*"},
        {"Storedms": "1.*"},
        {"storedms-runtime": "*"},
        {"storedms-runtime": "1.* 2.*"},
    ],
)
def test_a_hostile_catalog_package_or_pin_is_refused(packages: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Release(version="3.1.0", artifact="a", sha256="1" * 64, packages=packages)


RESULT = {
    "result": "patched",
    "reason": "",
    "upgraded": [{"name": "storeops-lab-agent", "from": "1.0", "to": "1.1"}],
    "pending": [{"name": "storeops-lab-agent", "from": "1.0", "to": "1.1"}],
    "held": [
        {
            "name": "storedms-runtime",
            "installed": "1.0",
            "kept_at": "1.0",
            "available": "2.0",
            "by": "apt pin (priority 990)",
        }
    ],
    "restarted": ["storeops-lab-agent.service"],
    "rebooted": True,
    "seconds": "12.345",
    "pending_security": "0",
}
RUN = {"id": "r1", "user": "it", "started": "2026-12-05T22:00:00+00:00", "upgrade": "security"}


def test_the_report_line_of_a_patched_host() -> None:
    line = report_line("sh01-db", {"store": {"code": "sh01"}, "patching_result": RESULT}, RUN)
    assert line["upgraded"] == [{"package": "storeops-lab-agent", "from": "1.0", "to": "1.1"}]
    assert line["held"] == [
        {
            "package": "storedms-runtime",
            "version": "1.0",
            "available": "2.0",
            "by": "apt pin (priority 990)",
        }
    ]
    assert (line["result"], line["rebooted"], line["seconds"], line["run_id"]) == (
        "patched",
        True,
        12.3,
        "r1",
    )
    table = report_table([line])
    assert table[1].split()[:6] == ["sh01-db", "sh01", "patched", "1", "1", "yes"]
    assert "    storeops-lab-agent 1.0 -> 1.1" in table
    assert "    restarted storeops-lab-agent.service" in table


def test_a_host_that_had_no_turn_says_why() -> None:
    closed = {
        "store": {"code": "hz01"},
        "store_window": {"open": False, "overridden": False, "reason": "outside 22:00-06:00"},
    }
    assert report_line("hz01-db", closed, RUN)["result"] == "refused"
    unreachable = {
        "store": {"code": "hz01"},
        "store_window": {"open": True},
        "patching_reached": {"unreachable": True, "msg": "no route"},
    }
    assert report_line("hz01-db", unreachable, RUN)[("result")] == "unreachable"
    untouched = {"store": {"code": "hz01"}, "store_window": {"open": True}}
    assert report_line("hz01-db", untouched, RUN)["result"] == "not reached"


PATCHING_DEFAULTS = yaml.safe_load((REPO / "roles/patching/defaults/main.yml").read_text())
LAB_PATCHING = yaml.safe_load((REPO / "inventory/lab/group_vars/all/patching.yml").read_text())


def test_the_patching_defaults_and_the_labs_values_pass() -> None:
    schema.ConstrainedRoleVars.model_validate(PATCHING_DEFAULTS)
    schema.ConstrainedRoleVars.model_validate(LAB_PATCHING)
    source = {"name": "lab", "uris": ["http://10.0.0.1"], "suites": ["lab"], "components": ["main"]}
    schema.ConstrainedRoleVars.model_validate(
        {"patching_apt_sources": [{**source, "key": LAB_KEY}]}
    )


SOURCE = {
    "name": "lab",
    "uris": ["http://10.0.0.1:8809"],
    "suites": ["lab"],
    "components": ["main"],
}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("patching_upgrade", "dist-upgrade"),
        ("patching_apt_sources", [{**SOURCE, "key": LAB_KEY, "signed_by": "/usr/share/k.gpg"}]),
        ("patching_apt_sources", [SOURCE]),  # unsigned: apt must verify every source
        ("patching_apt_sources", [{**SOURCE, "signed_by": "/k", "name": "../../etc/passwd"}]),
        ("patching_apt_sources", [{**SOURCE, "signed_by": "/k", "name": "lab\nTrusted: yes"}]),
        ("patching_apt_sources", [{**SOURCE, "signed_by": "/k\nTrusted: yes"}]),
        ("patching_apt_sources_absent", ["/etc/apt/sources.list\n/etc/passwd"]),
        (
            "patching_apt_sources",
            [{**SOURCE, "signed_by": "/k", "uris": ["http://x\nTrusted: yes"]}],
        ),
        ("patching_apt_sources", [{**SOURCE, "signed_by": "/k", "uris": ["file:///tmp"]}]),
        ("patching_apt_sources", [{**SOURCE, "signed_by": "/k", "suites": ["lab\nTrusted: yes"]}]),
        ("patching_apt_sources", [{**SOURCE, "signed_by": "/k", "components": ["main contrib"]}]),
        ("patching_apt_sources", [{**SOURCE, "key": LAB_KEY + "Trusted: yes\n"}]),
        ("patching_apt_sources", [{**SOURCE, "key": "-----BEGIN PGP PUBLIC KEY BLOCK-----"}]),
        ("patching_apt_sources_absent", ["/etc/apt/../shadow"]),
        ("patching_security_origins", ['origin=Debian";}; APT::x {"']),
        ("patching_security_origins", []),
        ("patching_role_order", ["backup", "router"]),
        ("patching_boot_time_command", "cat /proc/1/stat; reboot"),
        ("patching_boot_time_command", "cat /proc/sys/kernel/random/boot_id\nreboot"),
        ("patching_boot_time_command", "ps -o lstart= -p 1 $(reboot)"),
        ("patching_restart_exclude", ["ssh.service\nx"]),
        ("patching_restart_exclude", ["ssh"]),
        ("patching_hold_priority", 1001),
        ("patching_wave_size", 0),
        ("patching_holds_file", "relative/path"),
    ],
)
def test_the_patching_variables_are_constrained(variable: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        schema.ConstrainedRoleVars.model_validate({variable: value})
    assert {error["loc"][0] for error in refused.value.errors()} == {variable}
