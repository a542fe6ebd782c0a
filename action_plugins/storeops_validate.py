"""Action plugin: validate the inventory on the controller before any host is contacted.

Runs the same validator as ``storeops validate`` (the ``storeops`` package), with the vault
secrets this ansible-playbook run was given, on the inventory and on the group_vars/ and
host_vars/ beside the run's playbooks (and the playbooks they import). Never connects to a
host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.action import ActionBase

from storeops.paths import ProjectNotFound, roles_dir
from storeops.plays import vault_passwords
from storeops.validate import summary, validate


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("inventory",))

    def _inventory_dirs(self, task_vars: dict[str, Any]) -> list[Path]:
        given = self._task.args.get("inventory")
        if given:
            sources = [given] if isinstance(given, str) else list(given)
        else:
            sources = task_vars.get("ansible_inventory_sources") or []
        dirs = [Path(str(source)) for source in sources]
        # A file source (hosts.yml, roles.yml) belongs to the inventory directory holding it.
        return sorted({d if d.is_dir() else d.parent for d in dirs})

    def _playbooks(self, task_vars: dict[str, Any]) -> list[Path]:
        """The run's playbooks (ansible-playbook's arguments): the variables beside them and
        beside the playbooks they import are loaded over the inventory's."""
        given = [Path(str(p)) for p in (context.CLIARGS.get("args") or ())]
        files = [p for p in given if p.is_file()]  # not a collection's playbook (ns.coll.pb)
        return files or [Path(task_vars.get("playbook_dir") or Path.cwd())]

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        passwords = vault_passwords(self._loader)
        summaries: list[str] = []
        errors: list[str] = []
        try:  # the roles this playbook runs (its project), not the installed package's place
            roles = roles_dir(near=task_vars.get("playbook_dir") or Path.cwd())
        except ProjectNotFound as error:
            result.update(failed=True, msg=str(error))
            return result
        for directory in self._inventory_dirs(task_vars):
            raw = validate(directory, passwords, roles, playbooks=self._playbooks(task_vars))
            if raw.issues:
                errors.extend(issue.render(Path.cwd()) for issue in raw.issues)
            else:
                summaries.append(summary(raw))
        result.update(changed=False, summaries=summaries, errors=errors)
        if not summaries and not errors:
            result.update(failed=True, msg="no inventory directory to validate")
        elif errors:
            listing = "\n".join(f"  {line}" for line in errors)
            result.update(
                failed=True,
                msg=f"{len(errors)} inventory error(s); no host was contacted:\n{listing}",
            )
        else:
            result["msg"] = "; ".join(summaries)
        return result
