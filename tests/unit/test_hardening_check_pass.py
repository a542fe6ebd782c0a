"""harden.yml checks every host at once, then hardens only the hosts that differ.

Its first play runs the role in check mode on every host (no batches); every task that
changes something notifies "Hardening differs", whose handler puts the host in a group; the
second play hardens that group one batch at a time. So a task that changes something
without notifying it would leave its drift unrepaired on a multi-host run, and a task that
reads ``ansible_check_mode`` would make its change during the check (a play's own
check_mode does not set that variable): both are caught here, on the files as Ansible loads
them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.unit.test_controls import walk_tasks

ROLE = REPO / "roles" / "hardening"
PLAYBOOK = REPO / "playbooks" / "harden.yml"
TOPIC = "Hardening differs"
GROUP = "hardening_differs"

# Modules that only read, and tasks that are the role's own plumbing: they never report a
# change, so they need not notify.
READ_ONLY = {
    "ansible.builtin.assert",
    "ansible.builtin.find",
    "ansible.builtin.getent",
    "ansible.builtin.import_tasks",
    "ansible.builtin.include_tasks",
    "ansible.builtin.meta",
    "ansible.builtin.set_fact",
    "ansible.builtin.setup",
    "ansible.builtin.slurp",
    "ansible.builtin.stat",
    "shadow_status",
}
NOT_A_MODULE = {
    "name", "tags", "when", "notify", "register", "loop", "loop_control", "vars", "become",
    "check_mode", "changed_when", "failed_when", "diff", "no_log", "listen", "environment",
    "ignore_errors", "block", "rescue", "always", "delegate_to", "run_once", "until",
    "retries", "delay", "args", "_tags", "_when", "_notify",
}  # fmt: skip


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _action(task: dict[str, Any]) -> str:
    keys = [key for key in task if key not in NOT_A_MODULE]
    return keys[0] if keys else ""


def role_tasks(main: Any, files: Path) -> list[dict[str, Any]]:
    """The role's tasks as Ansible loads them: main.yml's blocks opened and its imports
    followed, each task with the notify it inherits."""
    found: list[dict[str, Any]] = []
    for task in walk_tasks(main):
        found.append(task)
        imported = task.get("ansible.builtin.import_tasks")
        if imported:
            found += walk_tasks(_load(files / imported), notify=task["_notify"])
    return found


def changes_without_notice(tasks: list[dict[str, Any]]) -> list[str]:
    """The tasks that can change something and do not notify TOPIC."""
    silent = []
    for task in tasks:
        action = _action(task)
        if "block" in task or action in READ_ONLY:
            continue
        if str(task.get("changed_when")).lower() == "false":
            continue
        if action == "ansible.builtin.debug" and "changed_when" not in task:
            continue
        if TOPIC not in task["_notify"]:
            silent.append(str(task.get("name")))
    return silent


def test_every_task_that_changes_something_notifies_that_the_host_differs() -> None:
    tasks = role_tasks(_load(ROLE / "tasks" / "main.yml"), ROLE / "tasks")
    assert len(tasks) > 100  # the imports were followed
    assert changes_without_notice(tasks) == []


def test_a_task_that_notifies_only_its_own_handler_is_caught(tmp_path: Path) -> None:
    (tmp_path / "ssh.yml").write_text(
        yaml.safe_dump(
            [
                {"name": "ok", "ansible.builtin.template": {}, "notify": ["Reload", TOPIC]},
                {"name": "silent", "ansible.builtin.template": {}, "notify": "Reload"},
                {"name": "read", "ansible.builtin.stat": {}},
                {"name": "no change", "ansible.builtin.command": "x", "changed_when": False},
            ]
        )
    )
    main = [
        {
            "name": "controls",
            "notify": TOPIC,
            "block": [{"name": "ssh", "ansible.builtin.import_tasks": "ssh.yml"}],
        },
        {"name": "after the block", "ansible.builtin.file": {}},
    ]
    assert changes_without_notice(role_tasks(main, tmp_path)) == ["silent", "after the block"]


def test_the_handler_groups_what_the_playbook_hardens() -> None:
    handlers = _load(ROLE / "handlers" / "main.yml")
    marking = [h for h in handlers if h.get("listen") == TOPIC]
    assert len(marking) == 1
    assert marking[0]["ansible.builtin.group_by"]["key"] == GROUP
    assert str(marking[0]["changed_when"]).lower() == "false"

    plays = [play for play in _load(PLAYBOOK) if "hosts" in play]
    check, harden = plays
    assert check["check_mode"] is True
    assert check["vars"]["hardening_check_pass"] is True
    assert "serial" not in check  # every host at once
    # a host sent straight to its run is in the group and leaves the check, on one condition
    straight = [t for t in check["pre_tasks"] if "ansible.builtin.group_by" in t]
    leaves = [t for t in check["pre_tasks"] if t.get("ansible.builtin.meta") == "end_host"]
    assert [t["ansible.builtin.group_by"]["key"] for t in straight] == [GROUP]
    assert [t["when"] for t in leaves] == [straight[0]["when"]]
    assert str(straight[0]["changed_when"]).lower() == "false"  # a no-op run reports none
    assert "not ansible_check_mode" in straight[0]["when"]  # --check checks every host
    assert GROUP in harden["hosts"] and "ansible_check_mode" in harden["hosts"]
    assert harden["serial"] == [1, "50%", "100%"]
    assert harden["max_fail_percentage"] == check["max_fail_percentage"] == 0


@pytest.mark.parametrize("folder", ["tasks", "handlers", "templates"])
def test_the_role_reads_hardening_checking_never_ansible_check_mode(folder: str) -> None:
    """In the check pass ansible_check_mode is false: a command that reports its change
    under --check without making it would make it there."""
    found = [
        str(path.relative_to(ROLE))
        for path in sorted((ROLE / folder).rglob("*"))
        if path.is_file() and "ansible_check_mode" in path.read_text(encoding="utf-8")
    ]
    assert found == []
    variables = _load(ROLE / "vars" / "main.yml")
    assert "ansible_check_mode" in variables["hardening_checking"]
    assert "hardening_check_pass" in variables["hardening_checking"]
