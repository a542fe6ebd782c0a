"""The monthly report in a real headless Chromium (Debian's ``chromium``) and as PDF.

The report is written from a history and audit logs the test makes; Chromium loads the HTML
file with the network off (``--dump-dom`` and ``--screenshot``): no console error, every
chart drawn with its bars in the DOM, a screenshot kept under .cache/test-artifacts/, no
external URL anywhere in the page. The PDF is read back with poppler's ``pdftotext``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from storeops.availability import local_day_bounds
from storeops.history import History, Sample
from storeops.report.build import Sources, build_report
from storeops.report.charts import BAR_ID, NO_DATA_ID
from storeops.report.render import write_report
from storeops.workstation.plan import Checked
from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / ".cache" / "test-artifacts"
FIVE = timedelta(minutes=5)
SAMPLED_DAYS = range(1, 11)  # sh01 sampled on 1..10 March; hz01 never


class Elements(HTMLParser):
    """The ids of the elements of a DOM dump, and the svg elements inside the charts."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svgs += tag == "svg"
        self.ids.extend(value for name, value in attrs if name == "id" and value)


@pytest.fixture(scope="module")
def written(lab: Checked, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    scratch = tmp_path_factory.mktemp("report")
    history = History.open(URL.create("sqlite", database=str(scratch / "h.sqlite")))
    samples = []
    for day in SAMPLED_DAYS:
        start, end = local_day_bounds(date(2026, 3, day), "Asia/Shanghai")
        count = (end - start) // FIVE
        samples += [
            Sample(start + n * FIVE, "sh01", not (day == 2 and n in (10, 11, 200)), 4.0, "503")
            for n in range(count)
        ]
    history.record_samples(samples)
    (scratch / "logs").mkdir()
    report = build_report(
        lab.inventory,
        Sources(history, scratch / "logs"),
        2026,
        3,
        now=datetime(2026, 4, 1, tzinfo=UTC),
    )
    return write_report(report, scratch / "out")


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # as root in CI
            "--disable-gpu",
            "--no-first-run",
            "--proxy-server=127.0.0.1:9",  # any fetch would fail (and log) rather than leave
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_lines(stderr: str) -> list[str]:
    """What the page wrote to its console (Chromium logs it as ``INFO:CONSOLE``)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (lab/host-setup.sh)"
)


@needs_chromium
def test_the_console_check_sees_a_page_error(tmp_path: Path) -> None:
    """The check itself: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>console.error("boom")</script></body></html>')
    assert any(
        '"boom"' in line for line in console_lines(chromium("--dump-dom", page.as_uri()).stderr)
    )


@needs_chromium
def test_the_report_in_chromium(written: tuple[Path, Path]) -> None:
    html_path, _pdf = written
    url = html_path.as_uri()
    dump = chromium("--dump-dom", url)
    assert console_lines(dump.stderr) == []
    elements = Elements()
    elements.feed(dump.stdout)
    bars = [i for i in elements.ids if i.startswith(BAR_ID)]
    gaps = [i for i in elements.ids if i.startswith(NO_DATA_ID)]
    assert elements.svgs == 2  # one chart per store
    assert len(bars) == len(SAMPLED_DAYS)  # sh01: a bar per sampled day
    assert len(gaps) == 31 - len(SAMPLED_DAYS) + 31  # the other days, and all of hz01's
    assert "98.958 %" in dump.stdout  # 3 failed samples of 288 on 2 March
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "storeops-report-2026-03.png"
    chromium("--window-size=1200,2400", f"--screenshot={shot}", url)
    assert shot.stat().st_size > 20_000


def test_no_external_url_in_the_page(written: tuple[Path, Path]) -> None:
    html = written[0].read_text(encoding="utf-8")
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    assert re.findall(r"(?:https?:|ftp:|//[a-z0-9])", without_namespaces, re.IGNORECASE) == []
    assert "<script" not in html and "<link" not in html and "<img" not in html


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_pdf_has_the_pages_and_the_figures(written: tuple[Path, Path]) -> None:
    _html, pdf = written
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout)[1])  # type: ignore[index]
    assert pages >= 3  # the summary, a section per store (each on a new page), the runs
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "Store operations report 2026-03" in text.stdout
    assert "98.958 %" in text.stdout
    assert "no data" in text.stdout
    assert "Run history is not configured" in text.stdout
