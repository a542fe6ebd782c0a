"""The hardening role's sudoers filters (roles/hardening/filter_plugins/hardening_sudoers.py) and
the sudoers parser they share with the audit (storeops.compliance.sudoers).

tasks/sudo.yml slurps /etc/sudoers and /etc/sudoers.d/* and removes a line that grants sudo
to one user only when that user is a member of a managed group carrying the same rule. The
filters edit sudoers on production hosts: a line they wrongly call removable takes rights
away (the automation account's included), so every case where a rule must stay is tested.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import REPO, load_plugin

PLUGIN = REPO / "roles" / "hardening" / "filter_plugins" / "hardening_sudoers.py"


Rule = dict[str, Any]
plugin = load_plugin("storeops_test_hardening_sudoers", PLUGIN)
normalize_rule: Callable[[str], str] = plugin.normalize_rule
sudoers_user_rules: Callable[[str, str], list[Rule]] = plugin.sudoers_user_rules
sudoers_files_user_rules: Callable[[list[dict[str, Any]]], list[Rule]] = (
    plugin.sudoers_files_user_rules
)
sudo_group_members: Callable[
    [dict[str, list[str]], list[dict[str, Any]], bool], dict[str, list[str]]
] = plugin.sudo_group_members
sudoers_removable: Callable[
    [list[Rule], list[dict[str, Any]], dict[str, list[str]], list[str]], list[Rule]
] = plugin.sudoers_removable

PATH = "/etc/sudoers.d/legacy"
AUTOMATION_RULE = "ALL=(ALL) NOPASSWD:ALL"
# hardening_sudo_groups as the role's defaults give it, plus a second group.
GROUPS: list[dict[str, Any]] = [
    {"name": "storeops-automation", "rule": AUTOMATION_RULE, "members": ["storeops"]},
    {"name": "storeops-ops", "rule": "ALL=(root) /usr/bin/systemctl", "members": ["olga"]},
]
MEMBERS = {"storeops-automation": ["storeops", "alice"], "storeops-ops": ["olga"]}
EXEMPT = ["root"]

# Debian 12's /etc/sudoers, as the package installs it.
DEBIAN_SUDOERS = """\
#
# This file MUST be edited with the 'visudo' command as root.
#
# See the man page for details on how to write a sudoers file.
#
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# This fixes CVE-2005-4890 and possibly breaks some versions of kdesu
Defaults\tuse_pty

# Host alias specification

# User alias specification

# User privilege specification
root\tALL=(ALL:ALL) ALL

# Allow members of group sudo to execute any command
%sudo\tALL=(ALL:ALL) ALL

# See sudoers(5) for more information on "@include" directives:

