"""Decommission a store workstation (pyinfra): the employee leaves, the machine comes back.

Run by ``storeops workstation decommission HOST``, one pyinfra run per phase, so that the
account is removed only once its home is safe on the store's backup server:

1. ``archive`` (the workstation): wipe the DMS client's credentials (they are not
   archived), archive the employee's home encrypted with the store's backup secret
   (``openssl enc -aes-256-cbc -pbkdf2``, the password on stdin), fetch it to the
   controller.
2. ``store`` (the store's backup server): put the archive under
   ``workstation_archive_dir/<store>/<host>/`` (root only) and check its SHA-256.
3. ``remove`` (the workstation): end the employee's processes, delete the account with its
   home, SSH keys and crontab, delete the local archive and the machine's assignment record.

Each phase is idempotent: with no account left, nothing is archived and nothing removed.
The CLI then marks the asset returned in the register and clears the owner in host_vars.
"""

from __future__ import annotations

from pyinfra.operations import files

from storeops.workstation.deploy import (
    DecommissionContext,
    archive_password,
    decommission_context,
    encrypted_home_archive,
    has_home_to_archive,
    refuse_removal_before_archive,
    remove_employee,
    same_sha256,
    sha256_of,
)

context = decommission_context()


def archive(context: DecommissionContext) -> None:
    if not has_home_to_archive(context):
        return  # decommissioned already: nothing to archive, nothing fetched
    files.directory(
        name="Wipe the DMS client's saved credentials",
        path=f"/home/{context.owner}/.config/storedms-client",
        present=False,
    )
    encrypted_home_archive(
        name=f"Archive /home/{context.owner} (encrypted)",
        owner=context.owner,
        archive=context.archive_on_workstation,
        _stdin=archive_password(context.workstation) + "\n",
    )
    files.get(
        name="Fetch the archive to the controller",
        src=context.archive_on_workstation,
        dest=context.archive_local,
        add_deploy_dir=False,
        create_local_dir=True,
    )


def store(context: DecommissionContext) -> None:
    remote = context.archive_on_backup_server
    for directory in (
        context.archive_dir,
        f"{context.archive_dir}/{context.store}",
        f"{context.archive_dir}/{context.store}/{context.workstation}",
    ):
        files.directory(
            name=f"Directory {directory}", path=directory, user="root", group="root", mode="0700"
        )
    files.put(
        name=f"Keep the archive on the backup server: {remote}",
        src=context.archive_local,
        dest=remote,
        user="root",
        group="root",
        mode="0600",
        add_deploy_dir=False,
    )
    same_sha256(
        name="Check the stored archive", path=remote, digest=sha256_of(context.archive_local)
    )


def remove(context: DecommissionContext) -> None:
    refuse_removal_before_archive(context)
    files.directory(
        name="Wipe the DMS client's saved credentials",
        path=f"/home/{context.owner}/.config/storedms-client",
        present=False,
    )
    remove_employee(name=f"Remove the account {context.owner} and its home", owner=context.owner)
    files.file(
        name="Remove the archive's copy on the workstation",
        path=context.archive_on_workstation,
        present=False,
    )
    files.file(
        name="Remove the machine's assignment record",
        path="/etc/storeops/workstation.yml",
        present=False,
    )


{"archive": archive, "store": store, "remove": remove}[context.phase](context)
