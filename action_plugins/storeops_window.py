"""Action plugin: is this host's store inside its maintenance window, in its own timezone?

Uses the one maintenance calendar of the ``storeops`` package. Runs on the controller and
never connects to the host. Closed store -> the host fails (it is left untouched), unless
an explicit override reason is given, which is shown as a warning and returned.
"""

from __future__ import annotations

import datetime as dt

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from pydantic import ValidationError

from storeops.calendar import decide
from storeops.schema import Store


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("store", "now", "override_reason"))

    def _now(self):
        given = self._task.args.get("now")
        if not given:
            return dt.datetime.now(dt.UTC)
        try:
            moment = dt.datetime.fromisoformat(str(given))
        except ValueError:
            raise AnsibleActionFail(f"now: {given!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise AnsibleActionFail(f"now: {given!r} has no UTC offset (e.g. +08:00)")
        return moment

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        raw_store = self._task.args.get("store", task_vars.get("store"))
        try:
            store = Store.model_validate(raw_store)
        except ValidationError as error:
            raise AnsibleActionFail(
                f"store: not a valid store block (run storeops validate): {error}"
            ) from None
        decision = decide(store, self._now())
        reason = str(self._task.args.get("override_reason") or "").strip()
        result.update(
            changed=False,
            store=store.code,
            open=decision.open,
            reason=decision.reason,
            local_now=decision.local_now.isoformat(),
            closes_at=decision.closes_at.isoformat() if decision.closes_at else None,
            opens_at=decision.opens_at.isoformat() if decision.opens_at else None,
            overridden=False,
            override_reason=reason or None,
        )
        if decision.open:
            result["msg"] = f"store {store.code}: {decision.reason}"
        elif reason:
            result["overridden"] = True
            result["msg"] = f"store {store.code}: {decision.reason}; OVERRIDDEN: {reason}"
            self._display.warning(result["msg"])
        else:
            opens = (
                f"; next window opens {decision.opens_at.isoformat()}" if decision.opens_at else ""
            )
            result.update(
                failed=True,
                msg=f"store {store.code} refused: {decision.reason}{opens}. "
                "To run anyway, give a reason: -e 'dms_override_reason=\"...\"'",
            )
        return result
