#!/usr/bin/python
"""Migrate and switch the DMS as one step on the DMS host, clients queued meanwhile."""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: dms_switch
short_description: Migrate the DMS database and switch to a release in one step, clients queued
description:
  - Runs on the DMS host, as root, once the release is installed side by side
    (C(releases/<version>)) and the verified pre-upgrade dump exists. One call, no round
    trip to the controller between its steps, so that clients wait as briefly as possible.
  - "With I(hold_clients=true) (the default):"
  - 1. writes the hold file I(hold_file) with a deadline (now + I(hold_timeout)). While it
    exists, the service's C(ExecStartPre) (C(storedms-hold-wait), installed by the C(dms)
    role) waits, so a new connection that activates the service through C(storedms.socket)
    stays in the kernel's listen queue instead of being answered by the old release;
  - 2. stops the service: it stops accepting, finishes the requests in flight and exits;
  - 3. runs the release's migrations (C(python3 -m storedms.migrate up));
  - 4. points C(current) at the release (one C(rename(2)));
  - 5. removes the hold file and starts the service (or restarts it, if the hold lapsed and
    the old release started meanwhile); the queued clients are served by the new release;
  - 6. waits until C(/health) answers 200 with the release's version (its request waits in
    the same queue).
  - Clients see one slow answer (the time in the queue), never a refused connection or a
    503 from the old release on a half-migrated database. The hold's deadline bounds the
    wait even if this module is killed; the service then starts on whatever C(current)
    points at (the old release answers 503 "migrating" until the rollout is resumed).
  - With I(hold_clients=false) (the operator accepted a maintenance page), the old release
    keeps serving while the migrations run (it answers 503 with the reason "migrating"),
    then C(current) moves and the service restarts (clients queued for the restart only).
  - On a failure it stops and fails with C(stage) (C(stop), C(migrate), C(switch),
    C(start), C(health)) and the timeline. From C(migrate) on, the hold stays (the old
    release must not serve writes on a database the rollback is about to put back); the
    rollback (C(roles/dms_rollout/tasks/rollback.yml)) stops the socket and removes it.
  - Idempotent; nothing changes when C(current) is the release, no migration is pending
    and C(/health) reports the release. Check mode asks the migrate tool's read-only
    C(status) and says what would run.
version_added: "0.1.0"
options:
  version:
    description: The release to run; C(releases/<version>) must be installed.
    type: str
    required: true
  root:
    description: The DMS's directory (C(releases/), C(current)).
    type: path
    default: /opt/storedms
  config:
    description: The DMS's configuration file (the migrate tool reads the database login there).
    type: path
    default: /etc/storedms/storedms.conf
  service:
    description: The DMS service unit (activated by its socket unit).
    type: str
    default: storedms.service
  port:
    description: The port of the socket unit, asked on 127.0.0.1 for C(/health).
    type: int
    default: 8080
  hold_clients:
    description: Queue new clients during the migration (else the old release answers 503 meanwhile).
    type: bool
    default: true
  hold_file:
    description: The hold file the service's C(ExecStartPre) waits on (the C(dms) role's C(dms_hold_file)).
    type: path
    default: /run/storedms.hold
  hold_timeout:
    description:
      - Seconds after which the hold lapses by itself (a killed run never leaves the store
        without its DMS longer than this). Also the bound of the wait for C(/health).
    type: float
    default: 120
  health_timeout:
    description: Timeout of one C(/health) request, seconds.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    description: Asks the migrate tool's read-only C(status); says which migrations would run.
  diff_mode:
    support: none
    description: The change is a release name and a migration list, both in the result.
notes:
  - The hold relies on socket activation (C(storedms.socket) owns the port) and on the
    C(ExecStartPre) wait the C(dms) role installs; see C(roles/dms/templates/usr/local/libexec/storedms-hold-wait.j2).
