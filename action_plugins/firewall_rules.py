"""Action plugin: every play host's inbound firewall rules from the zone model, on the controller.

Reads each inventory the hosts come from, once, with the storeops loader (validated, with
this run's vault secrets) and returns ``storeops.zones.inbound_rules`` for every host, as
the plain data the ``firewall`` role renders. Meant for ``run_once``: one load of the
inventory for the whole play, not one per host (a 50-store group takes about a second to
load and validate). Never connects to a host.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.plays import PlayInventoryError, per_host, vault_passwords
from storeops.zones import inbound_rules

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
            rules_by_host = per_host(
                task_vars,
                args["hosts"],
                vault_passwords(self._loader),
                lambda inventory, host: [r.as_vars() for r in inbound_rules(inventory, host)],
            )
        except PlayInventoryError as error:
            raise AnsibleActionFail(str(error)) from None
        result.update(
            changed=False,
            rules_by_host=rules_by_host,
            msg=f"inbound rules of {len(rules_by_host)} host(s) from the flows",
        )
        return result
