"""``storeops notify test|incidents``: registered as a ``storeops.commands`` entry point
(pyproject.toml), so the main CLI imports no feature. Runs on the controller.

``test`` sends a test message through each channel of a store (exit 0 when every channel took
it, 2 when one did not, 3 when the settings cannot be used); ``incidents`` lists the open
incidents of the controller's database.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from storeops.cli_options import (
    add_database_option,
    add_inventory_option,
    add_json_option,
    add_vault_options,
    print_table,
    vault_passwords,
)
from storeops.yamlfiles import VaultPasswords

OK, CRITICAL, UNKNOWN = 0, 2, 3


def _passwords(args: argparse.Namespace) -> VaultPasswords:
    passwords: VaultPasswords = vault_passwords(args)
    return passwords


def _cmd_test(args: argparse.Namespace) -> int:
    from storeops.notify.notifier import Notifier, NotifyConfigError

    try:
        notifier = Notifier.from_inventory(args.inventory, _passwords(args), args.database)
        results = notifier.test(args.store)
    except NotifyConfigError as error:
        print(f"storeops notify test: {error}", file=sys.stderr)
        return UNKNOWN
    status = OK if results and all(error is None for error in results.values()) else CRITICAL
    if args.json:
        print(json.dumps({"store": args.store, "channels": results}, indent=2))
    elif not results:
        print(f"store {args.store}: no notification channel (storeops_notify)", file=sys.stderr)
    else:
        rows = [
            [name, "sent" if error is None else f"FAILED: {error}"]
            for name, error in results.items()
        ]
        print_table(f"storeops notify test: store {args.store}", ["channel", "result"], rows)
    return status


def _cmd_incidents(args: argparse.Namespace) -> int:
    from storeops.notify.incidents import IncidentStore
    from storeops.statedb import database_url, open_engine

    incidents = IncidentStore(open_engine(database_url(args.database))).open_all()
    if args.json:
        records: list[dict[str, Any]] = [
            {
                "store": i.store,
                "key": i.key,
                "opened_at": i.opened_at.isoformat(),
                "title": i.title,
                "notified": i.notified,
                "last_error": i.last_error,
            }
            for i in incidents
        ]
        print(json.dumps(records, indent=2))
    else:
        rows = [
            [
                i.store,
                i.key,
                i.opened_at.isoformat(timespec="seconds"),
                i.title,
                "yes" if i.notified else f"no: {i.last_error or ''}",
            ]
            for i in incidents
        ]
        print_table("open incidents", ["store", "key", "since", "title", "notified"], rows)
    return OK


def _common(parser: argparse.ArgumentParser) -> None:
    add_json_option(parser)
    add_database_option(parser)


def register(commands: Any) -> None:
    """Add ``notify test|incidents`` to the main CLI's subcommands."""
    notify = commands.add_parser("notify", help="store notifications (WeCom, DingTalk, SMTP)")
    actions = notify.add_subparsers(dest="action", required=True, metavar="ACTION")
    test = actions.add_parser("test", help="send a test message through each channel of a store")
    add_inventory_option(test)
    test.add_argument("--store", required=True, help="store code, e.g. sh01")
    add_vault_options(test)
    _common(test)
    test.set_defaults(handler=_cmd_test)
    incidents = actions.add_parser("incidents", help="the open incidents and whether notified")
    _common(incidents)
    incidents.set_defaults(handler=_cmd_incidents)
