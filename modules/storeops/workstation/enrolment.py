"""A provisioned machine into the asset register and its host_vars: one procedure for both ways.

``storeops workstation provision`` (pyinfra) and ``playbooks/workstation.yml`` (the
``workstation_register`` action) both end here, after the machine was configured: the
machine's identity (:mod:`storeops.workstation.identity`) and the plan become an
:class:`~storeops.workstation.schema.AssetRecord`, upserted into the store's register (a re-run
updates, never duplicates), and the assignment is written to the machine's host_vars.
``dry`` computes what would change and writes nothing (pyinfra ``--dry``, Ansible
``--check``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from storeops.workstation.identity import Identity
from storeops.workstation.plan import Checked, WorkstationPlan
from storeops.workstation.register import AssetRegister, Change, RegisterError
from storeops.workstation.schema import AssetRecord
from storeops.workstation.settings import write_assignment


def asset_report(plan: WorkstationPlan, identity: Identity) -> dict[str, str]:
    """What the controller registers: the plan's assignment and the machine's identity."""
    assignment = {
        "host": plan.host,
        "store": plan.store,
        "hostname": plan.hostname,
        "owner": plan.owner,
        "role": plan.role,
        "asset_tag": plan.asset_tag,
    }  # str(): a plan that went through Ansible holds its tagged string types
    return {key: str(value) for key, value in {**assignment, **asdict(identity)}.items()}


def _asset_record(report: dict[str, Any], today: dt.date) -> AssetRecord:
    return AssetRecord(
        asset_tag=report["asset_tag"],
        store=report["store"],
        host=report["host"],
        hostname=report["hostname"],
        serial=report["serial"],
        serial_source=report["serial_source"],
        model=report["model"],
        mac=report["mac"],
        owner=report["owner"],
        role=report["role"],
        provisioned=today,
    )


def _serial_elsewhere(checked: Checked, record: AssetRecord) -> str | None:
    """Another store's asset with this serial (one machine, one asset), if any."""
    for code in sorted(checked.inventory.stores):
        if code == record.store:
            continue
        for other in AssetRegister.load(checked.raw.root, code).records:
            if other.serial == record.serial:
                return f"asset {other.asset_tag} of store {code}"
    return None


def register_provisioned(
    checked: Checked, report: dict[str, Any], today: dt.date, dry: bool = False
) -> tuple[bool, list[str]]:
    """Upsert the asset, write the assignment: (anything changed, one line per file)."""
    record = _asset_record(report, today)
    elsewhere = _serial_elsewhere(checked, record)
    if elsewhere is not None:
        raise RegisterError(f"not registered: serial {record.serial} is already {elsewhere}")
    register = AssetRegister.load(checked.raw.root, record.store)
    change = register.upsert(record)
    if not dry:
        register.save()
    wrote = write_assignment(
        checked.ws, record.host, record.asset_tag, record.owner, record.role, dry=dry
    )
    would = "would be " if dry else ""
    lines = [
        f"asset register {register.path}: asset {record.asset_tag} {would}{change.value} "
        f"(serial {record.serial} from {record.serial_source.value}, {record.model}, "
        f"MAC {record.mac})",
        f"assignment {record.host}: {record.owner} ({record.role}) "
        + (f"{would}written" if wrote else "unchanged"),
    ]
    return change is not Change.UNCHANGED or wrote, lines
