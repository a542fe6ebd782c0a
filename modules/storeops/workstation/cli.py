"""``storeops workstation provision|decommission``: one command per workstation change.

Every check runs before pyinfra starts (the inventory validated, the request checked
against it and against the asset register): bad input exits 1 with every problem named,
and nothing is contacted. Then pyinfra runs the deploy (``deploys/workstation.py``,
``deploys/workstation_decommission.py``) with the inventory's connection data; a
provisioning over SSH then confirms the new firewall over a new connection
(``deploys/workstation_firewall.py``). Only after all of it succeeded are the asset
register and the machine's host_vars written. ``--dry``
runs pyinfra's ``--dry`` and writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storeops.cli_options import (
    UsageError,
    add_inventory_option,
    add_vault_options,
    run_project,
    vault_passwords,
)
from storeops.inventory import InventoryInvalid
from storeops.paths import state_path
from storeops.schema import Role
from storeops.workstation import deploy_env as env
from storeops.workstation.commands import archive_name, restore_command
from storeops.workstation.enrolment import register_provisioned
from storeops.workstation.plan import (
    Checked,
    WorkstationInputError,
    assignment_for,
    check_register,
    load_checked,
    plan_for,
    workstation_host,
)
from storeops.workstation.register import AssetRegister, Change, RegisterError
from storeops.workstation.schema import AssetRecord
from storeops.workstation.settings import AssignmentFileError, write_assignment

EXIT_OK = 0
EXIT_FAILED = 1

Handler = Callable[[argparse.Namespace], int]


def _fail(message: str) -> int:
    print(f"storeops workstation: {message}", file=sys.stderr)
    return EXIT_FAILED


# ---------------------------------------------------------------------------- running pyinfra


@dataclass(frozen=True)
class PyinfraRun:
    """One pyinfra invocation: which deploy, against which host (or @local), with what."""

    deploy: str
    limit: str | None  # an inventory host; None: @local
    environment: dict[str, str]
    dry: bool = False
    diff: bool = False
    # The project holding the inventory: its deploys/, and pyinfra's working directory.
    project: Path = field(default_factory=run_project)  # default: found from the cwd

    def command(self) -> list[str]:
        pyinfra = str(Path(sys.executable).parent / "pyinfra")
        mode = ["--dry"] if self.dry else ["-y"]
        diff = ["--diff"] if self.diff else []
        target = ["@local"] if self.limit is None else ["deploys/inventory.py"]
        limit = [] if self.limit is None else ["--limit", self.limit]
        deploy = self.project / "deploys" / self.deploy
        return [pyinfra, *mode, *diff, *limit, *target, str(deploy)]

    def run(self) -> int:
        """pyinfra's exit status; its output goes straight to the terminal."""
        done = subprocess.run(
            self.command(), cwd=self.project, env={**os.environ, **self.environment}, check=False
        )
        return done.returncode


def _base_environment(args: argparse.Namespace) -> dict[str, str]:
    """What the deploys read: the inventory, and the vault password file when one is given
    (the deploy opens the vault with it, as with Ansible's configuration otherwise)."""
    environment = {env.INVENTORY: str(Path(args.inventory).resolve())}
    files = args.vault_password_file or []
    if len(files) > 1:
        raise UsageError("the deploys open the vault with one --vault-password-file")
    if files:
        environment["ANSIBLE_VAULT_PASSWORD_FILE"] = str(files[0].resolve())
    return environment


def _checked(args: argparse.Namespace) -> Checked:
    return load_checked(args.inventory, vault_passwords(args))


def _guarded(action: Callable[[argparse.Namespace], int]) -> Handler:
    """Every refusal as a message and exit 1: invalid inventory, bad request, register rules."""

    def handler(args: argparse.Namespace) -> int:
        try:
            return action(args)
        except InventoryInvalid as error:
            return _fail(f"run storeops validate first: {error}")
        except WorkstationInputError as error:
            return _fail("\n  ".join(["refused, nothing was contacted:", *error.problems]))
        except (RegisterError, AssignmentFileError) as error:
            return _fail(str(error))

    return handler


