"""The per-store rollout lock: one rollout per store at a time, and a crash releases it.

Where the lock lives, and why. Two rollouts of one store can come from one controller (a
manual run while the scheduled one runs) or from two (AWX and a laptop), so the lock is
on the store's DMS host, the one thing both touch: ``/var/lib/storedms/rollout.lock``, a
JSON record of its holder written and replaced under ``flock(2)`` on its directory
(``library/storeops_rollout_lock.py``), so two runs can never both take it.

What "released by a crash" means. Nothing on the DMS host lives as long as the run (each
Ansible task is its own SSH session), so the record names the run's process instead: the
``ansible-playbook`` process (the parent of Ansible's worker processes), its start time,
and the controller it runs on (hostname, kernel boot id, PID namespace). The next run
decides whether the holder is alive:

- on the same controller, from the process itself: the PID is gone, or is another
  process (its start time differs), or the controller rebooted (another boot id), so a
  ``kill -9``, a closed laptop lid that killed the terminal, an OOM kill is released at
  once;
- from another controller, which cannot see that process: by the heartbeat the holder
  renews before each wave and each store (in the DMS host's own clock, so the two
  controllers' clocks do not matter). A holder not heard from for ``stale_after``
  seconds (longer than one store's rollout) is dead. Before that, an operator who knows
  the other run is gone can take the lock over by naming it
  (``-e dms_rollout_break_lock=<run id>``): the takeover is in the audit record.

A refused run names the holder (run, user, controller, PID, since when) and does nothing
to the store: it does not read the holder's journal as an interrupted rollout.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Controller:
    """Where a run's process lives, precisely enough to ask whether it is still alive."""

    hostname: str
    boot_id: str
    pid_namespace: str

    @classmethod
    def here(cls) -> Controller:
        return cls(socket.gethostname(), _read("/proc/sys/kernel/random/boot_id"), _pid_ns())


@dataclass(frozen=True)
class Holder:
    """The lock record: who holds the store, from where, since when."""

    run_id: str
    user: str
    controller: str
    boot_id: str
    pid_namespace: str
    pid: int
    pid_started: str
    since: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Holder:
        return cls(
            run_id=str(record.get("run_id", "?")),
            user=str(record.get("user", "?")),
            controller=str(record.get("controller", "?")),
            boot_id=str(record.get("boot_id", "")),
            pid_namespace=str(record.get("pid_namespace", "")),
            pid=int(record.get("pid", 0) or 0),
            pid_started=str(record.get("pid_started", "")),
            since=str(record.get("since", "?")),
        )

    def describe(self) -> str:
        return (
            f"run {self.run_id} by {self.user} on {self.controller}"
            f" (ansible-playbook PID {self.pid}) since {self.since}"
        )


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _pid_ns() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def process_started(pid: int) -> str:
    """The start time of process ``pid`` (clock ticks since boot), '' if there is none.

    With the boot id, this tells a process from a later one that got the same PID.
    """
    stat = _read(f"/proc/{pid}/stat")
    if not stat or ")" not in stat:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else ""


def process_started_at(pid: int) -> dt.datetime | None:
    """When process ``pid`` started, as an aware datetime (None if unknown)."""
    ticks = process_started(pid)
    boot = next(
        (line.split()[1] for line in _read("/proc/stat").splitlines() if line.startswith("btime")),
        "",
    )
    if not ticks or not boot:
        return None
    seconds = int(boot) + int(ticks) / os.sysconf("SC_CLK_TCK")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def holder_for(run_id: str, user: str, pid: int, since: str) -> Holder:
    """The record this run writes: ``pid`` is the ansible-playbook process."""
    here = Controller.here()
    return Holder(
        run_id=run_id,
        user=user,
        controller=here.hostname,
        boot_id=here.boot_id,
        pid_namespace=here.pid_namespace,
        pid=pid,
        pid_started=process_started(pid),
        since=since,
    )


def holder_alive(
    holder: Holder,
    here: Controller,
    heard_ago: float,
    stale_after: float,
    started_of: Any = process_started,
) -> tuple[bool, str]:
    """Whether ``holder`` may still be running, and why (see the module's docstring).

    ``heard_ago``: seconds since the holder's last heartbeat, in the DMS host's clock.
    ``started_of``: how to read a local process's start time (tests give their own).
    """
    same_controller = (holder.controller, holder.pid_namespace) == (
        here.hostname,
        here.pid_namespace,
    )
    if same_controller:
        if holder.boot_id != here.boot_id:
            return False, f"{holder.controller} has rebooted since"
        started = started_of(holder.pid) if holder.pid > 0 else ""
        if not started or started != holder.pid_started:
            return False, f"its process {holder.pid} on {holder.controller} is gone"
        return True, f"its process {holder.pid} on {holder.controller} is running"
    if heard_ago > stale_after:
        return False, (
            f"not heard from for {heard_ago:.0f} s (more than dms_rollout_lock_stale_after,"
            f" {stale_after:.0f} s)"
        )
    return True, (
        f"it runs on another controller and was heard from {heard_ago:.0f} s ago"
        f" (it is taken as dead after {stale_after:.0f} s)"
    )
