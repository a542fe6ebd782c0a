"""The catalogue (roles/hardening/meta/controls.yml) holds: every control has its task file,
tasks named ``<ID> | ...`` tagged with the ID and gated by its toggle, its toggle in the
role's defaults (true) and argument_specs, its audit test in
tests/testinfra/test_hardening.py carrying ``@pytest.mark.control("<ID>")``; the README's
table is the generated one. The checker is shown to fail on a mutated copy (a tag, a
toggle, a marker, a gate removed)."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from storeops.compliance.catalogue import Catalogue, Control, load_catalogue
from storeops.compliance.readme import BEGIN, END, table, with_table
from tests.conftest import REPO

ROLE = Path("roles") / "hardening"
CATALOGUE = ROLE / "meta" / "controls.yml"
AUDIT = Path("tests") / "testinfra" / "test_hardening.py"


# ---------------------------------------------------------------------------- the checker


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def walk_tasks(
    tasks: Any,
    tags: tuple[str, ...] = (),
    when: tuple[str, ...] = (),
    notify: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every task of a task file, blocks opened, with the tags and conditions it inherits
    (as ``_tags`` and ``_when``) and the handlers it notifies (``_notify``: its own list,
    else its block's, as Ansible inherits notify)."""
    found: list[dict[str, Any]] = []
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        own_tags = (*tags, *_as_list(task.get("tags")))
        own_when = (*when, *_as_list(task.get("when")))
        own_notify = tuple(_as_list(task["notify"])) if "notify" in task else notify
        found.append({**task, "_tags": own_tags, "_when": own_when, "_notify": own_notify})
        for key in ("block", "rescue", "always"):
            found += walk_tasks(task.get(key), own_tags, own_when, own_notify)
    return found


def _test_markers(path: Path) -> dict[str, list[str]]:
    """test function -> the control IDs of its @pytest.mark.control(...) decorators."""
    markers: dict[str, list[str]] = {}
    if not path.is_file():
        return markers
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            ids = []
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and ast.unparse(decorator.func) == "pytest.mark.control"
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    ids.append(str(decorator.args[0].value))
            markers[node.name] = ids
    return markers


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def _task_problems(root: Path, control: Control) -> list[str]:
    """Its task file exists; tasks named with its ID; each tagged with it, gated by its toggle."""
    cid = control.id
    task_file = root / control.tasks
    if not task_file.is_file():
        return [f"{cid}: no task file {control.tasks}"]
    named = [
        task
        for task in walk_tasks(_yaml(task_file))
        if str(task.get("name", "")).startswith(f"{cid} | ")
    ]
    if not named:
        return [f"{cid}: no task named '{cid} | ...' in {control.tasks}"]
    problems = []
    for task in named:
        if cid not in task["_tags"]:
            problems.append(f"{cid}: task {task['name']!r} not tagged {cid}")
        if not any(re.search(rf"\b{control.toggle}\b", w) for w in task["_when"]):
            problems.append(f"{cid}: task {task['name']!r} not gated by {control.toggle}")
    return problems


def control_problems(root: Path) -> list[str]:
    """What the repository under ``root`` lacks for its catalogue's controls."""
    catalogue = Catalogue.model_validate(_yaml(root / CATALOGUE))
    defaults = _yaml(root / ROLE / "defaults" / "main.yml") or {}
    specs = _yaml(root / ROLE / "meta" / "argument_specs.yml") or {}
    options: set[str] = set()
    for entry in (specs.get("argument_specs") or {}).values():
        options |= set((entry or {}).get("options") or {})
    markers = _test_markers(root / AUDIT)
    problems = []
    for control in catalogue.controls:
        cid = control.id
        problems += _task_problems(root, control)
        if defaults.get(control.toggle) is not True:
            problems.append(f"{cid}: {control.toggle} is not true in defaults/main.yml")
        if control.toggle not in options:
            problems.append(f"{cid}: {control.toggle} not in meta/argument_specs.yml")
        if cid not in markers.get(control.test, []):
            problems.append(f"{cid}: no {control.test} marked control({cid!r}) in {AUDIT}")
    known = catalogue.ids()
    for test, ids in sorted(markers.items()):
        if not ids or not set(ids) <= known:
            problems.append(f"{AUDIT}: {test} proves no control of the catalogue ({ids})")
    return problems


