"""Every module in library/ documents itself in YAML that ansible-doc can read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

MODULES = sorted((REPO / "library").glob("*.py"))
SECTIONS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def doc_strings(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in SECTIONS and isinstance(node.value, ast.Constant):
                found[name] = str(node.value.value)
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_module_documentation_is_valid_yaml(path: Path) -> None:
    docs = doc_strings(path)
    assert set(docs) == set(SECTIONS), f"{path.name}: missing {set(SECTIONS) - set(docs)}"
    parsed = {name: yaml.safe_load(text) for name, text in docs.items()}
    assert parsed["DOCUMENTATION"]["module"] == path.stem
    assert parsed["DOCUMENTATION"]["short_description"]
    assert isinstance(parsed["EXAMPLES"], list) and parsed["EXAMPLES"]
    assert isinstance(parsed["RETURN"], dict)
