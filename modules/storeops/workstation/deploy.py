"""pyinfra facts, operations and the run context of the workstation deploys.

Imported by ``deploys/workstation*.py`` under pyinfra only: importing pyinfra's CLI patches
the standard library for gevent, so the unit tests never import this module in their own
process (they run pyinfra in a child, see tests/unit/test_workstation_deploy.py).

The run context comes from the same places for both ways of running a deploy:

* ``storeops workstation provision HOST ...`` runs ``pyinfra deploys/inventory.py
  deploys/workstation.py --limit HOST`` with ``STOREOPS_INVENTORY`` and the request in
  ``STOREOPS_WORKSTATION_*``;
* on the new machine, ``pyinfra @local deploys/workstation.py`` with ``STOREOPS_HOST``
  naming the machine's inventory host.

Either way the inventory is validated and the request checked
(:mod:`storeops.workstation.plan`) before the first operation is queued: bad input stops
the run with nothing touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from pyinfra.api.command import QuoteString, StringCommand
from pyinfra.api.exceptions import DeployError, OperationError
from pyinfra.api.facts import FactBase
from pyinfra.api.operation import operation
from pyinfra.context import host
from pyinfra.facts.files import File, Sha256File
from pyinfra.facts.server import Users
from pyinfra.operations import files, systemd

from storeops.ansible_view import load as load_ansible_view
from storeops.inventory import InventoryInvalid
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.role_templates import play_variables, render_role_template, resolve
from storeops.workstation import deploy_env as env
from storeops.workstation.commands import (
    LPSTAT_COMMAND,
    STATE_DIR,
    UNSET_PASSWORDS,
    archive_home_command,
    nft_helper_command,
    parse_lpstat,
    printer_commands,
    remove_account_commands,
)
from storeops.workstation.enrolment import asset_report
from storeops.workstation.identity import IDENTITY_PROBE, Identity, IdentityError, parse_identity
from storeops.workstation.manifest import (
    ROLE,
    ManagedFile,
    Manifest,
    ManifestError,
    load_handlers,
    load_manifest,
)
from storeops.workstation.plan import (
    Assignment,
    Checked,
    WorkstationInputError,
    WorkstationPlan,
    assignment_for,
    check_register,
    load_checked,
    plan_for,
    workstation_host,
)
from storeops.workstation.schema import WORKSTATION_INITIAL_PASSWORD
from storeops.yamlfiles import VaultPasswords

ARCHIVE_PASSWORD = "vault_backup_repository_password"  # the store's backup encryption secret
# The roles whose templates and defaults the deploys reuse (common: the time zone and the
# apt settings; hardening: time synchronisation; firewall: the host firewall).
SHARED_ROLES = ("common", "hardening", "firewall")
# The commit-confirm of nft_ruleset (module_utils/storeops_nft.py), run on the host as a
# script: the deploy copies it to NFT_HELPER (next to the backup role's storeops_mariadb.py).
NFT_HELPER_SOURCE = REPO_ROOT / "module_utils" / "storeops_nft.py"


# ---------------------------------------------------------------------------- facts


class IdentityProbe(FactBase[list[str]]):
    """The raw lines of :data:`storeops.workstation.identity.IDENTITY_PROBE`."""

    def command(self) -> str:
        return IDENTITY_PROBE

    def process(self, output: list[str]) -> list[str]:
        return list(output)


class CupsQueues(FactBase[dict[str, Any]]):
    """The CUPS queues ({name: device URI}) and the default one; empty without CUPS."""

    def requires_command(self) -> str:
        return "lpstat"

    @staticmethod
    def default() -> dict[str, Any]:
        return {"queues": {}, "default": None}

    def command(self) -> str:
        return LPSTAT_COMMAND

    def process(self, output: list[str]) -> dict[str, Any]:
        return parse_lpstat(list(output))


class CommitConfirmStatus(FactBase[dict[str, Any]]):
    """What the host's commit-confirm says (``storeops_nft.py status``, read-only): whether a
    revert is armed and, given the candidate file, whether that candidate is the table loaded
    last and still live. Empty while the helper is not on the host."""

    def requires_command(self, *args: Any, **kwargs: Any) -> str:
        return "python3"

    @staticmethod
    def default() -> dict[str, Any]:
        return {}

    def command(self, table: str, state_dir: str, candidate_path: str | None = None) -> str:
        candidate = ["--src", candidate_path] if candidate_path else []
        return f"{nft_helper_command('status', table, state_dir, *candidate)} 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, Any]:
        """Anything but the helper's JSON object (no helper, an error) says nothing."""
        try:
            answer = json.loads("\n".join(output))
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}


