"""Action plugin: one workstation's plan from the inventory, on the controller.

The Ansible form of ``storeops workstation provision``'s checks (``playbooks/workstation.yml``):
the inventory validated, the request (owner, role, asset tag; from the task, else the
machine's host_vars) checked against the catalogue and the asset register, and the plan
computed by :mod:`storeops.workstation.plan`, the code the pyinfra deploy uses. Bad input
fails the host here, before any task reaches it. Never connects to a host.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.inventory import InventoryInvalid
from storeops.plays import vault_passwords
from storeops.workstation.plan import (
    MANAGED_HEADER,
    WorkstationInputError,
    assignment_for,
    check_register,
    load_checked,
    plan_for,
)
from storeops.workstation.register import RegisterError

ARGUMENT_SPEC = {
    "owner": {"type": "str"},
    "role": {"type": "str"},
    "asset_tag": {"type": "str"},
}


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        request = {key: None if value is None else str(value) for key, value in args.items()}
        name = str(task_vars["inventory_hostname"])
        try:
            checked = load_checked(Path(task_vars["inventory_dir"]), vault_passwords(self._loader))
            assignment = assignment_for(
                checked, name, request["owner"], request["role"], request["asset_tag"]
            )
            check_register(checked, name, assignment)
            plan = plan_for(checked, name, assignment)
        except InventoryInvalid as error:
            raise AnsibleActionFail(f"run storeops validate first: {error}") from None
        except WorkstationInputError as error:
            raise AnsibleActionFail(
                "refused, nothing was touched: " + "; ".join(error.problems)
            ) from None
        except RegisterError as error:
            raise AnsibleActionFail(str(error)) from None
        result.update(
            changed=False,
            plan=asdict(plan),
            header=MANAGED_HEADER,
            msg=f"{name} becomes {plan.hostname}: {plan.owner} ({plan.role})",
        )
        return result
