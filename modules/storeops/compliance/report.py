"""The audit's console report: the control-by-host table and the per-store pass rate (rich).

Runs on the controller, after the audit's pytest run (or when it could not run).
"""

from __future__ import annotations

from typing import Any

from storeops.compliance.audit import AuditReport, Status

STYLES = {
    Status.PASSED: ("passed", "green"),
    Status.FAILED: ("FAILED", "bold red"),
    Status.WAIVED: ("waived", "yellow"),
    Status.NOT_APPLICABLE: ("n/a", "dim"),
    Status.UNKNOWN: ("unknown", "magenta"),
}


def _store_table(report: AuditReport, store: str, table_class: Any) -> Any:
    """The control x host table of one store's hosts (a store has a handful of hosts, so
    the table fits a terminal whatever the size of the group)."""
    hosts = [host for host in report.hosts if report.stores.get(host) == store]
    table = table_class(title=f"MLPS 2.0 level 2: {store} ({report.inventory})")
    table.add_column("control", no_wrap=True)
    for host in hosts:
        table.add_column(host, justify="center", overflow="fold")
    for control in report.controls:
        row = [control]
        for host in hosts:
            cell = report.cell(control, host)
            text, style = STYLES[cell.status] if cell else STYLES[Status.UNKNOWN]
            row.append(f"[{style}]{text}[/]")
        table.add_row(*row)
    return table


def print_report(report: AuditReport, console: Any) -> None:
    """The table, the reasons of every cell not passed, the pass rates, the verdict."""
    from rich.table import Table

    if report.problem:
        console.print(f"[bold magenta]audit could not run:[/] {report.problem}", markup=True)
    if report.cells:
        for store in sorted({report.stores.get(host, "") for host in report.hosts}):
            console.print(_store_table(report, store, Table))
        notes = [c for c in report.cells if c.status is not Status.PASSED and c.reason]
        for cell in notes:
            console.print(
                f"{cell.host} {cell.control}: {STYLES[cell.status][0]}: {cell.reason}",
                markup=False,
                highlight=False,
            )
    if not report.cells:
        console.print(f"exit {report.exit_code()}: status unknown", markup=False)
        return
    rates = Table(title="pass rate by store (passed, waived or n/a / all)")
    for column in ("store", "passed", "failed", "waived", "n/a", "unknown", "rate"):
        rates.add_column(column, justify="right" if column != "store" else "left")
    for store, counts in report.store_rates().items():
        rates.add_row(
            store,
            *(str(counts[s.value]) for s in Status),
            f"{counts['rate'] * 100:.1f} %",
        )
    console.print(rates)
    verdict = {0: "all controls hold", 2: "controls failed", 3: "status unknown"}
    console.print(f"exit {report.exit_code()}: {verdict[report.exit_code()]}", markup=False)
