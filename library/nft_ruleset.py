#!/usr/bin/python
"""Commit-confirm for one nftables table: validate, apply with an automatic revert, confirm.

Runs on the managed host (Python stdlib + AnsibleModule) and drives ``nft``, ``systemd-run``
and ``systemctl``; the firewall role calls it twice around a new SSH connection. The
commit-confirm itself is ``module_utils/storeops_nft.py``, which the pyinfra workstation
deploy runs on the host as a script.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nft_ruleset
short_description: Replace one nftables table atomically, with an automatic revert until confirmed
description:
  - Manages one table (I(family) I(table)) of the host's ruleset and nothing else; other
    tables (a container engine's, another tool's) are never listed, flushed or replaced.
  - C(state=applied) validates the candidate ruleset with C(nft -c -f), so a ruleset that does
    not parse never reaches the kernel (the task fails with nft's message). It refuses a
    candidate that flushes the ruleset, declares another table or includes other files, and
    decides whether anything changes (see I(state_dir)). If so, it saves the live table for
    rollback, arms an automatic revert (a transient systemd timer,
    C(systemd-run --on-active=)I(confirm_timeout), that loads the saved table back) and loads
    the candidate in one C(nft -f) transaction that deletes and recreates the table.
  - C(state=confirmed) disarms the revert (stops the timer) after checking that the live table
    is still the one applied. Call it over a new connection, so that the confirmation proves
    the host is still reachable through the new ruleset. A confirmation that comes too late
    (the revert fired) fails. Nothing armed is C(changed=false).
  - Persisting the ruleset for boot is not this module's job. The firewall role writes
    C(/etc/nftables.conf) after the confirmation, so that only confirmed rulesets are booted.
  - Idempotence. After each load the module keeps the candidate and C(nft -s list table) (the
    stateless listing, without counter values) in I(state_dir). The table is unchanged when
    the candidate is the one kept and the live listing is the one kept; a table changed by
    hand, deleted, or put back by a revert, is a change and is replaced.
  - If a revert is still armed from an earlier, unconfirmed apply, a new apply keeps that
    earlier saved table as the rollback (the last confirmed state), not the unconfirmed one.
author:
  - storeops developers
version_added: "0.1.0"
options:
  state:
    description: C(applied) validates and loads the candidate with a revert armed; C(confirmed) disarms it.
    type: str
    choices: [applied, confirmed]
    default: applied
  table:
    description: The table this module owns; the candidate may declare this table only.
    type: str
    required: true
  family:
    description: The table's family.
    type: str
    choices: [inet, ip, ip6]
    default: inet
  src:
    description:
      - The candidate ruleset on the host (an C(nft -f) file that defines the table).
      - One of I(src) and I(content) is required with C(state=applied).
    type: path
  content:
    description:
      - The candidate ruleset as text, instead of I(src) (e.g. in check mode, where the
        candidate file was not written).
    type: str
  confirm_timeout:
    description:
      - Seconds after the load at which the saved table is put back unless C(state=confirmed)
        ran first. Leave room for a new SSH connection and one task.
    type: int
    default: 60
  state_dir:
    description:
      - Where the applied candidate, its listing, the rollback file and the arm record are kept (mode 0700).
      - One directory per table.
    type: path
    default: /var/lib/storeops/firewall
  revert_unit:
    description: Name of the transient timer and service that revert. Defaults to C(nft-revert-<table>).
    type: str
  nft_timeout:
    description: Seconds any one C(nft), C(systemctl) or C(systemd-run) call may take.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: Validates the candidate and reports the diff; arms no timer and loads nothing.
  diff_mode:
    support: full
    description: Before, the live table's stateless listing; after, the candidate (comment lines and the replace prelude left out).
requirements:
  - nftables (C(nft)), systemd (C(systemd-run), C(systemctl)), root or CAP_NET_ADMIN
"""

