"""Filters of the hardening role that read sudoers files (run on the controller).

The sudo control (tasks/sudo.yml) slurps /etc/sudoers and /etc/sudoers.d/* from the host
and asks these filters which lines are rules for a single user, and whether a group the
role manages carries the same rights, before it removes any such line. The sudoers parser
itself is storeops.compliance.sudoers, the audit's too.
"""

from __future__ import annotations

import base64
from typing import Any

from storeops.compliance.sudoers import normalize_rule, sudoers_user_rules


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
