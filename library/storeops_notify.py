#!/usr/bin/python
"""Send one storeops notification (a failed DMS rollout) through a store's channels.

The formats and the sending are ``module_utils/storeops_notify.py``, the same code the
controller's once-per-incident notifier and the store servers' OnFailure notifier use.
Runs on the controller (localhost): the DMS rollout's report step, for each store whose
rollout failed or was rolled back.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: storeops_notify
short_description: Tell a store's IT contact what failed (WeCom, DingTalk, webhook, SMTP)
description:
  - Sends one message through each of I(channels), the store's resolved C(storeops_notify)
    channels (robot URLs and secrets from the vault, so the task must be C(no_log)).
  - A channel that does not take the message is reported in C(channels_sent) and a warning, never
    a failure of the task (a receiver that is down must not fail the run that reports).
author:
  - storeops developers
version_added: "0.1.0"
options:
  store:
    description: The store code.
    type: str
    required: true
  key:
    description: What failed (C(rollout), C(backup sh01-db)).
    type: str
    required: true
  title:
    description: One line saying what happened.
    type: str
    required: true
  text:
    description: The details (a few lines).
    type: str
    default: ""
  host:
    description: The host it happened on.
    type: str
    default: ""
  failing:
    description: A failure (true) or a recovery (false).
    type: bool
    default: true
  channels:
    description: The store's channels (storeops_notify.channels, vault references resolved).
    type: list
    elements: dict
    required: true
    no_log: true
"""

EXAMPLES = r"""
- name: Tell the store's IT contact that the rollout was rolled back
  storeops_notify:
    store: sh01
    key: rollout
    title: "DMS rollout to 3.2.0 rolled back"
    text: "{{ dms_rollout_reason }}"
    channels: "{{ hostvars['sh01-dms'].storeops_notify.channels }}"
  no_log: true
"""

RETURN = r"""
channels_sent:
  description: >-
    Per channel name, null when sent, else why it was not (not C(results): Ansible renames
    that key in a module's return).
  type: dict
  returned: always
delivered:
  description: At least one channel took the message.
  type: bool
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_notify import Message, delivered, send_all  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "store": {"type": "str", "required": True},
            "key": {"type": "str", "required": True},
            "title": {"type": "str", "required": True},
            "text": {"type": "str", "default": ""},
            "host": {"type": "str", "default": ""},
            "failing": {"type": "bool", "default": True},
            "channels": {"type": "list", "elements": "dict", "required": True, "no_log": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    message = Message(
        params["store"],
        params["key"],
        params["failing"],
        params["title"],
        params["text"],
        params["host"],
    )
    if module.check_mode:
        module.exit_json(changed=False, channels_sent={}, delivered=False)
    results = send_all(params["channels"], message)
    ok = delivered(results)
    if not ok:
        module.warn(
            f"store {params['store']}: the notification did not go: "
            + ("; ".join(f"{name}: {error}" for name, error in results.items()) or "no channel")
        )
    module.exit_json(changed=ok, channels_sent=results, delivered=ok)


if __name__ == "__main__":
    main()
