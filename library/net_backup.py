#!/usr/bin/python
"""Network device configuration backup with history: one file per device in a git repository.

Runs on the controller (netmiko over SSH to the device), like Oxidized: ``git log -p`` on the
backup repository shows who changed what on which device, and when.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: net_backup
short_description: Back up a network device's running configuration into a git repository
description:
  - Logs into the device with netmiko (C(cisco_ios) or C(huawei) driver), reads its running
    configuration (C(show running-config) / C(display current-configuration)) and strips the
    lines that change without a configuration change (IOS C(Building configuration...),
    the C(Current configuration) size line, C(! Last configuration change at ...),
    C(! NVRAM config last updated at ...), C(ntp clock-period N); VRP C(!Software Version ...),
    C(!Last configuration was updated at ...), C(!Last configuration was saved at ...)).
  - Writes it to I(repo)/I(name).cfg and commits that file when it changed, with a message
    naming the device and I(user). The repository is created (C(git init)) when missing.
    Nothing else is written into the repository; concurrent runs (forks) on the same
    repository take turns (an exclusive lock on the repository directory).
  - Git runs with its author and committer set on the command line, so no global git
    configuration is needed.
  - An unreachable device or a failed login fails the task with a message naming
    I(host):I(port) and which of the two happened; the password never appears in it.
author:
  - storeops developers
version_added: "0.2.0"
extends_documentation_fragment:
  - storeops_net
options:
  name:
    description: The device's name; the backup is I(repo)/I(name).cfg.
    type: str
    required: true
  repo:
    description: The git repository (work tree) the backups live in; created when missing.
    type: path
    required: true
  user:
    description: Who ran the backup, for the commit message and author. Defaults to the controller user (C(USER) in the environment).
    type: str
    required: false
attributes:
  check_mode:
    support: full
    description: Reads the device and reports the difference to the last backup; writes nothing.
  diff_mode:
    support: full
    description: The last backup and the configuration just read.
"""

EXAMPLES = r"""
- name: Back up the store core switch
  net_backup:
    host: "{{ net_host }}"
    port: "{{ net_port }}"
    platform: "{{ net_platform }}"
    username: "{{ net_username }}"
    password: "{{ net_password }}"
    name: "{{ inventory_hostname }}"
    repo: "{{ playbook_dir }}/../.cache/network-backups"
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The backup file.
  returned: always
  type: str
  sample: /srv/network-backups/sh01-sw1.cfg
commit:
  description: The sha of the commit this run made, null when nothing was committed.
  returned: always
  type: str
lines:
  description: Lines in the (stripped) configuration.
  returned: always
  type: int
diff:
  description: The last backup (before) and the configuration just read (after).
  returned: always
  type: dict
"""

import fcntl  # noqa: E402
import getpass  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_net import (  # noqa: E402
    COMMON_ARGUMENT_SPEC,
    NetError,
    connect,
    disconnect,
    running_config,
    strip_volatile,
)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EMAIL_DOMAIN = "storeops.invalid"


class Git:
    """The git CLI on one work tree, with author and committer given on every call."""

    def __init__(self, module: AnsibleModule, repo: str, user: str) -> None:
        self.module = module
        self.repo = repo
        self.identity = [
            "-c",
            f"user.name={user}",
            "-c",
            f"user.email={user}@{EMAIL_DOMAIN}",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ]

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
        argv = ["git", "-C", self.repo, *self.identity, *args]
        rc, out, err = self.module.run_command(argv)
        if rc not in ok:
            raise NetError(
                f"git {args[0]} in {self.repo} failed (rc={rc}): {err.strip() or out.strip()}"
            )
        return rc, out

    def ensure(self) -> None:
        if not os.path.isdir(os.path.join(self.repo, ".git")):
            self.run("init", "--quiet", "--initial-branch=main")

    def commit(self, filename: str, message: str) -> str | None:
        """Commit ``filename`` when it differs from HEAD; the new sha, or None."""
        self.run("add", "--", filename)
        rc, _ = self.run("diff", "--cached", "--quiet", "--", filename, ok=(0, 1))
        if rc == 0:
            return None
        self.run("commit", "--quiet", "--no-verify", "-m", message, "--", filename)
        return self.run("rev-parse", "HEAD")[1].strip()


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def write_atomically(path: str, text: str) -> None:
    partial = f"{path}.{os.getpid()}.part"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def fetch(params: dict[str, Any]) -> str:
    conn = connect(params)
    try:
        return str(strip_volatile(params["platform"], running_config(conn, params["platform"])))
    finally:
        disconnect(conn)


def store(module: AnsibleModule, path: str, config: str, message: str, user: str) -> str | None:
    """Write and commit the backup under an exclusive lock on the repository directory."""
    repo = os.path.dirname(path)
    os.makedirs(repo, exist_ok=True)
    lock = os.open(repo, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        git = Git(module, repo, user)
        git.ensure()
        if read_text(path) != config:
            write_atomically(path, config)
        return git.commit(os.path.basename(path), message)
    finally:
        os.close(lock)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGUMENT_SPEC,
            "name": {"type": "str", "required": True},
            "repo": {"type": "path", "required": True},
            "user": {"type": "str", "required": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not NAME.match(params["name"]):
        module.fail_json(msg=f"name {params['name']!r}: letters, digits, '.', '_', '-' only")
    user = params["user"] or os.environ.get("USER") or getpass.getuser()
    path = os.path.join(params["repo"], f"{params['name']}.cfg")
    result: dict[str, Any] = {"changed": False, "path": path, "commit": None}
    try:
        config = fetch(params)
        before = read_text(path)
        result["lines"] = len(config.splitlines())
        result["diff"] = {
            "before": before,
            "after": config,
            "before_header": path,
            "after_header": f"{params['name']} ({params['host']}:{params['port']})",
        }
        if module.check_mode:
            result["changed"] = before != config
            module.exit_json(**result)
        message = (
            f"{params['name']}: running configuration backed up by {user}\n\n"
            f"Device {params['name']} ({params['platform']}, {params['host']}:{params['port']}), "
            "read by storeops net_backup."
        )
        result["commit"] = store(module, path, config, message, user)
        result["changed"] = result["commit"] is not None
    except (NetError, OSError) as error:
        module.fail_json(msg=str(error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
