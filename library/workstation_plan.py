#!/usr/bin/python
"""Documentation and argument spec of the workstation_plan action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: workstation_plan
short_description: One workstation's plan from the inventory, the request checked first
description:
  - Validates the host's inventory, checks the request (owner, role, asset tag) against the
    role catalogue (C(workstation_roles)) and the store's asset register, and returns
    everything the workstation must get (C(storeops.workstation.plan), the code the pyinfra
    deploy C(deploys/workstation.py) uses).
  - What the task does not give comes from the machine's host_vars
    (C(workstation_owner), C(workstation_role), C(workstation_asset_tag)).
  - Bad input (unknown role, owner missing, a machine in use by someone else, an asset tag
    of another machine) fails the host with every problem named. Never connects to the
    host. This is an action plugin (C(action_plugins/workstation_plan.py)); this file only
    documents it.
version_added: "0.1.0"
options:
  owner:
    description: The employee's login name, e.g. C(wang.fang).
    type: str
  role:
    description: A role of the catalogue (C(workstation_roles)), e.g. C(sales).
    type: str
  asset_tag:
    description: The machine's asset tag.
    type: str
extends_documentation_fragment:
  - storeops_controller
"""

EXAMPLES = r"""
- name: Plan the workstation (the request checked against the inventory)
  workstation_plan:
    owner: wang.fang
    role: sales
  register: workstation_planned
"""

RETURN = r"""
plan:
  description:
    - Everything the workstation gets (C(WorkstationPlan)) - owner, role, hostname,
      packages, admin user and keys, sudo tier and its commands, idle timeout, printer,
      DMS URL, CA certificate, security origins, ClamAV mirrors and timers, inbound
      firewall rules.
  returned: success
  type: dict
header:
  description: The header of the workstation role's files (their ansible_managed).
  returned: success
  type: str
"""
