"""``storeops awx schedules|templates``: what AWX is configured with, from the inventory.
Registered as a ``storeops.commands`` entry point (pyproject.toml). Runs on the controller
(or inside the configuration job); contacts no AWX and no host.

``schedules``: one schedule per store per scheduled job (storeops.awx.schedules), the RRULE
in the store's zone; ``templates``: the job templates with their survey specs and the DMS
rollout workflow's nodes (storeops.awx.templates). ``--json`` is what
``playbooks/awx-configure.yml`` reads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from storeops.cli_options import (
    UsageError,
    add_inventory_option,
    add_json_option,
    add_vault_options,
    print_table,
    vault_passwords,
)
from storeops.schema import Store

EXIT_OK = 0


def _stores(args: argparse.Namespace) -> dict[str, Store]:
    from storeops.inventory import InventoryInvalid
    from storeops.paths import ProjectNotFound, roles_dir
    from storeops.validate import load_valid

    try:
        roles = roles_dir(near=args.inventory)
        return load_valid(args.inventory, vault_passwords(args), roles).stores
    except ProjectNotFound as error:
        raise UsageError(str(error)) from None
    except InventoryInvalid as error:
        raise UsageError(str(error)) from None


def _after(value: str | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--after {value!r}: not an ISO time (2026-12-07T09:00+08:00)") from None
    if moment.tzinfo is None:
        raise UsageError(f"--after {value!r}: give the time zone (+08:00, Z)")
    return moment


def _cmd_schedules(args: argparse.Namespace) -> int:
    from storeops.awx.schedules import ScheduleError, schedules

    try:
        found = schedules(_stores(args), _after(args.after))
    except ScheduleError as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps([item.as_json() for item in found], indent=2, ensure_ascii=False))
        return EXIT_OK
    rows = [
        [
            item.name,
            item.limit,
            item.window,
            "\n".join(item.rrule.split(" ")[:2]),
            "\n".join(item.excluded) or "-",
            "\n".join(item.deferred) or "-",
        ]
        for item in found
    ]
    columns = ["schedule", "limit", "window", "first run, days", "blackouts", "deferred"]
    print_table(f"AWX schedules: {args.inventory}", columns, rows)
    return EXIT_OK


def _cmd_templates(args: argparse.Namespace) -> int:
    from storeops.awx.templates import JOB_TEMPLATES, workflow_json

    try:
        workflow = workflow_json(_stores(args))
    except ValueError as error:
        raise UsageError(str(error)) from None
    result: dict[str, Any] = {
        "job_templates": [template.as_json() for template in JOB_TEMPLATES],
        "workflow": workflow,
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return EXIT_OK
    rows = [
        [t.name, t.playbook, ", ".join(q.variable for q in t.questions) or "-"]
        for t in JOB_TEMPLATES
    ]
    rows += [
        [f"{workflow['name']}: {node['identifier']}", node["unified_job_template"],
         f"limit {node['limit'] or 'all stores'}; then {', '.join(node['success_nodes']) or '-'}"]
        for node in workflow["nodes"]
    ]  # fmt: skip
    print_table(f"AWX job templates: {args.inventory}", ["template", "runs", "asks"], rows)
    return EXIT_OK


def register(commands: Any) -> None:
    """Add ``awx schedules|templates`` to the main CLI's subcommands."""
    awx = commands.add_parser(
        "awx", help="AWX / AAP: schedules and job templates from the inventory"
    )
    actions = awx.add_subparsers(dest="action", required=True, metavar="ACTION")
    plan = actions.add_parser(
        "schedules", help="each store's window and blackout dates as AWX schedules (RRULE)"
    )
    plan.add_argument(
        "--after",
        metavar="ISO_TIME",
        help="the schedules start at the first opening after this time (default: now)",
    )
    plan.set_defaults(handler=_cmd_schedules)
    templates = actions.add_parser(
        "templates", help="the job templates, their survey specs and the rollout workflow"
    )
    templates.set_defaults(handler=_cmd_templates)
    for parser in (plan, templates):
        add_inventory_option(parser)
        add_json_option(parser)
        add_vault_options(parser)
