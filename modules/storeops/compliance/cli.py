"""``storeops audit`` and ``storeops compliance table``: registered as a ``storeops.commands``
entry point (pyproject.toml), so the main CLI imports no feature.

Runs on the controller. The audit validates the inventory (the waivers are judged by the
validator's rules), picks its Linux hosts (``--limit``: an Ansible host pattern), runs the
read-only testinfra audit through pytest in a subprocess, and reports.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from storeops.cli_options import (
    add_inventory_option,
    add_json_option,
    add_vault_options,
    progress,
    vault_passwords,
)
from storeops.compliance import audit
from storeops.compliance.catalogue import catalogue_file, load_catalogue
from storeops.compliance.readme import README, update_readme
from storeops.compliance.report import print_report
from storeops.compliance.validation import host_waivers
from storeops.paths import ProjectNotFound, find_project, state_path


def linux_hosts(inventory: Path, limit: str | None) -> list[str]:
    """The inventory's Linux hosts (group ``linux``), narrowed by an Ansible pattern."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    from storeops.ansible_view import init_plugins

    init_plugins()
    with contextlib.redirect_stderr(io.StringIO()):  # "could not match pattern": no host
        manager = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
        selected = {host.name for host in manager.get_hosts("linux")}
        if limit:
            selected &= {host.name for host in manager.get_hosts(limit)}
    return sorted(selected)


def _stores(raw: Any, hosts: list[str]) -> dict[str, str]:
    return {host: raw.store_code_of_group(raw.host_entries[host][0]) for host in hosts}


def _cmd_audit(args: argparse.Namespace) -> int:
    from rich.console import Console

    from storeops.validate import validate

    console = Console(stderr=args.json)  # the progress; with --json, stdout is the JSON's
    inventory: Path = args.inventory  # resolved by storeops.cli_options.prepare
    try:  # the project holding the inventory: its roles, catalogue and audit tests
        project = find_project(near=inventory)
    except ProjectNotFound as exc:
        print(f"storeops audit: {exc}", file=sys.stderr)
        return audit.EXIT_UNKNOWN
    catalogue = load_catalogue(catalogue_file(near=inventory))
    report = audit.AuditReport(
        str(inventory), [], {}, [c.id for c in catalogue.controls], generated=audit.generated_now()
    )
    passwords = vault_passwords(args)  # a file that cannot be read: a usage error
    try:
        raw = validate(inventory, passwords, project / "roles", playbooks=[project / "playbooks"])
    except Exception as exc:  # ansible and the vault raise their own types
        report.problem = f"cannot read the inventory: {exc}"
        return _finish(report, args, console)
    if raw.issues:
        report.problem = f"inventory {inventory} is invalid ({len(raw.issues)} error(s)): " + (
            "; ".join(str(issue) for issue in raw.issues[:5])
        )
        return _finish(report, args, console)
    hosts = linux_hosts(inventory, args.limit)
    report.hosts, report.stores = hosts, _stores(raw, hosts)
    if not hosts:
        report.problem = f"no Linux host matches {args.limit or 'linux'}"
        return _finish(report, args, console)
    environment = {"STOREOPS_INVENTORY": str(inventory)}
    if args.vault_password_file:  # testinfra reads the host's variables through Ansible
        environment["ANSIBLE_VAULT_IDENTITY_LIST"] = ",".join(
            str(path.resolve()) for path in args.vault_password_file
        )
    total = len(hosts) * len(catalogue.controls)
    with progress(console) as bar:
        task = bar.add_task(f"auditing {len(hosts)} hosts", total=total)
        lines, runs = audit.audit_hosts(
            inventory,
            hosts,
            project,
            environment,
            workers=args.workers,
            progress=lambda done: bar.update(task, completed=done),
        )
    broken = [
        f"{host}: pytest exit {status}\n{tail}"
        for host, (status, tail) in zip(hosts, runs, strict=True)
        if status not in (0, 1)  # 1: some check failed; anything else: pytest could not run
    ]
    if broken:
        report.problem = "the audit could not run on every host:\n" + "\n".join(broken)
    report.cells = audit.merge(catalogue, hosts, report.stores, lines, host_waivers(raw, catalogue))
    return _finish(report, args, console)


def keep_store_results(report: audit.AuditReport, project: Path) -> None:
    """Each audited store's pass rate, kept for the health check (over the store's last
    audit: an audit of a few hosts replaces its stores' figures, not the others')."""
    path = state_path("compliance-audit.json", project=project)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    stores = kept.get("stores") if isinstance(kept.get("stores"), dict) else {}
    for store, rate in report.store_rates().items():
        stores[store] = {**rate, "generated": report.generated}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stores": stores}, indent=2, sort_keys=True) + "\n")


def _finish(report: audit.AuditReport, args: argparse.Namespace, console: Any) -> int:
    """The table for a person, or with ``--json`` the JSON alone on standard output."""
    if not report.problem and report.cells:
        keep_store_results(report, find_project(near=args.inventory))
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_report(report, console)
    return report.exit_code()


def _cmd_table(args: argparse.Namespace) -> int:
    changed = update_readme(args.readme, check=args.check)
    if args.check and changed:
        print(f"{args.readme}: the compliance table is out of date", file=sys.stderr)
        return 1
    print(f"{args.readme}: " + ("table updated" if changed else "table up to date"))
    return 0


def register(commands: Any) -> None:
    """Add ``audit`` and ``compliance table`` to the main CLI's subcommands."""
    run = commands.add_parser(
        "audit",
        help="audit the MLPS 2.0 level-2 controls on the Linux hosts (read-only; exit 0/2/3)",
    )
    add_inventory_option(run)
    run.add_argument("--limit", metavar="PATTERN", help="an Ansible host pattern")
    add_json_option(run)
    add_vault_options(run)
    run.add_argument("--workers", type=int, default=8, help="hosts audited at once (default 8)")
    run.set_defaults(handler=_cmd_audit)
    compliance = commands.add_parser("compliance", help="the control catalogue")
    actions = compliance.add_subparsers(dest="action", required=True, metavar="ACTION")
    table = actions.add_parser("table", help="write README.md's compliance table")
    table.add_argument("--readme", type=Path, default=README)
    table.add_argument("--check", action="store_true", help="only say whether it is current")
    table.set_defaults(handler=_cmd_table)