@includedir /etc/sudoers.d
"""


def _rule(line: str, *, path: str = PATH) -> Rule:
    """The one user rule that sudoers_user_rules finds in a single line."""
    rules = sudoers_user_rules(line + "\n", path)
    assert len(rules) == 1, rules
    return rules[0]


def _removable(text: str, members: dict[str, list[str]] = MEMBERS) -> list[str]:
    """The lines of text that the role would remove."""
    rules = sudoers_user_rules(text, PATH)
    return [rule["line"] for rule in sudoers_removable(rules, GROUPS, members, EXEMPT)]


# ---------------------------------------------------------------------------- normalize_rule


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("ALL=(ALL) NOPASSWD:ALL", "ALL=(ALL) NOPASSWD: ALL"),
        ("ALL=(ALL) NOPASSWD:ALL", "ALL = (ALL) NOPASSWD : ALL"),
        ("ALL=(ALL) NOPASSWD:ALL", "ALL=(ALL)NOPASSWD:ALL"),
        ("ALL=(ALL) NOPASSWD:ALL", "  ALL=( ALL )\tNOPASSWD:\tALL  "),
        ("ALL=(ALL:ALL) ALL", "ALL=(ALL : ALL) ALL"),
        ("ALL=(root) /bin/ls, /bin/cat", "ALL=(root) /bin/ls,/bin/cat"),
        ("ALL=(root) /bin/ls, /bin/cat", "ALL=(root) /bin/ls ,  /bin/cat"),
        (
            "ALL=(root) /usr/bin/systemctl restart nginx",
            "ALL=(root)  /usr/bin/systemctl  restart\tnginx",
        ),
    ],
)
def test_rules_differing_only_in_spacing_normalise_the_same(one: str, other: str) -> None:
    assert normalize_rule(one) == normalize_rule(other)


def test_a_normalised_rule_has_no_blank_around_punctuation() -> None:
    assert normalize_rule(" ALL = ( ALL : ALL )  NOPASSWD :  ALL ") == "ALL=(ALL:ALL)NOPASSWD:ALL"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("ALL=(ALL) NOPASSWD:ALL", "ALL=(ALL) ALL"),  # a password now
        ("ALL=(ALL) NOPASSWD:ALL", "ALL=(root) NOPASSWD:ALL"),  # another runas list
        ("ALL=(ALL) NOPASSWD:ALL", "ALL=(ALL:ALL) NOPASSWD:ALL"),
        ("ALL=(ALL) NOPASSWD:ALL", "web01=(ALL) NOPASSWD:ALL"),  # another host
        ("ALL=(ALL) NOPASSWD:ALL", "ALL=(ALL) NOPASSWD:/bin/ls"),  # another command
        ("ALL=(root) /bin/ls", "ALL=(root) /bin/ls, /bin/cat"),
        # Blanks between a command and its arguments separate words.
        ("ALL=(root) /bin/ls -l /tmp", "ALL=(root) /bin/ls -l/tmp"),
        (
            "ALL=(root) /usr/bin/systemctl restart nginx",
            "ALL=(root) /usr/bin/systemctlrestart nginx",
        ),
        # An escaped comma is part of an argument: the blank after it separates two.
        ("ALL=(root) /bin/echo a\\, b", "ALL=(root) /bin/echo a\\,b"),
    ],
)
def test_rules_with_other_rights_normalise_differently(one: str, other: str) -> None:
    assert normalize_rule(one) != normalize_rule(other)


# ---------------------------------------------------------------------------- user rules


def test_a_single_user_rule() -> None:
    assert sudoers_user_rules("storeops ALL=(ALL) NOPASSWD:ALL\n", PATH) == [
        {
            "path": PATH,
            "line": "storeops ALL=(ALL) NOPASSWD:ALL",
            "users": ["storeops"],
            "rule": "ALL=(ALL) NOPASSWD:ALL",
            "single": True,
        }
    ]


def test_debian_sudoers_has_root_as_its_only_user_rule() -> None:
    rules = sudoers_user_rules(DEBIAN_SUDOERS, "/etc/sudoers")
    assert rules == [
        {
            "path": "/etc/sudoers",
            "line": "root\tALL=(ALL:ALL) ALL",
            "users": ["root"],
            "rule": "ALL=(ALL:ALL) ALL",
            "single": True,
        }
    ]


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "# alice ALL=(ALL) ALL",
        "#alice ALL=(ALL) ALL",
        "   # alice ALL=(ALL) ALL",
        "#",
        "Defaults env_reset",
        "Defaults:alice !requiretty",
        "Defaults@web01 log_output",
        "Defaults>root !set_logname",
        "Defaults!/usr/bin/less noexec",
        "  Defaults use_pty",
        "User_Alias ADMINS = alice, bob",
        "Runas_Alias OP = root, operator",
        "Host_Alias WEB = web01, web02",
        "Cmnd_Alias PAGERS = /usr/bin/less, /usr/bin/more",
        "Cmd_Alias PAGERS = /usr/bin/less",
        "#include /etc/sudoers.local",
        "#includedir /etc/sudoers.d",
        "@include /etc/sudoers.local",
        "@includedir /etc/sudoers.d",
        "%sudo ALL=(ALL:ALL) ALL",
        "%storeops-automation ALL=(ALL) NOPASSWD:ALL",
        "%:domain_admins ALL=(ALL) ALL",  # a non-Unix group
        "%#1001 ALL=(ALL) ALL",  # a group by GID
        "+admins ALL=(ALL) ALL",  # a netgroup
        "ADMINS ALL=(ALL) ALL",  # a User_Alias
        "!alice ALL=(ALL) ALL",
        "%sudo, ADMINS ALL=(ALL) ALL",
        "alice",  # no rule (visudo refuses it)
    ],
)
def test_lines_that_are_no_user_rule(line: str) -> None:
    assert sudoers_user_rules(line + "\n", PATH) == []


def test_a_user_alias_of_the_file_is_expanded_and_never_single() -> None:
    text = (
        "User_Alias ADMINS = alice, %wheel, #1002 : CLERKS = %sales\n"
        "ADMINS ALL=(ALL) ALL\n"
        "CLERKS ALL=(root) /usr/bin/lpq\n"
    )
    rules = sudoers_user_rules(text, PATH)
    assert [(rule["users"], rule["single"]) for rule in rules] == [(["alice", "#1002"], False)]


def test_a_user_given_by_uid_is_a_user_rule() -> None:
    rule = _rule("#1001 ALL=(ALL) NOPASSWD:ALL")
    assert rule["users"] == ["#1001"]
    assert rule["single"] is True


def test_the_line_is_kept_exactly_as_in_the_file() -> None:
    # lineinfile removes the line that equals it: indentation and tabs stay as they are.
    rule = _rule("  storeops\tALL = (ALL)   NOPASSWD: ALL")
    assert rule["line"] == "  storeops\tALL = (ALL)   NOPASSWD: ALL"
    assert rule["rule"] == "ALL = (ALL)   NOPASSWD: ALL"


def test_crlf_line_ends_are_not_part_of_the_line() -> None:
    rules = sudoers_user_rules("storeops ALL=(ALL) NOPASSWD:ALL\r\nalice ALL=(ALL) ALL\r\n", PATH)
    assert [rule["line"] for rule in rules] == [
        "storeops ALL=(ALL) NOPASSWD:ALL",
        "alice ALL=(ALL) ALL",
    ]


def test_a_rule_with_several_hosts_and_commands_is_one_rule() -> None:
    rule = _rule("alice web01, web02 = (root) /bin/ls, /bin/cat : db01 = (ALL) NOPASSWD: ALL")
    assert rule["users"] == ["alice"]
    assert rule["rule"] == "web01, web02 = (root) /bin/ls, /bin/cat : db01 = (ALL) NOPASSWD: ALL"
    assert rule["single"] is True


@pytest.mark.parametrize(
    "line",
    [
        "alice,bob ALL=(ALL) ALL",
        "alice, bob ALL=(ALL) ALL",
        "alice ,bob ALL=(ALL) ALL",
        "alice , bob\tALL=(ALL) ALL",
    ],
)
def test_a_rule_for_several_users_is_not_single(line: str) -> None:
    rule = _rule(line)
    assert rule["users"] == ["alice", "bob"]
    assert rule["rule"] == "ALL=(ALL) ALL"
    assert rule["single"] is False


@pytest.mark.parametrize(
    ("line", "users"),
    [
        ("alice, %admin ALL=(ALL) ALL", ["alice"]),
        ("%admin, alice ALL=(ALL) ALL", ["alice"]),
        ("alice, ADMINS ALL=(ALL) ALL", ["alice"]),
        ("alice, +admins ALL=(ALL) ALL", ["alice"]),
        ("ALL, !bob ALL=(ALL) ALL", ["ALL"]),
        ("ALL ALL=(ALL) ALL", ["ALL"]),
    ],
)
def test_users_among_groups_and_aliases(line: str, users: list[str]) -> None:
    rules = sudoers_user_rules(line + "\n", PATH)
    assert [rule["users"] for rule in rules] == ([users] if users else [])
    assert all(rule["single"] is False for rule in rules)


@pytest.mark.parametrize("blanks", ["", " ", "  \t"])
def test_a_continued_rule_is_one_rule_that_is_not_single(blanks: str) -> None:
    text = f"alice ALL=(ALL) \\{blanks}\n    NOPASSWD: ALL\nbob ALL=(ALL) ALL\n"
    rules = sudoers_user_rules(text, PATH)
    assert [(rule["users"], rule["single"]) for rule in rules] == [
        (["alice"], False),
        (["bob"], True),
    ]
    assert normalize_rule(rules[0]["rule"]) == normalize_rule("ALL=(ALL) NOPASSWD: ALL")
    assert rules[1]["line"] == "bob ALL=(ALL) ALL"


def test_a_principal_list_continued_over_lines() -> None:
    rules = sudoers_user_rules("alice, \\\n  bob ALL=(ALL) ALL\n", PATH)
    assert [(rule["users"], rule["single"]) for rule in rules] == [(["alice", "bob"], False)]


def test_a_continuation_on_the_last_line_of_the_file() -> None:
    rules = sudoers_user_rules("alice ALL=(ALL) \\\n", PATH)
    assert [(rule["users"], rule["single"]) for rule in rules] == [(["alice"], False)]


@pytest.mark.parametrize(
    "head",
    [
        'Defaults secure_path="/usr/sbin:\\\n    /usr/bin"',
        "Cmnd_Alias PAGERS = /usr/bin/less, \\\n    /usr/bin/more",
        "User_Alias ADMINS = alice, \\\n    bob",
        "%admin ALL=(ALL) \\\n    ALL",
    ],
)
def test_a_continued_line_ends_where_its_continuation_ends(head: str) -> None:
    rules = sudoers_user_rules(f"{head}\nstoreops ALL=(ALL) NOPASSWD:ALL\n", PATH)
    assert [(rule["line"], rule["single"]) for rule in rules] == [
        ("storeops ALL=(ALL) NOPASSWD:ALL", True)
    ]


@pytest.mark.parametrize(
    "comment",
    ["# the automation account \\", "#\\", "  # indented \\  ", "#includedir /etc/sudoers.d \\"],
)
def test_a_comment_ending_in_a_backslash_continues_nothing(comment: str) -> None:
    # sudo reads a comment to the end of its line, backslash included: the next line is a
    # rule of its own.
    rules = sudoers_user_rules(f"{comment}\nstoreops ALL=(ALL) NOPASSWD:ALL\n", PATH)
    assert [(rule["line"], rule["single"]) for rule in rules] == [
        ("storeops ALL=(ALL) NOPASSWD:ALL", True)
    ]


def test_rules_keep_the_order_of_the_file() -> None:
    text = "carol ALL=(ALL) ALL\n%admin ALL=(ALL) ALL\nalice ALL=(ALL) ALL\nbob ALL=(ALL) ALL\n"
    assert [rule["users"] for rule in sudoers_user_rules(text, PATH)] == [
        ["carol"],
        ["alice"],
        ["bob"],
    ]


# ---------------------------------------------------------------------------- slurped files


def _slurped(path: str, content: bytes) -> dict[str, Any]:
    """One result of the role's slurp loop."""
    return {
        "item": path,
        "content": base64.b64encode(content).decode(),
        "encoding": "base64",
        "source": path,
        "changed": False,
    }


