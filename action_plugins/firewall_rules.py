"""Action plugin: the host's inbound firewall rules from the zone model, on the controller.

Reads the inventory the host comes from with the storeops loader (validated, with this
run's vault secrets) and returns ``storeops.zones.inbound_rules`` for the host, as the
plain data the ``firewall`` role renders. Never connects to the host.
"""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.inventory import InventoryInvalid, load_valid
from storeops.yamlfiles import VaultPasswords
from storeops.zones import inbound_rules


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        vault = getattr(self._loader, "_vault", None)
        passwords = VaultPasswords(_secrets=list(getattr(vault, "secrets", None) or []))
        try:
            inventory = load_valid(Path(task_vars["inventory_dir"]), passwords)
        except InventoryInvalid as error:
            raise AnsibleActionFail(f"run storeops validate: {error}") from None
        host = inventory.hosts.get(task_vars["inventory_hostname"])
        if host is None:
            raise AnsibleActionFail(f"{task_vars['inventory_hostname']} is not a storeops host")
        rules = [rule.as_vars() for rule in inbound_rules(inventory, host)]
        result.update(
            changed=False, rules=rules, msg=f"{len(rules)} inbound rule(s) from the flows"
        )
        return result
