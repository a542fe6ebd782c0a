"""``storeops health`` (the morning check) and ``storeops sample`` (the availability sampler):
registered as a ``storeops.commands`` entry point (pyproject.toml).

Runs on the controller. Both validate the inventory first (a bad inventory is reported with
file and field, and no host is contacted), then read the stores; neither changes anything
on a host or a device. Exit codes are the monitoring-plugin convention (0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN), so Zabbix, Nagios or Icinga can run them as they are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from storeops.cli_options import (
    add_database_option,
    add_inventory_option,
    add_json_option,
    add_store_option,
    add_vault_options,
    vault_passwords,
)
from storeops.monitoring import Status, worst
from storeops.paths import ProjectNotFound, find_project

STYLE = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.CRITICAL: "bold red",
    Status.UNKNOWN: "magenta",
}


def _problem(command: str, message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"status": Status.UNKNOWN.value, "exit_code": 3, "problem": message}))
    else:
        print(f"storeops {command}: {message}", file=sys.stderr)
    return Status.UNKNOWN.exit_code


def _load_plan(command: str, args: argparse.Namespace) -> Any:
    """The health plan of a valid inventory, or a message saying why there is none."""
    from storeops.health.targets import plan
    from storeops.inventory import typed_view
    from storeops.validate import validate

    inventory: Path = args.inventory  # resolved by storeops.cli_options.prepare
    passwords = vault_passwords(args)  # a file that cannot be read: a usage error
    try:
        project = find_project(near=inventory)
        raw = validate(inventory, passwords, project / "roles", playbooks=[project / "playbooks"])
    except ProjectNotFound as exc:
        return str(exc)
    except Exception as exc:  # ansible and the vault raise their own types
        return f"cannot read the inventory {inventory}: {exc}"
    if raw.issues:
        shown = "; ".join(str(issue) for issue in raw.issues[:5])
        return f"inventory {inventory} is invalid ({len(raw.issues)} error(s)): {shown}"
    known = set(raw.stores)
    unknown = sorted(set(args.store or ()) - known)
    if unknown:
        return f"no such store: {', '.join(unknown)} (the inventory has {', '.join(sorted(known))})"
    return plan(inventory, passwords, tuple(args.store or ()), checked=typed_view(raw))


def _history(args: argparse.Namespace) -> Any:
    from storeops.history import History
    from storeops.statedb import database_url

    return History.open(database_url(args.database))


def _print_tables(plan: Any, result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for store in plan.stores:
        rows = result.rows_of(store.code)
        status = worst(row.status for row in rows)
        table = Table(
            title=f"{store.code} {store.name}: [{STYLE[status]}]{status.value.upper()}[/]",
            title_justify="left",
        )
        for column in ("host", "check", "status", "value", "why"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                row.host,
                row.check,
                f"[{STYLE[row.status]}]{row.status.value}[/]",
                row.value,
                row.reason,
            )
        console.print(table)
    hosts = len(result.host_seconds)
    console.print(
        f"{result.status.value.upper()}: {len(plan.stores)} store(s), {hosts} host(s) and "
        f"device(s) read in {result.seconds:.1f} s"
    )


def _cmd_health(args: argparse.Namespace) -> int:
    plan = _load_plan("health", args)
    if isinstance(plan, str):
        return _problem("health", plan, args.json)
    history = _history(args) if args.record else None
    result = _run_with_progress(plan, history, args)
    if args.json:
        print(json.dumps(result.to_json(plan), indent=2, ensure_ascii=False))
    else:
        _print_tables(plan, result)
    if args.notify:
        _notify(args, plan, [_row_event(row) for row in result.rows])
    return int(result.status.exit_code)


def _row_event(row: Any) -> Any:
    """A row as a notification event: a red row opens an incident, any other closes it."""
    from storeops.notify import Event

    where = f"{row.host} " if row.host else ""
    return Event(
        store=row.store,
        key=f"health {where}{row.check}",
        failing=row.status is Status.CRITICAL,
        title=f"{row.store} {where}{row.check}: {row.value}",
        text=row.reason,
        host=row.host,
    )


def _notify(args: argparse.Namespace, plan: Any, events: list[Any]) -> None:
    """Send what is due (once per incident); a channel that fails is reported, not fatal:
    the incident stays un-notified and the next scheduled run tries again."""
    from storeops.notify import Notifier

    notifier = Notifier.from_inventory(plan.inventory, plan.passwords, args.database)
    for sent in notifier.update(events):
        if sent.error:
            print(f"storeops: notification not delivered: {sent.error}", file=sys.stderr)


def _run_with_progress(plan: Any, history: Any, args: argparse.Namespace) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from storeops.health.run import run

    total = sum(len(store.hosts) + (store.dms_url is not None) for store in plan.stores)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=args.json or not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(f"reading {len(plan.stores)} store(s)", total=total)
        return run(plan, history, args.workers, lambda: progress.advance(task))


def _cmd_sample(args: argparse.Namespace) -> int:
    from storeops.health.sample import sample_stores

    plan = _load_plan("sample", args)
    if isinstance(plan, str):
        return _problem("sample", plan, args.json)
    samples = sample_stores(plan, _history(args), dt.datetime.now(dt.UTC))
    if args.notify:
        _notify(args, plan, [_sample_event(taken) for taken in samples])
    if args.json:
        print(json.dumps([sample.to_json() for sample in samples], indent=2))
    else:
        for sample in samples:
            print(sample.line())
    return int(worst(sample.status for sample in samples).exit_code)


def _sample_event(taken: Any) -> Any:
    from storeops.notify import Event

    sample = taken.sample
    state = "answers again" if sample.ok else "does not answer"
    return Event(
        store=sample.store,
        key="dms availability",
        failing=not sample.ok,
        title=f"{sample.store}: the DMS {state}",
        text=sample.reason or taken.url,
    )


def _common(parser: argparse.ArgumentParser) -> None:
    add_inventory_option(parser)
    add_store_option(parser)
    add_json_option(parser)
    add_database_option(parser)
    parser.add_argument(
        "--notify",
        action="store_true",
        help="notify the store's IT contact (storeops_notify) once per incident: a red row, "
        "or the DMS not answering",
    )
    add_vault_options(parser)


def register(commands: Any) -> None:
    health = commands.add_parser(
        "health",
        help="the morning check: every store's DMS, database, backups, disks, firewall, "
        "devices, patches, time and certificates, read-only (exit 0/1/2/3)",
    )
    _common(health)
    health.add_argument(
        "--record", action="store_true", help="keep the rows in the history database"
    )
    health.add_argument("--workers", type=int, default=16, help="hosts read at once (16)")
    health.set_defaults(handler=_cmd_health)
    sample = commands.add_parser(
        "sample",
        help="probe each store's DMS once and record the sample (the availability history; "
        "run every few minutes by the storeops-sample timer)",
    )
    _common(sample)
    sample.set_defaults(handler=_cmd_sample)
