"""Monitoring-plugin states (Nagios, Icinga, Zabbix's external checks): one scale for every
check storeops reports (``storeops health``, ``storeops audit``), and its exit codes."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"  # the check could not tell

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]


EXIT_CODES = {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}
# Worst first, as monitoring servers aggregate: a failure outranks a check that could not
# tell, which outranks a warning.
SEVERITY = (Status.CRITICAL, Status.UNKNOWN, Status.WARNING, Status.OK)


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe of ``statuses`` (OK when there are none)."""
    present = set(statuses)
    return next((status for status in SEVERITY if status in present), Status.OK)