def test_the_user_rules_of_every_slurped_file() -> None:
    results = [
        _slurped("/etc/sudoers", DEBIAN_SUDOERS.encode()),
        _slurped("/etc/sudoers.d/README", b"# sudo skips files with a '.' or a '~'\n"),
        _slurped("/etc/sudoers.d/storeops", b"storeops ALL=(ALL) NOPASSWD:ALL\n"),
    ]
    rules = sudoers_files_user_rules(results)
    assert [(rule["path"], rule["users"]) for rule in rules] == [
        ("/etc/sudoers", ["root"]),
        ("/etc/sudoers.d/storeops", ["storeops"]),
    ]


def test_a_file_not_read_has_no_rules() -> None:
    skipped = {"item": "/etc/sudoers", "skipped": True, "changed": False}
    assert sudoers_files_user_rules([skipped]) == []
    assert sudoers_files_user_rules([]) == []


def test_a_file_that_is_not_utf8_is_read() -> None:
    results = [_slurped(PATH, b"# caf\xe9\nstoreops ALL=(ALL) NOPASSWD:ALL\n")]
    assert [rule["line"] for rule in sudoers_files_user_rules(results)] == [
        "storeops ALL=(ALL) NOPASSWD:ALL"
    ]


# ---------------------------------------------------------------------------- group members


