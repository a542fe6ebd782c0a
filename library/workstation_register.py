#!/usr/bin/python
"""Documentation and argument spec of the workstation_register action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: workstation_register
short_description: Record a provisioned workstation in the store's asset register
description:
  - Reads the machine's identity over the play's connection - serial number (DMI
    C(product_serial), in a container C(/etc/machine-id) as documented in the README),
    model, and the MAC of the interface that carries its inventory address.
  - Upserts the record (asset tag, store, host, hostname, serial, model, MAC, owner, role,
    provisioning date) into C(inventory/<group>/assets/<store>.yml) and writes the
    assignment to the machine's host_vars, with the procedure C(storeops workstation
    provision) uses. A re-run changes nothing; a serial already registered as another
    asset fails.
  - Run it with C(throttle=1) - each store's register is one file. This is an action plugin
    (C(action_plugins/workstation_register.py)); this file only documents it.
version_added: "0.1.0"
options:
  plan:
    description: The C(plan) that M(workstation_plan) returned for this host.
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Says what would change in the register and host_vars; writes nothing.
  diff_mode:
    support: none
    description: The message names the change.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Record the machine in the store's asset register
  workstation_register:
    plan: "{{ workstation.plan }}"
  throttle: 1
"""

RETURN = r"""
msg:
  description: What happened to the register record and to the host_vars assignment.
  returned: success
  type: str
serial:
  description: The serial number recorded.
  returned: success
  type: str
"""
