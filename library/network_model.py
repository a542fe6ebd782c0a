#!/usr/bin/python
"""Documentation and argument spec of the network_model action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: network_model
short_description: The zone model's share of every play device's configuration
description:
  - Reads each inventory directory the devices come from, once (validated, with the run's
    vault secrets), and returns for every switch and firewall of the play what the zone
    model asks of it (C(storeops.network.device_model)); the C(network) role's templates
    render the rest of the device's configuration around it.
  - A core switch gets one VLAN and one routed VLAN interface per zone of its store, the
    zone's gateway address, the zone's ACL inbound on it (C(storeops.acl.switch_acls)) and
    a default route to the store's firewall. A firewall gets its LAN interface in its zone,
    a route to the store network through the switch, and the WAN-inbound ACL
    (C(storeops.acl.edge_acl)).
  - Use it with C(run_once). Never connects to a device. This is an action plugin
    (C(action_plugins/network_model.py)); this file only documents it.
version_added: "0.2.0"
options:
  hosts:
    description: The devices to compute; by default every host of the play.
    type: list
    elements: str
extends_documentation_fragment:
  - storeops_controller
"""

EXAMPLES = r"""
- name: The zone model of every device of the play, once
  network_model:
  run_once: true
  register: network_models_by_host

- name: Render the intended configuration
  ansible.builtin.set_fact:
    network_intended: "{{ lookup('ansible.builtin.template', 'intended/' + storeops_platform + '.cfg.j2') }}"
  vars:
    network_device: "{{ network_models_by_host.devices[inventory_hostname] }}"
"""

RETURN = r"""
devices:
  description:
    - For every device, C(vlans) (id, name, zone), C(interfaces) (vlan, description, address,
      netmask, acl), C(routes) (prefix, netmask, next_hop, description), C(acl_config) (the
      ACLs in the platform's syntax), C(edge_acl) (the WAN ACL's name on a firewall, else
      null) and C(zones) (zone name to VLAN id).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={"hosts": {"type": "list", "elements": "str"}}, supports_check_mode=True
    )
    module.fail_json(msg="network_model runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
