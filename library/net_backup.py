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
  - The backups carry the devices' password hashes, so they are private to the controller
    user whatever the umask (I(repo) is made mode 0700 and each backup file 0600 on every
    run, git writes its own files with C(core.sharedRepository=0600), and whatever an
    earlier run or a hand left readable to others under I(repo) is tightened (group and
    other permission bits removed)).
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
    description: The last backup and the configuration just read, secret values masked (the backup file keeps them).
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
    repo: /var/lib/storeops/network-backups
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
import stat  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_net import (  # noqa: E402
    COMMON_ARGUMENT_SPEC,
    NetError,
    connect,
    disconnect,
    mask,
    running_config,
    strip_volatile,
)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
EMAIL_DOMAIN = "storeops.invalid"
# The backups carry password hashes: the controller user alone reads them, whatever the umask.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
GIT_SHARED = "0600"  # git's own files (objects, index, refs): 0600, its directories 0700


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
            "-c",
            f"core.sharedRepository={GIT_SHARED}",
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
        """A repository whose files git keeps private (also for a hand's ``git commit``)."""
        if not os.path.isdir(os.path.join(self.repo, ".git")):
            self.run("init", "--quiet", "--initial-branch=main", f"--shared={GIT_SHARED}")
            return
        rc, out = self.run("config", "--local", "--get", "core.sharedRepository", ok=(0, 1))
        if rc != 0 or out.strip() != GIT_SHARED:
            self.run("config", "--local", "core.sharedRepository", GIT_SHARED)

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
    """Write ``path`` as a whole, mode 0600 from its first byte (the umask does not apply)."""
    partial = f"{path}.{os.getpid()}.part"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            descriptor = -1
            handle.write(text)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    os.replace(partial, path)


def private_dir(path: str) -> None:
    """``path`` exists with mode 0700 (created or tightened; the umask does not apply)."""
    os.makedirs(path, mode=PRIVATE_DIR, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)


def tighten(repo: str) -> None:
    """Remove group and other permissions from everything under ``repo``; backups 0600.

    Backups written before this rule (0644 under a 0755 directory) and anything a hand made
    readable to others are made private on the next run. Symbolic links are left alone.
    """
    for top, dirs, files in os.walk(repo):
        for name in dirs + files:
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue
            wanted = stat.S_IMODE(mode) & PRIVATE_DIR
            if top == repo and name.endswith(".cfg") and stat.S_ISREG(mode):
                wanted = PRIVATE_FILE
            if stat.S_IMODE(mode) != wanted:
                os.chmod(path, wanted)


def fetch(params: dict[str, Any]) -> str:
    conn = connect(params)
    try:
        return str(strip_volatile(params["platform"], running_config(conn, params["platform"])))
    finally:
        disconnect(conn)


def store(module: AnsibleModule, path: str, config: str, message: str, user: str) -> str | None:
    """Write and commit the backup under an exclusive lock on the repository directory."""
    repo = os.path.dirname(path)
    private_dir(repo)
    lock = os.open(repo, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        git = Git(module, repo, user)
        git.ensure()
        try:
            if read_text(path) != config:
                write_atomically(path, config)
            return git.commit(os.path.basename(path), message)
        finally:  # last: git writes some files (COMMIT_EDITMSG) with the umask's mode
            tighten(repo)
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
    if not NAME.fullmatch(params["name"]):
        module.fail_json(msg=f"name {params['name']!r}: letters, digits, '.', '_', '-' only")
    user = params["user"] or os.environ.get("USER") or getpass.getuser()
    path = os.path.join(params["repo"], f"{params['name']}.cfg")
    result: dict[str, Any] = {"changed": False, "path": path, "commit": None}
    try:
        config = fetch(params)
        before = read_text(path)
        result["lines"] = len(config.splitlines())
        result["diff"] = {
            "before": mask(params["platform"], before),
            "after": mask(params["platform"], config),
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
