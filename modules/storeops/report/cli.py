"""``storeops report``: registered as a ``storeops.commands`` entry point (pyproject.toml).

Runs on the controller, read-only: validates the inventory, reads the history database
(``--database URL``, ``STOREOPS_DATABASE_URL`` or the SQLite file under the state dir), the
audit logs under ``state_path("logs")`` and the asset registers, and writes
``DIR/storeops-report-YYYY-MM.html`` and ``.pdf``. Prints a summary table (``--json``: the
same as JSON). Exit 0 when written, 3 (UNKNOWN) when it cannot be (inventory, database),
64 for a wrong command line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
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
from storeops.paths import state_path
from storeops.report.build import MonthReport, Sources, build_report
from storeops.report.render import percent, span, write_report
from storeops.report.sources import RunHistory, asset_loader
from storeops.run_history import AraRunHistory, configured
from storeops.yamlfiles import VaultPasswords

EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE = 0, 3, 64
MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month)."""
    match = MONTH_RE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM)")
    return int(match[1]), int(match[2])


def summary(report: MonthReport, files: tuple[Path, Path]) -> dict[str, Any]:
    """The report's figures per store, for ``--json``."""
    stores = []
    for store in report.stores:
        month = store.availability
        mttr = month.mean_time_to_recover
        longest = month.longest_time_to_recover
        stores.append(
            {
                "store": store.code,
                "availability": month.availability,
                "target_met": None
                if month.availability is None
                else month.availability >= report.target,
                "coverage": month.coverage,
                "samples": month.taken,
                "failed": month.failed,
                "incidents": len(month.incidents),
                "mean_time_to_recover_s": None if mttr is None else mttr.total_seconds(),
                "longest_time_to_recover_s": None if longest is None else longest.total_seconds(),
                "rollouts": len(store.rollouts),
                "patch_runs": len(store.patch_runs),
            }
        )
    return {
        "month": report.title,
        "target": report.target,
        "html": str(files[0]),
        "pdf": str(files[1]),
        "stores": stores,
    }


def _print_table(report: MonthReport, files: tuple[Path, Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"storeops report {report.title} (target {report.target:g} %)")
    for column in ("store", "availability", "incidents", "mean TTR", "longest TTR", "rollouts"):
        table.add_column(column)
    for store in report.stores:
        month = store.availability
        table.add_row(
            store.code,
            percent(month.availability),
            str(len(month.incidents)),
            span(month.mean_time_to_recover),
            span(month.longest_time_to_recover),
            str(len(store.rollouts)),
        )
    console = Console()
    console.print(table)
    console.print(f"wrote {files[0]}\nwrote {files[1]}")


def _inventory(args: argparse.Namespace) -> Any:
    from storeops.inventory import InventoryInvalid, typed_view
    from storeops.validate import validate

    passwords: VaultPasswords = vault_passwords(args)
    raw = validate(args.inventory, passwords)
    if raw.issues:
        raise InventoryInvalid(raw.root, raw.issues)
    return typed_view(raw)


def run(args: argparse.Namespace, run_history: RunHistory | None = None) -> int:
    """``storeops report``; ``run_history``: the playbook runs' source (ARA), if any."""
    from storeops.history import History
    from storeops.statedb import DatabaseUrlError, database_url

    year, month = args.month
    try:
        inventory = _inventory(args)
    except Exception as exc:  # ansible and the vault raise their own types
        print(f"storeops report: cannot read the inventory: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    unknown = sorted(set(args.store or ()) - set(inventory.stores))
    if unknown:
        print(f"storeops report: unknown store(s) {', '.join(unknown)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        history = History.open(database_url(args.database))
    except DatabaseUrlError as exc:
        print(f"storeops report: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    try:
        if run_history is None and configured():  # ARA's runs, where it records them
            run_history = AraRunHistory(args.inventory)
        sources = Sources(history, state_path("logs"), run_history, asset_loader())
        report = build_report(
            inventory, sources, year, month, stores=args.store, now=datetime.now(UTC)
        )
        files = write_report(report, args.output)
    finally:
        history.close()
    if args.json:
        print(json.dumps(summary(report, files), indent=2, ensure_ascii=False))
    else:
        _print_table(report, files)
    return EXIT_OK


def register(commands: Any) -> None:
    """Add ``report`` to the main CLI's subcommands."""
    parser = commands.add_parser(
        "report", help="the monthly operations report (HTML and PDF) for the brand's region"
    )
    parser.add_argument("--month", required=True, type=parse_month, metavar="YYYY-MM")
    add_inventory_option(parser)
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("."), metavar="DIR", help="where to write"
    )
    add_store_option(parser)
    add_database_option(parser)
    add_json_option(parser)
    add_vault_options(parser)
    parser.set_defaults(handler=run)
