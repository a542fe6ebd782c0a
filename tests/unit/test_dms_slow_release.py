"""3.2.2, the lab's deliberately slow release: what its work-order read sends to MariaDB.

There is no MariaDB on the controller, so a recording cursor stands in for pymysql's (it
answers GET_LOCK and the SELECT with canned rows). The same reads run for real, against
MariaDB and under concurrency, in tests/integration/test_dms_app.py (lab only).
lab/dms/src is put on sys.path as in test_dms_runtime.py, and each release's own
release.py is loaded as ``storedms.release``, as its tarball ships it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import datetime
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO

SRC = REPO / "lab" / "dms" / "src"
RELEASES = REPO / "lab" / "dms" / "releases"
WORK_ORDER = {
    "id": 7,
    "description": "oil change",
    "opened_at": datetime(2026, 3, 1, 9, 30),
    "closed_at": None,
    "vehicle_id": 3,
    "vin": "LBV5S3102RSA00017",
    "model": "530Li",
    "customer_id": 3,
    "family_name": "王",
    "given_name": "小明",
    "phone": "13800000000",
    "id_number": "110101199003077777",
}


class RecordingCursor:
    """Records (sql, args); GET_LOCK answers ``lock_answer``, the SELECT one work order."""

    def __init__(self, lock_answer: int | None = 1) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.lock_answer = lock_answer
        self._row: dict[str, Any] | None = None

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        self.statements.append((sql, args))
        if "GET_LOCK(" in sql:
            self._row = {"acquired": self.lock_answer}
        elif sql.startswith("SELECT w.id"):
            self._row = dict(WORK_ORDER)
        else:
            self._row = None
        return 1

    def fetchone(self) -> dict[str, Any] | None:
        return self._row


def load_store(version: str) -> ModuleType:
    """storedms.store as release ``version`` ships it (its release.py as storedms.release)."""
    spec = importlib.util.spec_from_file_location(
        "storedms.release", RELEASES / version / "release.py"
    )
    assert spec is not None and spec.loader is not None
    release = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(release)
    sys.modules["storedms.release"] = release  # what `from storedms import release` finds
    # lab/dms/src, put on sys.path by the fixture: outside mypy_path
    from storedms import store  # type: ignore[import-not-found]

    return store  # type: ignore[no-any-return]


@pytest.fixture
def store_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(SRC))
    yield load_store
    for name in [name for name in sys.modules if name.split(".")[0] == "storedms"]:
        sys.modules.pop(name)


def test_322_reads_under_the_named_lock_with_its_cost_and_without_the_primary_key(
    store_of: Any,
) -> None:
    store = store_of("3.2.2")
    cursor = RecordingCursor()
    row = store.read_work_order(cursor, 7)
    (lock, lock_args), (cost, cost_args), (select, select_args) = cursor.statements
    assert lock == (
        "SELECT GET_LOCK(LEFT(CONCAT('storedms.work_orders@', DATABASE()), 64), %s) AS acquired"
    )
    assert lock_args == (10,)
    assert (cost, cost_args) == ("DO SLEEP(%s)", (0.05,))
    assert " FROM work_orders w IGNORE INDEX (PRIMARY) JOIN vehicles v" in select
    assert select_args == (7,)
    assert row["vin"] == WORK_ORDER["vin"] and row["id_number"] != WORK_ORDER["id_number"]


@pytest.mark.parametrize("version", ["3.1.0", "3.2.0", "3.2.1", "4.0.0"])
def test_the_other_releases_read_with_one_indexed_query(store_of: Any, version: str) -> None:
    store = store_of(version)
    cursor = RecordingCursor()
    store.read_work_order(cursor, 7)
    ((select, args),) = cursor.statements
    assert select.startswith("SELECT w.id") and args == (7,)
    assert "IGNORE INDEX" not in select and " FROM work_orders w JOIN vehicles v" in select


@pytest.mark.parametrize("answer", [0, None])  # 0: timed out, NULL: error
def test_322_reports_a_lock_it_did_not_get_as_a_database_error(
    store_of: Any, answer: int | None
) -> None:
    """A driver error: the handlers answer 500 with its number, the smoke names its step."""
    store = store_of("3.2.2")
    cursor = RecordingCursor(lock_answer=answer)
    with pytest.raises(store.pymysql.err.OperationalError) as raised:
        store.read_work_order(cursor, 7)
    assert raised.value.args[0] == 1205
    assert len(cursor.statements) == 1  # neither the cost nor the query ran
