"""What the emulated-device tests share: the lab's emulators started per test, and their login.

Every test starts its own emulated devices (storeops_lab.devices) on free 127.0.0.1 ports
with a fresh state directory under its tmp_path; all are stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storeops_lab.devices.start import DeviceHandle, start_device

# The local user every device is started with (its factory configuration holds it).
USER = "admin"
PASSWORD = "Lab-Passw0rd"

Start = Callable[..., DeviceHandle]


@pytest.fixture
def device_options() -> dict[str, Any]:
    """start_device options every device of a test gets (a test module overrides this)."""
    return {}


@pytest.fixture
def start(tmp_path: Path, device_options: dict[str, Any]) -> Iterator[Start]:
    """Start emulated devices: ``start(platform, name="sh01-sw1", **start_device options)``."""
    handles: list[DeviceHandle] = []

    def _start(platform: str, name: str = "sh01-sw1", **options: Any) -> DeviceHandle:
        options = {"state_dir": tmp_path / "state", **device_options, **options}
        handle = start_device(name, platform, 0, USER, PASSWORD, **options)
        handles.append(handle)
        return handle

    yield _start
    for handle in handles:
        handle.stop()
