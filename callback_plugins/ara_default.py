"""ARA's callback (run history), recording where the controller keeps its state.

ansible.cfg enables this ``ara_default`` callback: ARA's own callback, made to run only where
enabled, loaded after ``ARA_BASE_DIR`` defaults to ``storeops.paths.state_path("ara")``
(``logs/ara`` in the checkout, or ``$STOREOPS_STATE_DIR/ara``; storeops.run_history), so the
local SQLite database (``<base>/ansible.sqlite``) sits beside the controller's other state
instead of in ``~/.ara``. An explicit ``ARA_BASE_DIR`` (the tests' throwaway directory),
``ARA_SETTINGS``, or ``ARA_API_CLIENT=http`` with ``ARA_API_SERVER`` (a shared ARA server)
wins. ARA's settings are read when its client is first created, after this module set the
default. Runs on the controller, inside ansible-playbook.
"""

from __future__ import annotations

import contextlib
from importlib.metadata import version
from pathlib import Path
from typing import Any

from storeops.paths import ProjectNotFound
from storeops.run_history import default_base_dir, use_default_base_dir

with contextlib.suppress(ProjectNotFound):  # not run from a project: ARA's ~/.ara/server
    use_default_base_dir()

from ara.clients import utils as client_utils
from ara.plugins.callback import ara_default


def _migrated_marker() -> Path:
    """Set once ARA's database was migrated to this ARA version (the SQLite file beside it)."""
    return default_base_dir() / f".storeops-migrated-{version('ara')}"


class _ClientUtils:
    """ara.clients.utils as ARA's callback sees it: the offline client runs Django's
    ``migrate`` only until this ARA version's schema is in place, not at every playbook
    start (about a second each time on the controller)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(client_utils, name)

    @staticmethod
    def get_client(*args: Any, **kwargs: Any) -> Any:
        marker = _migrated_marker()
        database = default_base_dir() / "ansible.sqlite"
        offline = kwargs.get("client", "offline") == "offline"
        if offline and marker.exists() and database.exists():
            kwargs["run_sql_migrations"] = False
        client = client_utils.get_client(*args, **kwargs)
        if offline and not marker.exists():
            marker.touch()
        return client


ara_default.client_utils = _ClientUtils()


class CallbackModule(ara_default.CallbackModule):
    """ARA's callback, run only where enabled (ansible.cfg's callbacks_enabled names it),
    recording what ran.

    ARA's own class does not ask to be enabled, so Ansible would run it from any
    callback_plugins directory, and ANSIBLE_CALLBACKS_ENABLED without ara_default would not
    turn the recording off.

    A skipped result is not recorded, and a task is recorded when its first result that ran
    (ok, changed, failed, unreachable) arrives: a task skipped on every host leaves no
    record. Each record is a request to ARA's API (about 40 ms on the controller, on the
    playbook's own path); a run that changes nothing skips about a third of its task
    results (controls that are off, work already done).
    """

    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._started_task: tuple[Any, bool, bool] | None = None

    def v2_playbook_on_task_start(
        self, task: Any, is_conditional: bool, handler: bool = False
    ) -> None:
        self._end_task()
        self._started_task = (task, is_conditional, handler)

    def _record_started_task(self) -> None:
        if self._started_task is not None:
            task, is_conditional, handler = self._started_task
            self._started_task = None
            super().v2_playbook_on_task_start(task, is_conditional, handler)

    def v2_runner_on_ok(self, result: Any, **kwargs: Any) -> None:
        self._record_started_task()
        super().v2_runner_on_ok(result, **kwargs)

    def v2_runner_on_failed(self, result: Any, **kwargs: Any) -> None:
        self._record_started_task()
        super().v2_runner_on_failed(result, **kwargs)

    def v2_runner_on_unreachable(self, result: Any, **kwargs: Any) -> None:
        self._record_started_task()
        super().v2_runner_on_unreachable(result, **kwargs)

    def v2_runner_on_skipped(self, result: Any, **kwargs: Any) -> None:
        """Not recorded."""


DOCUMENTATION = ara_default.DOCUMENTATION

__all__ = ["DOCUMENTATION", "CallbackModule"]
