"""Waiting in tests for something that happens by itself (a timer fires, a table is put back)."""

from __future__ import annotations

import time
from collections.abc import Callable


def seconds_until(
    condition: Callable[[], bool], within: float, every: float = 0.25
) -> float | None:
    """Seconds until ``condition()`` held, asking every ``every`` s; None if it did not within
    ``within`` seconds (it is asked once more at the end)."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            return None
        time.sleep(every)
