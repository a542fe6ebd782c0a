"""The report as HTML (Jinja2, autoescaped: every inventory and log value is hostile) and as
PDF (WeasyPrint from the same HTML, no browser). Runs on the controller.

The page is self-contained: styles inline, charts inline SVG, no script, no image, font or
style sheet fetched from anywhere. Chinese store names need a CJK font on the controller
(Debian: fonts-wqy-zenhei, installed by lab/host-setup.sh); the style names it first.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from storeops.report.build import MonthReport
from storeops.report.charts import availability_svg

TEMPLATE = "report.html.j2"


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


def render_html(report: MonthReport) -> str:
    """The report's HTML page."""
    # matplotlib's own SVG, marked safe in the template (the only unescaped text)
    charts = {
        store.code: availability_svg(store.code, store.availability.days, report.target)
        for store in report.stores
    }
    return _environment().get_template(TEMPLATE).render(report=report, charts=charts)


def write_report(report: MonthReport, directory: Path) -> tuple[Path, Path]:
    """Write ``storeops-report-YYYY-MM.html`` and ``.pdf`` into ``directory``."""
    from weasyprint import HTML

    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"storeops-report-{report.title}"
    html = render_html(report)
    html_path, pdf_path = stem.with_suffix(".html"), stem.with_suffix(".pdf")
    html_path.write_text(html, encoding="utf-8")
    # no base_url and a fetcher that refuses: nothing is fetched, even if a value tried
    HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(pdf_path)
    return html_path, pdf_path


def _refuse_fetch(url: str, *_args: object, **_kwargs: object) -> dict[str, object]:
    raise ValueError(f"the report fetches nothing ({url[:60]})")
