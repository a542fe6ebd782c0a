#!/usr/bin/python
"""The per-store rollout lock on the DMS host (the host side of the storeops_rollout_lock action)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: storeops_rollout_lock
short_description: Take, renew or release the per-store DMS rollout lock on the DMS host
description:
  - The lock is a JSON record of its holder at I(path), created, renewed, replaced and
    removed only under C(flock(2)) on its directory, so that two runs never both hold it.
  - The action plugin of the same name (C(action_plugins/storeops_rollout_lock.py)) fills in
    the holder (run, user, controller, ansible-playbook PID) and decides, on the controller,
    whether a holder found there is still alive (see C(modules/storeops/rollout_lock.py)).
    Use the action; this module is its host side.
  - C(state=acquired) writes the record when there is none, when it is this run's, or when
    it is the one named by I(takeover) (a dead holder); otherwise it returns the holder and
    C(acquired=false) without changing anything. C(state=held) renews this run's heartbeat
    and fails if another run holds the lock. C(state=released) removes this run's record
    (another run's record is left alone).
  - Every answer carries C(age), the seconds since the holder's last heartbeat, in this
    host's clock.
  - It never reports C(changed); the lock is the run's own bookkeeping, taken and released
    within the run.
version_added: "0.1.0"
options:
  path:
    description: The lock record.
    type: path
    default: /var/lib/storedms/rollout.lock
  state:
    description: What to do with the lock.
    type: str
    choices: [acquired, held, released]
    default: acquired
  run_id:
    description: The rollout run's id (the lock's owner).
    type: str
    required: true
  user:
    description: Who runs the rollout (shown to a refused run).
    type: str
    required: false
  stale_after:
    description:
      - Seconds without a heartbeat after which a holder on another controller is taken as
        dead (decided by the action on the controller). On the holder's own controller its
        process decides at once.
    type: float
    default: 10800
  break_lock:
    description:
      - Take the lock over from the run with this id even if it looks alive (the operator
        knows it is gone). Recorded in the result as RV(took_over).
    type: str
    required: false
  holder:
    description: Internal, filled in by the action plugin; this run's full record.
    type: dict
    required: false
  takeover:
    description:
      - Internal, set by the action plugin; replace the record only if its C(run_id) is
        this one (a holder found dead).
    type: str
    required: false
attributes:
  check_mode:
    support: full
    description: Reads the record and says what would be done; writes nothing.
  diff_mode:
    support: none
    description: No diff.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Take the store's rollout lock
  storeops_rollout_lock:
    state: acquired
    run_id: "{{ dms_rollout_run.id }}"
    user: "{{ dms_rollout_run.user }}"
  register: dms_rollout_lock
"""

RETURN = r"""
acquired:
  description: Whether this run holds the lock now (or would, in check mode).
  returned: always
  type: bool
holder:
  description: The record found before this call (none if there was none).
  returned: always
  type: dict
age:
  description: Seconds since the found holder's last heartbeat (this host's clock).
  returned: when a holder was found
  type: float
took_over:
  description: The run id whose lock this run took over (its holder dead, or broken on purpose).
  returned: always (from the action)
  type: str
msg:
  description: What happened; for a refused run, who holds the store and since when.
  returned: always
  type: str
"""

import contextlib  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


@contextlib.contextmanager
def exclusive(directory: str) -> Iterator[None]:
    """flock(2) on the lock's directory: one reader-writer of the record at a time."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def read_record(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"run_id": "?", "unreadable": path}
    return record if isinstance(record, dict) else {"run_id": "?", "unreadable": path}


def write_record(path: str, record: dict[str, Any]) -> None:
    partial = f"{path}.{os.getpid()}.part"
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


def decide(
    state: str,
    found: dict[str, Any] | None,
    holder: dict[str, Any],
    takeover: str | None,
) -> tuple[bool, str]:
    """(whether this run holds the lock afterwards, what to do: write / remove / nothing)."""
    mine = found is not None and found.get("run_id") == holder["run_id"]
    if state == "released":
        return False, "remove" if mine else "nothing"
    if found is None or mine:
        return True, "write"
    if state == "acquired" and takeover and found.get("run_id") == takeover:
        return True, "write"
    return False, "nothing"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/var/lib/storedms/rollout.lock"},
            "state": {
                "type": "str",
                "choices": ["acquired", "held", "released"],
                "default": "acquired",
            },
            "run_id": {"type": "str", "required": True},
            "user": {"type": "str", "required": False},
            "stale_after": {"type": "float", "default": 10800},
            "break_lock": {"type": "str", "required": False},
            "holder": {"type": "dict", "required": False},
            "takeover": {"type": "str", "required": False},
        },
        supports_check_mode=True,
    )
    path, state, holder = module.params["path"], module.params["state"], module.params["holder"]
    if not holder or holder.get("run_id") != module.params["run_id"]:
        module.fail_json(msg="storeops_rollout_lock runs through its action plugin (holder)")
    try:
        with exclusive(os.path.dirname(path) or "."):
            found = read_record(path)
            now = time.time()
            age = now - float(found.get("heartbeat", 0) or 0) if found else None
            acquired, action = decide(state, found, holder, module.params["takeover"])
            if state == "held" and not acquired:
                module.fail_json(
                    msg=f"{path}: the lock is no longer this run's: {found}",
                    holder=found,
                    age=age,
                    acquired=False,
                )
            if not module.check_mode:
                if action == "write":
                    write_record(path, {**holder, "heartbeat": now})
                elif action == "remove":
                    os.unlink(path)
    except OSError as error:
        module.fail_json(msg=f"{path}: {error}")
    # The lock is the run's own bookkeeping: taken and released within the run, it leaves
    # the host as it was, so a re-run that changes nothing reports nothing changed.
    module.exit_json(
        changed=False,
        acquired=acquired,
        holder=found,
        age=age,
    )


if __name__ == "__main__":
    main()
