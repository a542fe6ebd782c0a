"""The workstation written once: one list for the role and the pyinfra deploy, one printer check.

The role (roles/workstation) and the deploy (deploys/workstation.py) apply the entries of
roles/workstation/vars/main.yml (files, services and timers, each with its concern) and the
commands of roles/workstation/handlers/main.yml; storeops.workstation.manifest reads them
for the deploy and refuses what the two would read differently. Here: the list and the
role's files agree, both paths apply every concern at the same place, the role's tasks loop
over the list, and the printer check of both is one function. The deploy's own operations
are checked under pyinfra in test_workstation_deploy.py; nothing here runs Ansible or
contacts a host.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml

from storeops.workstation.commands import LPSTAT_COMMAND, lpadmin_queue, printer_commands
from storeops.workstation.manifest import (
    CONCERNS,
    ManifestError,
    load_handlers,
    load_manifest,
)
from tests.conftest import REPO

ROLE = REPO / "roles" / "workstation"
PRINTER = {
    "name": "sh01-office",
    "uri": "ipp://10.77.1.110/ipp/print",
    "driver": "everywhere",
    "location": None,
    "description": None,
}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _tasks_by_name(path: Path) -> dict[str, dict[str, Any]]:
    """Every task of a task file by name, those inside blocks too."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(_yaml(path))
    while pending:
        task = pending.pop(0)
        found[task["name"]] = task
        pending += task.get("block", [])
    return found


# ---------------------------------------------------------------------------- the list


def test_every_file_has_its_template_and_every_template_is_a_file() -> None:
    manifest = load_manifest()
    templates = {
        str(path.relative_to(ROLE / "templates")) for path in (ROLE / "templates").rglob("*.j2")
    }
    assert sorted(file.template for file in manifest.workstation_files) == sorted(templates)
    assert {file.concern for file in manifest.workstation_files} <= set(CONCERNS)


def test_the_deploy_runs_the_commands_of_the_roles_handlers() -> None:
    handlers = _yaml(ROLE / "handlers" / "main.yml")
    assert load_handlers() == {
        h["name"]: h.get("ansible.builtin.command", "systemctl daemon-reload") for h in handlers
    }
    reloads = [h for h in handlers if "ansible.builtin.command" not in h]
    assert [h["ansible.builtin.systemd_service"] for h in reloads] == [{"daemon_reload": True}]
    notified = {file.notify for file in load_manifest().workstation_files if file.notify}
    assert notified == set(load_handlers())  # every handler serves a file


@pytest.fixture
def role_copy(tmp_path: Path) -> Path:
    """A roles directory with a copy of the workstation role; returns the roles directory."""
    shutil.copytree(ROLE, tmp_path / "roles" / "workstation")
    return tmp_path / "roles"


def _edit_vars(roles: Path, **changes: Any) -> None:
    path = roles / "workstation" / "vars" / "main.yml"
    data = _yaml(path)
    data["workstation_files"][0].update(changes)
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"concern": "wallpaper"}, "concern"),
        ({"notify": "Restart the world"}, "no such handler"),
        ({"dest": "/etc/sudoers.d/other"}, "no template"),
        ({"mode": 440}, "mode"),
        ({"dest": "/etc/{{ plan.store }}.conf"}, "a template"),
        ({"validate": "visudo -cf"}, "%s"),
        ({"user": "root"}, "user"),
        ({"title": "Sudo tier\nof it-admin"}, "control characters"),
        ({"owner": "root\n"}, "control characters"),
    ],
)
def test_an_entry_the_two_could_read_differently_is_refused(
    role_copy: Path, changes: dict[str, Any], named: str
) -> None:
    _edit_vars(role_copy, **changes)
    with pytest.raises(ManifestError, match=r"vars/main\.yml") as refused:
        load_manifest(role_copy)
    assert named in str(refused.value)


def test_a_handler_the_deploy_could_not_run_is_refused(role_copy: Path) -> None:
    path = role_copy / "workstation" / "handlers" / "main.yml"
    handlers = _yaml(path)
    handlers[0] = {"name": handlers[0]["name"], "ansible.builtin.systemd_service": {}}
    path.write_text(yaml.safe_dump(handlers))
    with pytest.raises(
        ManifestError, match=r"a handler is a name and one ansible\.builtin\.command"
    ):
        load_manifest(role_copy)


# ---------------------------------------------------------------------------- both paths


def _role_concerns() -> list[str]:
    """The concerns tasks/main.yml applies (files.yml imports), in its order."""
    return [
        task["vars"]["workstation_concern"]
        for task in _yaml(ROLE / "tasks" / "main.yml")
        if task.get("ansible.builtin.import_tasks") == "files.yml"
    ]


def _deploy_concerns() -> list[str]:
    """The concerns deploys/workstation.py applies (apply_concern calls), in its order."""
    tree = ast.parse((REPO / "deploys" / "workstation.py").read_text())
    return [
        str(call.args[0].value)
        for statement in tree.body
        if isinstance(statement, ast.Expr) and isinstance(call := statement.value, ast.Call)
        if isinstance(call.func, ast.Name) and call.func.id == "apply_concern"
        if isinstance(call.args[0], ast.Constant)
    ]


