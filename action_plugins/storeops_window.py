"""Action plugin: is this host's store inside its maintenance window, in its own timezone?

Uses the one maintenance calendar of the ``storeops`` package. Runs on the controller and
never connects to the host. Closed store -> the host fails (it is left untouched), unless
an explicit override reason is given, which is shown as a warning and returned. The
rollout asks before every wave (``fail_closed: false``: it holds the store instead).

``now`` (``storeops_now``) is a test clock: the instant the run started (the
ansible-playbook process), running on with real time from there. In a run that changes
stores it can close a window, never open one (the store must also be open at the real
time: storeops.calendar.decide_with_test_clock); in check mode it alone decides. It is
returned as ``clock`` for the audit record.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from pydantic import ValidationError

from storeops.calendar import decide, decide_with_test_clock, ticking_clock
from storeops.rollout_lock import process_started_at
from storeops.schema import Store


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("store", "now", "override_reason", "fail_closed"))

    def _given(self) -> dt.datetime | None:
        given = self._task.args.get("now")
        if not given:
            return None
        try:
            moment = dt.datetime.fromisoformat(str(given))
        except ValueError:
            raise AnsibleActionFail(f"now: {given!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise AnsibleActionFail(f"now: {given!r} has no UTC offset (e.g. +08:00)")
        return moment

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        raw_store = self._task.args.get("store", task_vars.get("store"))
        try:
            store = Store.model_validate(raw_store)
        except ValidationError as error:
            raise AnsibleActionFail(
                f"store: not a valid store block (run storeops validate): {error}"
            ) from None
        real_now = dt.datetime.now(dt.UTC)
        given = self._given()
        if given is None:
            decision = decide(store, real_now)
        else:
            # The worker's parent is the ansible-playbook process: the run's start.
            started = process_started_at(os.getppid()) or real_now
            decision = decide_with_test_clock(
                store,
                real_now,
                ticking_clock(given, started, real_now),
                changes=not self._task.check_mode,
            )
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
            clock=given.isoformat() if given else None,
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
                failed=boolean(self._task.args.get("fail_closed", True), strict=False),
                msg=f"store {store.code} refused: {decision.reason}{opens}. "
                "To run anyway, give a reason: -e 'storeops_override_reason=\"...\"'",
            )
        return result
