#!/usr/bin/python
"""Documentation and argument spec of the firewall_rules action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewall_rules
short_description: The host's inbound firewall rules, from the inventory's zone model
description:
  - Reads the inventory directory the host comes from (validated, with the run's vault
    secrets) and returns what the host's input firewall must accept, from the group's flows
    (C(storeops_flows)) and the store's zones and hosts (C(storeops.zones.inbound_rules)).
  - One rule per flow and service, with its source networks; the C(firewall) role renders
    them. Never connects to the managed host. This is an action plugin
    (C(action_plugins/firewall_rules.py)); this file only documents it.
version_added: "0.1.0"
options: {}
attributes:
  check_mode:
    support: full
    description: Only computes; the same answer in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Compute the host's inbound rules from the flows
  firewall_rules:
  register: firewall_model
"""

RETURN = r"""
rules:
  description: The inbound rules, each with flow, protocol, ports (null for icmp) and sources.
  returned: success
  type: list
  elements: dict
  sample: [{"flow": "dms-to-db", "protocol": "tcp", "ports": "3306", "sources": ["10.77.1.40/32"]}]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg="firewall_rules runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
