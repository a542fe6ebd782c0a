"""Several ``lineinfile`` edits of one configuration file, computed in one pass.

Used by the ``config_lines`` module (``ansible.module_utils.storeops_config_lines``): a role
that sets N keys of one file (auditd.conf, login.defs, pwquality.conf) makes one module call
instead of a loop of N, each a Python start on the host to learn that nothing changed.
Each edit keeps ``lineinfile``'s own rule (``state: present`` with ``regexp``): the last
line matching ``regexp`` is replaced by ``line``; when none matches and ``line`` is not
there already, ``line`` is appended. Python standard library only: it runs on the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LineEdit:
    """One edit: the line wanted, and the pattern of the line it replaces."""

    regexp: str
    line: str


@dataclass(frozen=True)
class EditResult:
    line: str
    action: str  # "unchanged", "replaced" or "appended"


def _check(edit: LineEdit) -> re.Pattern[str]:
    if "\n" in edit.line or "\r" in edit.line:
        raise ValueError(f"line {edit.line!r}: one line only")
    return re.compile(edit.regexp)


def _apply_one(lines: list[str], edit: LineEdit) -> str:
    """Apply ``edit`` to ``lines`` in place; return what it did."""
    pattern = _check(edit)
    matches = [index for index, text in enumerate(lines) if pattern.search(text)]
    if matches:
        last = matches[-1]
        if lines[last] == edit.line:
            return "unchanged"
        lines[last] = edit.line
        return "replaced"
    if edit.line in lines:
        return "unchanged"
    lines.append(edit.line)
    return "appended"


def apply_edits(text: str, edits: list[LineEdit]) -> tuple[str, list[EditResult]]:
    """The file's new text after every edit, in order, and what each edit did.

    A text that ends without a newline gets one before an appended line (as lineinfile).
    """
    lines = text.splitlines()
    results = [EditResult(edit.line, _apply_one(lines, edit)) for edit in edits]
    if all(result.action == "unchanged" for result in results):
        return text, results
    return "\n".join(lines) + "\n", results