def test_group_members_from_the_group_database() -> None:
    getent = {"storeops-automation": ["x", "1001", "storeops,alice"], "sudo": ["x", "27", "bob"]}
    assert sudo_group_members(getent, GROUPS[:1], False) == {
        "storeops-automation": ["storeops", "alice"]
    }


def test_planned_members_count_in_check_mode() -> None:
    getent = {"storeops-automation": ["x", "1001", "alice"]}
    assert sudo_group_members(getent, GROUPS[:1], True) == {
        "storeops-automation": ["alice", "storeops"]
    }


@pytest.mark.parametrize(
    "getent",
    [
        {},  # check mode: the group is not created yet
        {"storeops-automation": ["x", "1001", ""]},
        {"storeops-automation": ["x", "1001", None]},
    ],
)
def test_a_group_without_members(getent: dict[str, Any]) -> None:
    assert sudo_group_members(getent, GROUPS[:1], False) == {"storeops-automation": []}
    assert sudo_group_members(getent, GROUPS[:1], True) == {"storeops-automation": ["storeops"]}


# ---------------------------------------------------------------------------- removable


@pytest.mark.parametrize(
    "line",
    [
        "storeops ALL=(ALL) NOPASSWD:ALL",
        "storeops ALL = (ALL) NOPASSWD: ALL",
        "storeops\tALL=(ALL)NOPASSWD:ALL",
        "  storeops ALL=(ALL) NOPASSWD:ALL  ",
        "alice ALL=(ALL) NOPASSWD:ALL",
        "olga ALL = (root) /usr/bin/systemctl",
    ],
)
def test_a_member_s_rule_that_its_group_carries_is_removable(line: str) -> None:
    assert _removable(line + "\n") == [line]