# ---------------------------------------------------------------------------- operations


@operation()
def validated_file(file: ManagedFile, validation: str, content: str) -> Any:
    """Write ``file`` only through a candidate that the ``validation`` command accepts.

    For files a mistake in which locks people out (sudoers; the firewall has its own
    commit-confirm, ``applied_ruleset``): the candidate goes to the state directory, is
    checked (``visudo -cf %s``, ``%s`` the candidate, as the template module's ``validate``)
    and only then installed. Nothing happens when the file already has this content.
    """
    dest = file.dest
    digest = hashlib.sha256(content.encode()).hexdigest()
    if host.get_fact(Sha256File, path=dest) == digest:
        host.noop(f"{dest} is up to date")
        return
    candidate = f"{STATE_DIR}/candidates/{dest.strip('/').replace('/', '_')}"
    yield from files.directory._inner(
        path=f"{STATE_DIR}/candidates", user="root", group="root", mode="0700"
    )
    yield from files.put._inner(
        src=StringIO(content), dest=candidate, user="root", group="root", mode="0600"
    )
    check = [QuoteString(candidate if word == "%s" else word) for word in shlex.split(validation)]
    owner = ["-o", QuoteString(file.owner), "-g", QuoteString(file.group), "-m", file.mode]
    yield StringCommand(*check, "&&", "install", *owner, QuoteString(candidate), QuoteString(dest))


@operation()
def first_login_password(user: str) -> Any:
    """Give an account that has no password yet the first-login one, expired at once.

    The password is the operation's standard input (``_stdin="user:password"``, chpasswd's
    format), never a command-line argument. An account whose password is set (the employee
    changed it) is left alone: a re-run never resets it.
    """
    entry = host.get_fact(Users).get(user)
    if entry is not None and entry.get("password") not in UNSET_PASSWORDS:
        host.noop(f"{user} has a password of its own")
        return
    yield StringCommand("chpasswd")
    yield StringCommand("chage", "--lastday", "0", QuoteString(user))


@operation()
def printer_queue(printer: dict[str, Any]) -> Any:
    """The store's printer as a CUPS queue (its device URI as the inventory says), the default:
    the check of the role's workstation_printer_queue action (printer_commands)."""
    current = host.get_fact(CupsQueues)
    commands = printer_commands(current, printer)
    if not commands:
        host.noop(f"printer {printer['name']} is set up")
    for command in commands:
        yield StringCommand(*(QuoteString(word) for word in command))


@operation()
def encrypted_home_archive(owner: str, archive: str) -> Any:
    """The employee's home as an encrypted tarball (password: the operation's stdin)."""
    entry = host.get_fact(Users).get(owner)
    if entry is None:
        host.noop(f"no account {owner}: nothing to archive")
        return
    if host.get_fact(File, path=archive):
        host.noop(f"{archive} exists")
        return
    yield StringCommand(archive_home_command(entry["home"], archive))


@operation()
def remove_employee(owner: str) -> Any:
    """The employee's processes, account, home (with its SSH keys) and crontab, gone."""
    if owner not in host.get_fact(Users):
        host.noop(f"no account {owner}")
        return
    for command in remove_account_commands(owner):
        yield StringCommand(command)


