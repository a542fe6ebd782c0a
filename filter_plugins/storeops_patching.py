"""Filters of the patching role: the order of hosts, the gate before each step, the apt
pins of a store's DMS release, and the change report (storeops.patching)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError
from pydantic import ValidationError

from storeops.ansible_view import plain
from storeops.patching import holds, report_line, report_table, step_gate, steps
from storeops.schema import Release


def storeops_patch_steps(
    hosts: Mapping[str, Mapping[str, Any]], role_order: Sequence[str], wave_size: int
) -> list[list[str]]:
    """The run's steps: lists of hosts patched side by side, in order."""
    try:
        return steps(hosts, list(role_order), int(wave_size))
    except (KeyError, ValueError) as error:
        raise AnsibleFilterError(f"storeops_patch_steps: {error}") from None


def storeops_patch_gate(
    plan: Sequence[Sequence[str]], index: int, outcomes: Mapping[str, str]
) -> str:
    """Why step ``index`` must not start ('' when it may)."""
    return step_gate(plan, int(index), dict(outcomes))


def storeops_patch_holds(catalog: Sequence[Mapping[str, Any]], target: str) -> list[dict[str, str]]:
    """The apt pins of a store on DMS release ``target``."""
    try:
        releases = [Release.model_validate(plain(entry)) for entry in catalog]
    except ValidationError as error:
        raise AnsibleFilterError(f"storeops_patch_holds: dms_catalog: {error}") from None
    return holds(releases, str(target))


def storeops_patch_report(
    hosts: Sequence[str], hostvars: Mapping[str, Any], run: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The change report's records, one per host."""
    return [report_line(host, hostvars[host], run) for host in hosts]


def storeops_patch_table(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The change report as lines of text."""
    return report_table(records)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "storeops_patch_steps": storeops_patch_steps,
            "storeops_patch_gate": storeops_patch_gate,
            "storeops_patch_holds": storeops_patch_holds,
            "storeops_patch_report": storeops_patch_report,
            "storeops_patch_table": storeops_patch_table,
        }
