"""The shadow_status module through ansible-playbook (connection local, on a shadow file of
the test's own): each account's password state and ageing, never a hash anywhere in what
Ansible prints or returns."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from storeops_lab.devices.playbook import run_play

HOSTS = {"host": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
HASH = "$y$j9T$Q3J5cHRpYw$8ZQm1ZKx0vV3e3sJ2c9mYx7n1qJcGz0hS7Gm7D2o3aB"
SHADOW = f"""root:*:20792:0:99999:7:::
lwang:{HASH}:20792:1:90:7:::
former:!{HASH}:20100:0:99999:7::20200:
storeops:!:20792::::::
nobody:*:20792:0:99999:7:::
kiosk::20792:0:99999:7:::
"""


def play(tmp_path: Path, **args: Any) -> tuple[dict[str, Any], str]:
    shadow = tmp_path / "shadow"
    shadow.write_text(SHADOW)
    task = {"name": "read", "shadow_status": {"path": str(shadow), **args}}
    run = run_play(tmp_path, HOSTS, [task], "--check", user="tester", timeout=120)
    return run.results["read"]["host"], run.output


def test_each_state_and_the_ageing_without_a_hash(tmp_path: Path) -> None:
    result, output = play(tmp_path)
    accounts = result["accounts"]
    assert {name: a["password"] for name, a in accounts.items()} == {
        "root": "unset",
        "lwang": "usable",
        "former": "locked",
        "storeops": "unset",
        "nobody": "unset",
        "kiosk": "empty",
    }
    assert accounts["lwang"] | {"password": None} == {
        "password": None,
        "last_change": 20792,
        "min_days": 1,
        "max_days": 90,
        "warn_days": 7,
        "inactive_days": None,
        "expire_date": None,
    }
    assert accounts["former"]["expire_date"] == 20200 and accounts["storeops"]["min_days"] is None
    assert result["changed"] is False
    assert HASH[4:] not in output  # not in the result, not in anything Ansible printed


def test_only_the_accounts_asked(tmp_path: Path) -> None:
    result, _ = play(tmp_path, names=["lwang", "nobody-such"])
    assert list(result["accounts"]) == ["lwang"]


def test_an_unreadable_file_fails_with_its_path(tmp_path: Path) -> None:
    task = {"name": "read", "shadow_status": {"path": str(tmp_path / "missing")}}
    run = run_play(tmp_path, HOSTS, [task], user="tester", timeout=120)
    result = run.results["read"]["host"]
    assert result["failed"] is True and str(tmp_path / "missing") in result["msg"]
