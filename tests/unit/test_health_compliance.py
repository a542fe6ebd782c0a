"""The compliance row: `storeops audit` keeps each store's pass rate, the health check reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from storeops.compliance.audit import AuditReport, Cell, Status
from storeops.compliance.cli import keep_store_results
from storeops.health.run import compliance_rows
from storeops.health.targets import HealthPlan, StoreTarget
from storeops.monitoring import Status as Health
from storeops.schema import HealthSettings


def report(store: str, statuses: list[Status], generated: str) -> AuditReport:
    cells = [
        Cell(f"C{index}", f"{store}-db", store, status) for index, status in enumerate(statuses)
    ]
    return AuditReport(
        "inventory", [f"{store}-db"], {f"{store}-db": store}, [], cells=cells, generated=generated
    )


def test_the_last_audit_of_each_store_gives_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREOPS_STATE_DIR", str(tmp_path))
    keep_store_results(report("sh01", [Status.PASSED] * 3 + [Status.FAILED], "t1"), tmp_path)
    keep_store_results(report("hz01", [Status.PASSED, Status.WAIVED], "t2"), tmp_path)
    plan = HealthPlan(tmp_path, None, tmp_path, HealthSettings(), ())
    sh01 = StoreTarget("sh01", "Pudong", "3.2.0", None)
    (row,) = compliance_rows(plan, sh01)
    assert (row.status, row.metric) == (Health.WARNING, 75.0)
    assert "1 control(s) failing" in row.reason
    assert "(t1)" in row.value  # when that audit ran
    (clean,) = compliance_rows(plan, StoreTarget("hz01", "West Lake", "3.2.0", None))
    assert (clean.status, clean.metric, clean.reason) == (Health.OK, 100.0, "")
    assert compliance_rows(plan, StoreTarget("nj01", "Nanjing", "3.2.0", None)) == []
