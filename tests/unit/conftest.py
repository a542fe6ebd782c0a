"""Fixtures shared by unit test modules (a module's own fixture of the same name wins)."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True)
def _ansible_config_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """``storeops.cli.main`` points ANSIBLE_CONFIG at the run's project for the rest of its
    process (storeops.cli_options.use_project_config); a test that calls it in-process gets
    the variable back as it was, so the next test's Ansible reads what it would have."""
    current = os.environ.get("ANSIBLE_CONFIG")
    monkeypatch.setenv("ANSIBLE_CONFIG", "")  # recorded: undone after the test
    if current is None:
        monkeypatch.delenv("ANSIBLE_CONFIG")
    else:
        monkeypatch.setenv("ANSIBLE_CONFIG", current)


@pytest.fixture(autouse=True)
def _controller_state_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unit tests keep the controller's state (the audit's kept pass rates, the database,
    ARA) in a throwaway directory, never in the checkout's logs/ where the lab suites' and an
    operator's health check read it."""
    monkeypatch.setenv("STOREOPS_STATE_DIR", str(tmp_path_factory.mktemp("state")))
