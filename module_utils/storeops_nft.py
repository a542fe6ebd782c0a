"""Commit-confirm for one nftables table: validate, apply with an automatic revert, confirm.

The one implementation of storeops' commit-confirm, Python stdlib only, so that it runs on
the managed host in two ways:

* shipped by Ansible as ``ansible.module_utils.storeops_nft`` inside the ``nft_ruleset``
  module (``library/``; the firewall role and ``playbooks/workstation.yml``);
* copied to ``/usr/local/lib/storeops/storeops_nft.py`` and run as a script by the pyinfra
  workstation deploy (``deploys/workstation.py`` applies, ``deploys/workstation_firewall.py``
  confirms over a new connection)::

      python3 storeops_nft.py status --table storeops --src candidate.nft  # read-only
      python3 storeops_nft.py apply --table storeops --src candidate.nft --timeout 60
      python3 storeops_nft.py confirm --table storeops

  Each prints its result as JSON; a refusal or failure is one line on stderr, exit 1.

It drives ``nft``, ``systemd-run`` and ``systemctl``. ``apply`` validates the candidate
(``nft -c``), saves the live table for rollback, arms a transient systemd timer that loads
the rollback after the timeout, and loads the candidate in one transaction; ``confirm``
(over a new connection, which proves the host is still reachable) stops the timer. The
state directory keeps what was applied last and its listing: an apply of the same
candidate onto the same live table changes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

DEFAULT_STATE_DIR = "/var/lib/storeops/firewall"
DEFAULT_CONFIRM_TIMEOUT = 60
DEFAULT_NFT_TIMEOUT = 30

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
# The managed table's name: it is written into rulesets, unit names and nft's argv, so a
# plain identifier only (the inventory's firewall_table has the same rule).
TABLE_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
FLUSH_RULESET_RE = re.compile(r"^\s*flush\s+ruleset\b", re.MULTILINE)
INCLUDE_RE = re.compile(r"^\s*include\s", re.MULTILINE)


class RulesetError(Exception):
    pass


def table_name(value: str) -> str:
    """``value`` if it is a plain table name (full match); ValueError otherwise."""
    if not TABLE_NAME_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a table name (a lowercase letter, then letters, digits, '_')"
        )
    return value


class Host:
    """nft, systemctl and systemd-run on this host, each call with a timeout."""

    def __init__(self, nft: str, family: str, table: str, timeout: int) -> None:
        self.nft, self.family, self.table, self.timeout = nft, family, table_name(table), timeout

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
                f"--description=Revert nftables table {self.family} {self.table}"
                " (unconfirmed apply)",
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


def is_live_as_applied(state: State, candidate: str, live: str | None) -> bool:
    """The candidate is the one loaded last, and the live table is still what that load left
    (not changed or deleted by hand, not put back by a revert)."""
    return live is not None and state.read(APPLIED) == candidate and state.read(LISTING) == live


def status(host: Host, state: State, candidate: str | None) -> dict[str, Any]:
    """Read-only: whether a revert is armed and, given a candidate, whether it is live as
    applied (what ``apply`` would find unchanged)."""
    outcome: dict[str, Any] = {"changed": False, "armed": state.armed() is not None}
    if candidate is not None:
        outcome["live_as_applied"] = is_live_as_applied(state, candidate, host.listing())
    return outcome


def apply(
    host: Host,
    state: State,
    *,
    unit: str,
    candidate: str,
    path: str | None,
    confirm_timeout: int,
    check_mode: bool = False,
) -> dict[str, Any]:
    """Load ``candidate`` (read from ``path`` if given, else passed as text) with a revert
    armed for ``confirm_timeout`` seconds; nothing when it is the table applied last."""
    refuse_foreign(candidate, host.family, host.table)
    host.check(path, candidate)
    live = host.listing()
    unchanged = is_live_as_applied(state, candidate, live)
    diff = {
        "before_header": f"nft -s list table {host.family} {host.table} (live)",
        "before": live or "",
        "after_header": f"{path or 'candidate'} (comments left out)",
        "after": without_comments(candidate, host.prelude),
    }
    if unchanged:
        return {"changed": False, "armed": False, "listing": live}
    result: dict[str, Any] = {"changed": True, "armed": False, "diff": diff}
    if check_mode:
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
    timeout = confirm_timeout
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


def confirm(host: Host, state: State, check_mode: bool = False) -> dict[str, Any]:
    """Disarm the revert of the last apply, if the live table is still the one it loaded."""
    armed = state.armed()
    if armed is None:
        return {"changed": False, "confirmed": False, "armed": False, "msg": "nothing armed"}
    if check_mode:
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


def default_unit(table: str) -> str:
    return f"nft-revert-{table}"


@contextlib.contextmanager
def locked(state: State, check_mode: bool = False) -> Iterator[None]:
    """The state directory's lock for the whole call (none in check mode: nothing is written)."""
    handle = None if check_mode else state.lock()
    try:
        yield
    finally:
        if handle is not None:
            os.close(handle)


def normalized_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return normalized(handle.read())
    except OSError as error:
        raise RulesetError(f"{path}: {error.strerror}") from error


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="storeops_nft", description="commit-confirm for one nftables table"
    )
    parser.add_argument("action", choices=["apply", "confirm", "status"])
    parser.add_argument("--table", required=True, type=table_name)
    parser.add_argument("--family", choices=["inet", "ip", "ip6"], default="inet")
    parser.add_argument("--src", help="the candidate ruleset file (apply; status: optional)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_CONFIRM_TIMEOUT)
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    parser.add_argument("--unit", help="the revert's transient unit (default nft-revert-<table>)")
    parser.add_argument("--nft-timeout", type=int, default=DEFAULT_NFT_TIMEOUT)
    arguments = parser.parse_args(argv)
    if arguments.action == "apply" and not arguments.src:
        parser.error("apply needs --src")
    if arguments.timeout < 1:
        parser.error("--timeout must be at least 1 second")
    return arguments


def main(argv: list[str] | None = None) -> int:
    """The host-side command line (what the pyinfra deploys run)."""
    arguments = _arguments(argv)
    nft = shutil.which("nft") or "/usr/sbin/nft"
    host = Host(nft, arguments.family, arguments.table, arguments.nft_timeout)
    state = State(arguments.state_dir)
    unit = arguments.unit or default_unit(arguments.table)
    started = time.monotonic()
    try:
        with locked(state, check_mode=arguments.action == "status"):
            if arguments.action == "status":
                candidate = normalized_file(arguments.src) if arguments.src else None
                outcome = status(host, state, candidate)
            elif arguments.action == "apply":
                candidate = normalized_file(arguments.src)
                outcome = apply(
                    host,
                    state,
                    unit=unit,
                    candidate=candidate,
                    path=arguments.src,
                    confirm_timeout=arguments.timeout,
                )
            else:
                outcome = confirm(host, state)
    except (RulesetError, OSError, ValueError) as error:
        print(f"storeops_nft {arguments.action}: {error}", file=sys.stderr)
        return 1
    outcome.pop("diff", None)
    outcome["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(outcome, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