@operation()
def same_sha256(path: str, digest: str) -> Any:
    """Fail unless ``path`` has this SHA-256 (checked after an upload, at execution)."""
    found = host.get_fact(Sha256File, path=path)
    if found != digest:
        raise OperationError(f"{path}: sha256 {found or 'missing'}, expected {digest}")
    host.noop(f"{path} verified (sha256 {digest[:12]}...)")
    return
    yield  # a generator, as pyinfra operations are


@dataclass(frozen=True)
class HostFirewall:
    """The machine's ruleset (the firewall role's template) and where the role keeps it."""

    ruleset: str
    table: str
    state_dir: str
    candidate_path: str
    persist_path: str
    confirm_timeout: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.ruleset.encode()).hexdigest()

    def helper(self, action: str, *options: str) -> StringCommand:
        """``python3 storeops_nft.py <action>`` for this table and state directory, quoted."""
        return StringCommand(nft_helper_command(action, self.table, self.state_dir, *options))

    def confirmation(self) -> list[StringCommand]:
        """Disarm the revert (it fails if the revert fired), then keep the candidate for boot:
        only a confirmed ruleset is booted, as in the role."""
        install = ["install", "-o", "root", "-g", "root", "-m", "0644"]
        paths = (QuoteString(self.candidate_path), QuoteString(self.persist_path))
        return [self.helper("confirm"), StringCommand(*install, *paths)]


def commit_confirm_status(firewall: HostFirewall, *, of_candidate: bool) -> dict[str, Any]:
    candidate = firewall.candidate_path if of_candidate else None
    status: dict[str, Any] = host.get_fact(
        CommitConfirmStatus,
        table=firewall.table,
        state_dir=firewall.state_dir,
        candidate_path=candidate,
    )
    return status


def firewall_in_place(firewall: HostFirewall) -> bool:
    """This ruleset is the candidate, loaded last and still live, and the boot file."""
    return (
        host.get_fact(Sha256File, path=firewall.persist_path) == firewall.digest
        and host.get_fact(Sha256File, path=firewall.candidate_path) == firewall.digest
        and commit_confirm_status(firewall, of_candidate=True).get("live_as_applied") is True
    )


@operation()
def applied_ruleset(firewall: HostFirewall, confirm_now: bool) -> Any:
    """Load the ruleset with the firewall role's commit-confirm: validated (``nft -c``),
    loaded in one transaction with an automatic revert armed for ``confirm_timeout`` s.

    Nothing happens when this ruleset is the one loaded last, still live (a table changed
    or deleted by hand is loaded again) and the boot file. ``confirm_now`` (pyinfra
    @local: no connection to lose) confirms at once; otherwise ``confirmed_ruleset``, over a
    new connection (``deploys/workstation_firewall.py``), must follow within the timeout.
    """
    if firewall_in_place(firewall):
        host.noop(f"the live table and {firewall.persist_path} are this ruleset")
        return
    yield from files.directory._inner(
        path=firewall.state_dir, user="root", group="root", mode="0700"
    )
    yield from files.put._inner(
        src=StringIO(firewall.ruleset),
        dest=firewall.candidate_path,
        user="root",
        group="root",
        mode="0600",
    )
    timeout = str(firewall.confirm_timeout)
    yield firewall.helper("apply", "--src", firewall.candidate_path, "--timeout", timeout)
    if confirm_now:
        yield from firewall.confirmation()


@operation()
def confirmed_ruleset(firewall: HostFirewall) -> Any:
    """Confirm what ``applied_ruleset`` loaded and keep it for boot; nothing when nothing is
    armed and the boot file is already this ruleset. A candidate that is not this ruleset
    (the apply did not run) fails before anything is confirmed."""
    armed = commit_confirm_status(firewall, of_candidate=False).get("armed", False)
    if not armed and host.get_fact(Sha256File, path=firewall.persist_path) == firewall.digest:
        host.noop(f"nothing to confirm: {firewall.persist_path} is this ruleset")
        return
    check = f"{firewall.digest}  {firewall.candidate_path}"
    yield StringCommand("echo", QuoteString(check), "|", "sha256sum", "--check", "--status")
    yield from firewall.confirmation()


