"""The inventory YAML loaders: libyaml's (fast) reads what the pure-Python one reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from storeops import yamlfiles
from storeops.yamlfiles import YamlProblem
from tests.conftest import REPO

SAMPLES = sorted(
    path
    for folder in (REPO / "inventory", REPO / "tests" / "fixtures" / "inventories")
    for path in folder.rglob("*.yml")
    if not path.read_bytes().lstrip().startswith(b"$ANSIBLE_VAULT;")
)


def _outcome(parse: Callable[[str], object], text: str) -> tuple[str, object]:
    """What a parser makes of ``text``: its data, or the problem it reports."""
    try:
        return "data", parse(text)
    except YamlProblem as problem:
        return "problem", str(problem)


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    expected = yaml.__with_libyaml__
    assert (yamlfiles._FastInventoryLoader is not yamlfiles._InventoryLoader) == expected


def test_both_loaders_read_every_inventory_file_alike() -> None:
    """Data equal (and of one type), or the same problem, for every file of the inventories
    and of the validator's fixtures (syntax errors, duplicate keys, aliases, deep nesting)."""
    assert len(SAMPLES) > 50
    for path in SAMPLES:
        text = path.read_text(encoding="utf-8", errors="replace")
        fast, pure = _outcome(yamlfiles._parse, text), _outcome(yamlfiles._parse_reporting, text)
        assert fast == pure, path
        assert type(fast[1]) is type(pure[1]), path


def test_vault_tags_and_unsafe_survive_the_fast_loader() -> None:
    text = "a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031\nb: !unsafe '{{ x }}'\nc: 2026-11-31\n"
    data = yamlfiles._parse(text)
    assert yamlfiles.is_vaulted(data["a"]) and data["a"].ciphertext.startswith("$ANSIBLE_VAULT")
    assert data["b"] == "{{ x }}" and data["c"] == "2026-11-31"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a' at line 2"),
        ("a: [1, 2\nb: 3\n", "YAML syntax error at line"),
        ("? [a]\n: 1\n", "a list or mapping used as a key at line 1"),
    ],
)
def test_problems_are_reported_by_the_pure_loader(text: str, message: str) -> None:
    with pytest.raises(YamlProblem, match=message.replace("[", r"\[")):
        yamlfiles._parse(text)
