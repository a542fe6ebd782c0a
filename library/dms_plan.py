#!/usr/bin/python
"""Documentation and argument spec of the dms_plan action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dms_plan
short_description: Decide what the DMS rollout does on one store
description:
  - Compares the release the store runs (C(running)) and the journal an interrupted rollout
    left on the DMS host (C(interrupted)) with the store's target release, against the
    approved catalog (C(dms_catalog)).
  - Returns one action. C(none) when the store is on the target already; C(upgrade) when the
    catalog allows the path; C(resume) when an interrupted rollout to the same target must
    be finished (or rolled back) first; C(refuse) otherwise (a path the catalog does not
    allow, such as 3.1.0 to 4.0.0, an unknown release, no release installed, or an
    interrupted rollout to another target).
  - Never connects to the managed host and never fails on a refusal; the caller records it.
    This is an action plugin (C(action_plugins/dms_plan.py)); this file only documents it.
version_added: "0.1.0"
options:
  running:
    description: The release C(current) points at on the DMS host; empty when none.
    type: str
    required: false
    default: ""
  target:
    description: The release to move to. Defaults to the host's C(store.dms_target_version).
    type: str
    required: false
  interrupted:
    description: The rollout journal read from the DMS host, if a run was interrupted.
    type: dict
    required: false
  table_rows:
    description:
      - Row counts of the store's DMS tables, e.g. C(customers=40), for the target release's
        C(migration_estimate) in the catalog. Missing tables count as 0.
    type: dict
    required: false
  queue_limit:
    description:
      - The longest, in seconds, the upgrade may keep clients waiting in the socket's queue
        (the target's migrations by the catalog's estimate, plus I(restart_seconds)). A
        longer one is refused unless I(maintenance_page) is true.
    type: float
    default: 4.0
  restart_seconds:
    description: The stop and start of the DMS service, added to the migrations' estimate.
    type: float
    default: 1.0
  maintenance_page:
    description:
      - The operator accepts that clients get the old release's 503 ("migrating") while the
        migrations run, instead of a queue longer than I(queue_limit).
    type: bool
    default: false
extends_documentation_fragment:
  - storeops_controller
"""

EXAMPLES = r"""
- name: Decide what this run does on the store
  dms_plan:
    running: "{{ dms_current_release }}"
    interrupted: "{{ dms_rollout_journal_found | default(omit) }}"
  register: dms_rollout_step
"""

RETURN = r"""
action:
  description: One of none, upgrade, resume, refuse.
  returned: always
  type: str
from_version:
  description: The release the store is on (for C(resume), the one the interrupted run came from).
  returned: always
  type: str
to_version:
  description: The target release.
  returned: always
  type: str
queue:
  description:
    - For an upgrade or a resumption, how the store's clients live through it
      (C(storeops.rollout.QueuePlan)); null otherwise.
    - C(mode) is C(queue) or C(maintenance page); C(expected_s) the catalog's estimate plus
      the restart; C(limit_s); C(rows) counted; C(estimated) (the catalog has an estimate);
      C(summary) one line for the plan.
  returned: always
  type: dict
  sample:
    mode: queue
    expected_s: 1.2
    limit_s: 4.0
    rows: 40
    estimated: true
    summary: clients queued about 1.2 s (40 rows of customers; limit 4 s)
reason:
  description: Why, in words for the run's summary and the audit record.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "running": {"type": "str", "required": False, "default": ""},
            "target": {"type": "str", "required": False},
            "interrupted": {"type": "dict", "required": False},
        },
        supports_check_mode=True,
    )
    module.fail_json(msg="dms_plan runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