@pytest.mark.parametrize(
    "line",
    [
        "storeops ALL=(ALL) ALL",
        "storeops ALL=(ALL:ALL) NOPASSWD:ALL",
        "storeops ALL=(root) NOPASSWD:ALL",
        "storeops web01=(ALL) NOPASSWD:ALL",
        "storeops ALL=(ALL) NOPASSWD:ALL, !/usr/bin/su",
        "storeops ALL=(ALL) NOPASSWD:ALL : web01 = (root) /bin/ls",
        "olga ALL=(root) /usr/bin/systemctl restart nginx",
        "olga ALL=(root) /usr/bin/systemctl, /usr/bin/journalctl",
    ],
)
def test_a_rule_whose_rights_differ_from_the_group_s_stays(line: str) -> None:
    assert _removable(line + "\n") == []


def test_an_inline_comment_keeps_the_rule() -> None:
    # Conservative: the comment is part of the rule text, which no group rule has.
    assert _removable("storeops ALL=(ALL) NOPASSWD:ALL  # the automation account\n") == []


@pytest.mark.parametrize(
    "line",
    [
        "bob ALL=(ALL) NOPASSWD:ALL",  # in no managed group
        "olga ALL=(ALL) NOPASSWD:ALL",  # in a managed group whose rule is another one
        "storeops ALL=(root) /usr/bin/systemctl",  # the rule of a group it is not in
    ],
)
def test_a_rule_of_a_user_not_in_the_group_carrying_it_stays(line: str) -> None:
    assert _removable(line + "\n") == []


def test_a_member_that_the_group_database_lacks_keeps_the_rule() -> None:
    members: dict[str, list[str]] = {"storeops-automation": [], "storeops-ops": []}
    assert _removable("storeops ALL=(ALL) NOPASSWD:ALL\n", members) == []
    assert _removable("storeops ALL=(ALL) NOPASSWD:ALL\n", {}) == []


def test_an_exempt_user_keeps_the_rule() -> None:
    members = {"storeops-automation": ["root", "storeops"]}
    assert _removable("root ALL=(ALL) NOPASSWD:ALL\n", members) == []


def test_root_s_rule_in_debian_sudoers_stays() -> None:
    assert _removable(DEBIAN_SUDOERS) == []


@pytest.mark.parametrize(
    "text",
    [
        "storeops, alice ALL=(ALL) NOPASSWD:ALL\n",
        "storeops,alice ALL=(ALL) NOPASSWD:ALL\n",
        "storeops, %sudo ALL=(ALL) NOPASSWD:ALL\n",
        "storeops ALL=(ALL) \\\n    NOPASSWD:ALL\n",
        "storeops \\\n  ALL=(ALL) NOPASSWD:ALL\n",
    ],
)
def test_a_rule_for_more_than_one_user_or_over_several_lines_stays(text: str) -> None:
    # Removing it would take other principals' rights, or leave half a rule.
    assert _removable(text) == []


