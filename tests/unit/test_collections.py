"""collections/requirements.yml: every collection the playbooks, roles and ansible.cfg name
is pinned there, at the version of the installed ``ansible`` bundle (requirements.txt), so that
the execution environment runs what the venv runs; and nothing is pinned that nothing names."""

from __future__ import annotations

import importlib.metadata
import json
import re
from functools import cache
from pathlib import Path

import yaml

from tests.conftest import REPO

REQUIREMENTS = REPO / "collections" / "requirements.yml"
NAMED_IN = ("playbooks", "roles")
SUFFIXES = {".yml", ".yaml", ".j2", ".cfg"}


@cache
def bundle() -> dict[str, str]:
    """The collections the installed ``ansible`` bundle ships: name -> version."""
    # located, not imported: the bundle is a pin that nothing imports (test_packaging), and
    # Ansible's collection loader, once started in this process, answers for the package
    root = Path(str(importlib.metadata.distribution("ansible").locate_file("ansible_collections")))
    found = {}
    assert root.is_dir(), root
    for manifest in root.glob("*/*/MANIFEST.json"):
        info = json.loads(manifest.read_text())["collection_info"]
        found[f"{info['namespace']}.{info['name']}"] = info["version"]
    return found


def named_collections() -> dict[str, set[str]]:
    """Collections named by an FQCN (namespace.collection.name) in the project: -> files."""
    files = [REPO / "ansible.cfg"] + [
        path
        for top in NAMED_IN
        for path in (REPO / top).rglob("*")
        if path.is_file() and path.suffix in SUFFIXES
    ]
    fqcn = re.compile(r"\b([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z_][a-z0-9_]*\b")
    found: dict[str, set[str]] = {}
    for path in files:
        for collection in fqcn.findall(path.read_text(encoding="utf-8", errors="replace")):
            if collection in bundle() and collection != "ansible.builtin":
                found.setdefault(collection, set()).add(str(path.relative_to(REPO)))
    return found


def pinned() -> dict[str, str]:
    entries = yaml.safe_load(REQUIREMENTS.read_text())["collections"]
    return {entry["name"]: str(entry["version"]) for entry in entries}


def test_every_named_collection_is_pinned_at_the_bundles_version() -> None:
    named = named_collections()
    assert {"ansible.posix", "community.mysql", "awx.awx"} <= set(named)  # the reader reads
    missing = {name: sorted(files)[:2] for name, files in named.items() if name not in pinned()}
    assert not missing, f"named but not in collections/requirements.yml: {missing}"
    wrong = {n: (v, bundle()[n]) for n, v in pinned().items() if v != bundle().get(n)}
    assert not wrong, f"pin vs the ansible bundle: {wrong}"


def test_every_pin_is_named() -> None:
    assert sorted(set(pinned()) - set(named_collections())) == []
