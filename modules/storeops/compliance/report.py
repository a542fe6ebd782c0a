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


def _hosts_table(report: AuditReport, table_class: Any) -> Any:
    """One row per host (80 columns hold it for any number of hosts and controls; the
    stores are in the pass-rate table): the counts by status and the controls that failed
    or could not be audited."""
    table = table_class(title=f"MLPS 2.0 level 2: {report.inventory}")
    table.add_column("host")
    for column in ("pass", "fail", "waived", "n/a", "unkn"):
        table.add_column(column, justify="right")
    table.add_column("failed or unknown", no_wrap=True)
    for host in report.hosts:
        cells = [c for c in report.cells if c.host == host]
        counts = {status: sum(c.status is status for c in cells) for status in Status}
        attention = [
            f"[{STYLES[c.status][1]}]{c.control}[/]"
            for c in cells
            if c.status in (Status.FAILED, Status.UNKNOWN)
        ]
        table.add_row(
            host,
            *(_count(counts[status], status) for status in Status),
            "\n".join(attention) or "[green]-[/]",
        )
    return table


def _count(count: int, status: Status) -> str:
    style = STYLES[status][1] if count and status is not Status.PASSED else ""
    return f"[{style}]{count}[/]" if style else str(count)


def print_report(report: AuditReport, console: Any) -> None:
    """The table, the reasons of every cell not passed, the pass rates, the verdict."""
    from rich.table import Table

    if report.problem:
        console.print(f"[bold magenta]audit could not run:[/] {report.problem}", markup=True)
    if report.cells:
        console.print(_hosts_table(report, Table))
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