@pytest.mark.parametrize(
    "line",
    [
        "%storeops-automation ALL=(ALL) NOPASSWD:ALL",
        "User_Alias AUTOMATION = storeops",
        "AUTOMATION ALL=(ALL) NOPASSWD:ALL",
        "Defaults:storeops !requiretty",
        "# storeops ALL=(ALL) NOPASSWD:ALL",
    ],
)
def test_group_alias_defaults_and_comment_lines_stay(line: str) -> None:
    assert _removable(line + "\n") == []


def test_in_a_mixed_file_only_the_carried_single_user_rules_go() -> None:
    text = """\
# legacy rules, before the groups
Defaults:storeops !requiretty
User_Alias DBA = dora, dan
Cmnd_Alias SERVICES = /usr/bin/systemctl, \\
    /usr/bin/journalctl
%storeops-automation ALL=(ALL) NOPASSWD:ALL
storeops ALL=(ALL) NOPASSWD: ALL
alice ALL=(ALL) NOPASSWD:ALL
alice ALL=(ALL) ALL
bob ALL=(ALL) NOPASSWD:ALL
olga ALL=(root) /usr/bin/systemctl
olga ALL=(root) SERVICES
DBA ALL=(postgres) ALL
root ALL=(ALL:ALL) ALL
#includedir /etc/sudoers.d
"""
    removable = _removable(text)
    assert removable == [
        "storeops ALL=(ALL) NOPASSWD: ALL",
        "alice ALL=(ALL) NOPASSWD:ALL",
        "olga ALL=(root) /usr/bin/systemctl",
    ]
    # lineinfile removes lines equal to these: each is a whole line of the file.
    assert set(removable) <= set(text.splitlines())


def test_the_role_s_own_group_file_has_nothing_to_remove() -> None:
    # /etc/sudoers.d/00-storeops-hardening-groups as the role's template writes it.
    text = (
        "# Ansible managed (role hardening, L2-7.1.4.2-a-sudo-groups): local edits are overwritten.\n"
        "# sudo only through named groups: a rule for a single user is removed once its user is a\n"
        "# member of the group below that carries the same rule.\n"
        "# storeops-automation: storeops\n"
        "%storeops-automation ALL=(ALL) NOPASSWD:ALL\n"
    )
    assert sudoers_user_rules(text, "/etc/sudoers.d/00-storeops-hardening-groups") == []


def test_removable_rules_are_returned_whole() -> None:
    rules = sudoers_user_rules("storeops ALL=(ALL) NOPASSWD:ALL\nbob ALL=(ALL) ALL\n", PATH)
    assert sudoers_removable(rules, GROUPS, MEMBERS, EXEMPT) == [rules[0]]


@pytest.mark.parametrize(
    ("check_mode", "removed"), [(False, []), (True, ["/etc/sudoers.d/storeops"])]
)
def test_the_role_s_pipeline_before_storeops_joins_its_group(
    check_mode: bool, removed: list[str]
) -> None:
    # tasks/sudo.yml: slurp -> user rules; getent -> members; then the removable rules.
    # storeops is no member yet: only check mode counts the member the role would add.
    results = [
        _slurped("/etc/sudoers", DEBIAN_SUDOERS.encode()),
        _slurped("/etc/sudoers.d/storeops", b"storeops ALL=(ALL) NOPASSWD:ALL\n"),
    ]
    groups = GROUPS[:1]
    rules = sudoers_files_user_rules(results)
    members = sudo_group_members({}, groups, check_mode)
    removable = sudoers_removable(rules, groups, members, EXEMPT)
    assert [rule["path"] for rule in removable] == removed


# ---------------------------------------------------------------------------- FilterModule


def test_the_filters_ansible_sees() -> None:
    assert plugin.FilterModule().filters() == {
        "hardening_sudoers_user_rules": sudoers_user_rules,
        "hardening_sudoers_removable": sudoers_removable,
        "hardening_sudoers_files_user_rules": sudoers_files_user_rules,
        "hardening_sudo_group_members": sudo_group_members,
    }
