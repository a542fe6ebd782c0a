"""Shared test helpers: paths of the repo and of the fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
GOOD_INVENTORY = FIXTURES / "inventories" / "good"
BAD_INVENTORIES = FIXTURES / "inventories" / "bad"
FIXTURE_ROLES = FIXTURES / "roles"


FIXTURE_VAULT_PASSWORD = FIXTURES / "vault-password.txt"


# Tests that rebuild lab hosts (repair, recreate) run before everything that converges or
# audits them; otherwise the order is pytest's own (files as collected, tests as written).
RUN_FIRST = ("tests/integration/test_lab.py::",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: 0 if item.nodeid.startswith(RUN_FIRST) else 1)


def build_inventory(target: Path, overlay: Path | None = None) -> Path:
    """A copy of the good fixture inventory, with an overlay's files replacing or deleting files."""
    shutil.copytree(GOOD_INVENTORY, target)
    if overlay is None:
        return target
    for source in overlay.rglob("*"):
        relative = source.relative_to(overlay)
        if source.is_dir() or relative.name in {"expected.txt", "DELETE"}:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    deletions = overlay / "DELETE"
    if deletions.is_file():
        for line in deletions.read_text().split():
            (target / line).unlink()
    return target


@pytest.fixture
def good_inventory(tmp_path: Path) -> Path:
    return build_inventory(tmp_path / "inventory")
