#!/usr/bin/python
"""What patching would change on a Debian host, in one call: the pending upgrades
(security-only or all), the holds, an interrupted dpkg run repaired, the services that
use replaced files, a pending reboot, failed units and free disk. Runs on the host
(python3-apt, as Debian ships it)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_patch
short_description: Plan a Debian host's patching, and read its state after it
description:
  - Refreshes the package lists (C(apt-get update --error-on=any), so an unreachable
    repository or a signature that does not verify fails with apt's own message), and
    lists the upgrades a patch run installs, as C(name=version) specs for
    M(ansible.builtin.apt).
  - I(upgrade=security) takes, per package, the newest version above the installed one
    that comes from a security origin (unattended-upgrades Origins-Pattern syntax), never
    above apt's candidate, so apt pins still hold. I(upgrade=all) takes apt's candidate.
  - Packages on dpkg hold (C(apt-mark hold)) are never listed; packages an apt pin keeps
    below a newer available version are listed in RV(held) with the pin's priority.
  - With I(repair), a dpkg run that was interrupted (a killed upgrade) is finished first
    with C(dpkg --configure -a), the only change this module makes.
  - Also returns what the play checks around the upgrade in the same round trip,
    C(/run/reboot-required), the services needrestart lists (batch mode, list only),
    failed systemd units and free space.
  - In check mode the lists are refreshed into a private directory that is removed
    afterwards; what the host has installed and its package lists stay untouched, and the
    plan is still the one a real run would make now.
version_added: "0.1.0"
options:
  upgrade:
    description: Which upgrades to plan.
    type: str
    choices: [security, all]
    default: security
  security_origins:
    description:
      - Origins-Pattern entries (C(origin=Debian,codename=${distro_codename}-security,label=Debian-Security)),
        as unattended-upgrades reads them. Keys C(origin)/C(o), C(label)/C(l),
        C(codename)/C(n), C(archive)/C(a)/C(suite), C(component)/C(c), C(site);
        C(${distro_codename}) is the host's codename.
    type: list
    elements: str
    default: ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"]
  refresh:
    description: Refresh the package lists first.
    type: bool
    default: true
  repair:
    description: Finish an interrupted dpkg run (C(dpkg --configure -a)) before planning.
    type: bool
    default: true
  holds_content:
    description:
      - The content the role writes to I(holds_file) (its apt pins, rendered by its
        template; empty when it removes the file). Only read in check mode, where the file
        is not written yet; the plan is made as if it were, with the host's other
        preferences files. Not given, the host's files are used as they are.
    type: str
    required: false
  holds_file:
    description: The preferences file of the pins (replaced by I(holds_content) in the simulation).
    type: path
    default: /etc/apt/preferences.d/storeops-dms.pref
  free_space_paths:
    description: Paths whose file system's free space is returned (in MiB).
    type: list
    elements: path
    default: [/, /var]
attributes:
  check_mode:
    support: full
    description: Plans from freshly downloaded lists in a temporary directory; repairs nothing.
  diff_mode:
    support: none
    description: The plan is the diff (RV(pending)).
requirements: [python3-apt]
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Plan the security upgrades
  apt_patch:
    upgrade: security
    security_origins:
      - origin=Debian,codename=${distro_codename}-security,label=Debian-Security
  register: plan

- name: Install them
  ansible.builtin.apt:
    name: "{{ plan.pending | map(attribute='spec') }}"
    only_upgrade: true
  when: plan.pending
"""

RETURN = r"""
pending:
  description: The upgrades to install (name, from, to, security, origin, spec C(name=to)).
  returned: always
  type: list
  elements: dict
held:
  description: >-
    Installed packages kept back: by a dpkg hold, or by an apt pin below a newer
    available version (name, installed, available, by).
  returned: always
  type: list
  elements: dict
pending_security:
  description: How many security upgrades are pending (the host's patch level).
  returned: always
  type: int
pending_all:
  description: How many upgrades of any origin are pending.
  returned: always
  type: int
repaired:
  description: The output of C(dpkg --configure -a) when an interrupted run was finished.
  returned: always
  type: str
reboot_required:
  description: Whether C(/run/reboot-required) exists.
  returned: always
  type: bool
reboot_packages:
  description: The packages that asked for the reboot (C(/run/reboot-required.pkgs)).
  returned: always
  type: list
  elements: str
restart_services:
  description: Services running replaced files (needrestart -b); empty without needrestart.
  returned: always
  type: list
  elements: str
failed_units:
  description: systemd units in the failed state.
  returned: always
  type: list
  elements: str
free_mib:
  description: Free space per path of I(free_space_paths), in MiB.
  returned: always
  type: dict
lists_updated:
  description: When the lists were refreshed (UTC, ISO 8601), or empty.
  returned: always
  type: str
"""

import datetime as dt  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_apt import (  # noqa: E402
    open_cache,
    parse_origin_patterns,
    plan,
)

REBOOT_FLAG = "/run/reboot-required"
DPKG_UPDATES = "/var/lib/dpkg/updates"
NEEDRESTART_SERVICE = re.compile(r"^NEEDRESTART-SVC: (\S+)$", re.MULTILINE)
# dpkg states a killed run leaves (unpacked but not configured, half-done, triggers).
UNFINISHED_STATES = ("half-installed", "half-configured", "unpacked", "triggers-awaited")


