#!/usr/bin/python
"""Documentation and argument spec of the storeops_window action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: storeops_window
short_description: Refuse a store outside its maintenance window or on a blackout date
description:
  - Decides, in the store's own timezone, whether the store may be changed now, using the
    storeops maintenance calendar (windows that cross midnight, blackout dates and ranges).
  - Fails the host when the store is closed, unless O(override_reason) is given; the
    override is shown as a warning and returned so that it can be written to the audit log.
  - Never connects to the host. This is an action plugin
    (C(action_plugins/storeops_window.py)); this file only documents it.
version_added: "0.1.0"
options:
  store:
    description: The store block of the host (C(store) from C(group_vars/store_<code>)).
    type: dict
    required: false
  now:
    description:
      - A test clock (C(storeops_now)), ISO 8601 with a UTC offset, for tests and dry runs.
        It shows this instant when the run (the ansible-playbook process) started, and runs
        on with real time, so later waves see a later time.
      - In a run that changes stores it can close a window, never open one; the store
        must also be open at the real time (an override reason is the only way past a
        closed window). In check mode it alone decides (would the run go at that time?).
      - Returned as RV(clock) so that the audit record shows it.
      - Defaults to the controller's current time.
    type: str
    required: false
  fail_closed:
    description:
      - Fail the host when the store is closed (the preflight). With C(false) the answer
        is returned with RV(open=false) and the caller holds the store (the rollout's
        check before each wave).
    type: bool
    default: true
  override_reason:
    description: Run even if the store is closed; the reason is logged and returned.
    type: str
    required: false
attributes:
  check_mode:
    support: full
    description: The decision changes nothing; it runs the same way in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Refuse stores outside their maintenance window
  storeops_window:
    now: "{{ storeops_now | default(omit) }}"
    override_reason: "{{ storeops_override_reason | default(omit) }}"
"""

RETURN = r"""
open:
  description: Whether the store is inside its window and not on a blackout date.
  returned: always
  type: bool
reason:
  description: Why, in words (window, timezone, blackout date).
  returned: always
  type: str
local_now:
  description: The decision instant in the store's timezone.
  returned: always
  type: str
opens_at:
  description: When the next window opens (store-local), if the store is closed.
  returned: always
  type: str
closes_at:
  description: When the current window closes (store-local), if the store is open.
  returned: always
  type: str
overridden:
  description: True when the store was closed and an override reason let the run go on.
  returned: always
  type: bool
override_reason:
  description: The override reason given, if any.
  returned: always
  type: str
clock:
  description: The test clock given (O(now)), or none; the audit record keeps it.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "store": {"type": "dict", "required": False},
            "now": {"type": "str", "required": False},
            "override_reason": {"type": "str", "required": False},
            "fail_closed": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    module.fail_json(msg="storeops_window runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