EXAMPLES = r"""
- name: Load the candidate, with a revert armed for 60 s
  nft_ruleset:
    state: applied
    table: storeops
    src: /var/lib/storeops/firewall/candidate.nft
    confirm_timeout: 60
  register: firewall_applied

- name: Open a new connection (the confirmation must prove the host is reachable)
  ansible.builtin.meta: reset_connection

- name: Keep the new ruleset
  nft_ruleset:
    state: confirmed
    table: storeops
"""

RETURN = r"""
table:
  description: The table, as C(<family> <name>).
  returned: always
  type: str
  sample: inet storeops
armed:
  description: Whether a revert is armed now (a load happened and is waiting for its confirmation).
  returned: always
  type: bool
confirmed:
  description: Whether this call disarmed a revert (C(state=confirmed)).
  returned: always
  type: bool
revert_unit:
  description: The transient systemd units that revert (C(<unit>.timer), C(<unit>.service)).
  returned: always
  type: str
  sample: nft-revert-storeops
revert_at:
  description: When the revert fires unless confirmed (UTC, ISO 8601).
  returned: when armed
  type: str
rollback:
  description: The file the revert loads (the table as it was before, or its deletion if there was none).
  returned: when armed
  type: str
listing:
  description: C(nft -s list table) after the load (the live table), or of the live table when unchanged.
  returned: state=applied, when the table exists
  type: str
seconds:
  description: How long the call took.
  returned: success
  type: float
"""

import time  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_nft import (  # noqa: E402
    DEFAULT_CONFIRM_TIMEOUT,
    DEFAULT_NFT_TIMEOUT,
    DEFAULT_STATE_DIR,
    Host,
    RulesetError,
    State,
    apply,
    confirm,
    default_unit,
    locked,
    normalized,
    normalized_file,
    table_name,
)


def candidate_text(params: dict[str, Any]) -> tuple[str, str | None]:
    if params["content"] is not None:
        return normalized(params["content"]), None
    return normalized_file(params["src"]), params["src"]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["applied", "confirmed"], "default": "applied"},
            "table": {"type": "str", "required": True},
            "family": {"type": "str", "choices": ["inet", "ip", "ip6"], "default": "inet"},
            "src": {"type": "path"},
            "content": {"type": "str"},
            "confirm_timeout": {"type": "int", "default": DEFAULT_CONFIRM_TIMEOUT},
            "state_dir": {"type": "path", "default": DEFAULT_STATE_DIR},
            "revert_unit": {"type": "str"},
            "nft_timeout": {"type": "int", "default": DEFAULT_NFT_TIMEOUT},
        },
        mutually_exclusive=[("src", "content")],
        required_if=[("state", "applied", ("src", "content"), True)],
        supports_check_mode=True,
    )
    params = module.params
    if params["confirm_timeout"] < 1:
        module.fail_json(msg="confirm_timeout must be at least 1 second")
    try:
        table_name(params["table"])
    except ValueError as error:
        module.fail_json(msg=f"table: {error}")
    nft = module.get_bin_path("nft", required=True)
    host = Host(nft, params["family"], params["table"], params["nft_timeout"])
    state = State(params["state_dir"])
    unit = params["revert_unit"] or default_unit(params["table"])
    common = {"table": f"{host.family} {host.table}", "revert_unit": unit, "confirmed": False}
    started = time.monotonic()
    try:
        with locked(state, module.check_mode):
            if params["state"] == "applied":
                candidate, path = candidate_text(params)
                outcome = apply(
                    host,
                    state,
                    unit=unit,
                    candidate=candidate,
                    path=path,
                    confirm_timeout=params["confirm_timeout"],
                    check_mode=module.check_mode,
                )
            else:
                outcome = confirm(host, state, module.check_mode)
    except (RulesetError, OSError, ValueError) as error:
        module.fail_json(msg=str(error), **common)
    module.exit_json(**{**common, **outcome, "seconds": round(time.monotonic() - started, 3)})


if __name__ == "__main__":
    main()
