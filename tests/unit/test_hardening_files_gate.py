"""The hardening role's file check (tasks/files.yml) may only skip a control's template task
when it rendered that file exactly as the task would: each file of ``hardening_files`` is the
template that mirrors its path, every template task of the role that uses one is gated on it
(and no other way round: a template task either uses its entry and the gate, or neither),
and no gated template reads what a task of the role registers or sets at run time (the check
runs before those tasks, and would render something else)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import REPO
from tests.unit.test_controls import walk_tasks

ROLE = REPO / "roles" / "hardening"
ENTRY = re.compile(r"hardening_files\.(\w+)")


def _files() -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = yaml.safe_load(
        (ROLE / "vars" / "main.yml").read_text(encoding="utf-8")
    )["hardening_files"]
    return files


def _tasks() -> list[dict[str, Any]]:
    return [
        task
        for path in sorted((ROLE / "tasks").glob("*.yml"))
        for task in walk_tasks(yaml.safe_load(path.read_text(encoding="utf-8")))
    ]


def _when(task: dict[str, Any]) -> list[str]:
    return list(task["_when"])  # its own conditions and its blocks'


def test_each_file_is_the_template_that_mirrors_its_path() -> None:
    for key, entry in _files().items():
        assert entry["src"] == entry["dest"].lstrip("/") + ".j2", key
        assert (ROLE / "templates" / entry["src"]).is_file(), key
        assert re.fullmatch(r"0[0-7]{3}", entry["mode"]), key


def test_every_gated_template_task_uses_its_entry_and_the_check() -> None:
    used: set[str] = set()
    for task in _tasks():
        args = task.get("ansible.builtin.template")
        if args is None:
            continue
        text = yaml.safe_dump({k: task.get(k) for k in ("ansible.builtin.template", "loop")})
        keys = set(ENTRY.findall(text))
        name = task["name"]
        if not keys:
            assert not any("hardening_files_differ" in c for c in _when(task)), name
            continue
        used |= keys
        gated = [c for c in _when(task) if c.endswith(".dest in hardening_files_differ")]
        assert len(gated) == 1, f"{name}: not gated on the file check"
        source = "item" if "loop" in task else f"hardening_files.{keys.pop()}"
        assert gated[0] == f"{source}.dest in hardening_files_differ", name
        for option in ("src", "dest", "mode"):
            assert args[option] == f"{{{{ {source}.{option} }}}}", f"{name}: {option}"
        assert (args["owner"], args["group"]) == ("root", "root"), name  # as the check has them
        assert "vars" not in task, f"{name}: task vars the check would not see"
    assert used == set(_files()), "an entry no task writes, or a task writing no entry"


def test_no_gated_template_reads_what_the_role_sets_at_run_time() -> None:
    runtime = {task["register"] for task in _tasks() if "register" in task}
    for task in _tasks():
        runtime |= set((task.get("ansible.builtin.set_fact") or {}).keys())
    runtime.discard("hardening_files_check")
    assert "hardening_efi" in runtime  # the checker sees the role's registers
    for key, entry in _files().items():
        template = (ROLE / "templates" / entry["src"]).read_text(encoding="utf-8")
        read = set(re.findall(r"\bhardening_\w+", template)) & runtime
        assert not read, f"{key}: its template reads {sorted(read)}, set by a task at run time"