# ---------------------------------------------------------------------------- the repository


def test_catalogue_loads_and_is_strict() -> None:
    catalogue = load_catalogue(REPO / CATALOGUE)
    assert len(catalogue.controls) >= 20
    clauses = {control.clause for control in catalogue.controls}
    assert {"7.1.4.1", "7.1.4.2", "7.1.4.3", "7.1.4.4"} <= clauses


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "L2-7.1.4.1-A-pwquality"),
        ("id", "L2-7.1.4.1-a-pwquality extra"),
        ("clause", "7.1.4.6"),
        ("clause", 7.1),
        ("toggle", "pwquality_enabled"),
        ("tasks", "/etc/passwd"),
        ("test", "check_pwquality"),
        ("unknown", "x"),
    ],
)
def test_catalogue_refuses_a_bad_control(field: str, value: Any) -> None:
    data = _yaml(REPO / CATALOGUE)
    data["controls"][0][field] = value
    with pytest.raises(ValidationError):
        Catalogue.model_validate(data)


def test_catalogue_refuses_an_id_of_another_clause() -> None:
    data = _yaml(REPO / CATALOGUE)
    data["controls"][0]["clause"] = "7.1.4.2"
    with pytest.raises(ValidationError, match="does not start with its clause"):
        Catalogue.model_validate(data)


def test_catalogue_refuses_a_duplicate() -> None:
    data = _yaml(REPO / CATALOGUE)
    data["controls"].append(dict(data["controls"][0]))
    with pytest.raises(ValidationError, match="listed twice"):
        Catalogue.model_validate(data)


def test_every_control_has_task_toggle_tag_and_test() -> None:
    assert control_problems(REPO) == []


def test_readme_table_is_generated_from_the_catalogue() -> None:
    text = (REPO / "README.md").read_text()
    assert BEGIN in text and END in text
    assert with_table(text, load_catalogue(REPO / CATALOGUE)) == text, (
        "README.md's compliance table is out of date: run storeops compliance table"
    )


def test_readme_table_differs_when_the_catalogue_changes() -> None:
    catalogue = load_catalogue(REPO / CATALOGUE)
    data = catalogue.model_dump()
    data["controls"][0]["title"] = "Something else"
    assert table(Catalogue.model_validate(data)) != table(catalogue)


# ---------------------------------------------------------------------------- a mutated copy

MINI_CATALOGUE = """\
controls:
  - id: L2-7.1.4.2-d-umask
    clause: "7.1.4.2"
    title: Default umask 027
    devsec: [os-05]
    toggle: hardening_umask_enabled
    tasks: roles/hardening/tasks/umask.yml
    test: test_umask
"""
MINI_TASKS = """\
- name: L2-7.1.4.2-d-umask | Set UMASK in login.defs
  ansible.builtin.lineinfile:
    path: /etc/login.defs
    regexp: '^UMASK'
    line: UMASK 027
  when: hardening_umask_enabled | bool
  tags: [L2-7.1.4.2-d-umask]

- name: Login shells
  when: hardening_umask_enabled | bool
  tags: [L2-7.1.4.2-d-umask]
  block:
    - name: L2-7.1.4.2-d-umask | Set umask for login shells
      ansible.builtin.copy:
        content: "umask 027\\n"
        dest: /etc/profile.d/umask.sh
        mode: "0644"
"""
MINI_TEST = """\
import pytest

@pytest.mark.control("L2-7.1.4.2-d-umask")
def test_umask(target):
    assert target
"""


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    role = tmp_path / ROLE
    for directory in ("meta", "tasks", "defaults"):
        (role / directory).mkdir(parents=True)
    (tmp_path / CATALOGUE).write_text(MINI_CATALOGUE)
    (role / "tasks" / "umask.yml").write_text(MINI_TASKS)
    (role / "defaults" / "main.yml").write_text("hardening_umask_enabled: true\n")
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n      hardening_umask_enabled: {type: bool}\n"
    )
    (tmp_path / AUDIT).parent.mkdir(parents=True)
    (tmp_path / AUDIT).write_text(MINI_TEST)
    return tmp_path