# ---------------------------------------------------------------------------- provision


def _provision(args: argparse.Namespace) -> int:
    if args.local and os.geteuid() != 0:
        raise WorkstationInputError(["--local changes this machine: run it as root (sudo)"])
    checked = _checked(args)
    assignment = assignment_for(checked, args.host, args.owner, args.role, args.asset)
    check_register(checked, args.host, assignment)
    plan = plan_for(checked, args.host, assignment)
    with tempfile.TemporaryDirectory(prefix="storeops-ws-") as scratch:
        report_path = Path(scratch) / "asset.json"
        environment = {
            **_base_environment(args),
            env.HOST: args.host,
            env.OWNER: assignment.owner,
            env.ROLE: assignment.role,
            env.ASSET: assignment.asset_tag,
            env.REPORT: str(report_path),
        }
        target = None if args.local else args.host
        project = run_project(args.inventory)
        status = PyinfraRun(
            "workstation.py", target, environment, args.dry, args.diff, project
        ).run()
        if status != 0:
            return _fail(f"pyinfra failed on {args.host} (exit {status}): nothing registered")
        if target is not None:  # @local confirms the firewall in the run itself
            confirm = PyinfraRun(
                "workstation_firewall.py", target, environment, args.dry, False, project
            )
            status = confirm.run()
            if status != 0:
                return _fail(
                    f"the new firewall of {args.host} is not confirmed over a new connection "
                    f"(pyinfra exit {status}): the previous ruleset comes back after "
                    "firewall_confirm_timeout seconds; nothing registered. Check the flows "
                    "that let the controller in (mgmt-ssh), then run this again"
                )
        if args.dry:
            print(f"dry run: {plan.host} would become {plan.hostname}; nothing registered")
            return EXIT_OK
        report = json.loads(report_path.read_text())
    _, lines = register_provisioned(checked, report, dt.date.today())
    for line in lines:
        print(line)
    return EXIT_OK


# ---------------------------------------------------------------------------- decommission


@dataclass(frozen=True)
class Leaving:
    """Who leaves which machine: from its host_vars, else from the register."""

    host: str
    store: str
    owner: str
    asset_tag: str
    provisioned: dt.date
    record: AssetRecord | None


def _leaving(checked: Checked, host: str) -> Leaving:
    machine = workstation_host(checked, host)
    assigned = checked.ws.host(host)
    register = AssetRegister.load(checked.raw.root, machine.store)
    history = [r for r in register.records if r.host == host]
    record = register.in_use_on(host) or max(history, key=lambda r: r.provisioned, default=None)
    owner = assigned.workstation_owner or (record.owner if record else None)
    asset_tag = assigned.workstation_asset_tag or (record.asset_tag if record else None)
    if not owner or not asset_tag:
        raise WorkstationInputError(
            [f"{host} has no owner in its host_vars nor in the asset register: nothing to do"]
        )
    provisioned = record.provisioned if record and record.owner == owner else dt.date.today()
    return Leaving(host, machine.store, owner, asset_tag, provisioned, record)


def _backup_host(checked: Checked, store: str) -> str:
    servers = sorted(h.name for h in checked.inventory.hosts_of(store) if Role.BACKUP in h.roles)
    if not servers:
        raise WorkstationInputError(
            [f"store {store} has no backup host: the employee's home must be archived first"]
        )
    return servers[0]


