"""Searching ARA's database for the lab's secrets (tests/unit/test_run_history.py on
localhost, tests/integration/test_run_history.py after a real lab playbook).

Every decrypted value of every vault file of inventory/lab is looked for in every text and
blob of every table of ARA's SQLite file; ARA stores most fields zlib-compressed, so each
blob is searched as stored and decompressed, and each secret as written and JSON-escaped.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

LAB = REPO / "inventory" / "lab"
LAB_PASSWORD = REPO / "lab" / "vault-password.txt"
MIN_SECRET = 6  # shorter values (a port, "yes") would match anywhere
ANSIBLE_VAULT = str(Path(sys.executable).parent / "ansible-vault")


def _leaves(value: Any, name: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{name}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{name}[{index}]")
    elif isinstance(value, str | int) and len(str(value)) >= MIN_SECRET:
        yield name, str(value)


def lab_secrets() -> dict[str, str]:
    """Every decrypted value of inventory/lab's vault files, by file:variable."""
    secrets = {}
    for path in sorted(LAB.rglob("vault.yml")):
        shown = subprocess.run(
            [ANSIBLE_VAULT, "view", "--vault-id", f"lab@{LAB_PASSWORD}", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        for name, value in _leaves(yaml.safe_load(shown.stdout), ""):
            secrets[f"{path.relative_to(LAB)}:{name.lstrip('.')}"] = value
    return secrets


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
        with contextlib.suppress(zlib.error):
            yield zlib.decompress(value).decode("utf-8", errors="replace")
    elif isinstance(value, str):
        yield value


def database_texts(database: Path) -> Iterator[tuple[str, str, str]]:
    """(table, column, text) of every text and blob value of every table."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # names from sqlite_master
            columns = [column[0] for column in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    for text in _texts(value):
                        yield table, column, text


def leaks(database: Path, secrets: dict[str, str]) -> list[str]:
    """Where each secret shows in the database ("table.column: name")."""
    forms = {name: {value, json.dumps(value)[1:-1]} for name, value in secrets.items()}
    found = set()
    for table, column, text in database_texts(database):
        for name, variants in forms.items():
            if any(variant in text for variant in variants):
                found.add(f"{table}.{column}: {name}")
    return sorted(found)


def contains(database: Path, needle: str) -> bool:
    """The search's positive control: a value the run did record is found."""
    return any(needle in text for _, _, text in database_texts(database))
