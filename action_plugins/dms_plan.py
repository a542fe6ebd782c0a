"""Action plugin: decide what the DMS rollout does on one store, on the controller.

From the release the DMS host runs, the journal of an interrupted rollout (if any) and
the store's target: nothing, an upgrade, the resumption of an interrupted rollout, or a
refusal (an upgrade path the catalog does not allow, an unknown release). The logic is
storeops.rollout.plan_step; this plugin only feeds it. Never connects to the host.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from pydantic import ValidationError

from storeops.rollout import plan_step
from storeops.schema import Release


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("running", "target", "interrupted"))

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
        result.update(changed=False, msg=step.reason, **step.as_dict())
        return result
