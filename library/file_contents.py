#!/usr/bin/python
"""The content, owner, group and mode of several files in one module call, where a loop of
ansible.builtin.template or copy makes one call (or more) per file. Runs on the host: Python
standard library and Ansible's module utilities only."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_contents
short_description: Several files' content, owner, group and mode in one call
description:
  - For each entry of I(files), as M(ansible.builtin.copy) with C(content) would. The file
    is written (atomically, beside itself) only when its content differs. Owner, group and
    mode are then set as given, also when only they differ. A missing parent directory is
    an error, never created.
  - Render templates on the controller into C(content) with the C(ansible.builtin.template)
    lookup. One call then checks a whole set of configuration files, and a role learns in one
    round trip that none changed.
  - C(validate) is a command run on the new content before it replaces the file, with
    C(%s) standing for a temporary copy (C(/usr/sbin/sshd -t -f %s)). It runs without a
    shell. A failed validation leaves the file as it was and fails the module. The files
    before it in the list keep their changes; a re-run repairs the rest.
  - Check mode reports what would change. With C(--diff) each changed file's content is
    shown before and after. In check mode a file whose directory is missing is reported
    as changed (a run fails on it).
version_added: "0.1.0"
options:
  files:
    description: The files, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The file's whole content. Give I(content) or I(src).
        type: str
      src:
        description:
          - A template, rendered on the controller by the module's action plugin as
            M(ansible.builtin.template) renders it (the role's C(templates/), the task's
            variables). Give I(content) or I(src).
        type: str
      owner:
        description: Owner name.
        type: str
      group:
        description: Group name.
        type: str
      mode:
        description: Octal mode as a string, C("0600").
        type: str
      validate:
        description: Command checking the new content (C(%s) is its path).
        type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: sshd's drop-ins (sshd -t before each is put in place)
  file_contents:
    files:
      - dest: /etc/ssh/sshd_config.d/10-storeops-crypto.conf
        src: etc/ssh/sshd_config.d/10-storeops-crypto.conf.j2
        owner: root
        group: root
        mode: "0600"
        validate: /usr/sbin/sshd -t -f %s
  notify: Check and reload sshd
"""

RETURN = r"""
changed_files:
  description: The files changed (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["/etc/ssh/sshd_config.d/10-storeops-crypto.conf"]
"""

import os  # noqa: E402
import shlex  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_modes import mode_issue  # noqa: E402

ARGUMENT_SPEC: dict[str, Any] = {
    "files": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "dest": {"type": "path", "required": True},
            "content": {"type": "str", "no_log": False},
            "src": {"type": "str"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "mode": {"type": "str"},
            "validate": {"type": "str"},
        },
    }
}


def _current(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        return None


def _validate(module: AnsibleModule, command: str, candidate: str, dest: str) -> None:
    if "%s" not in command:
        module.fail_json(msg=f"{dest}: validate needs %s (the new content's path): {command}")
    argv = [candidate if word == "%s" else word for word in shlex.split(command)]
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"{dest}: validation failed ({command}): {err or out}".strip())


def _write(module: AnsibleModule, entry: dict[str, Any]) -> None:
    """The new content beside the file, validated there, then renamed over it."""
    dest = entry["dest"]
    handle, candidate = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".file_contents.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(entry["content"])
        if entry["validate"]:
            _validate(module, entry["validate"], candidate, dest)
        module.atomic_move(candidate, dest)
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)


def _converge(module: AnsibleModule, entry: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the file changed (or would), and its content before."""
    dest = entry["dest"]
    issue = mode_issue(dest, entry["mode"])
    if issue:
        module.fail_json(msg=issue)
    if entry["content"] is None:
        module.fail_json(
            msg=f"{dest}: no content (a src template is rendered by the action plugin)"
        )
    if not os.path.isdir(os.path.dirname(dest)):
        if module.check_mode:
            return True, None
        module.fail_json(msg=f"{dest}: its directory does not exist")
    before = _current(dest)
    changed = before != entry["content"]
    if changed and not module.check_mode:
        _write(module, entry)
    if os.path.exists(dest):
        file_args = module.load_file_common_arguments(
            {"path": dest, "owner": entry["owner"], "group": entry["group"], "mode": entry["mode"]}
        )
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return changed, before


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    changed_files: list[str] = []
    diffs: list[dict[str, str]] = []
    for entry in module.params["files"]:
        changed, before = _converge(module, entry)
        if changed:
            changed_files.append(entry["dest"])
            diffs.append(
                {
                    "before_header": entry["dest"],
                    "after_header": entry["dest"],
                    "before": before or "",
                    "after": entry["content"],
                }
            )
    module.exit_json(changed=bool(changed_files), changed_files=changed_files, diff=diffs)


if __name__ == "__main__":
    main()
