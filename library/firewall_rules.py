#!/usr/bin/python
"""Documentation and argument spec of the firewall_rules action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewall_rules
short_description: Every play host's inbound firewall rules, from the inventory's zone model
description:
  - Reads each inventory directory the hosts come from, once (validated, with the run's
    vault secrets), and returns what each host's input firewall must accept, from the
    group's flows (C(storeops_flows)) and the store's zones and hosts
    (C(storeops.zones.inbound_rules)).
  - One rule per flow and service, with its source networks; the C(firewall) role renders
    them. Use it with C(run_once), so that the inventory is loaded once per play rather
    than once per host. Never connects to a managed host. This is an action plugin
    (C(action_plugins/firewall_rules.py)); this file only documents it.
version_added: "0.1.0"
options:
  hosts:
    description: The hosts to compute rules for; by default every host of the play.
    type: list
    elements: str
extends_documentation_fragment:
  - storeops_controller
"""

EXAMPLES = r"""
- name: Compute every play host's inbound rules from the flows, once
  firewall_rules:
  run_once: true
  register: firewall_model

- name: Render and load the ruleset
  ansible.builtin.include_role:
    name: firewall
  vars:
    firewall_inbound_rules: "{{ firewall_model.rules_by_host[inventory_hostname] }}"
"""

RETURN = r"""
rules_by_host:
  description:
    - For every host, its inbound rules, each with flow, protocol, ports (null for icmp)
      and sources.
  returned: success
  type: dict
  sample: {"sh01-db": [{"flow": "dms-to-db", "protocol": "tcp", "ports": "3306", "sources": ["10.77.1.40/32"]}]}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={"hosts": {"type": "list", "elements": "str"}}, supports_check_mode=True
    )
    module.fail_json(msg="firewall_rules runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