class Host:
    """The host's apt and system state, read through python3-apt and a few commands."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.lists_dir = ""
        self.preferences_dir = ""

    def simulate_holds(self, content: str, holds_file: str) -> None:
        """Check mode: a private copy of preferences.d with the pins file as the role
        would write it (``content``; empty: the role removes it)."""
        self.preferences_dir = tempfile.mkdtemp(prefix="storeops-apt-preferences-")
        parts = os.path.dirname(holds_file)
        for name in sorted(os.listdir(parts)) if os.path.isdir(parts) else []:
            if os.path.join(parts, name) != holds_file:
                shutil.copy(os.path.join(parts, name), self.preferences_dir)
        if content:
            with open(os.path.join(self.preferences_dir, os.path.basename(holds_file)), "w") as out:
                out.write(content)

    def run(self, argv: list[str], *, check: bool = True) -> str:
        env = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        rc, out, err = self.module.run_command(argv, environ_update=env)
        if check and rc != 0:
            self.module.fail_json(
                msg=f"{' '.join(argv)} failed (exit {rc}): {(err or out).strip()}", rc=rc
            )
        return str(out)

    def codename(self) -> str:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
        return ""

    def interrupted(self) -> bool:
        if os.path.isdir(DPKG_UPDATES) and os.listdir(DPKG_UPDATES):
            return True
        out = self.run(["dpkg-query", "-W", "-f", "${db:Status-Status}\\n"], check=False)
        return any(state in UNFINISHED_STATES for state in out.split())

    def refresh(self) -> None:
        argv = ["apt-get", "update", "-q", "--error-on=any"]
        if self.module.check_mode:
            self.lists_dir = tempfile.mkdtemp(prefix="storeops-apt-lists-")
            os.mkdir(os.path.join(self.lists_dir, "partial"))
            argv += ["-o", f"Dir::State::Lists={self.lists_dir}"]
        rc, out, err = self.module.run_command(argv, environ_update={"LC_ALL": "C"})
        if rc != 0:
            errors = [line for line in (err + out).splitlines() if line[:2] in ("E:", "W:")]
            self.cleanup()
            self.module.fail_json(
                msg="apt-get update failed: " + " | ".join(errors or [(err or out).strip()]),
                rc=rc,
                stderr=err,
            )

    def cleanup(self) -> None:
        for directory in (self.lists_dir, self.preferences_dir):
            if directory:
                shutil.rmtree(directory, ignore_errors=True)

    def cache(self) -> Any:
        try:
            return open_cache(self.lists_dir, self.preferences_dir)
        except ImportError:
            self.module.fail_json(msg="python3-apt is not installed on the host")

    def needrestart(self) -> list[str]:
        if not shutil.which("needrestart"):
            return []
        return sorted(set(NEEDRESTART_SERVICE.findall(self.run(["needrestart", "-b", "-r", "l"]))))

    def failed_units(self) -> list[str]:
        out = self.run(
            ["systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"],
            check=False,
        )
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    @staticmethod
    def free_mib(paths: list[str]) -> dict[str, int]:
        free = {}
        for path in paths:
            if os.path.exists(path):
                stat = os.statvfs(path)
                free[path] = stat.f_bavail * stat.f_frsize // (1024 * 1024)
        return free


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "upgrade": {"type": "str", "choices": ["security", "all"], "default": "security"},
            "security_origins": {
                "type": "list",
                "elements": "str",
                "default": [
                    "origin=Debian,codename=${distro_codename}-security,label=Debian-Security"
                ],
            },
            "refresh": {"type": "bool", "default": True},
            "repair": {"type": "bool", "default": True},
            "holds_content": {"type": "str", "required": False},
            "holds_file": {"type": "path", "default": "/etc/apt/preferences.d/storeops-dms.pref"},
            "free_space_paths": {"type": "list", "elements": "path", "default": ["/", "/var"]},
        },
        supports_check_mode=True,
    )
    host = Host(module)
    try:
        origins = parse_origin_patterns(module.params["security_origins"], host.codename())
    except ValueError as error:
        module.fail_json(msg=str(error))
    repaired = ""
    interrupted = host.interrupted()
    if interrupted and module.params["repair"] and not module.check_mode:
        repaired = host.run(["dpkg", "--configure", "-a"]) or "dpkg --configure -a: done"
        interrupted = host.interrupted()
    updated = ""
    try:
        if module.check_mode and module.params["holds_content"] is not None:
            host.simulate_holds(module.params["holds_content"], module.params["holds_file"])
        if module.params["refresh"]:
            host.refresh()
            updated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        apt_pkg, cache, depcache = host.cache()
        planned = plan(apt_pkg, cache, depcache, origins)
    finally:
        host.cleanup()
    module.exit_json(
        changed=bool(repaired),
        pending=sorted(planned[module.params["upgrade"]], key=lambda item: item["name"]),
        held=sorted(planned["held"], key=lambda item: item["name"]),
        pending_security=len(planned["security"]),
        pending_all=len(planned["all"]),
        interrupted=interrupted,
        repaired=repaired,
        reboot_required=os.path.exists(REBOOT_FLAG),
        reboot_packages=_lines(REBOOT_FLAG + ".pkgs"),
        restart_services=host.needrestart(),
        failed_units=host.failed_units(),
        free_mib=host.free_mib(module.params["free_space_paths"]),
        lists_updated=updated,
    )


def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return sorted({line.strip() for line in handle if line.strip()})
    except OSError:
        return []


if __name__ == "__main__":
    main()