def test_the_role_and_the_deploy_apply_every_concern_in_the_same_order() -> None:
    assert _role_concerns() == list(CONCERNS)
    assert _deploy_concerns() == list(CONCERNS)


def test_the_roles_tasks_loop_over_the_list() -> None:
    """What an entry says reaches its task: a new entry needs no task of its own."""
    tasks = _tasks_by_name(ROLE / "tasks" / "files.yml")
    block = next(task for task in tasks.values() if "block" in task)
    assert block["vars"]["workstation_concern_files"].strip() == (
        "{{ workstation_files | selectattr('concern', 'eq', workstation_concern) | list }}"
    )
    template = tasks["Files of {{ workstation_concern }}"]
    assert template["loop"] == "{{ workstation_concern_files }}"
    assert template["ansible.builtin.template"] == {
        "src": "{{ item.dest | regex_replace('^/', '') }}.j2",
        "dest": "{{ item.dest }}",
        "owner": "{{ item.owner }}",
        "group": "{{ item.group }}",
        "mode": "{{ item.mode }}",
        "validate": "{{ item.validate | default(omit) }}",
    }
    assert template["notify"] == "{{ item.notify | default([]) }}"
    services = tasks["Services and timers of {{ workstation_concern }}"]
    assert services["loop"] == (
        "{{ workstation_services | selectattr('concern', 'eq', workstation_concern) | list }}"
    )
    assert services["ansible.builtin.systemd_service"] == {
        "name": "{{ item.name }}",
        "enabled": "{{ item.enabled }}",
        "state": "{{ item.state }}",
    }


def test_the_play_is_the_role() -> None:
    (_, play) = _yaml(REPO / "playbooks" / "workstation.yml")
    assert play["roles"] == [{"role": "workstation"}]
    assert "tasks" not in play


# ---------------------------------------------------------------------------- the printer


def test_the_printer_check_asks_only_for_what_is_missing() -> None:
    queue = lpadmin_queue(PRINTER)
    default = ["lpadmin", "-d", "sh01-office"]
    bare: dict[str, Any] = {"queues": {}, "default": None}
    assert printer_commands(bare, PRINTER) == [queue, default]
    moved = {"queues": {"sh01-office": "ipp://10.77.1.99/ipp/print"}, "default": "sh01-office"}
    assert printer_commands(moved, PRINTER) == [queue]
    other_default = {"queues": {"sh01-office": PRINTER["uri"]}, "default": "pdf"}
    assert printer_commands(other_default, PRINTER) == [default]
    done = {"queues": {"sh01-office": PRINTER["uri"]}, "default": "sh01-office"}
    assert printer_commands(done, PRINTER) == []


def _action_plugin() -> ModuleType:
    path = REPO / "action_plugins" / "workstation_printer_queue.py"
    spec = importlib.util.spec_from_file_location("workstation_printer_queue_action", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Connection:
    """What ActionBase reads of a connection (the commands go through execute below)."""

    _shell = SimpleNamespace(tmpdir="/tmp/ansible-remote")


class _Task:
    """What ActionBase reads of a task."""

    def __init__(self, check_mode: bool) -> None:
        self.args = {"printer": PRINTER}
        self.check_mode = check_mode
        self.diff = True
        self.async_val = 0


def _run_action(lpstat: list[str], check_mode: bool) -> tuple[dict[str, Any], list[str]]:
    """The action against a host whose lpstat says ``lpstat``: its result, the commands run."""
    plugin = _action_plugin().ActionModule
    action = plugin(_Task(check_mode), _Connection(), None, None, None, None)
    ran: list[str] = []

    def execute(command: str, sudoable: bool = True) -> dict[str, Any]:
        ran.append(command)
        out = "\n".join(lpstat) if command == LPSTAT_COMMAND else ""
        return {"rc": 0, "stdout": out, "stderr": ""}

    action._low_level_execute_command = execute
    return action.run(task_vars={}), ran


def test_the_roles_printer_action_runs_the_same_check() -> None:
    bare, ran = _run_action([], check_mode=False)
    assert bare["changed"] is True
    assert ran == [LPSTAT_COMMAND, *bare["commands"]]
    assert bare["commands"] == [" ".join(lpadmin_queue(PRINTER)), "lpadmin -d sh01-office"]

    checked, ran = _run_action(["no system default destination"], check_mode=True)
    assert checked["changed"] is True and ran == [LPSTAT_COMMAND]  # check mode runs nothing
    assert checked["diff"] == {
        "before": "queue sh01-office: none\ndefault: None\n",
        "after": f"queue sh01-office: {PRINTER['uri']}\ndefault: sh01-office\n",
    }

    done_lines = [
        f"device for sh01-office: {PRINTER['uri']}",
        "system default destination: sh01-office",
    ]
    done, ran = _run_action(done_lines, check_mode=False)
    assert done["changed"] is False and done["commands"] == [] and ran == [LPSTAT_COMMAND]
