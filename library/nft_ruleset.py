#!/usr/bin/python
"""Commit-confirm for one nftables table: validate, apply with an automatic revert, confirm.

Runs on the managed host (Python stdlib + AnsibleModule) and drives ``nft``, ``systemd-run``
and ``systemctl``; the firewall role calls it twice around a new SSH connection.
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

import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

# The files of state_dir.
APPLIED = "applied.nft"  # the candidate last loaded
LISTING = "applied.list"  # nft -s list table right after that load
ROLLBACK = "rollback.nft"  # what the revert loads: the last confirmed table
ARMED = "armed.json"  # a load waiting for its confirmation
# A table declaration anywhere in the file: `[add|create|delete] table [family] name`.
TABLE_RE = re.compile(
    r"^\s*(?:(?:add|create|delete|destroy|flush)\s+)?table\s+"
    r"(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([A-Za-z0-9_.-]+)",
    re.MULTILINE,
)
FLUSH_RULESET_RE = re.compile(r"^\s*flush\s+ruleset\b", re.MULTILINE)
INCLUDE_RE = re.compile(r"^\s*include\s", re.MULTILINE)


class RulesetError(Exception):
    pass


class Host:
    """nft, systemctl and systemd-run on this host, each call with a timeout."""

    def __init__(self, nft: str, family: str, table: str, timeout: int) -> None:
        self.nft, self.family, self.table, self.timeout = nft, family, table, timeout

    def run(
        self, argv: list[str], stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            done = subprocess.run(
                argv, input=stdin, capture_output=True, text=True, check=False, timeout=self.timeout
            )
        except subprocess.TimeoutExpired as error:
            raise RulesetError(f"{' '.join(argv)}: no answer within {self.timeout} s") from error
        except OSError as error:
            raise RulesetError(f"{argv[0]}: {error}") from error
        if check and done.returncode != 0:
            raise RulesetError(f"{' '.join(argv)}: {(done.stderr or done.stdout).strip()}")
        return done

    @property
    def prelude(self) -> str:
        """Creates the table if it is missing, then deletes it: what follows replaces it."""
        return f"table {self.family} {self.table}\ndelete table {self.family} {self.table}\n"

    def listing(self) -> str | None:
        """``nft -s list table``: the live table without counter values; None if absent."""
        done = self.run([self.nft, "-s", "list", "table", self.family, self.table], check=False)
        if done.returncode == 0:
            return done.stdout
        if "No such file or directory" in done.stderr:
            return None
        raise RulesetError(f"nft list table {self.family} {self.table}: {done.stderr.strip()}")

    def check(self, path: str | None, text: str) -> None:
        """``nft -c``: parsed and checked by the kernel, nothing committed."""
        argv = [self.nft, "-c", "-f", path or "-"]
        done = self.run(argv, stdin=None if path else text, check=False)
        if done.returncode != 0:
            raise RulesetError(f"the ruleset does not load (nft -c): {done.stderr.strip()}")

    def load(self, text: str) -> None:
        """One ``nft -f`` transaction: all of it, or nothing."""
        self.run([self.nft, "-f", "-"], stdin=text)

    def timer_active(self, unit: str) -> bool:
        done = self.run(["systemctl", "is-active", f"{unit}.timer"], check=False)
        return done.stdout.strip() == "active"

    def disarm(self, unit: str) -> None:
        """Stop the timer and any revert it started; forget a failed one (the name is reused)."""
        self.run(["systemctl", "stop", f"{unit}.timer", f"{unit}.service"], check=False)
        self.run(["systemctl", "reset-failed", f"{unit}.timer", f"{unit}.service"], check=False)

    def arm(self, unit: str, seconds: int, rollback: str) -> None:
        self.disarm(unit)
        self.run(
            [
                "systemd-run",
                f"--unit={unit}",
                f"--on-active={seconds}",
                # Timers default to AccuracySec=1min: a 5 s revert could fire a minute late.
                "--timer-property=AccuracySec=100ms",
                "--property=Type=oneshot",
                f"--description=Revert nftables table {self.family} {self.table} (unconfirmed apply)",
                self.nft,
                "-f",
                rollback,
            ]
        )


class State:
    """The files in state_dir: what was applied last, the rollback, the arm record."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def read(self, name: str) -> str | None:
        try:
            with open(self.path(name), encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def write(self, name: str, text: str) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        partial = f"{self.path(name)}.{os.getpid()}.part"
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path(name))

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(name))

    def armed(self) -> dict[str, Any] | None:
        text = self.read(ARMED)
        return json.loads(text) if text else None

    def lock(self) -> int:
        """An exclusive lock on state_dir for the whole call (two runs never interleave)."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        handle = os.open(self.path(".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RulesetError(f"another nft_ruleset call holds {self.path('.lock')}") from error
        return handle


def normalized(text: str) -> str:
    return text.rstrip("\n") + "\n"


def without_comments(text: str, prelude: str) -> str:
    """The candidate as the diff shows it, like a listing: no comment lines, no replace
    prelude, no blank lines around it or twice in a row."""
    skipped = set(prelude.splitlines())
    kept = [
        line
        for line in text.splitlines()
        if not line.lstrip().startswith("#") and line not in skipped
    ]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return body + "\n" if body else ""


def refuse_foreign(text: str, family: str, table: str) -> None:
    """A candidate may declare our table only, and never flush the whole ruleset."""
    if FLUSH_RULESET_RE.search(text):
        raise RulesetError(
            "the candidate flushes the whole ruleset: other tables are not ours; "
            f"declare table {family} {table} only"
        )
    if INCLUDE_RE.search(text):
        raise RulesetError("the candidate includes other files: it must be complete in itself")
    for match in TABLE_RE.finditer(text):
        found = (match.group(1) or "ip", match.group(2))
        if found != (family, table):
            raise RulesetError(
                f"the candidate declares table {found[0]} {found[1]}: "
                f"only table {family} {table} is managed here"
            )


def candidate_text(module: AnsibleModule) -> tuple[str, str | None]:
    src, content = module.params["src"], module.params["content"]
    if content is not None:
        return normalized(content), None
    try:
        with open(src, encoding="utf-8") as handle:
            return normalized(handle.read()), src
    except OSError as error:
        raise RulesetError(f"{src}: {error.strerror}") from error


def apply(module: AnsibleModule, host: Host, state: State, unit: str) -> dict[str, Any]:
    candidate, path = candidate_text(module)
    refuse_foreign(candidate, host.family, host.table)
    host.check(path, candidate)
    live = host.listing()
    unchanged = (
        live is not None and state.read(APPLIED) == candidate and state.read(LISTING) == live
    )
    diff = {
        "before_header": f"nft -s list table {host.family} {host.table} (live)",
        "before": live or "",
        "after_header": f"{path or 'candidate'} (comments left out)",
        "after": without_comments(candidate, host.prelude),
    }
    if unchanged:
        return {"changed": False, "armed": False, "listing": live}
    result: dict[str, Any] = {"changed": True, "armed": False, "diff": diff}
    if module.check_mode:
        return result

    # The rollback is the last confirmed table: while an earlier apply is still unconfirmed,
    # its rollback stays, and the timer is re-armed for this load.
    armed = state.armed()
    pending = armed is not None and host.timer_active(armed["unit"])
    if not pending or state.read(ROLLBACK) is None:
        state.write(ROLLBACK, host.prelude + (live or ""))
    host.check(state.path(ROLLBACK), "")
    if armed is not None and armed["unit"] != unit:
        host.disarm(armed["unit"])
    timeout = module.params["confirm_timeout"]
    now = dt.datetime.now(dt.UTC)
    host.arm(unit, timeout, state.path(ROLLBACK))
    record = {
        "unit": unit,
        "table": f"{host.family} {host.table}",
        "armed_at": now.isoformat(timespec="seconds"),
        "revert_at": (now + dt.timedelta(seconds=timeout)).isoformat(timespec="seconds"),
        "confirm_timeout": timeout,
    }
    state.write(ARMED, json.dumps(record, indent=2) + "\n")
    try:
        host.load(host.prelude + candidate)
    except RulesetError:
        host.disarm(unit)
        state.remove(ARMED)
        raise
    after = host.listing() or ""
    state.write(APPLIED, candidate)
    state.write(LISTING, after)
    return {
        **result,
        "armed": True,
        "revert_at": record["revert_at"],
        "rollback": state.path(ROLLBACK),
        "listing": after,
    }


def confirm(module: AnsibleModule, host: Host, state: State) -> dict[str, Any]:
    armed = state.armed()
    if armed is None:
        return {"changed": False, "confirmed": False, "armed": False, "msg": "nothing armed"}
    if module.check_mode:
        return {"changed": True, "confirmed": False, "armed": True}
    unit = armed["unit"]
    host.disarm(unit)
    live, applied = host.listing(), state.read(LISTING)
    state.remove(ARMED)
    if live is None or live != applied:
        raise RulesetError(
            f"not confirmed: table {host.family} {host.table} is no longer the one applied at "
            f"{armed['armed_at']}: the automatic revert fired (after {armed['confirm_timeout']} s,"
            f" at {armed['revert_at']}) or the table was changed meanwhile; apply it again"
        )
    return {"changed": True, "confirmed": True, "armed": False, "revert_unit": unit}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["applied", "confirmed"], "default": "applied"},
            "table": {"type": "str", "required": True},
            "family": {"type": "str", "choices": ["inet", "ip", "ip6"], "default": "inet"},
            "src": {"type": "path"},
            "content": {"type": "str"},
            "confirm_timeout": {"type": "int", "default": 60},
            "state_dir": {"type": "path", "default": "/var/lib/storeops/firewall"},
            "revert_unit": {"type": "str"},
            "nft_timeout": {"type": "int", "default": 30},
        },
        mutually_exclusive=[("src", "content")],
        required_if=[("state", "applied", ("src", "content"), True)],
        supports_check_mode=True,
    )
    params = module.params
    if params["confirm_timeout"] < 1:
        module.fail_json(msg="confirm_timeout must be at least 1 second")
    nft = module.get_bin_path("nft", required=True)
    host = Host(nft, params["family"], params["table"], params["nft_timeout"])
    state = State(params["state_dir"])
    unit = params["revert_unit"] or f"nft-revert-{params['table']}"
    common = {"table": f"{host.family} {host.table}", "revert_unit": unit, "confirmed": False}
    started = time.monotonic()
    lock = None
    try:
        if not module.check_mode:
            lock = state.lock()
        if params["state"] == "applied":
            outcome = apply(module, host, state, unit)
        else:
            outcome = confirm(module, host, state)
    except (RulesetError, OSError, ValueError) as error:
        module.fail_json(msg=str(error), **common)
    finally:
        if lock is not None:
            os.close(lock)
    module.exit_json(**{**common, **outcome, "seconds": round(time.monotonic() - started, 3)})


if __name__ == "__main__":
    main()