"""

EXAMPLES = r"""
- name: Migrate, switch and start 3.2.0 as one step (clients wait in the socket's queue)
  dms_switch:
    version: "3.2.0"
    hold_timeout: 120
  register: dms_switched

- name: The same with a maintenance page (the old release answers 503 while migrating)
  dms_switch:
    version: "3.2.0"
    hold_clients: false
"""

RETURN = r"""
previous:
  description: The release C(current) pointed at before.
  returned: always
  type: str
  sample: "3.1.0"
version:
  description: The release C(current) points at now (in check mode, would point at).
  returned: always
  type: str
migrations:
  description: The migrations that ran (in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["0002_split_customer_name"]
schema_version:
  description: The database's schema version afterwards (from the migrate tool).
  returned: success
  type: str
queue_s:
  description:
    - Seconds from the hold to the first healthy answer of the new release, the longest a
      client waited in the queue.
  returned: changed and I(hold_clients=true)
  type: float
maintenance_s:
  description:
    - With I(hold_clients=false), seconds from the start of the migrations to the first
      healthy answer of the new release (the old release answered 503 meanwhile).
  returned: changed and I(hold_clients=false)
  type: float
stage:
  description: Where it failed (stop, migrate, switch, start, health); C(done) on success.
  returned: always
  type: str
timeline:
  description: Seconds since the call started at which each step ended (held, stopped, migrated, switched, started, healthy).
  returned: always
  type: dict
health:
  description: The last C(/health) answer (status and body).
  returned: always
  type: dict
"""

RELEASE_LINK_PREFIX = "releases/"
HEALTH_RETRY_DELAY = 0.1


class SwitchFailed(Exception):
    """A step failed: ``stage`` names it."""

    def __init__(self, stage: str, message: str, output: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.output = output


class Switch:
    """One release switch on this host, with the times of its steps."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.params: dict[str, Any] = module.params
        self.root: str = self.params["root"]
        self.version: str = self.params["version"]
        self.release_dir = os.path.join(self.root, "releases", self.version)
        self.current_link = os.path.join(self.root, "current")
        self.started = time.monotonic()
        self.timeline: dict[str, float] = {}
        self.health: dict[str, Any] = {}
        self.migrations: list[str] = []
        self.schema_version = ""

    # --- reading ---------------------------------------------------------------------------
    def mark(self, step: str) -> None:
        self.timeline[step] = round(time.monotonic() - self.started, 3)

    def previous(self) -> str:
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return ""
        return os.path.basename(target.rstrip("/"))

    def migrate(self, command: str) -> dict[str, Any]:
        """The release's own migrate tool (``status`` or ``up``), its JSON report."""
        env = dict(os.environ, PYTHONPATH=self.release_dir, PYTHONDONTWRITEBYTECODE="1")
        argv = ["/usr/bin/python3", "-m", "storedms.migrate", "--config"]
        argv += [self.params["config"], "--json", command]
        rc, out, err = self.module.run_command(argv, cwd=self.release_dir, environ_update=env)
        if rc != 0:
            raise SwitchFailed("migrate", f"migrate {command} exited {rc}: {err.strip()}", out)
        try:
            report: dict[str, Any] = json.loads(out)
        except ValueError as error:
            message = f"migrate {command}: no JSON report ({error})"
            raise SwitchFailed("migrate", message, out) from error
        return report

    def pending(self) -> list[str]:
        report = self.migrate("status")
        self.schema_version = str(report.get("schema_version") or "")
        return [
            str(entry["migration"])
            for entry in report.get("migrations", [])
            if entry.get("state") != "applied"
        ]

    def ask_health(self) -> bool:
        """One GET /health on the socket's port: is the release serving, healthy?"""
        url = f"http://127.0.0.1:{self.params['port']}/health"
        try:
            with urllib.request.urlopen(url, timeout=self.params["health_timeout"]) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            self.health = {"status": -1, "error": str(getattr(error, "reason", error))}
            return False
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        self.health = {"status": status, "body": parsed}
        return status == 200 and isinstance(parsed, dict) and parsed.get("version") == self.version

    def unit_state(self) -> str:
        _rc, out, _err = self.module.run_command(["systemctl", "is-active", self.params["service"]])
        return str(out).strip()

    # --- changing --------------------------------------------------------------------------
    def systemctl(self, stage: str, *args: str) -> None:
        rc, out, err = self.module.run_command(["systemctl", *args, self.params["service"]])
        if rc != 0:
            raise SwitchFailed(stage, f"systemctl {' '.join(args)} failed: {err.strip()}", out)

    def hold(self) -> None:
        """Write the hold file (its deadline first, in epoch seconds) atomically."""
        deadline = int(time.time() + self.params["hold_timeout"]) + 1
        path = self.params["hold_file"]
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="ascii") as handle:
            handle.write(f"{deadline}\n")
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)
        self.mark("held")

    def release_hold(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.params["hold_file"])

    def point_current(self) -> None:
        """``current`` -> releases/<version>, replaced by one rename(2)."""
        if self.previous() == self.version:
            self.mark("switched")
            return
        temporary = f"{self.current_link}.{os.getpid()}.tmp"
        try:
            os.symlink(RELEASE_LINK_PREFIX + self.version, temporary)
            os.rename(temporary, self.current_link)
        except OSError as error:
            message = f"cannot point current at {self.version}: {error}"
            raise SwitchFailed("switch", message) from error
        self.mark("switched")

    def reload_units_if_needed(self) -> None:
        _rc, out, _err = self.module.run_command(
            ["systemctl", "show", "--property=NeedDaemonReload", self.params["service"]]
        )
        if out.strip().endswith("yes"):
            self.systemctl("start", "daemon-reload")

    def start_new_release(self) -> None:
        """Release the queue: start the service (restart it if the old release runs)."""
        old_release_running = self.unit_state() == "active"
        self.release_hold()
        self.systemctl("start", "restart" if old_release_running else "start")
        self.mark("started")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.params["hold_timeout"]
        while not self.ask_health():
            if time.monotonic() > deadline:
                raise SwitchFailed("health", f"/health does not report {self.version}")
            time.sleep(HEALTH_RETRY_DELAY)
        self.mark("healthy")

    def run_migrations(self) -> None:
        report = self.migrate("up")
        self.migrations = [str(name) for name in report.get("ran", [])]
        self.schema_version = str(report.get("schema_version") or self.schema_version)
        self.mark("migrated")

    def queued(self) -> None:
        """hold -> stop -> migrate -> switch -> start -> healthy."""
        self.hold()
        try:
            self.systemctl("stop", "stop")
        except SwitchFailed:
            self.release_hold()
            raise
        self.mark("stopped")
        self.run_migrations()
        self.point_current()
        self.reload_units_if_needed()
        self.start_new_release()
        self.wait_healthy()

    def maintenance_page(self) -> None:
        """migrate (the old release answers 503) -> switch -> restart -> healthy."""
        self.run_migrations()
        self.point_current()
        self.reload_units_if_needed()
        self.systemctl("start", "restart")
        self.mark("started")
        self.wait_healthy()


