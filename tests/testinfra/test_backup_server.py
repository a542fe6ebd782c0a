"""What a store's backup server looks like after the ``backup`` role (entry point
``server``, and the users the backed-up hosts added): checked on the host itself.

Where the hosts come from: the ``backup`` group of ``inventory/lab``, or of the inventory
``STOREOPS_INVENTORY`` names (an audit of production)::

    STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_backup_server.py

The backed-up hosts of a store are its ``db`` and ``dms`` hosts; each has its own SFTP-only
user, chrooted to its own directory, with its key in a root-owned file outside the chroot.
sshd itself is asked what applies to such a user (``sshd -T -C user=...``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
ON_LAB = LAB_INVENTORY.resolve() == INVENTORY
testinfra_hosts = [f"ansible://backup?ansible_inventory={INVENTORY}"]
pytestmark = [pytest.mark.lab] if ON_LAB else []
target = role_host.target  # fixture: the host to check

# What sshd must apply to a backup user (sshd -T prints lower-case keywords).
SFTP_ONLY = {
    "forcecommand": "internal-sftp",
    "passwordauthentication": "no",
    "kbdinteractiveauthentication": "no",
    "allowtcpforwarding": "no",
    "allowagentforwarding": "no",
    "allowstreamlocalforwarding": "no",
    "x11forwarding": "no",
    "permittty": "no",
}


@pytest.fixture(scope="module")
def backup(host: Any) -> dict[str, Any]:
    """The role's variables for this host, and the SFTP users of the store's backed-up hosts."""
    expected: dict[str, Any] = role_host.role_variables(
        host, "backup", "^backup_(?!repository_password$)"
    )
    clients = "groups['store_' ~ store.code] | intersect(groups['db'] + groups['dms'])"
    expected["users"] = [
        f"backup-{name}" for name in role_host.rendered(host, f"{{{{ {clients} }}}}")
    ]
    return expected


@pytest.fixture(scope="module", autouse=True)
def prepared(target: Any, backup: dict[str, Any]) -> None:
    if ON_LAB and not target.file("/usr/local/sbin/storeops-restore-drill").exists:
        pytest.skip("playbooks/backup.yml has not run on this lab backup server yet")


def effective_sshd(target: Any, user: str) -> dict[str, str]:
    with target.sudo():
        printed = target.check_output("sshd -T -C user=%s,host=client,addr=127.0.0.2", user)
    return dict(line.split(" ", 1) for line in printed.splitlines() if " " in line)


def test_each_backed_up_host_has_an_sftp_only_chrooted_user(
    target: Any, backup: dict[str, Any]
) -> None:
    assert backup["users"], "no db or dms host in this store"
    root = backup["backup_chroot_root"]
    for user in backup["users"]:
        account = target.user(user)
        assert account.exists and account.group == backup["backup_sftp_group"], user
        assert account.shell == "/usr/sbin/nologin", user
        sshd = effective_sshd(target, user)
        assert {key: sshd.get(key) for key in SFTP_ONLY} == SFTP_ONLY, user
        assert sshd["chrootdirectory"] == f"{root}/%u"
        assert sshd["authorizedkeysfile"] == "/etc/ssh/storeops-backup/%u.keys"


def test_a_chroot_is_root_owned_and_its_repository_the_users_alone(
    target: Any, backup: dict[str, Any]
) -> None:
    root = backup["backup_chroot_root"]
    with target.sudo():
        for user in backup["users"]:
            chroot, repository = target.file(f"{root}/{user}"), target.file(f"{root}/{user}/repo")
            assert (chroot.user, chroot.group, chroot.mode) == ("root", "root", 0o755), user
            assert (repository.user, repository.mode) == (user, 0o700), user
            assert target.file(f"{root}/{user}/repo/config").exists, f"{user}: no repository"


def test_keys_are_root_owned_and_restricted(target: Any, backup: dict[str, Any]) -> None:
    with target.sudo():
        for user in backup["users"]:
            keys = target.file(f"/etc/ssh/storeops-backup/{user}.keys")
            assert (keys.user, keys.group) == ("root", "root") and not keys.mode & 0o022, user
            lines = [line for line in keys.content_string.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("restrict ssh-ed25519 "), user


def test_the_restore_drill_can_run_here(target: Any) -> None:
    for package in ("restic", "mariadb-server"):
        assert target.package(package).is_installed, package
    drill = target.file("/usr/local/sbin/storeops-restore-drill")
    assert (drill.user, drill.mode) == ("root", 0o755)
