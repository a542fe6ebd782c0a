"""Fixtures shared by unit test modules (a module's own fixture of the same name wins)."""

from __future__ import annotations

import shutil

import pytest

from storeops.workstation.plan import Checked, load_checked
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO

LAB_PASSWORDS = [REPO / "lab" / "vault-password.txt"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    """A copy of inventory/lab, validated with the workstation feature's checks."""
    root = shutil.copytree(REPO / "inventory" / "lab", tmp_path_factory.mktemp("inv") / "lab")
    return load_checked(root, VaultPasswords.from_files(LAB_PASSWORDS))