def _mutate(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_unmutated_copy_passes(mini: Path) -> None:
    assert control_problems(mini) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "roles/hardening/tasks/umask.yml",
            "  tags: [L2-7.1.4.2-d-umask]\n\n- name: Login",
            "\n- name: Login",
            "L2-7.1.4.2-d-umask: task 'L2-7.1.4.2-d-umask | Set UMASK in login.defs' not "
            "tagged L2-7.1.4.2-d-umask",
        ),
        (
            "roles/hardening/tasks/umask.yml",
            "- name: Login shells\n  when: hardening_umask_enabled | bool\n",
            "- name: Login shells\n",
            "L2-7.1.4.2-d-umask: task 'L2-7.1.4.2-d-umask | Set umask for login shells' not "
            "gated by hardening_umask_enabled",
        ),
        (
            "roles/hardening/tasks/umask.yml",
            "L2-7.1.4.2-d-umask | ",
            "",
            None,  # one task left named with the ID: still fine
        ),
        (
            "roles/hardening/defaults/main.yml",
            "hardening_umask_enabled: true",
            "hardening_umask: '027'",
            "L2-7.1.4.2-d-umask: hardening_umask_enabled is not true in defaults/main.yml",
        ),
        (
            "roles/hardening/meta/argument_specs.yml",
            "hardening_umask_enabled",
            "hardening_umask",
            "L2-7.1.4.2-d-umask: hardening_umask_enabled not in meta/argument_specs.yml",
        ),
        (
            "tests/testinfra/test_hardening.py",
            '@pytest.mark.control("L2-7.1.4.2-d-umask")\n',
            "",
            None,  # two problems: checked below
        ),
    ],
)
def test_a_mutation_is_caught(
    mini: Path, file: str, old: str, new: str, expected: str | None
) -> None:
    _mutate(mini / file, old, new)
    problems = control_problems(mini)
    if expected is not None:
        assert problems == [expected]
    elif file.endswith(".py"):
        assert problems == [
            "L2-7.1.4.2-d-umask: no test_umask marked control('L2-7.1.4.2-d-umask') in "
            "tests/testinfra/test_hardening.py",
            "tests/testinfra/test_hardening.py: test_umask proves no control of the catalogue ([])",
        ]
    else:
        assert problems == []


def test_a_missing_task_file_or_named_task_is_caught(mini: Path) -> None:
    tasks = mini / "roles/hardening/tasks/umask.yml"
    tasks.write_text(MINI_TASKS.replace("L2-7.1.4.2-d-umask | ", "Umask | "))
    assert control_problems(mini) == [
        "L2-7.1.4.2-d-umask: no task named 'L2-7.1.4.2-d-umask | ...' in "
        "roles/hardening/tasks/umask.yml"
    ]
    tasks.unlink()
    assert control_problems(mini) == [
        "L2-7.1.4.2-d-umask: no task file roles/hardening/tasks/umask.yml"
    ]


def test_the_real_catalogue_copied_with_one_tag_removed_fails(tmp_path: Path) -> None:
    """On a copy of the real role and audit: drop one tag from the pwquality tasks."""
    shutil.copytree(REPO / ROLE, tmp_path / ROLE)
    (tmp_path / AUDIT).parent.mkdir(parents=True)
    shutil.copyfile(REPO / AUDIT, tmp_path / AUDIT)
    tasks = tmp_path / ROLE / "tasks" / "pwquality.yml"
    if not tasks.is_file():
        pytest.fail("roles/hardening/tasks/pwquality.yml does not exist yet")
    before = control_problems(tmp_path)
    text = tasks.read_text()
    tasks.write_text(re.sub(r"tags: \[L2-7\.1\.4\.1-a-pwquality\]", "tags: [hardening]", text))
    after = control_problems(tmp_path)
    new = [p for p in after if p not in before]
    assert new and all(p.startswith("L2-7.1.4.1-a-pwquality: task") for p in new)
