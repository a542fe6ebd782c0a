"""The DMS refuses a runtime of another ABI (storedms.runtime, read by /health).

lab/dms/src is put on sys.path as in tests/integration/test_dms_app.py: storedms is the
lab hosts' package, not the controller's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO

SRC = REPO / "lab" / "dms" / "src"


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(SRC))
    # lab/dms/src, put on sys.path just above: outside mypy_path
    from storedms import runtime as module  # type: ignore[import-not-found]

    yield module
    for name in ("storedms.runtime", "storedms"):
        sys.modules.pop(name, None)


def test_every_release_supports_abi_1_and_reads_the_package_file(runtime: ModuleType) -> None:
    assert runtime.SUPPORTED_ABI == "1"
    assert runtime.ABI_FILE == "/usr/share/storedms-runtime/abi"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("1\n", None),
        ("2\n", "abi 2 unsupported (needs 1)"),
        ("", "abi (empty) unsupported (needs 1)"),
        (None, None),  # not installed: development
    ],
)
def test_the_runtime_problem(
    runtime: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    content: str | None,
    problem: str | None,
) -> None:
    abi = tmp_path / "abi"
    if content is not None:
        abi.write_text(content)
    monkeypatch.setenv("STOREDMS_RUNTIME_ABI_FILE", str(abi))
    assert runtime.problem() == problem
