"""The report as HTML (Jinja2, autoescaped: every inventory and log value is hostile) and as
PDF (WeasyPrint from the same HTML, no browser). Runs on the controller.

The page is self-contained: styles inline, charts inline SVG, no script, no image, font or
style sheet fetched from anywhere. Chinese store names need a CJK font on the controller
(Debian: fonts-wqy-zenhei, installed by lab/host-setup.sh); the style names it first.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from storeops.report.build import MonthReport, StoreMonth
from storeops.report.charts import availability_svg

TEMPLATE = "report.html.j2"
# below this many stores the page is rendered in this process: a pool would cost more
PARALLEL_FROM_STORES = 8


def percent(value: float | None, digits: int = 3) -> str:
    """``98.958 %``, or "no data" (never 100 % for a figure without samples)."""
    return "no data" if value is None else f"{value:.{digits}f} %"


def span(value: timedelta | None) -> str:
    """A duration as ``1 h 05 min`` (``45 s`` under a minute); "-" when there is none."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def number(value: float | None, digits: int = 1) -> str:
    return "no data" if value is None else f"{value:.{digits}f}"


def safe_link(url: str) -> bool:
    """A run history link the page may carry: http(s) with a host, no quote or space."""
    parsed = urlsplit(url)
    return (
        parsed.scheme in ("http", "https")
        and bool(parsed.netloc)
        and url.isprintable()
        and not any(c in url for c in "\"'<> ")
    )


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("storeops.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(percent=percent, span=span, number=number, zone=ZoneInfo)
    env.filters["safe_link"] = safe_link
    return env


@dataclass(frozen=True)
class Part:
    """A run of the page: its stores' sections, after the header and summary when ``first``,
    before the playbook runs when ``last`` (the whole page is the one part that is both).
    Each store's section starts a PDF page, so parts rendered apart join into the same pages.
    """

    stores: tuple[StoreMonth, ...]
    first: bool
    last: bool


def split_parts(stores: Sequence[StoreMonth], count: int) -> list[Part]:
    """``stores`` in at most ``count`` parts of consecutive stores, as even as they come."""
    size, extra = divmod(len(stores), max(1, min(count, len(stores))))
    parts, at = [], 0
    for n in range(max(1, min(count, len(stores)))):
        end = at + size + (n < extra)
        parts.append(Part(tuple(stores[at:end]), first=n == 0, last=end >= len(stores)))
        at = end
    return parts


def workers() -> int:
    """The processes the charts and the PDF are rendered in: one per core this may use."""
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process is allowed
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _chart(store: StoreMonth, target: float) -> str:
    return availability_svg(store.code, store.availability.days, target)


def chart_svgs(report: MonthReport, pool: Executor | None = None) -> dict[str, str]:
    """Each store's chart (in ``pool``'s processes when given), by store code."""
    targets = [report.target] * len(report.stores)
    mapped = (pool.map if pool else map)(_chart, report.stores, targets)
    return dict(zip((store.code for store in report.stores), mapped, strict=True))


def page_html(report: MonthReport, charts: Mapping[str, str], part: Part | None = None) -> str:
    """The report's HTML page, or one part of it."""
    whole = Part(report.stores, first=True, last=True)
    # matplotlib's own SVG, marked safe in the template (the only unescaped text)
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(report=report, charts=charts, part=part or whole)
    )


def render_html(report: MonthReport) -> str:
    """The report's HTML page (charts drawn here, in this process)."""
    return page_html(report, chart_svgs(report))


def pdf_charts(charts: dict[str, str]) -> dict[str, str]:
    """The charts as the PDF's page holds them: images of the same SVG (``data:`` URLs).

    WeasyPrint draws an inline ``<svg>`` as an image too, but first applies the page's CSS to
    each of its few hundred elements as if they were HTML: as an image, 50 charts cost it
    about 5 s of CPU less. The HTML file keeps the inline SVG (the browser test reads it).
    """
    return {
        # base64 text only (the template marks charts safe)
        code: '<img alt="" src="data:image/svg+xml;base64,'
        + base64.b64encode(svg.encode("utf-8")).decode("ascii")
        + '">'
        for code, svg in charts.items()
    }


def pdf_of(html: str) -> bytes:
    """WeasyPrint's PDF of ``html``: no base URL, and only ``data:`` URLs (the charts) are
    read; any other URL is refused, never fetched."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf


def join_pdfs(parts: Sequence[bytes]) -> bytes:
    """The parts' pages in order, as one PDF with the first part's metadata and the outline
    (bookmarks) the whole page would have: the first part's, with the later parts' headings
    under its top heading (the page's ``h1``, which only the first part has)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    top: Any = None
    for number, part in enumerate(parts):
        reader = PdfReader(io.BytesIO(part))
        offset = len(writer.pages)
        writer.append(reader, import_outline=False)
        added = _copy_outline(writer, reader, reader.outline, offset, parent=top)
        top = top if top is not None else (added[0] if added else None)
        if number == 0 and reader.metadata is not None:
            writer.add_metadata(dict(reader.metadata))
    joined = io.BytesIO()
    writer.write(joined)
    return joined.getvalue()


def _copy_outline(writer: Any, reader: Any, items: Any, offset: int, parent: Any) -> list[Any]:
    """Add ``items`` (pypdf's outline: a heading, then the list of its children) under
    ``parent``, their pages moved by ``offset``; the headings added at this level."""
    from pypdf.generic import Fit

    added: list[Any] = []
    for item in items:
        if isinstance(item, list):
            _copy_outline(writer, reader, item, offset, added[-1] if added else parent)
            continue
        page = reader.get_destination_page_number(item) + offset
        fit = Fit.xyz(item.left, item.top, item.zoom) if item.typ == "/XYZ" else Fit.fit()
        heading = writer.add_outline_item(
            title=item.title, page_number=page, parent=parent, fit=fit
        )
        added.append(heading)
    return added


def pdf_bytes(
    report: MonthReport, charts: dict[str, str], parts: int = 1, pool: Executor | None = None
) -> bytes:
    """The report's PDF: rendered whole, or in ``parts`` (in ``pool``'s processes when given)
    joined into the same pages. WeasyPrint takes about 0.6 s of CPU per store with its month
    of tables; it uses one core, so the parts are what lets a second core help."""
    images = pdf_charts(charts)
    htmls = [page_html(report, images, part) for part in split_parts(report.stores, parts)]
    if len(htmls) == 1:
        return pdf_of(htmls[0])
    return join_pdfs(list((pool.map if pool else map)(pdf_of, htmls)))


def write_report(report: MonthReport, directory: Path) -> tuple[Path, Path]:
    """Write ``storeops-report-YYYY-MM.html`` and ``.pdf`` into ``directory``.

    With more than one core and enough stores, the charts and the PDF's parts are rendered in
    a pool of processes (one per core; twice as many parts as processes, so that one slow
    part does not leave a core idle).
    """
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"storeops-report-{report.title}"
    html_path, pdf_path = stem.with_suffix(".html"), stem.with_suffix(".pdf")
    processes = workers() if len(report.stores) >= PARALLEL_FROM_STORES else 1
    with ExitStack() as stack:
        pool = None
        if processes > 1:
            pool = stack.enter_context(ProcessPoolExecutor(processes))
        charts = chart_svgs(report, pool)
        html_path.write_text(page_html(report, charts), encoding="utf-8")
        parts = 2 * processes if pool else 1
        pdf_path.write_bytes(pdf_bytes(report, charts, parts=parts, pool=pool))
    return html_path, pdf_path
