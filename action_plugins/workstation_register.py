"""Action plugin: the provisioned workstation into the store's asset register (controller).

Reads the machine's identity over the play's connection (serial from DMI, else the
documented fallback; model; the MAC of the address Ansible reaches it on) and hands it to
:func:`storeops.workstation.enrolment.register_provisioned`, the procedure ``storeops
workstation provision`` uses: the register gains one record, a re-run changes nothing.
In check mode it says what would change and writes nothing. Use ``throttle: 1``: the
register is one file per store.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.inventory import InventoryInvalid
from storeops.plays import vault_passwords
from storeops.workstation.enrolment import asset_report, register_provisioned
from storeops.workstation.identity import IDENTITY_PROBE, IdentityError, parse_identity
from storeops.workstation.plan import WorkstationPlan, load_checked
from storeops.workstation.register import RegisterError
from storeops.workstation.settings import AssignmentFileError

ARGUMENT_SPEC = {"plan": {"type": "dict", "required": True}}


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False

    def _identity_lines(self) -> list[str]:
        probe = self._low_level_execute_command(IDENTITY_PROBE, sudoable=True)
        if probe["rc"] != 0:
            raise AnsibleActionFail(f"identity probe failed: {probe['stderr']}")
        return str(probe["stdout"]).splitlines()

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        plan = WorkstationPlan(**args["plan"])
        try:
            identity = parse_identity(self._identity_lines(), plan.address)
            checked = load_checked(Path(task_vars["inventory_dir"]), vault_passwords(self._loader))
            changed, lines = register_provisioned(
                checked,
                asset_report(plan, identity),
                dt.date.today(),
                dry=bool(self._task.check_mode),
            )
        except (IdentityError, InventoryInvalid, RegisterError, AssignmentFileError) as error:
            raise AnsibleActionFail(f"not registered: {error}") from None
        result.update(changed=changed, msg="; ".join(lines), serial=identity.serial)
        return result
