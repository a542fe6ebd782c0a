"""Action plugin of the file_contents module: renders each entry's ``src`` template on the
controller, as ansible.builtin.template does (the role's templates/ directory, the task's
variables, Ansible's template variables), then runs the module once for all the files.
Runs on the controller, inside ansible-playbook."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files",))

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        files = self._task.args.get("files")
        if not isinstance(files, list):
            raise AnsibleActionFail("files must be a list of files (dest, content or src, ...)")
        module_args = dict(self._task.args)
        module_args["files"] = [self._rendered(entry, task_vars) for entry in files]
        result.update(
            self._execute_module(
                module_name="file_contents", module_args=module_args, task_vars=task_vars
            )
        )
        return result

    def _rendered(self, entry: Any, task_vars: dict[str, Any]) -> Any:
        """The entry with its template rendered into ``content`` (other entries as given: the
        module checks them)."""
        if not isinstance(entry, dict) or "src" not in entry:
            return entry
        if "content" in entry:
            raise AnsibleActionFail(f"{entry.get('dest')}: give content or src, not both")
        lookup = self._shared_loader_obj.lookup_loader.get(
            "ansible.builtin.template", loader=self._loader, templar=self._templar
        )
        if lookup is None:  # pragma: no cover - ansible-core always ships it
            raise AnsibleActionFail("the ansible.builtin.template lookup is missing")
        rendered = lookup.run([entry["src"]], variables=task_vars)[0]
        if not isinstance(rendered, str):
            raise AnsibleActionFail(f"{entry['src']}: renders to a {type(rendered).__name__}")
        return {key: value for key, value in entry.items() if key != "src"} | {"content": rendered}
