"""sudoers files read the way sudo reads them, for the hardening role and the audit.

One parser for both: the role's sudo control (roles/hardening/filter_plugins/
hardening_sudoers.py) removes a rule for one user once a group carries it, and the audit
(tests/testinfra/test_hardening.py) fails a host where any rule grants sudo to users
rather than groups. Runs on the controller, on the text of files read from the host.
"""

from __future__ import annotations

import re
from typing import Any

# Lines that are not user specifications: defaults, aliases, includes.
_NOT_A_RULE = re.compile(
    r"^(Defaults\b|User_Alias\b|Runas_Alias\b|Host_Alias\b|Cmnd_Alias\b|Cmd_Alias\b"
    r"|[#@]include(dir)?\b)"
)
# A User_Alias name: upper case, digits and underscores (user names are lower case).
_ALIAS = re.compile(r"[A-Z][A-Z0-9_]*")
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


def user_aliases(text: str) -> dict[str, list[str]]:
    """Return the User_Alias definitions of a sudoers file's text: name -> its members."""
    aliases: dict[str, list[str]] = {}
    for line, _ in _logical_lines(text):
        stripped = line.strip()
        if not stripped.startswith("User_Alias"):
            continue
        for definition in stripped.removeprefix("User_Alias").split(":"):
            name, _, listed = definition.partition("=")
            aliases[name.strip()] = [m.strip() for m in listed.split(",") if m.strip()]
    return aliases


def _users(principal: str, aliases: dict[str, list[str]]) -> list[str]:
    """The users a principal names: itself (a user, #uid or ALL: everyone), the users of a
    User_Alias defined in the same file; none for a group, netgroup or negation."""
    if principal.startswith(("%", "+", "!")):
        return []
    if principal == "ALL":
        return ["ALL"]
    if _ALIAS.fullmatch(principal):
        return [u for m in aliases.get(principal, []) for u in _users(m, {})]
    return [principal]


def sudoers_user_rules(text: str, path: str) -> list[dict[str, Any]]:
    """Return the rules that grant sudo to users rather than groups in one sudoers file.

    Each: path, line (the exact line, for removal), users (the users its principal list
    names, User_Aliases of the same file expanded; ``ALL`` for everyone), rule (what
    follows the principal) and single (the principal is one user, by name or #uid, and
    the rule one line of the file, so the line can be removed once that user holds the
    rule through a group). Rules for groups (%), netgroups (+) only are not user rules.
    """
    aliases = user_aliases(text)
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
        users = [user for principal in principals for user in _users(principal, aliases)]
        if not users:
            continue
        rules.append(
            {
                "path": path,
                "line": line,
                "users": users,
                "rule": spec.group(2),
                "single": len(principals) == 1
                and principals[0] != "ALL"
                and not _ALIAS.fullmatch(principals[0])
                and not continued,
            }
        )
    return rules


def single_user_rules(text: str, exempt: frozenset[str] = frozenset({"root"})) -> list[str]:
    """The lines of a sudoers file's text that grant sudo to a user rather than a group
    (users in ``exempt`` aside): what the audit reports."""
    return [
        rule["line"].strip()
        for rule in sudoers_user_rules(text, "")
        if any(user not in exempt for user in rule["users"])
    ]
