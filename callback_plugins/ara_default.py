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

from storeops.paths import ProjectNotFound
from storeops.run_history import use_default_base_dir

with contextlib.suppress(ProjectNotFound):  # not run from a project: ARA's ~/.ara/server
    use_default_base_dir()

from ara.plugins.callback import ara_default


class CallbackModule(ara_default.CallbackModule):  # type: ignore[misc]
    """ARA's callback, run only where enabled (ansible.cfg's callbacks_enabled names it).

    ARA's own class does not ask to be enabled, so Ansible would run it from any
    callback_plugins directory, and ANSIBLE_CALLBACKS_ENABLED without ara_default would not
    turn the recording off.
    """

    CALLBACK_NEEDS_ENABLED = True


DOCUMENTATION = ara_default.DOCUMENTATION

__all__ = ["DOCUMENTATION", "CallbackModule"]
