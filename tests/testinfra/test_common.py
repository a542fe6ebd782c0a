"""What every store host looks like after the ``common`` role, and after the two controls of
the ``hardening`` role that every host had from ``common`` before (the journal's retention,
L2-7.1.4.3-c-journal-retention, and time synchronisation, L2-7.1.4.3-b-time-sync: the lab
gets them from ``make demo``, molecule's converge applies them too): checked on the host.

Where the hosts come from:

* molecule (``roles/common/molecule/default``) passes ``--hosts`` and its own inventory;
* with no ``--hosts`` (``make test-lab``), the ``stores`` group of ``inventory/lab``, or
  of the inventory ``STOREOPS_INVENTORY`` names, so the same checks audit production::

      STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_common.py

  Run it from the repository root, as ansible: the inventory's paths are relative to it.

What is expected comes from each host's own Ansible variables, templated by Ansible (so
``common_timezone: "{{ store.timezone }}"`` resolves), with the roles' defaults for anything
the inventory does not set, or for everything when the connection is not Ansible.

Some things cannot be proven on every host, and the tests say so instead of pretending:
a host with ``hardening_time_control_clock: false`` (a container: no CAP_SYS_TIME) runs
chronyd with ``-x``, so there the clock is never synchronised and that test is skipped; a
host whose control is waived (its toggle off) skips that control's tests and says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path
from ansible.module_utils.parsing.convert_bool import boolean

from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
testinfra_hosts = [f"ansible://linux?ansible_inventory={INVENTORY}"]  # unless --hosts
pytestmark = [pytest.mark.lab] if LAB_INVENTORY.resolve() == INVENTORY else []
target = role_host.target  # fixture: the host to check

CHRONY_DROPIN = "/etc/systemd/system/chrony.service.d/storeops.conf"
SUDOERS_FILE = "/etc/sudoers.d/storeops-admins"
JOURNALD_DROPIN = "/etc/systemd/journald.conf.d/storeops.conf"
RSYSLOG_LOGROTATE = "/etc/logrotate.d/rsyslog"


@pytest.fixture(scope="module")
def common(host: Any) -> dict[str, Any]:
    """The role's variables for this host: role defaults, overridden by the inventory."""
    return cast(dict[str, Any], role_host.role_variables(host, "common", "^common_"))


@pytest.fixture(scope="module")
def hardening(host: Any) -> dict[str, Any]:
    """The hardening role's variables for this host: role defaults, overridden by the
    inventory."""
    return cast(dict[str, Any], role_host.role_variables(host, "hardening", "^hardening_"))


@pytest.fixture(scope="module")
def time_sync(hardening: dict[str, Any]) -> dict[str, Any]:
    """The time control's variables; the tests that need it skip where it is waived."""
    if not boolean(hardening["hardening_time_sync_enabled"]):
        pytest.skip("L2-7.1.4.3-b-time-sync is waived on this host (hardening_time_sync_enabled)")
    return hardening


@pytest.fixture(scope="module")
def journal(hardening: dict[str, Any]) -> dict[str, Any]:
    """The journal control's variables; the test that needs it skips where it is waived."""
    if not boolean(hardening["hardening_journal_retention_enabled"]):
        pytest.skip(
            "L2-7.1.4.3-c-journal-retention is waived on this host "
            "(hardening_journal_retention_enabled)"
        )
    return hardening


def _run(host: Any, command: str, *args: str) -> str:
    """Output of a command run as root; fails the test on a non-zero exit."""
    with host.sudo():
        return str(host.check_output(command, *args))


def _stat(host: Any, path: str) -> str:
    """``owner group octal-mode file-type`` of a path, in one command."""
    return _run(host, "stat -c '%%U %%G %%a %%F' %s", path)


def test_base_packages_are_installed(target: Any, common: dict[str, Any]) -> None:
    wanted = sorted({*common["common_packages"], "chrony"})
    # One dpkg-query for all of them; unknown packages print nothing on stdout.
    query = "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n'" + " %s" * len(wanted)
    out = target.run(query, *wanted).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.split()[1:] == ["ii"]}
    assert sorted(set(wanted) - installed) == []


def test_timezone(target: Any, common: dict[str, Any]) -> None:
    link = _run(target, "readlink /etc/localtime")
    assert link.endswith("/zoneinfo/" + common["common_timezone"]), link


def test_chrony_follows_the_configured_servers(target: Any, time_sync: dict[str, Any]) -> None:
    config = _run(target, "cat /etc/chrony/chrony.conf").splitlines()
    servers = [line for line in config if line.split()[:1] in (["server"], ["pool"])]
    assert servers == [
        f"server {name} {time_sync['hardening_ntp_server_options']}".strip()
        for name in time_sync["hardening_ntp_servers"]
    ]
    # Only the inventory's sources: no DHCP or drop-in directories that add others.
    assert not [line for line in config if line.split()[:1] in (["sourcedir"], ["confdir"])]


