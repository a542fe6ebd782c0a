"""Filters of the hardening role that read sudoers files (run on the controller).

The sudo control (tasks/sudo.yml) slurps /etc/sudoers and /etc/sudoers.d/* from the host
and asks these filters which lines are rules for a single user, and whether a group the
role manages carries the same rights, before it removes any such line.
"""

from __future__ import annotations

import base64
import re
from typing import Any

# Lines that are not user specifications: defaults, aliases, includes.
_NOT_A_RULE = re.compile(
    r"^(Defaults\b|User_Alias\b|Runas_Alias\b|Host_Alias\b|Cmnd_Alias\b|Cmd_Alias\b"
    r"|[#@]include(dir)?\b)"
)
# A User_Alias name: upper case, digits and underscores (user names are lower case).
_ALIAS = re.compile(r"^[A-Z][A-Z0-9_]*$")
# A comment: '#' not followed by a (negative) number, which is a user or group ID.
_COMMENT = re.compile(r"#(?!-?\d)")
# A user specification: its principal list (names joined by commas, with or without blanks
# around them), blanks, and the rule.
_USER_SPEC = re.compile(r"([^\s,]+(?:\s*,\s*[^\s,]+)*)\s+(\S.*)")
# Sudoers punctuation outside a word (not escaped by '\'): blanks around it do not count.
_PUNCTUATION = re.compile(r" ?((?<!\\)[=,:()]) ?")


def _logical_lines(text: str) -> list[tuple[str, bool]]:
    """Return the sudoers text as logical lines, continuations (a trailing \\) joined.

    Each: the line, and whether it was joined from several lines of the file. sudo reads a
    comment to the end of its line: a trailing \\ there continues nothing.
    """
    lines: list[tuple[str, bool]] = []
    pending = ""
    for raw in text.splitlines():
        comment = not pending and _COMMENT.match(raw.lstrip()) is not None
        if raw.rstrip().endswith("\\") and not comment:
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append((pending + raw, bool(pending)))
        pending = ""
    if pending:
        lines.append((pending, True))
    return lines


def normalize_rule(rule: str) -> str:
    """Return a sudoers rule (what follows its principal) with its spacing normalised.

    Two rules that differ only in spacing ("NOPASSWD: ALL" and "NOPASSWD:ALL") compare
    equal; anything else (a runas list, a command) makes them differ. Blanks between words
    (a command and its arguments) are one space, not none: "/bin/ls -l /tmp" is not
    "/bin/ls -l/tmp".
    """
    return _PUNCTUATION.sub(r"\1", " ".join(rule.split()))


def sudoers_user_rules(text: str, path: str) -> list[dict[str, Any]]:
    """Return the rules for single users in one sudoers file's text.

    Each: path, line (the exact line, for removal), users (the user names of its
    principal list), rule (what follows the principal) and single (the principal is one
    user and the rule one line of the file, so the line can be removed once that user
    holds the rule through a group).
    Group (%), netgroup (+) and User_Alias principals are not user rules.
    """
    rules: list[dict[str, Any]] = []
    for line, continued in _logical_lines(text):
        stripped = line.strip()
        if not stripped or _NOT_A_RULE.match(stripped):
            continue
        if _COMMENT.match(stripped):
            continue  # a comment (#<uid> is a user given by UID)
        spec = _USER_SPEC.fullmatch(stripped)
        if spec is None:
            continue
        principals = [p.strip() for p in spec.group(1).split(",") if p.strip()]
        users = [p for p in principals if not p.startswith(("%", "+", "!")) and not _ALIAS.match(p)]
        if not users:
            continue
        rules.append(
            {
                "path": path,
                "line": line,
                "users": users,
                "rule": spec.group(2),
                "single": len(principals) == 1 and not continued,
            }
        )
    return rules


def sudoers_files_user_rules(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the user rules of every file an ansible.builtin.slurp loop read.

    results: the loop's results, each with item (the path) and content (base64); a file
    that was not read (skipped) has no content and no rules.
    """
    rules: list[dict[str, Any]] = []
    for result in results:
        if "content" not in result:
            continue
        text = base64.b64decode(result["content"]).decode("utf-8", errors="replace")
        rules.extend(sudoers_user_rules(text, str(result["item"])))
    return rules


def sudo_group_members(
    getent_group: dict[str, list[str]], groups: list[dict[str, Any]], planned: bool
) -> dict[str, list[str]]:
    """Return each managed group's members: from the group database, plus the planned ones.

    getent_group: name -> [password, GID, members] (ansible.builtin.getent); groups:
    hardening_sudo_groups; planned: count the members the role would add as members
    already (check mode, where they are not added).
    """
    members: dict[str, list[str]] = {}
    for group in groups:
        name = str(group["name"])
        entry = getent_group.get(name) or ["", "", ""]
        current = [m for m in str(entry[2] or "").split(",") if m]
        members[name] = current + ([str(m) for m in group["members"]] if planned else [])
    return members


def sudoers_removable(
    rules: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    members: dict[str, list[str]],
    exempt: list[str],
) -> list[dict[str, Any]]:
    """Return the user rules that a managed group already carries for their user.

    rules: from sudoers_user_rules; groups: hardening_sudo_groups (name, rule); members:
    group name -> its members as the host's group database lists them now; exempt: users
    whose rules stay. A rule is removable when it names one user, the user is not exempt,
    and the user is a member of a managed group whose rule is the same.
    """
    removable = []
    for rule in rules:
        if not rule["single"] or rule["users"][0] in exempt:
            continue
        user = rule["users"][0]
        wanted = normalize_rule(rule["rule"])
        if any(
            normalize_rule(str(group["rule"])) == wanted
            and user in members.get(str(group["name"]), [])
            for group in groups
        ):
            removable.append(rule)
    return removable


class FilterModule:
    """The hardening role's sudoers filters."""

    def filters(self) -> dict[str, Any]:
        """Name the filters for Ansible."""
        return {
            "hardening_sudoers_user_rules": sudoers_user_rules,
            "hardening_sudoers_removable": sudoers_removable,
            "hardening_sudoers_files_user_rules": sudoers_files_user_rules,
            "hardening_sudo_group_members": sudo_group_members,
        }
