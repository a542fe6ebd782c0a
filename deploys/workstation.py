"""Provision one store workstation (pyinfra): the employee's machine, from the inventory.

Over SSH from the IT manager's machine (the usual way; it also updates the asset register):

    storeops workstation provision sh01-ws01 --owner wang.fang --role sales [--dry]

which runs ``pyinfra deploys/inventory.py deploys/workstation.py --limit sh01-ws01`` with
the request in the environment, then ``deploys/workstation_firewall.py`` over a new
connection to confirm the new firewall (without it, the previous table comes back after
``firewall_confirm_timeout`` seconds). On a new laptop not yet on the network, from a
checkout of this repository, as root (the request may also come from the machine's
host_vars; the firewall is confirmed in the same run, there is no connection to lose):

    STOREOPS_HOST=sh01-ws01 STOREOPS_WORKSTATION_OWNER=wang.fang \\
    STOREOPS_WORKSTATION_ROLE=sales .venv/bin/pyinfra -y @local deploys/workstation.py

The inventory is validated and the request checked before any operation is queued
(storeops.workstation.plan). What it configures, in order: packages (the catalogue's
standard software and what the steps below need), accounts (the employee, who must change
the first password at the first login; the IT admin account, SSH keys only, a member of
its role's sudo tier group), the screen lock (dconf, locked), security-only unattended
upgrades, ClamAV (signature updates and a daily scan on timers), the store's printer, the
DMS client, time (the common role's time zone, the hardening role's chrony), the hostname,
the host firewall (the firewall role's ruleset from the zone model, loaded with its
commit-confirm: validated, a revert armed), and /etc/storeops/workstation.yml. A second
run changes nothing.

The files, their handlers and the services and timers are the workstation role's list
(roles/workstation/vars/main.yml, read by storeops.workstation.manifest): each concern's
entries are applied here by apply_concern, where the role's tasks/main.yml applies them.
"""

from __future__ import annotations

from functools import partial
from io import StringIO

from pyinfra.api.operation import OperationMeta
from pyinfra.operations import apt, files, server, systemd

from storeops.workstation.commands import NFT_HELPER
from storeops.workstation.deploy import (
    NFT_HELPER_SOURCE,
    applied_ruleset,
    firewall_at_boot,
    first_login_password,
    machine_identity,
    printer_queue,
    provisioning_context,
    runs_on_the_machine,
    validated_file,
    write_asset_report,
)
from storeops.workstation.manifest import Concern, ManagedFile

context = provisioning_context()
plan = context.plan
identity = machine_identity(plan.address)
write_asset_report(plan, identity)


def put_role(role: str, template: str, dest: str) -> OperationMeta:
    """One of another Ansible role's templates, rendered as that role renders it."""
    return files.put(
        name=f"Write {dest}",
        src=StringIO(context.role_file(role, template, dest)),
        dest=dest,
        user="root",
        group="root",
        mode="0644",
        create_remote_dir=True,
    )


def account(
    name: str, login: str, public_keys: list[str] | None = None, groups: list[str] | None = None
) -> OperationMeta:
    """A local account with a home and bash; ``public_keys``: exactly these SSH keys;
    ``groups``: exactly these supplementary groups."""
    return server.user(
        name=name,
        user=login,
        home=f"/home/{login}",
        shell="/bin/bash",
        create_home=True,
        public_keys=public_keys,
        delete_keys=public_keys is not None,
        groups=groups,
        append=False,
    )


def any_changed(*operations: OperationMeta) -> bool:
    return any(operation.did_change() for operation in operations)


def write(file: ManagedFile) -> OperationMeta:
    """One file of the role's list, from the role's template, checked first if it says how."""
    content, name = context.file(file), file.operation_name(plan)
    if file.validation:
        return validated_file(name=name, file=file, validation=file.validation, content=content)
    return files.put(
        name=name,
        src=StringIO(content),
        dest=file.dest,
        user=file.owner,
        group=file.group,
        mode=file.mode,
        create_remote_dir=True,
    )


def apply_concern(concern: Concern) -> None:
    """A concern's entries of the role's list, as the role applies them (tasks/files.yml):
    its files, then the handlers of those that changed (in the role's order), then its
    services and timers."""
    written = [(file, write(file)) for file in context.manifest.files_of(concern)]
    for handler, command in context.handlers.items():
        notifying = [operation for file, operation in written if file.notify == handler]
        if notifying:
            server.shell(name=handler, commands=[command], _if=partial(any_changed, *notifying))
    for service in context.manifest.services_of(concern):
        systemd.service(
            name=service.operation_name,
            service=service.name,
            running=service.running,
            enabled=service.enabled,
        )