def in_place(switch: Switch) -> bool:
    """Nothing to do: current is the release, nothing pending, /health reports it."""
    return switch.previous() == switch.version and not switch.pending() and switch.ask_health()


def run(module: AnsibleModule) -> dict[str, Any]:
    switch = Switch(module)
    previous = switch.previous()
    result: dict[str, Any] = {"previous": previous, "version": switch.version, "timeline": {}}
    if not os.path.isfile(os.path.join(switch.release_dir, "storedms", "migrate.py")):
        if module.check_mode:  # install's check mode unpacks nothing
            message = f"{switch.version} is not unpacked yet: its migrations cannot be listed"
            return result | {"changed": True, "migrations": [], "stage": "done", "msg": message}
        raise SwitchFailed("switch", f"{switch.release_dir} is not installed")
    if in_place(switch):
        return result | {"changed": False, "migrations": [], "stage": "done"}
    if module.check_mode:
        pending = switch.pending()
        return result | {"changed": True, "migrations": pending, "stage": "done"}
    if module.params["hold_clients"]:
        switch.queued()
    else:
        switch.maintenance_page()
    waited = "queue_s" if module.params["hold_clients"] else "maintenance_s"
    return result | {
        "changed": True,
        "migrations": switch.migrations,
        "schema_version": switch.schema_version,
        "stage": "done",
        waited: round(switch.timeline["healthy"] - switch.timeline.get("held", 0.0), 3),
        "timeline": switch.timeline,
        "health": switch.health,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "version": {"type": "str", "required": True},
            "root": {"type": "path", "default": "/opt/storedms"},
            "config": {"type": "path", "default": "/etc/storedms/storedms.conf"},
            "service": {"type": "str", "default": "storedms.service"},
            "port": {"type": "int", "default": 8080},
            "hold_clients": {"type": "bool", "default": True},
            "hold_file": {"type": "path", "default": "/run/storedms.hold"},
            "hold_timeout": {"type": "float", "default": 120},
            "health_timeout": {"type": "float", "default": 5},
        },
        supports_check_mode=True,
    )
    problem = invalid_value(module.params)
    if problem:
        module.fail_json(msg=problem)
    try:
        module.exit_json(**run(module))
    except SwitchFailed as failure:
        module.fail_json(
            msg=f"{failure.stage}: {failure}",
            stage=failure.stage,
            output=failure.output[-2000:],
            version=module.params["version"],
        )


def invalid_value(params: dict[str, Any]) -> str:
    """Values that reach paths and systemctl are checked here too (the validator does first)."""
    version = params["version"]
    if not version or not all(part.isdigit() for part in version.split(".")) or len(version) > 32:
        return f"version {version!r}: expected digits and dots, e.g. 3.2.0"
    service = params["service"]
    if (
        not service.endswith(".service")
        or not service.replace("-", "").replace(".", "").replace("@", "").replace("_", "").isalnum()
    ):
        return f"service {service!r}: expected a unit name such as storedms.service"
    if not 0 < params["hold_timeout"] <= 3600:
        return "hold_timeout: between 0 and 3600 seconds"
    if not 0 < params["port"] < 65536:
        return f"port {params['port']}: out of range"
    return ""


if __name__ == "__main__":
    main()
