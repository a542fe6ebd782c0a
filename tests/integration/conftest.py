"""The running lab for integration tests: started (or repaired) by the suite itself.

``lab`` runs ``storeops_lab.lab.up`` once per session on ``inventory/lab``: on a healthy lab
that takes a few seconds and changes nothing; on a fresh machine it builds the image and
the containers first. The lab is left running afterwards (``storeops lab down`` removes it).
When ``tests/lab_lanes.py`` runs suites side by side it brings the lab up itself first and
says so (``STOREOPS_LAB_ASSUME_UP``): a suite's own ``up`` would converge the containers
another suite is recreating on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid
from storeops_lab.lab import assumed_up, up


@pytest.fixture(scope="session")
def lab() -> Iterator[Inventory]:
    inventory = load_valid(LAB_INVENTORY)
    if not assumed_up():
        up(inventory)
    yield inventory
