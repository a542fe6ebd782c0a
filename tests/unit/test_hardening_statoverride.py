"""The setuid control's filter: which blacklisted binaries need a dpkg stat override."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import load_plugin

PLUGIN = Path(__file__).parents[2] / "roles/hardening/filter_plugins/hardening_statoverride.py"


@pytest.fixture(scope="module")
def plugin() -> ModuleType:
    return load_plugin("hardening_statoverride", PLUGIN)


def found(path: str, mode: str = "4755", **stat: Any) -> dict[str, Any]:
    """One of ``find``'s file entries."""
    values = {"isreg": True, "path": path, "mode": mode, "pw_name": "root", "gr_name": "root"}
    values.update(stat)
    return values


KEYSIGN = "/usr/lib/openssh/ssh-keysign"


def test_a_setuid_binary_without_override_gets_one_without_the_bit(plugin: ModuleType) -> None:
    needed = plugin.setuid_overrides_needed([found(KEYSIGN, "4755")], "")
    assert needed == [{"path": KEYSIGN, "owner": "root", "group": "root", "mode": "0755"}]


def test_setgid_and_sticky_bits(plugin: ModuleType) -> None:
    needed = plugin.setuid_overrides_needed([found("/usr/bin/wall", "3755", gr_name="tty")], "")
    assert needed == [{"path": "/usr/bin/wall", "owner": "root", "group": "tty", "mode": "1755"}]


def test_a_registered_override_without_the_bits_is_kept(plugin: ModuleType) -> None:
    listing = f"root messagebus 4754 /usr/lib/dbus-1.0/dbus-daemon-launch-helper\nroot root 755 {KEYSIGN}\n"
    assert plugin.setuid_overrides_needed([found(KEYSIGN, "0755")], listing) == []


def test_a_registered_override_that_sets_the_bit_is_replaced(plugin: ModuleType) -> None:
    listing = f"root root 4755 {KEYSIGN}\n"
    needed = plugin.setuid_overrides_needed([found(KEYSIGN, "4755")], listing)
    assert [entry["mode"] for entry in needed] == ["0755"]


def test_another_path_override_does_not_count(plugin: ModuleType) -> None:
    listing = f"root root 755 {KEYSIGN}.old\n"
    assert len(plugin.setuid_overrides_needed([found(KEYSIGN)], listing)) == 1


def test_a_file_that_is_not_regular_is_left_alone(plugin: ModuleType) -> None:
    assert plugin.setuid_overrides_needed([found("/usr/bin/rsh", isreg=False)], "") == []


def test_a_path_with_spaces_in_the_listing(plugin: ModuleType) -> None:
    assert plugin.statoverrides("root root 755 /opt/a b/c\n") == {
        "/opt/a b/c": {"owner": "root", "group": "root", "mode": "755"}
    }


def test_an_unreadable_override_mode_is_replaced(plugin: ModuleType) -> None:
    listing = f"root root rwx {KEYSIGN}\n"
    assert len(plugin.setuid_overrides_needed([found(KEYSIGN)], listing)) == 1


def test_the_filter_is_registered(plugin: ModuleType) -> None:
    filters = plugin.FilterModule().filters()
    assert filters["hardening_setuid_overrides_needed"] is plugin.setuid_overrides_needed
