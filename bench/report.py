"""The monthly report's cost (bench/run.py `report`; or alone: python bench/report.py).

A month (March 2026) of 5-minute DMS samples for 50 stores (50 x 31 x 288 = 446,400 rows,
1% failed in short incidents) and a morning check's rows per store and day, written into a
fresh SQLite history; then `storeops report`'s work for every store: read, compute, render
the HTML with its 50 charts and the PDF. No lab needed: the stores are copies of the lab's
sh01 under other codes.
"""

from __future__ import annotations

import dataclasses
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import URL

from storeops.availability import local_day_bounds, month_bounds
from storeops.history import CheckName, CheckRecord, History, Sample, Status
from storeops.inventory import Inventory, typed_view
from storeops.paths import LAB_INVENTORY
from storeops.report.build import Sources, build_report
from storeops.report.render import chart_svgs, page_html, pdf_bytes, workers, write_report
from storeops.validate import validate
from storeops.yamlfiles import VaultPasswords

STORES = 50
FIVE = timedelta(minutes=5)
LAB_PASSWORD = LAB_INVENTORY.parents[1] / "lab" / "vault-password.txt"
NOW = datetime(2026, 4, 1, tzinfo=UTC)
T = TypeVar("T")


def fifty_stores() -> Inventory:
    raw = validate(LAB_INVENTORY, VaultPasswords.from_files([LAB_PASSWORD]))
    lab = typed_view(raw)
    model = lab.stores["sh01"]
    stores = {f"s{n:03d}": model.model_copy(update={"code": f"s{n:03d}"}) for n in range(STORES)}
    return dataclasses.replace(lab, stores=stores)


def month_of_samples(code: str) -> list[Sample]:
    samples = []
    for day in range(1, 32):
        start, end = local_day_bounds(date(2026, 3, day), "Asia/Shanghai")
        for n in range((end - start) // FIVE):
            failed = n % 100 in (40, 41, 42)  # 3 of each 100: 1 incident of 15 min
            samples.append(Sample(start + n * FIVE, code, not failed, 4.0, "HTTP 503"))
    return samples


def checks(code: str) -> list[CheckRecord]:
    return [
        CheckRecord(
            datetime(2026, 3, day, 0, 30, tzinfo=UTC),
            f"run-{day}",
            code,
            f"{code}-backup",
            CheckName.BACKUP,
            Status.OK,
            "6 h",
            "",
            6.0,
        )
        for day in range(1, 32)
    ]


def cpu_s() -> float:
    """CPU seconds used by this process and its finished children (the render pool's)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return sum((r.ru_utime + r.ru_stime for r in (own, children)), 0.0)


def phases(inventory: Inventory, sources: Sources, history: History) -> dict[str, float]:
    """One report's phases, each timed alone (wall seconds): the two history queries, the
    figures (build_report, queries included), the charts, Jinja and WeasyPrint, as
    write_report runs them (the same pool of processes)."""
    start, end = month_bounds(2026, 3, "Asia/Shanghai")
    found: dict[str, float] = {}

    def timed(name: str, work: Callable[[], T]) -> T:
        started = time.monotonic()
        result = work()
        found[name] = time.monotonic() - started
        return result

    timed("query_samples_s", lambda: history.samples(start, end))
    timed("query_checks_s", lambda: history.checks(start, end))
    built = timed("build_s", lambda: build_report(inventory, sources, 2026, 3, now=NOW))
    processes = workers()
    with ProcessPoolExecutor(processes) as pool:
        charts = timed("charts_s", lambda: chart_svgs(built, pool))
        timed("jinja_s", lambda: page_html(built, charts))
        parts = 2 * processes if processes > 1 else 1
        timed("pdf_s", lambda: pdf_bytes(built, charts, parts=parts, pool=pool))
    found["processes"] = processes
    return found


def report(runs: int) -> dict[str, float]:
    """Insert speed of the history, and the report for 50 stores (median of ``runs``), with
    one more run timed phase by phase."""
    inventory = fifty_stores()
    with tempfile.TemporaryDirectory(prefix="storeops-bench-") as scratch:
        history = History.open(URL.create("sqlite", database=f"{scratch}/h.sqlite"))
        rows, insert_s = 0, 0.0
        for code in inventory.stores:
            samples = month_of_samples(code)
            started = time.monotonic()
            history.record_samples(samples)
            history.record_checks(checks(code))
            insert_s += time.monotonic() - started
            rows += len(samples)
        one = time.monotonic()
        for n in range(288):  # the sampler: one row per probe, one transaction each
            history.record_sample(
                Sample(datetime(2026, 4, 1, tzinfo=UTC) + n * FIVE, "s000", True, 4.0, "")
            )
        single_ms = (time.monotonic() - one) * 1000 / 288
        sources = Sources(history, Path(scratch) / "logs")
        times, cpu = [], []
        for _ in range(runs):
            started, used = time.monotonic(), cpu_s()
            built = build_report(inventory, sources, 2026, 3, now=datetime.now(UTC))
            write_report(built, Path(scratch) / "out")
            times.append(time.monotonic() - started)
            cpu.append(cpu_s() - used)
        phased = phases(inventory, sources, history)
    times.sort()
    cpu.sort()
    return {
        "stores": STORES,
        "samples": rows,
        "insert_rows_per_s": rows / insert_s,
        "single_insert_ms": single_ms,
        "report_s": times[len(times) // 2],
        "report_cpu_s": cpu[len(cpu) // 2],
        "runs": runs,
        **phased,
    }


def rows(f: dict[str, float]) -> list[str]:
    """The README's rows for these figures."""
    return [
        f"| history: {f['samples']:.0f} DMS samples (a month, {f['stores']:.0f} stores) inserted "
        f"in batches | {f['insert_rows_per_s']:,.0f} rows/s; one sample alone "
        f"{f['single_insert_ms']:.1f} ms |",
        f"| `storeops report` for that month: {f['stores']:.0f} stores, HTML with charts + PDF "
        f"({f['processes']:.0f} processes) | {f['report_s']:.1f} s "
        f"({f['report_cpu_s']:.1f} s CPU) |",
        f"| of which: history queries (all stores, samples + checks) "
        f"| {f['query_samples_s'] + f['query_checks_s']:.1f} s |",
        f"| of which: figures (queries + availability, incidents, checks per store) "
        f"| {f['build_s']:.1f} s |",
        f"| of which: 50 matplotlib SVG charts | {f['charts_s']:.1f} s |",
        f"| of which: Jinja HTML | {f['jinja_s']:.1f} s |",
        f"| of which: WeasyPrint PDF ({f['stores']:.0f} stores' sections in parts, joined) "
        f"| {f['pdf_s']:.1f} s |",
    ]


if __name__ == "__main__":
    figures = report(1)
    print("\n".join(rows(figures)))
    print(figures)
