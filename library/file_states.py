#!/usr/bin/python
"""Owner, group and mode of several paths (or their absence) in one module call, where a
loop of ansible.builtin.file makes one call per path. Runs on the host: Python standard
library and Ansible's module utilities only."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_states
short_description: Owner, group and mode of several paths, or their absence, in one call
description:
  - For each entry of I(paths), as M(ansible.builtin.file) would with the same C(state)
    C(file) (the path must exist), C(directory) (created when missing) or C(absent) (a
    file or a symbolic link is removed; a directory is refused, never removed with its
    contents).
  - One call where a loop of M(ansible.builtin.file) makes one per path. A role checking
    the modes of ten files learns in one round trip that nothing changed.
  - Check mode reports what would change. With C(--diff) the diff lists each changed path's
    state before and after.
version_added: "0.1.0"
options:
  paths:
    description: The paths, each with the state wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description: C(file), C(directory) or C(absent).
        type: str
        choices: [file, directory, absent]
        default: file
      owner:
        description: Owner name (not for C(absent)).
        type: str
      group:
        description: Group name (not for C(absent)).
        type: str
      mode:
        description: Octal mode as a string, C("0640") (not for C(absent)).
        type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Owner and mode of the identity files
  file_states:
    paths:
      - {path: /etc/passwd, owner: root, group: root, mode: "0644"}
      - {path: /etc/shadow, owner: root, group: shadow, mode: "0640"}
      - {path: /etc/hosts.equiv, state: absent}
"""

RETURN = r"""
changed_paths:
  description: The paths changed (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["/etc/shadow"]
"""

import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import stat  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_modes import mode_issue  # noqa: E402

ARGUMENT_SPEC: dict[str, Any] = {
    "paths": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "path": {"type": "path", "required": True},
            "state": {
                "type": "str",
                "choices": ["file", "directory", "absent"],
                "default": "file",
            },
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "mode": {"type": "str"},
        },
    }
}


def describe(path: str) -> str:
    """``owner:group mode`` of the path, or ``absent``."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
    return f"{kind} {owner}:{group} {stat.S_IMODE(info.st_mode):04o}"


def wanted(entry: dict[str, Any], was: str) -> str:
    """What :func:`describe` shows once ``entry`` holds (also in check mode)."""
    if entry["state"] == "absent":
        return "absent"
    owner, group, mode = "?", "?", "?"
    if was != "absent":
        _, owner_group, mode = was.split(" ")
        owner, group = owner_group.split(":")
    owner = entry["owner"] or owner
    group = entry["group"] or group
    mode = f"{int(entry['mode'], 8):04o}" if entry["mode"] else mode
    return f"{entry['state']} {owner}:{group} {mode}"


def _absent(module: AnsibleModule, path: str) -> bool:
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        module.fail_json(msg=f"{path} is a directory: file_states removes files only")
    if not module.check_mode:
        os.unlink(path)
    return True


def _present(module: AnsibleModule, entry: dict[str, Any]) -> bool:
    path = entry["path"]
    created = False
    if entry["state"] == "directory" and not os.path.lexists(path):
        created = True
        if module.check_mode:
            return True
        os.makedirs(path)
    elif not os.path.lexists(path):
        module.fail_json(msg=f"{path} does not exist (state=file)")
    elif (entry["state"] == "directory") != os.path.isdir(path):
        module.fail_json(msg=f"{path} is not a {entry['state']}")
    file_args = module.load_file_common_arguments(
        {"path": path, "owner": entry["owner"], "group": entry["group"], "mode": entry["mode"]}
    )
    return bool(module.set_fs_attributes_if_different(file_args, created))


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    changed_paths: list[str] = []
    before: list[str] = []
    after: list[str] = []
    for entry in module.params["paths"]:
        path = entry["path"]
        issue = mode_issue(path, entry["mode"])
        if issue:
            module.fail_json(msg=issue)
        was = describe(path)
        changed = _absent(module, path) if entry["state"] == "absent" else _present(module, entry)
        if changed:
            changed_paths.append(path)
            before.append(f"{path}: {was}")
            after.append(f"{path}: {wanted(entry, was)}")
    module.exit_json(
        changed=bool(changed_paths),
        changed_paths=changed_paths,
        diff={"before": "\n".join(before) + "\n", "after": "\n".join(after) + "\n"},
    )


if __name__ == "__main__":
    main()
