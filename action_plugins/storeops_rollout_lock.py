"""Action plugin: the per-store DMS rollout lock (see storeops.rollout_lock for the design).

On the controller it composes this run's holder record (the ansible-playbook process is
the parent of this worker), runs the host side (library/storeops_rollout_lock.py) on the
DMS host, and when another run holds the lock, decides whether that run is alive. A dead
holder (its process gone, or silent for ``stale_after`` seconds), or the one named by
``break_lock``, is taken over once, atomically (the host compares the run id it replaces).
A live holder: ``acquired=false`` and a message that names it; the task does not fail, the
role records the store as ``locked`` and leaves it alone.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.rollout_lock import Controller, Holder, holder_alive, holder_for

MODULE = "storeops_rollout_lock"


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("state", "path", "run_id", "user", "stale_after", "break_lock"))

    def _host(self, task_vars: dict[str, Any], **args: Any) -> dict[str, Any]:
        done: dict[str, Any] = self._execute_module(
            module_name=MODULE, module_args=args, task_vars=task_vars, wrap_async=False
        )
        return done

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        state = str(args.get("state") or "acquired")
        if state not in ("acquired", "held", "released"):
            raise AnsibleActionFail(f"state: {state!r} is not acquired, held or released")
        run_id, user = str(args.get("run_id") or ""), str(args.get("user") or "?")
        if not run_id:
            raise AnsibleActionFail("run_id: required (the rollout run's id)")
        try:
            stale_after = float(args.get("stale_after", 10800))
        except (TypeError, ValueError):
            raise AnsibleActionFail(
                f"stale_after: {args.get('stale_after')!r} is not a number of seconds"
            ) from None
        store = (task_vars.get("store") or {}).get("code", task_vars.get("inventory_hostname"))
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        mine = holder_for(run_id, user, os.getppid(), since)
        common = {"holder": mine.as_dict(), "run_id": run_id}
        if args.get("path"):
            common["path"] = str(args["path"])

        answer = self._host(task_vars, state=state, **common)
        if answer.get("failed"):
            result.update(failed=True, acquired=False, msg=f"store {store}: {answer.get('msg')}")
            return result
        found = answer.get("holder")
        result.update(changed=False, acquired=bool(answer.get("acquired")), holder=found)
        result["took_over"] = None
        if state != "acquired" or result["acquired"] or not found:
            result["msg"] = f"store {store}: lock {state} by run {run_id}"
            return result

        other = Holder.from_record(found)
        broken = str(args.get("break_lock") or "")
        if broken and broken == other.run_id:
            alive, why = False, f"its lock is broken on purpose (dms_rollout_break_lock={broken})"
        else:
            alive, why = holder_alive(other, Controller.here(), float(answer["age"]), stale_after)
        if alive:
            result["msg"] = (
                f"store {store} is locked by another rollout: {other.describe()}; {why}."
                " This run leaves the store alone (it does not resume that run's journal)."
                " If that run is really gone, run again with"
                f" -e dms_rollout_break_lock={other.run_id}"
            )
            return result
        again = self._host(task_vars, state="acquired", takeover=other.run_id, **common)
        if again.get("failed") or not again.get("acquired"):
            result["msg"] = (
                f"store {store}: the lock of {other.describe()} changed hands while this run"
                f" took it over: {again.get('msg') or again.get('holder')}"
            )
            return result
        result.update(acquired=True, took_over=other.run_id)
        result["msg"] = f"store {store}: took over the lock of {other.describe()}: {why}"
        self._display.warning(result["msg"])
        return result