def _decommission_runs(
    args: argparse.Namespace, leaving: Leaving, backup: str, archive_dir: str, local_archive: Path
) -> int:
    name = archive_name(leaving.owner, leaving.asset_tag, leaving.provisioned)
    common = {
        **_base_environment(args),
        env.OWNER: leaving.owner,
        env.ARCHIVE_NAME: name,
        env.ARCHIVE_LOCAL: str(local_archive),
    }

    def phase(which: str, target: str, **extra: str) -> int:
        environment = {**common, env.PHASE: which, env.HOST: leaving.host, **extra}
        run = PyinfraRun(
            "workstation_decommission.py",
            target,
            environment,
            args.dry,
            args.diff,
            run_project(args.inventory),
        )
        return run.run()

    status = phase("archive", leaving.host)
    if status != 0 or args.dry:
        return status
    if local_archive.is_file():
        status = phase("store", backup, **{env.ARCHIVE_OF: leaving.host})
        if status != 0:
            return status
        stored = f"{archive_dir}/{leaving.store}/{leaving.host}/{name}"
        secret = "<file with the store's vault_backup_repository_password>"
        print(f"archive: {backup}:{stored}; to open it: {restore_command(stored, secret, '.')}")
    return phase("remove", leaving.host, **{env.ARCHIVE_STORED: "yes"})


def register_returned(checked: Checked, leaving: Leaving, today: dt.date) -> list[str]:
    lines = []
    register = AssetRegister.load(checked.raw.root, leaving.store)
    if register.find(leaving.asset_tag) is not None:
        change = register.mark_returned(leaving.asset_tag, today)
        register.save()
        state = "already returned" if change is Change.UNCHANGED else "marked returned"
        lines.append(f"asset register {register.path}: asset {leaving.asset_tag} {state}")
    wrote = write_assignment(checked.ws, leaving.host, leaving.asset_tag, None, None)
    lines.append(f"assignment {leaving.host}: " + ("owner cleared" if wrote else "no owner"))
    return lines


def private_dir(path: Path) -> Path:
    """``path``, mode 0700 whatever the umask: the employee's home archive passes through it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _decommission(args: argparse.Namespace) -> int:
    checked = _checked(args)
    leaving = _leaving(checked, args.host)
    backup = _backup_host(checked, leaving.store)
    archives = private_dir(state_path("workstation-archives"))
    local_archive = (
        archives
        / leaving.store
        / leaving.host
        / archive_name(leaving.owner, leaving.asset_tag, leaving.provisioned)
    )
    archive_dir = checked.ws.group.workstation_archive_dir
    status = _decommission_runs(args, leaving, backup, archive_dir, local_archive)
    if status != 0:
        return _fail(f"pyinfra failed (exit {status}): {leaving.owner} is not marked returned")
    if args.dry:
        print(
            f"dry run: then the archive goes to {backup} and {leaving.owner}'s account is "
            f"removed from {leaving.host}; nothing registered"
        )
        return EXIT_OK
    local_archive.unlink(missing_ok=True)  # the backup server holds it, checked
    for line in register_returned(checked, leaving, dt.date.today()):
        print(line)
    return EXIT_OK


# ---------------------------------------------------------------------------- the parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", help="the workstation's inventory host, e.g. sh01-ws01")
    add_inventory_option(parser)
    add_vault_options(parser)
    parser.add_argument("--dry", action="store_true", help="show what would change; change nothing")
    parser.add_argument(
        "--diff", action="store_true", help="show file differences (pyinfra --diff)"
    )


def register(commands: Any) -> None:
    """Add ``workstation provision|decommission`` to the main CLI's subcommands."""
    workstation = commands.add_parser(
        "workstation", help="provision or decommission a store workstation (pyinfra)"
    )
    actions = workstation.add_subparsers(dest="action", required=True, metavar="ACTION")
    provision = actions.add_parser(
        "provision", help="set up a workstation for an employee and register the asset"
    )
    _common_options(provision)
    provision.add_argument("--owner", help="the employee's login name, e.g. wang.fang")
    provision.add_argument("--role", help="a role of the catalogue (workstation_roles)")
    provision.add_argument("--asset", help="asset tag (default: the host's workstation_asset_tag)")
    provision.add_argument(
        "--local",
        action="store_true",
        help="run on this machine (pyinfra @local, as root): a new laptop not yet on the network",
    )
    provision.set_defaults(handler=_guarded(_provision))
    decommission = actions.add_parser(
        "decommission",
        help="archive the employee's home to the backup server, remove the account, "
        "mark the asset returned",
    )
    _common_options(decommission)
    decommission.set_defaults(handler=_guarded(_decommission))
