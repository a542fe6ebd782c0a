#!/usr/bin/python
"""Documentation and argument spec of the storeops_validate action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: storeops_validate
short_description: Validate the storeops inventory before any host is contacted
description:
  - Runs the storeops inventory validator (the same code as C(storeops validate)) on the
    controller, with the vault secrets of the current run.
  - Also judges the C(group_vars/) and C(host_vars/) beside the run's playbooks and beside
    the playbooks they import, which Ansible loads over the inventory's variables.
  - Reports every error at once, each naming the file and the field, and fails the play.
  - Never connects to a managed host. Put it in the first play of every playbook, on localhost.
  - This is an action plugin (C(action_plugins/storeops_validate.py)); this file only
    documents it.
version_added: "0.1.0"
options:
  inventory:
    description:
      - Inventory directories to validate. Defaults to the run's inventory sources
        (C(ansible_inventory_sources)).
    type: list
    elements: path
    required: false
attributes:
  check_mode:
    support: full
    description: Validation changes nothing; it runs the same way in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Preflight | the inventory is valid
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate every inventory source of this run
      storeops_validate:
"""

RETURN = r"""
summaries:
  description: One line per valid inventory (stores, hosts by role).
  returned: always
  type: list
  elements: str
errors:
  description: "Every problem found, as C(file: field: message)."
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={"inventory": {"type": "list", "elements": "path", "required": False}},
        supports_check_mode=True,
    )
    module.fail_json(msg="storeops_validate runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
