"""Action plugin: every play host's inbound firewall rules from the zone model, on the controller.

Reads each inventory the hosts come from, once, with the storeops loader (validated, with
this run's vault secrets) and returns ``storeops.zones.inbound_rules`` for every host, as
the plain data the ``firewall`` role renders. Meant for ``run_once``: one load of the
inventory for the whole play, not one per host (a 50-store group takes about a second to
load and validate). Never connects to a host.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.inventory import InventoryInvalid, load_valid
from storeops.yamlfiles import VaultPasswords
from storeops.zones import inbound_rules

ARGUMENT_SPEC = {"hosts": {"type": "list", "elements": "str"}}


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False

    def _passwords(self) -> VaultPasswords:
        vault = getattr(self._loader, "_vault", None)
        return VaultPasswords(_secrets=list(getattr(vault, "secrets", None) or []))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        names = args["hosts"] or task_vars["ansible_play_hosts"]
        hostvars = task_vars["hostvars"]
        by_directory: dict[str, list[str]] = defaultdict(list)
        for name in names:
            by_directory[hostvars[name]["inventory_dir"]].append(name)
        rules_by_host: dict[str, list[dict[str, Any]]] = {}
        for directory, members in by_directory.items():
            try:
                inventory = load_valid(Path(directory), self._passwords())
            except InventoryInvalid as error:
                raise AnsibleActionFail(f"run storeops validate: {error}") from None
            for name in members:
                host = inventory.hosts.get(name)
                if host is None:
                    raise AnsibleActionFail(f"{name} is not a storeops host of {directory}")
                rules_by_host[name] = [rule.as_vars() for rule in inbound_rules(inventory, host)]
        result.update(
            changed=False,
            rules_by_host=rules_by_host,
            msg=f"inbound rules of {len(rules_by_host)} host(s) from the flows",
        )
        return result
