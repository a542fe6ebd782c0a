"""Shared test helpers: paths of the repo and of the fixtures."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

# ARA's recording costs about 4.5 s per ansible-playbook run on our machines (bench/ara.py:
# 13.1 s against 8.6 s for a ten-task playbook), some 15 minutes over the suite's ~200 runs,
# so the tests run without it: the callbacks ansible.cfg enables but ara_default. The tests
# of the recording itself enable it (RECORDING_CALLBACKS) into a directory of their own;
# should a run record anyway, it goes to a throwaway directory, never to logs/ara.
NOT_RECORDING_CALLBACKS = "ansible.posix.profile_tasks"
RECORDING_CALLBACKS = "ansible.posix.profile_tasks, ara_default"
os.environ.setdefault("ANSIBLE_CALLBACKS_ENABLED", NOT_RECORDING_CALLBACKS)
os.environ.setdefault("ARA_BASE_DIR", str(REPO / ".cache" / "ara"))


def load_plugin(name: str, path: Path) -> ModuleType:
    """An Ansible plugin or module file (a role's filter_plugins/..., library/...) imported by its path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOOD_INVENTORY = FIXTURES / "inventories" / "good"
BAD_INVENTORIES = FIXTURES / "inventories" / "bad"
FIXTURE_ROLES = FIXTURES / "roles"


FIXTURE_VAULT_PASSWORD = FIXTURES / "vault-password.txt"


# Tests that rebuild lab hosts (repair, recreate) run before everything that converges or
# audits them; otherwise the order is pytest's own (files as collected, tests as written).
RUN_FIRST = ("tests/integration/test_lab.py::",)
# Then the emulator tests that wait longest (netmiko's huawei driver waits 2 s for silence per
# configuration-mode check; the safety-net tests wait for device timers): most of the suite's
# time, in few tests. Started first, pytest-xdist's workers (make emulated) share them out and
# fill in with the quick ones; started last, they would leave one or two workers running alone.
SLOW_FIRST = (
    "tests/emulated/test_net_safety_net.py::",
    "tests/emulated/test_net_modules.py::",
    "tests/emulated/test_devices.py::",
)


def _run_order(item: pytest.Item) -> int:
    if item.nodeid.startswith(RUN_FIRST):
        return 0
    slow = [item.nodeid.startswith(prefix) for prefix in SLOW_FIRST]
    return 1 + (slow.index(True) if any(slow) else len(SLOW_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_run_order)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse a run whose collection monkey-patched the standard library for gevent.

    Importing ``pyinfra_cli`` (pyinfra's CLI package) does ``gevent.monkey.patch_all()``: in
    pytest's process that turns every later test's threads, locks and sockets into gevent's,
    and kills pytest-xdist's workers (execnet's threads) with gevent's ``LoopExit``, reported
    as an INTERNALERROR. Tests load pyinfra in a child process instead (test_pyinfra_adapter).
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_anything_patched():
        raise pytest.UsageError(
            "a test module imported pyinfra_cli (gevent.monkey.patch_all()) while pytest "
            "collected it: import pyinfra in a child process (see test_pyinfra_adapter.py)"
        )


def build_inventory(target: Path, overlay: Path | None = None) -> Path:
    """A copy of the good fixture inventory, with an overlay's files replacing or deleting files."""
    shutil.copytree(GOOD_INVENTORY, target)
    if overlay is None:
        return target
    return apply_overlay(target, overlay)


def apply_overlay(target: Path, overlay: Path) -> Path:
    """An overlay's files over an inventory: replacing or adding files, deleting those in DELETE."""
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