def test_chrony_runs_in_the_configured_mode(target: Any, time_sync: dict[str, Any]) -> None:
    chrony = target.service("chrony")
    assert chrony.is_enabled
    assert chrony.is_running
    daemons = target.process.filter(comm="chronyd")
    assert daemons, "no chronyd process"
    controls_clock = boolean(time_sync["hardening_time_control_clock"])
    assert all(("-x" in p.args.split()) is not controls_clock for p in daemons), [
        p.args for p in daemons
    ]
    dropin = target.run("test -e %s", CHRONY_DROPIN).rc == 0
    assert dropin is not controls_clock


def test_clock_is_synchronised(target: Any, time_sync: dict[str, Any]) -> None:
    if not boolean(time_sync["hardening_time_control_clock"]):
        pytest.skip(
            "hardening_time_control_clock is false: this host cannot set its clock "
            "(no CAP_SYS_TIME), chronyd runs with -x and never synchronises it"
        )
    tracking = _run(target, "chronyc -n tracking")
    assert "Leap status     : Normal" in tracking, tracking


def test_admin_group_and_members(target: Any, common: dict[str, Any]) -> None:
    entry = _run(target, "getent group %s", common["common_admin_group"])
    members = set(filter(None, entry.split(":")[3].split(",")))
    assert set(common["common_admin_users"]) <= members, entry


def test_sudoers_dropin_is_valid_and_grants_the_admin_group(
    target: Any, common: dict[str, Any]
) -> None:
    assert _stat(target, SUDOERS_FILE) == "root root 440 regular file"
    nopasswd = "NOPASSWD: " if boolean(common["common_admin_sudo_nopasswd"]) else ""
    rule = f"%{common['common_admin_group']} ALL=(ALL:ALL) {nopasswd}ALL"
    assert rule in _run(target, "cat %s", SUDOERS_FILE).splitlines()
    # The whole sudo configuration still parses (a broken file locks every admin out).
    _run(target, "visudo -c")
    # And the rule reaches the members through the group.
    for user in common["common_admin_users"]:
        rights = [line.strip() for line in _run(target, "sudo -l -U %s", user).splitlines()]
        assert f"(ALL : ALL) {nopasswd}ALL" in rights, rights


def test_journald_keeps_logs_on_disk(target: Any, journal: dict[str, Any]) -> None:
    dropin = _run(target, "cat %s", JOURNALD_DROPIN).splitlines()
    assert "Storage=persistent" in dropin
    # The merged configuration (last assignment wins) is what journald really uses.
    merged = _run(target, "systemd-analyze cat-config systemd/journald.conf").splitlines()
    settings = dict(
        line.split("=", 1) for line in merged if "=" in line and not line.startswith("#")
    )
    assert settings.get("Storage") == "persistent"
    assert settings.get("SystemMaxUse") == str(journal["hardening_journal_system_max_use"])
    days = int(journal["hardening_journal_max_retention_days"])
    assert settings.get("MaxRetentionSec") == f"{days}day"
    assert days >= 180, "MLPS 2.0 wants at least 180 days of logs"

    assert _stat(target, "/var/log/journal") == "root systemd-journal 2755 directory"
    # A tmpfs here (podman --systemd=always mounts one) loses the journal at every restart.
    fstype = _run(target, "findmnt -n -o FSTYPE --target /var/log/journal").strip()
    assert fstype not in {"tmpfs", "ramfs"}, f"/var/log/journal is on {fstype}"
    # journald is writing there now.
    machine_id = _run(target, "cat /etc/machine-id").strip()
    assert _stat(target, f"/var/log/journal/{machine_id}/system.journal").endswith("regular file")


def test_rsyslog_logs_are_kept_as_long(target: Any, journal: dict[str, Any]) -> None:
    """The text logs rsyslog writes from the journal (syslog, auth.log) are rotated away no
    sooner than the journal's retention: weekly rotations times the kept count."""
    if target.run("test -e %s", RSYSLOG_LOGROTATE).rc != 0:
        pytest.skip(f"no {RSYSLOG_LOGROTATE}: rsyslog is not installed")
    days_per_period = {"daily": 1, "weekly": 7, "monthly": 28, "yearly": 365}
    words = [line.split() for line in _run(target, "cat %s", RSYSLOG_LOGROTATE).splitlines()]
    periods = [days_per_period[w[0]] for w in words if w and w[0] in days_per_period]
    kept = [int(w[1]) for w in words if len(w) == 2 and w[0] == "rotate" and w[1].isdigit()]
    assert periods and kept, words
    days = int(journal["hardening_journal_max_retention_days"])
    assert min(periods) * min(kept) >= days, f"rotations {kept}, periods {periods} (days)"
