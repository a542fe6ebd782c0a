#!/usr/bin/python
"""Documentation and argument spec of the workstation_printer_queue action (the controller
checks the host over the play's connection)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: workstation_printer_queue
short_description: The store's printer as the workstation's CUPS queue and default printer
description:
  - Reads the host's CUPS queues and default printer (C(lpstat -v), C(lpstat -d)) over the
    play's connection and runs only the C(lpadmin) commands that are missing - the queue
    with its device URI, driver, location and description, enabled and not shared; then the
    default.
  - The check is the one the pyinfra deploy makes (C(storeops.workstation.commands) -
    C(parse_lpstat), C(printer_commands)), so both find the same work to do.
  - This is an action plugin (C(action_plugins/workstation_printer_queue.py)); this file
    only documents it.
version_added: "0.1.0"
options:
  printer:
    description:
      - The store's printer as the plan has it (C(workstation_printer) of the store) -
        C(name), C(uri), C(driver), optional C(location) and C(description).
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Reads the queues and says which commands would run; runs none.
  diff_mode:
    support: full
    description: The queue's device URI and the default printer, before and after.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: The store's printer queue, the default one
  workstation_printer_queue:
    printer: "{{ workstation_planned.plan.printer }}"
"""

RETURN = r"""
commands:
  description: The lpadmin commands run (in check mode, that would run); empty when none.
  returned: success
  type: list
  elements: str
"""
