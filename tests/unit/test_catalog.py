"""The release catalog: upgrade paths."""

from __future__ import annotations

import pytest

from storeops.catalog import pattern_matches, upgrade_allowed, version_key
from storeops.schema import Release

CATALOG = [
    Release(version="3.1.0", artifact="a", sha256="1" * 64),
    Release(version="3.2.0", artifact="b", sha256="2" * 64, upgrade_from=["3.1.0"]),
    Release(version="3.2.1", artifact="c", sha256="3" * 64, upgrade_from=["3.2.0"]),
    Release(version="4.0.0", artifact="d", sha256="4" * 64, upgrade_from=["3.2.*"]),
]


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("3.1.0", "3.2.0", True),
        ("3.2.0", "3.2.1", True),
        ("3.2.1", "4.0.0", True),
        ("3.2.0", "4.0.0", True),
        ("3.1.0", "4.0.0", False),
        ("3.1.0", "3.2.1", False),
        ("3.2.0", "3.2.0", True),
        ("3.1.0", "9.9.9", False),
    ],
)
def test_upgrade_paths(current: str, target: str, allowed: bool) -> None:
    assert upgrade_allowed(CATALOG, current, target)[0] is allowed


def test_refusal_names_the_allowed_sources() -> None:
    ok, reason = upgrade_allowed(CATALOG, "3.1.0", "4.0.0")
    assert not ok
    assert reason == "3.1.0 -> 4.0.0 is not allowed: 4.0.0 upgrades only from 3.2.*"


def test_patterns_and_ordering() -> None:
    assert pattern_matches("3.2.*", "3.2.10")
    assert not pattern_matches("3.2.*", "3.20.1")
    assert version_key("3.10.0") > version_key("3.9.9")