def firewall_at_boot() -> None:
    """nftables.service enabled and running: it loads the boot file, the confirmed ruleset."""
    systemd.service(name="Firewall at boot", service="nftables.service", running=True, enabled=True)


# ---------------------------------------------------------------------------- the run context


@dataclass(frozen=True)
class DeployContext:
    """One run's plan, the variables a play would see for the machine, and what the
    workstation role lists: its files, services and timers, and its handlers' commands."""

    plan: WorkstationPlan
    variables: dict[str, Any]
    manifest: Manifest
    handlers: dict[str, str]

    def value(self, name: str) -> Any:
        """An inventory or shared-role variable, templated as Ansible would."""
        return resolve(self.variables, name)

    def role_file(self, role: str, template: str, dest: str) -> str:
        """A role's template rendered for this machine (the same bytes Ansible writes)."""
        return render_role_template(role, template, dest, self.variables)

    def file(self, file: ManagedFile) -> str:
        """One of the workstation role's files for this machine (the same bytes Ansible
        writes): ``roles/workstation/templates/<dest>.j2`` rendered with the plan."""
        return render_role_template(ROLE, file.template, file.dest, self.plan.template_vars())

    def firewall(self) -> HostFirewall:
        """The firewall role's ruleset for this machine, and the role's paths for it."""
        persist_path = str(self.value("firewall_persist_path"))
        return HostFirewall(
            ruleset=self.role_file("firewall", "etc/nftables.conf.j2", persist_path),
            table=str(self.value("firewall_table")),
            state_dir=str(self.value("firewall_state_dir")),
            candidate_path=str(self.value("firewall_candidate_path")),
            persist_path=persist_path,
            confirm_timeout=int(self.value("firewall_confirm_timeout")),
        )

    def initial_password(self) -> str:
        password = self.variables.get(WORKSTATION_INITIAL_PASSWORD)
        if not isinstance(password, str) or not password or ":" in password or "\n" in password:
            raise DeployError(
                f"{WORKSTATION_INITIAL_PASSWORD} must be a one-line password without ':' "
                "(chpasswd's separator) in the inventory's vault"
            )
        return password


def inventory_root() -> Path:
    return Path(os.environ.get(env.INVENTORY) or LAB_INVENTORY)


def target_name() -> str:
    """The inventory host this run is for: STOREOPS_HOST (pyinfra @local), else pyinfra's host."""
    name = os.environ.get(env.HOST) or str(host.name)
    if name.startswith("@"):
        raise DeployError(
            f"pyinfra {name}: set {env.HOST} to the machine's inventory host "
            f"(e.g. {env.HOST}=sh01-ws01 pyinfra @local deploys/workstation.py)"
        )
    return name


def checked_inventory() -> Checked:
    passwords = VaultPasswords.from_ansible_config()
    try:
        return load_checked(inventory_root(), passwords)
    except InventoryInvalid as error:
        raise DeployError(f"run storeops validate first: {error}") from None


def requested_assignment(checked: Checked, name: str) -> Assignment:
    """The request (environment, else host_vars), checked as the CLI checks it."""
    try:
        assignment = assignment_for(
            checked,
            name,
            owner=os.environ.get(env.OWNER),
            role=os.environ.get(env.ROLE),
            asset_tag=os.environ.get(env.ASSET),
        )
        check_register(checked, name, assignment)
    except WorkstationInputError as error:
        raise DeployError("; ".join(error.problems)) from None
    return assignment


def machine_variables(name: str) -> dict[str, Any]:
    """The machine's variables as a play sees them: the shared roles' defaults, the inventory."""
    variables = load_ansible_view(inventory_root(), VaultPasswords.from_ansible_config())[name]
    return play_variables(name, variables.variables, SHARED_ROLES)


