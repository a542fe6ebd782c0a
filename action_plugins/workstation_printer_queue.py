"""Action plugin: the store's printer as the workstation's CUPS queue and default (controller).

The role's form of the pyinfra deploy's ``printer_queue`` operation, with its check: the
host's ``lpstat`` read over the play's connection (become applies) and parsed by
:func:`storeops.workstation.commands.parse_lpstat`, then only the lpadmin commands that
:func:`storeops.workstation.commands.printer_commands` finds missing. In check mode it says
which would run and runs none; with ``--diff`` it shows the queue's device and the default
before and after.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.workstation.commands import LPSTAT_COMMAND, parse_lpstat, printer_commands

ARGUMENT_SPEC = {"printer": {"type": "dict", "required": True}}


def queue_state(cups: Mapping[str, Any], name: str) -> str:
    """What the diff shows: the queue's device URI and the default printer."""
    return f"queue {name}: {cups['queues'].get(name) or 'none'}\ndefault: {cups['default']}\n"


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False

    def _shell(self, command: str) -> str:
        done = self._low_level_execute_command(command, sudoable=True)
        if done["rc"] != 0:
            raise AnsibleActionFail(f"{command}: {done['stderr'] or done['stdout']}")
        return str(done["stdout"])

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        printer = args["printer"]
        current = parse_lpstat(self._shell(LPSTAT_COMMAND).splitlines())
        commands = [shlex.join(command) for command in printer_commands(current, printer)]
        if not self._task.check_mode:
            for command in commands:
                self._shell(command)
        if commands and self._task.diff:
            wanted = {"queues": {printer["name"]: printer["uri"]}, "default": printer["name"]}
            result["diff"] = {
                "before": queue_state(current, printer["name"]),
                "after": queue_state(wanted, printer["name"]),
            }
        result.update(
            changed=bool(commands),
            commands=commands,
            msg=f"printer {printer['name']}: " + ("; ".join(commands) or "set up"),
        )
        return result
