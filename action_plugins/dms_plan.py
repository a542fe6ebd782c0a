"""Action plugin: decide what the DMS rollout does on one store, on the controller.

From the release the DMS host runs, the journal of an interrupted rollout (if any) and
the store's target: nothing, an upgrade, the resumption of an interrupted rollout, or a
refusal (an upgrade path the catalog does not allow, an unknown release). The logic is
storeops.rollout.plan_step; this plugin only feeds it. Never connects to the host.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from pydantic import ValidationError

from storeops.catalog import find
from storeops.rollout import Step, plan_step, queue_plan
from storeops.schema import Release


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(
        (
            "running",
            "target",
            "interrupted",
            "table_rows",
            "queue_limit",
            "restart_seconds",
            "maintenance_page",
        )
    )

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            catalog = [Release.model_validate(entry) for entry in task_vars["dms_catalog"]]
        except (KeyError, ValidationError) as error:
            raise AnsibleActionFail(f"dms_catalog: run storeops validate: {error}") from None
        args = self._task.args
        target = str(args.get("target") or task_vars["store"]["dms_target_version"])
        interrupted = args.get("interrupted") or None
        if interrupted is not None and not isinstance(interrupted, dict):
            raise AnsibleActionFail("interrupted: expected the journal (a dict) or nothing")
        step = plan_step(catalog, str(args.get("running") or ""), target, interrupted)
        queue: dict[str, Any] | None = None
        release = find(catalog, step.to_version)
        if step.action in ("upgrade", "resume") and release is not None:
            plan, refusal = queue_plan(
                release,
                _table_rows(args.get("table_rows")),
                _seconds(args, "queue_limit", 4.0),
                _seconds(args, "restart_seconds", 1.0),
                boolean(args.get("maintenance_page", False), strict=False),
            )
            queue = plan.as_dict()
            if refusal:
                step = Step("refuse", step.from_version, step.to_version, refusal)
        result.update(changed=False, msg=step.reason, queue=queue, **step.as_dict())
        return result


def _table_rows(value: Any) -> dict[str, int]:
    """Row counts per table ({customers: 40}); rows the host could not count are 0."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise AnsibleActionFail("table_rows: expected a mapping of table name to row count")
    try:
        return {str(table): max(0, int(rows)) for table, rows in value.items()}
    except (TypeError, ValueError):
        raise AnsibleActionFail("table_rows: every row count must be a number") from None


def _seconds(args: dict[str, Any], name: str, default: float) -> float:
    try:
        seconds = float(args.get(name, default))
    except (TypeError, ValueError):
        raise AnsibleActionFail(f"{name}: expected seconds (a number)") from None
    if not 0 < seconds <= 86400:
        raise AnsibleActionFail(f"{name}: expected seconds between 0 and 86400")
    return seconds