def provisioning_context() -> DeployContext:
    name = target_name()
    checked = checked_inventory()
    plan = plan_for(checked, name, requested_assignment(checked, name))
    variables = machine_variables(name)
    # What playbooks/firewall.yml hands the firewall role: the zone model's rules for the host.
    variables["firewall_inbound_rules"] = [dict(rule) for rule in plan.firewall_rules]
    try:
        return DeployContext(plan, variables, load_manifest(), load_handlers())
    except ManifestError as error:
        raise DeployError(f"the workstation role's list: {error}") from None


def runs_on_the_machine() -> bool:
    """pyinfra @local: the deploy runs on the workstation itself (no SSH connection)."""
    return str(host.name).startswith("@local")


def machine_identity(address: str) -> Identity:
    try:
        return parse_identity(host.get_fact(IdentityProbe), address)
    except IdentityError as error:
        raise DeployError(f"{host.name}: {error}") from None


def write_asset_report(plan: WorkstationPlan, identity: Identity) -> None:
    """The facts the controller registers after the run (STOREOPS_ASSET_REPORT, if set)."""
    target = os.environ.get(env.REPORT)
    if not target:
        return
    report = asset_report(plan, identity)
    Path(target).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class DecommissionContext:
    """One phase of a decommissioning: which machine, whose account, which archive."""

    phase: str
    workstation: str
    store: str
    owner: str
    archive_name: str
    archive_local: str
    archive_dir: str

    @property
    def archive_on_workstation(self) -> str:
        return f"{STATE_DIR}/archive/{self.archive_name}"

    @property
    def archive_on_backup_server(self) -> str:
        return f"{self.archive_dir}/{self.store}/{self.workstation}/{self.archive_name}"


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise DeployError(f"{name} is not set: run storeops workstation decommission HOST")
    return value


def decommission_context() -> DecommissionContext:
    phase = _required_env(env.PHASE)
    if phase not in {"archive", "store", "remove"}:
        raise DeployError(f"{env.PHASE}={phase!r}: one of archive, store, remove")
    checked = checked_inventory()
    workstation = os.environ.get(env.ARCHIVE_OF) if phase == "store" else target_name()
    if not workstation:
        raise DeployError(f"{env.ARCHIVE_OF} is not set: the workstation the archive is of")
    try:
        machine = workstation_host(checked, workstation)
    except WorkstationInputError as error:
        raise DeployError("; ".join(error.problems)) from None
    return DecommissionContext(
        phase=phase,
        workstation=workstation,
        store=machine.store,
        owner=_required_env(env.OWNER),
        archive_name=_required_env(env.ARCHIVE_NAME),
        archive_local=_required_env(env.ARCHIVE_LOCAL),
        archive_dir=checked.ws.group.workstation_archive_dir,
    )


def archive_password(workstation: str) -> str:
    """The store's backup encryption secret, which the home archive is encrypted with."""
    password = load_ansible_view(inventory_root(), VaultPasswords.from_ansible_config())[
        workstation
    ].variables.get(ARCHIVE_PASSWORD)
    if not isinstance(password, str) or not password or "\n" in password:
        raise DeployError(
            f"{ARCHIVE_PASSWORD} of {workstation}'s store is missing from the vault: "
            "the home archive is encrypted with it"
        )
    return password


def sha256_of(path: str) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def has_home_to_archive(context: DecommissionContext) -> bool:
    """Whether the account still exists, or its archive waits on the workstation."""
    return context.owner in host.get_fact(Users) or bool(
        host.get_fact(File, path=context.archive_on_workstation)
    )


def refuse_removal_before_archive(context: DecommissionContext) -> None:
    """The account goes only after its archive is on the backup server (or it is gone)."""
    stored = os.environ.get(env.ARCHIVE_STORED) == "yes"
    if not stored and context.owner in host.get_fact(Users):
        raise DeployError(
            f"{context.workstation}: {context.owner}'s home is not archived on the backup "
            f"server yet ({env.ARCHIVE_STORED} is not yes): run storeops workstation "
            f"decommission {context.workstation}"
        )
