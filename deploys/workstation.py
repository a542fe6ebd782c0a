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
the first password at the first login; the IT admin account, SSH keys only, with its
role's sudo tier), the screen lock (dconf, locked), security-only unattended upgrades,
ClamAV (signature updates and a daily scan on timers), the store's printer, the DMS
client, time (the common role's chrony), the hostname, the host firewall (the firewall
role's ruleset from the zone model, loaded with its commit-confirm: validated, a revert
armed), and /etc/storeops/workstation.yml. A second run changes nothing.
"""

from __future__ import annotations

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

context = provisioning_context()
plan = context.plan
identity = machine_identity(plan.address)
write_asset_report(plan, identity)


def put(dest: str, content: str, mode: str = "0644") -> OperationMeta:
    return files.put(
        name=f"Write {dest}",
        src=StringIO(content),
        dest=dest,
        user="root",
        group="root",
        mode=mode,
        create_remote_dir=True,
    )


def put_own(dest: str, mode: str = "0644") -> OperationMeta:
    """One of this deploy's templates (deploys/templates/<dest>.j2)."""
    return put(dest, context.file(dest), mode)


def put_role(role: str, template: str, dest: str) -> OperationMeta:
    """One of an Ansible role's templates, rendered as the role renders it."""
    return put(dest, context.role_file(role, template, dest))


def account(name: str, login: str, public_keys: list[str] | None = None) -> OperationMeta:
    """A local account with a home and bash; ``public_keys``: exactly these SSH keys."""
    return server.user(
        name=name,
        user=login,
        home=f"/home/{login}",
        shell="/bin/bash",
        create_home=True,
        public_keys=public_keys,
        delete_keys=public_keys is not None,
    )


def any_changed(*operations: OperationMeta) -> bool:
    return any(operation.did_change() for operation in operations)


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
account(
    f"IT admin account {plan.admin_user} (SSH keys only)",
    plan.admin_user,
    public_keys=list(plan.admin_public_keys),
)
validated_file(
    name=f"Sudo tier {plan.sudo_tier} of {plan.admin_user}",
    dest="/etc/sudoers.d/storeops-workstation",
    content=context.file("/etc/sudoers.d/storeops-workstation"),
    mode="0440",
    validate=["visudo", "-cf"],
)

# --- screen lock -------------------------------------------------------------------
dconf = (
    put_own("/etc/dconf/profile/user"),
    put_own("/etc/dconf/db/local.d/00-storeops-screenlock"),
    put_own("/etc/dconf/db/local.d/locks/storeops-screenlock"),
)
server.shell(
    name="Compile the dconf database", commands=["dconf update"], _if=lambda: any_changed(*dconf)
)
put_own("/etc/profile.d/storeops-tmout.sh")

# --- security updates --------------------------------------------------------------
put_own("/etc/apt/apt.conf.d/20auto-upgrades")
put_own("/etc/apt/apt.conf.d/52storeops-security-only")
for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
    systemd.service(name=f"Enable {timer}", service=timer, running=True, enabled=True)

# --- antivirus ---------------------------------------------------------------------
systemd.service(
    name="Signature updates by timer, not by the package's daemon",
    service="clamav-freshclam.service",
    running=False,
    enabled=False,
)
clamav_units = (
    put_own("/etc/clamav/storeops-freshclam.conf"),
    put_own("/etc/systemd/system/storeops-freshclam.service"),
    put_own("/etc/systemd/system/storeops-freshclam.timer"),
    put_own("/etc/systemd/system/storeops-clamscan.service"),
    put_own("/etc/systemd/system/storeops-clamscan.timer"),
)
systemd.daemon_reload(name="Reload systemd (ClamAV units)", _if=lambda: any_changed(*clamav_units))
for timer in ("storeops-freshclam.timer", "storeops-clamscan.timer"):
    systemd.service(name=f"Enable {timer}", service=timer, running=True, enabled=True)

# --- printer -----------------------------------------------------------------------
systemd.service(name="CUPS", service="cups.service", running=True, enabled=True)
printer_queue(name=f"Printer {plan.printer['name']} (default)", printer=plan.printer)

# --- DMS client --------------------------------------------------------------------
group_ca = put_own("/usr/local/share/ca-certificates/storeops-group-ca.crt")
server.shell(
    name="Trust the group's CA", commands=["update-ca-certificates"], _if=group_ca.did_change
)
put_own("/etc/storedms-client/client.conf")
put_own("/usr/local/bin/storedms-client", mode="0755")
put_own("/usr/share/applications/storedms-client.desktop")

# --- time (the common role's chrony configuration) ----------------------------------
server.timezone(name="Time zone of the store", timezone=str(context.value("common_timezone")))
chrony_conf = put_role("common", "etc/chrony/chrony.conf.j2", "/etc/chrony/chrony.conf")
chrony_dropin_path = "/etc/systemd/system/chrony.service.d/storeops.conf"
if context.value("common_time_control_clock"):
    chrony_dropin = files.file(
        name="chronyd steers the clock (no drop-in)", path=chrony_dropin_path, present=False
    )
else:
    chrony_dropin = put_role(
        "common", "etc/systemd/system/chrony.service.d/storeops.conf.j2", chrony_dropin_path
    )
systemd.daemon_reload(name="Reload systemd (chrony drop-in)", _if=chrony_dropin.did_change)
systemd.service(
    name="Restart chrony (configuration changed)",
    service="chrony.service",
    restarted=True,
    _if=lambda: any_changed(chrony_conf, chrony_dropin),
)
systemd.service(name="chrony", service="chrony.service", running=True, enabled=True)

# --- hostname and the machine's record ---------------------------------------------
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

put_own("/etc/storeops/workstation.yml")
