"""storeops report: its figures against a history and audit logs the test wrote."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import URL

from storeops.availability import local_day_bounds
from storeops.history import CheckName, CheckRecord, History, Sample, Status
from storeops.report import render
from storeops.report.build import MonthReport, Sources, build_report, by_store
from storeops.report.render import (
    chart_svgs,
    page_html,
    pdf_bytes,
    pdf_charts,
    render_html,
    split_parts,
)
from storeops.run_history import Run
from storeops.workstation.plan import Checked

FIVE = timedelta(minutes=5)
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)


def day_samples(day: date, failed: set[int], store: str = "sh01") -> list[Sample]:
    start, end = local_day_bounds(day, "Asia/Shanghai")
    return [
        Sample(start + n * FIVE, store, n not in failed, 5.0, "HTTP 503")
        for n in range((end - start) // FIVE)
    ]


class Runs:
    def __init__(self, runs: Sequence[Run]) -> None:
        self.found = list(runs)

    def runs(self, start: datetime, end: datetime) -> Sequence[Run]:
        return [run for run in self.found if start <= run.started < end]


@dataclass(frozen=True)
class FakeAsset:
    asset_tag: str
    host: str
    model: str
    provisioned: date
    status: str
    returned: date | None


def assets(_root: Path, store: str) -> list[FakeAsset]:
    return [
        FakeAsset("A1", f"{store}-ws1", "T14", date(2025, 1, 2), "in_use", None),
        FakeAsset("A2", f"{store}-ws2", "T14", date(2025, 1, 2), "returned", date(2026, 3, 20)),
        FakeAsset("A3", f"{store}-ws3", "T14", date(2026, 4, 2), "in_use", None),
        FakeAsset("A4", f"{store}-ws4", "T14", date(2025, 1, 2), "returned", date(2026, 4, 2)),
    ]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    rollouts = [
        {
            "run_id": "r1",
            "user": "ops",
            "store": "sh01",
            "started": "2026-03-10T14:00:00+00:00",
            "finished": "2026-03-10T14:05:00+00:00",
            "from": "3.1.0",
            "to": "3.2.0",
            "result": "rolled back",
            "reason": "<script>alert(1)</script>",
            "override_reason": "brand deadline",
            "check_mode": False,
        },
        {
            "run_id": "r2",
            "user": "ops",
            "store": "sh01",
            "started": "2026-03-11T14:00:00+00:00",
            "finished": "2026-03-11T14:05:00+00:00",
            "from": "3.1.0",
            "to": "3.2.0",
            "result": "would upgrade",
            "reason": "",
            "check_mode": True,
        },
        {
            "run_id": "r0",
            "store": "sh01",
            "finished": "2026-02-10T14:05:00+00:00",
            "from": "3.0.0",
            "to": "3.1.0",
            "result": "upgraded",
        },
    ]
    lines = [json.dumps(record) for record in rollouts] + ["{broken"]
    (directory / "dms-rollouts.jsonl").write_text("\n".join(lines) + "\n")
    patch = {
        "run_id": "p1",
        "store": "sh01",
        "host": "sh01-db",
        "result": "patched",
        "host_started": datetime(2026, 3, 5, 15, tzinfo=UTC).timestamp(),
        "upgraded": [{"package": "a", "from": "1", "to": "2"}],
        "pending_security": 0,
        "rebooted": True,
        "reason": "",
    }
    (directory / "patch-runs.jsonl").write_text(json.dumps(patch) + "\n")
    return directory


@pytest.fixture
def report(lab: Checked, tmp_path: Path, logs: Path) -> MonthReport:
    history = History.open(URL.create("sqlite", database=str(tmp_path / "h.sqlite")))
    history.record_samples(day_samples(date(2026, 3, 2), {10, 11, 200}))
    at = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    history.record_checks(
        [
            CheckRecord(
                at, "h1", "sh01", "sh01-backup", CheckName.BACKUP, Status.OK, "6 h", "", 6.0
            ),
            CheckRecord(
                at + timedelta(hours=1),
                "h2",
                "sh01",
                "sh01-backup",
                CheckName.BACKUP,
                Status.CRITICAL,
                "30 h",
                "too old",
                30.0,
            ),
            CheckRecord(
                at, "h1", "sh01", "sh01-db", CheckName.PATCHES, Status.WARNING, "2", "", 2.0
            ),
            CheckRecord(
                at, "h1", "sh01", "sh01-dms", CheckName.PATCHES, Status.WARNING, "3", "", 3.0
            ),
            CheckRecord(
                at, "h1", "sh01", "sh01-db", CheckName.COMPLIANCE, Status.OK, "97.5 %", "", 97.5
            ),
        ]
    )
    runs = Runs(
        [
            Run(
                id=7,
                playbook="site.yml",
                started=datetime(2026, 3, 3, tzinfo=UTC),
                ended=None,
                status="failed",
                stores=("sh01",),
                hosts=("sh01-dms",),
                link="javascript:alert(1)",
            ),
            Run(
                id=8,
                playbook="patch.yml",
                started=datetime(2026, 3, 4, tzinfo=UTC),
                ended=datetime(2026, 3, 4, 0, 5, tzinfo=UTC),
                status="completed",
                stores=("sh01", "hz01"),
                hosts=("sh01-dms", "hz01-dms"),
                link="https://ara.hq.example/playbooks/8.html",
            ),
        ]
    )
    sources = Sources(history, logs, runs, assets)
    return build_report(lab.inventory, sources, 2026, 3, now=NOW)


def cell(html: str, store: str, attribute: str) -> str:
    section = html[html.index(f'id="store-{store}"') :]
    match = re.search(attribute + r"[^>]*>([^<]*)<", section)
    assert match is not None
    return match[1]


def test_three_failed_of_288_is_the_availability_printed(report: MonthReport) -> None:
    sh01 = next(store for store in report.stores if store.code == "sh01")
    assert sh01.availability.availability == 285 * 100 / 288
    html = render_html(report)
    assert cell(html, "sh01", 'data-figure="availability"') == "98.958 %"
    section = html[html.index('id="store-sh01"') :]
    day = section[section.index('data-day="2026-03-02"') :]
    assert re.match(r'data-day="2026-03-02"><td>2026-03-02</td><td[^>]*>98.958 %<', day)
    assert [i.time_to_recover for i in sh01.availability.incidents] == [2 * FIVE, FIVE]
    assert "10 min" in html  # the incident's time to recover


def test_a_store_without_samples_says_no_data_never_100(report: MonthReport) -> None:
    hz01 = next(store for store in report.stores if store.code == "hz01")
    assert hz01.availability.availability is None
    html = render_html(report)
    assert cell(html, "hz01", 'data-figure="availability"') == "no data"
    assert "100.000 %" not in html
    assert "No data: no DMS sample this month." in html


def test_rollouts_patches_and_checks_of_the_month(report: MonthReport) -> None:
    sh01 = next(store for store in report.stores if store.code == "sh01")
    [rollout] = sh01.rollouts  # the check-mode run and February's are left out
    assert (rollout.result, rollout.override_reason) == ("rolled back", "brand deadline")
    assert sh01.version_at_month_end == "3.1.0"
    [patch] = sh01.patch_runs
    assert (patch.host, patch.upgraded, patch.rebooted) == ("sh01-db", 1, True)
    [day] = sh01.checks  # the latest backup row of the day, patches summed over hosts
    assert (day.day, day.backup_age_h, day.backup) == (date(2026, 3, 2), 30.0, Status.CRITICAL)
    assert (day.pending_security, day.compliance, day.restore_drill) == (5.0, 97.5, None)
    assert report.unreadable_log_lines == 1


def test_assets_in_use_at_the_months_end_and_returned_in_it(report: MonthReport) -> None:
    sh01 = next(store for store in report.stores if store.code == "sh01")
    assert sh01.assets is not None
    assert [a.asset_tag for a in sh01.assets.in_use] == ["A1", "A4"]
    assert [a.asset_tag for a in sh01.assets.returned] == ["A2"]


def test_hostile_values_are_escaped_and_only_web_links_are_linked(report: MonthReport) -> None:
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert '<a href="https://ara.hq.example/playbooks/8.html">8</a>' in html


def test_run_history_not_configured_says_so(lab: Checked, tmp_path: Path, logs: Path) -> None:
    history = History.open(URL.create("sqlite", database=str(tmp_path / "e.sqlite")))
    empty = build_report(lab.inventory, Sources(history, logs), 2026, 3, now=NOW, stores=["hz01"])
    html = render_html(empty)
    assert "Run history is not configured" in html
    assert "asset register is not readable" in html
    assert [store.code for store in empty.stores] == ["hz01"]


def test_rows_grouped_by_store_keep_their_order() -> None:
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [Sample(t0 + n * FIVE, store, True, 1.0, "") for n, store in enumerate("abab")]
    grouped = by_store(rows)
    assert grouped == {"a": [rows[0], rows[2]], "b": [rows[1], rows[3]]}


def test_parts_are_consecutive_stores_first_and_last_marked(report: MonthReport) -> None:
    stores = report.stores * 3  # 6 stores
    parts = split_parts(stores, 4)
    assert [len(part.stores) for part in parts] == [2, 2, 1, 1]
    assert sum((part.stores for part in parts), ()) == stores
    assert [(part.first, part.last) for part in parts] == [
        (True, False),
        (False, False),
        (False, False),
        (False, True),
    ]
    assert [len(part.stores) for part in split_parts(stores, 10)] == [1] * 6
    [whole] = split_parts(stores, 1)
    assert (whole.stores, whole.first, whole.last) == (stores, True, True)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_pdf_in_parts_joins_into_the_same_pages(report: MonthReport) -> None:
    charts = chart_svgs(report)
    whole, joined = pdf_bytes(report, charts), pdf_bytes(report, charts, parts=2)
    assert len(split_parts(report.stores, 2)) == 2
    assert pages_text(joined) == pages_text(whole)
    assert len(pages_text(whole)) >= 3
    reader = PdfReader(io.BytesIO(joined))
    assert reader.metadata is not None
    assert reader.metadata.title == "Store operations report 2026-03 - storeops lab group"
    assert outline(reader.outline) == outline(PdfReader(io.BytesIO(whole)).outline)


def outline(items: list[Any]) -> list[Any]:
    """Titles, and nested lists for children, as pypdf reads an outline."""
    return [outline(item) if isinstance(item, list) else item.title for item in items]


def test_the_page_parts_hold_the_header_and_the_runs_once(report: MonthReport) -> None:
    charts = chart_svgs(report)
    first, second = (page_html(report, charts, part) for part in split_parts(report.stores, 2))
    assert 'id="summary"' in first and 'id="playbook-runs"' not in first
    assert 'id="summary"' not in second and 'id="playbook-runs"' in second
    assert 'id="store-hz01"' in first and 'id="store-sh01"' in second
    assert page_html(report, charts) == render_html(report)


def test_the_pdf_holds_the_same_svg_charts_as_data_images(report: MonthReport) -> None:
    charts = chart_svgs(report)
    images = pdf_charts(charts)
    for code, svg in charts.items():
        prefix = '<img alt="" src="data:image/svg+xml;base64,'
        assert images[code].startswith(prefix) and images[code].endswith('">')
        assert base64.b64decode(images[code][len(prefix) : -2]).decode("utf-8") == svg
    assert charts["sh01"].count('id="avail-bar-') == 1  # a bar for 2 March, the only day sampled


def test_write_report_in_a_pool_of_processes_writes_the_same_pages(
    report: MonthReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "PARALLEL_FROM_STORES", 1)  # the lab's 2 stores: a pool too
    monkeypatch.setattr(render, "workers", lambda: 2)
    html_path, pdf_path = render.write_report(report, tmp_path)
    assert html_path.read_text(encoding="utf-8") == render_html(report)
    whole = pdf_bytes(report, chart_svgs(report))
    assert pages_text(pdf_path.read_bytes()) == pages_text(whole)
