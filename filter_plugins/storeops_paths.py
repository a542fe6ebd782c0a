"""Filter: where the controller keeps its state (storeops.paths, one place for all).


    network_backup_repo: "{{ 'network-backups' | storeops_state_path(playbook_dir) }}"

One place decides, for the roles, the action plugins and the CLI alike: under
``STOREOPS_STATE_DIR`` when it is set (AWX discards the project after each job), else the
checkout's ``.cache/<name>`` or ``logs``.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from storeops.paths import ProjectNotFound, state_path


def storeops_state_path(name: str, playbook_dir: str | None = None) -> str:
    """The controller path of the state ``name`` for a run of a playbook in ``playbook_dir``."""
    try:
        return str(state_path(str(name), playbook_dir))
    except (KeyError, ProjectNotFound) as error:
        raise AnsibleFilterError(f"storeops_state_path: {error}") from None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"storeops_state_path": storeops_state_path}