# --- packages ----------------------------------------------------------------------
apt.packages(
    name="Install the standard software of the role",
    packages=list(plan.packages),
    update=bool(context.value("common_apt_update_cache")),
    cache_time=int(context.value("common_apt_cache_valid_time")),
)


# --- accounts ----------------------------------------------------------------------
account(f"Employee account {plan.owner}", plan.owner)
first_login_password(
    name=f"First-login password of {plan.owner} (to be changed at the first login)",
    user=plan.owner,
    _stdin=f"{plan.owner}:{context.initial_password()}\n",
)
server.group(name=f"Sudo tier group {plan.sudo_group}", group=plan.sudo_group, system=True)
account(
    f"IT admin account {plan.admin_user} (SSH keys only)",
    plan.admin_user,
    public_keys=list(plan.admin_public_keys),
    groups=[plan.sudo_group],  # its only group: the tier's rule names the group
)
apply_concern("accounts")  # the tier group's sudo rule, checked by visudo

# --- screen lock, security updates, antivirus --------------------------------------
apply_concern("screen-lock")
apply_concern("updates")
apply_concern("antivirus")

# --- printer -----------------------------------------------------------------------
apply_concern("printer")
printer_queue(name=f"Printer {plan.printer['name']} (default)", printer=plan.printer)

# --- DMS client --------------------------------------------------------------------
apply_concern("dms-client")

# --- time: the store's time zone (the common role's), time synchronisation (the
# hardening role's L2-7.1.4.3-b-time-sync: chrony, unless the control is waived) ------
server.timezone(name="Time zone of the store", timezone=str(context.value("common_timezone")))
if context.value("hardening_time_sync_enabled"):
    chrony_conf = put_role("hardening", "etc/chrony/chrony.conf.j2", "/etc/chrony/chrony.conf")
    chrony_dropin_path = "/etc/systemd/system/chrony.service.d/storeops.conf"
    if context.value("hardening_time_control_clock"):
        chrony_dropin = files.file(
            name="chronyd steers the clock (no drop-in)", path=chrony_dropin_path, present=False
        )
    else:
        chrony_dropin = put_role(
            "hardening", "etc/systemd/system/chrony.service.d/storeops.conf.j2", chrony_dropin_path
        )
    systemd.daemon_reload(name="Reload systemd (chrony drop-in)", _if=chrony_dropin.did_change)
    systemd.service(
        name="Restart chrony (configuration changed)",
        service="chrony.service",
        restarted=True,
        _if=partial(any_changed, chrony_conf, chrony_dropin),
    )
    systemd.service(name="chrony", service="chrony.service", running=True, enabled=True)

# --- hostname ----------------------------------------------------------------------
if not identity.in_container:  # a container's hostname is its engine's (podman --hostname)
    server.hostname(name=f"Hostname {plan.hostname}", hostname=plan.hostname)
    files.line(
        name=f"{plan.hostname} in /etc/hosts",
        path="/etc/hosts",
        line=r"^127\.0\.1\.1\s",
        replace=f"127.0.1.1\t{plan.hostname}",
    )
# --- host firewall: the firewall role's ruleset, with its commit-confirm -------------
# Last but the record, so that the confirmation follows at once: over SSH, the CLI confirms
# over a new connection (deploys/workstation_firewall.py), else the previous table returns
# after firewall_confirm_timeout seconds; on the machine itself (@local), right here.
firewall = context.firewall()
files.put(
    name="The commit-confirm helper (module_utils/storeops_nft.py)",
    src=str(NFT_HELPER_SOURCE),
    dest=NFT_HELPER,
    user="root",
    group="root",
    mode="0644",
    create_remote_dir=True,
)
nft_dropin = put_role(
    "firewall",
    "etc/systemd/system/nftables.service.d/storeops.conf.j2",
    "/etc/systemd/system/nftables.service.d/storeops.conf",
)
systemd.daemon_reload(name="Reload systemd (nftables drop-in)", _if=nft_dropin.did_change)
applied_ruleset(
    name="Host firewall from the zone model (checked, loaded with a revert armed)",
    firewall=firewall,
    confirm_now=runs_on_the_machine(),
)
if runs_on_the_machine():
    firewall_at_boot()

# --- the machine's record (/etc/storeops/workstation.yml) --------------------------
apply_concern("record")
