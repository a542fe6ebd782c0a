#!/usr/bin/python
"""Several lineinfile edits of one file in one module call (one Python start on the host
instead of one per key). Runs on the host: Python standard library and Ansible's module
utilities only."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config_lines
short_description: Set several lines of one configuration file in one call
description:
  - Applies each edit of I(lines) as M(ansible.builtin.lineinfile) does with
    C(state=present) and C(regexp), in order. The last line matching the edit's C(regexp)
    becomes its C(line). When no line matches and C(line) is not in the file already,
    C(line) is appended.
  - The file is written once, atomically, only if its text changes; owner, group and mode
    are then set as given (also when only they differ).
  - One call where a loop of M(ansible.builtin.lineinfile) would make one per line. A role
    that sets N keys of a file learns in one round trip that nothing changed.
  - Check mode reports what would change without writing. With C(--diff) the diff is the
    whole file before and after.
version_added: "0.1.0"
options:
  path:
    description: The file to edit.
    type: path
    required: true
  lines:
    description: The edits, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      regexp:
        description: Python regular expression of the line to replace (searched in each line).
        type: str
        required: true
      line:
        description: The line wanted (one line, no newline).
        type: str
        required: true
  create:
    description: Create the file when it does not exist (else the module fails).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: auditd keeps its logs and never ignores a full disk
  config_lines:
    path: /etc/audit/auditd.conf
    lines:
      - {regexp: '^\s*max_log_file_action\s*=', line: "max_log_file_action = keep_logs"}
      - {regexp: '^\s*disk_full_action\s*=', line: "disk_full_action = suspend"}
    owner: root
    group: root
    mode: "0640"
"""

RETURN = r"""
edits:
  description: What each edit did, in order.
  returned: always
  type: list
  elements: dict
  contains:
    line:
      description: The edit's line.
      type: str
    action:
      description: C(unchanged), C(replaced) or C(appended).
      type: str
  sample: [{"line": "disk_full_action = suspend", "action": "replaced"}]
"""

import os  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_config_lines import LineEdit, apply_edits  # noqa: E402

ARGUMENT_SPEC: dict[str, Any] = {
    "path": {"type": "path", "required": True},
    "lines": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "regexp": {"type": "str", "required": True},
            "line": {"type": "str", "required": True},
        },
    },
    "create": {"type": "bool", "default": False},
}


def _read(module: AnsibleModule, path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        if not module.params["create"]:
            module.fail_json(msg=f"{path} does not exist (create=false)")
        return None


def _write(module: AnsibleModule, path: str, text: str) -> None:
    """Atomically: a temporary file beside the target, renamed over it."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".config_lines.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    module.atomic_move(temporary, path)


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, add_file_common_args=True, supports_check_mode=True
    )
    path = module.params["path"]
    before = _read(module, path)
    edits = [LineEdit(edit["regexp"], edit["line"]) for edit in module.params["lines"]]
    try:
        after, results = apply_edits(before or "", edits)
    except (ValueError, re.error) as error:  # a multi-line line, or a bad regexp
        module.fail_json(msg=f"{path}: {error}")
    changed = before is None or after != before
    if changed and not module.check_mode:
        _write(module, path, after)
    file_args = module.load_file_common_arguments(module.params)
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(
        changed=changed,
        edits=[{"line": result.line, "action": result.action} for result in results],
        diff={
            "before_header": path,
            "after_header": path,
            "before": before or "",
            "after": after,
        },
    )


if __name__ == "__main__":
    main()
