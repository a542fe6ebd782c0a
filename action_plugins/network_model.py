"""Action plugin: the zone model's share of every play device's configuration, on the controller.

Reads each inventory the devices come from, once (validated, with this run's vault
secrets), and returns ``storeops.network.device_model`` for every switch and firewall of
the play: VLANs, routed interfaces with their ACLs, static routes and the ACLs in the
device's syntax, as the plain data the ``network`` role's templates render. Meant for
``run_once``. Never connects to a device.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.network import NetworkModelError, device_model
from storeops.plays import PlayInventoryError, per_host, vault_passwords

ARGUMENT_SPEC = {"hosts": {"type": "list", "elements": "str"}}


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
        try:
            devices = per_host(
                task_vars, args["hosts"], vault_passwords(self._loader), device_model
            )
        except (PlayInventoryError, NetworkModelError) as error:
            raise AnsibleActionFail(str(error)) from None
        result.update(
            changed=False,
            devices=devices,
            msg=f"the zone model of {len(devices)} device(s)",
        )
        return result
