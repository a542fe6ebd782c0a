"""Filters of the DMS rollout: its waves and the gate before each wave (storeops.rollout)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storeops.rollout import wave_gate, waves


def storeops_waves(stores: Sequence[Mapping[str, Any]], wave_size: int) -> list[list[str]]:
    """Store codes in rollout order: pilot stores first, then ``wave_size`` at a time."""
    return waves(stores, int(wave_size))


def storeops_wave_gate(
    plan: Sequence[Sequence[str]],
    index: int,
    outcomes: Mapping[str, str],
    pilots: Sequence[str],
) -> str:
    """Why wave ``index`` must not start ('' when it may)."""
    return wave_gate(plan, int(index), dict(outcomes), list(pilots))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"storeops_waves": storeops_waves, "storeops_wave_gate": storeops_wave_gate}
