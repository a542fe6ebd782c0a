"""The file_contents module through ansible-playbook, on files of this machine (connection
local): several files in one call, check mode that writes nothing, the diff of each, a
second run that changes nothing, a validation that refuses a file and leaves it as it was.
No device: the module runs where a store host would run it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from storeops_lab.devices.playbook import PlayOutputError, run_play

HOSTS = {"host": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}


def play(tmp_path: Path, files: list[dict[str, Any]], *args: str) -> dict[str, Any]:
    task = {"name": "files", "file_contents": {"files": files}}
    try:
        run = run_play(tmp_path, HOSTS, [task], *args, user="tester", timeout=120)
    except PlayOutputError as error:
        pytest.fail(f"ansible-playbook gave no JSON: {error.output}")
    return run.results["files"]["host"]


def test_two_files_checked_written_then_left_alone(tmp_path: Path) -> None:
    kept, new = tmp_path / "crypto.conf", tmp_path / "login.conf"
    kept.write_text("Ciphers aes128-ctr\n")
    kept.chmod(0o644)
    files = [
        {"dest": str(kept), "content": "Ciphers aes256-gcm@openssh.com\n", "mode": "0600"},
        {"dest": str(new), "content": "PermitRootLogin no\n", "mode": "0600"},
    ]
    checked = play(tmp_path, files, "--check", "--diff")
    assert checked["changed_files"] == [str(kept), str(new)], checked.get("msg")
    assert kept.read_text() == "Ciphers aes128-ctr\n" and not new.exists()
    assert [d["before"] for d in checked["diff"]] == ["Ciphers aes128-ctr\n", ""]
    done = play(tmp_path, files)
    assert done["changed"] is True
    assert kept.read_text() == files[0]["content"] and new.read_text() == files[1]["content"]
    assert {path.stat().st_mode & 0o777 for path in (kept, new)} == {0o600}
    again = play(tmp_path, files)
    assert again["changed"] is False and again["changed_files"] == []


def test_a_refused_validation_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    dest = tmp_path / "sshd.conf"
    dest.write_text("good\n")
    result = play(
        tmp_path,
        [{"dest": str(dest), "content": "bad\n", "validate": "grep -q good %s"}],
    )
    assert result["failed"] is True and "validation failed" in result["msg"]
    assert dest.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".file_contents.")] == []
    accepted = play(
        tmp_path,
        [{"dest": str(dest), "content": "good again\n", "validate": "grep -q good %s"}],
    )
    assert accepted["changed"] is True and dest.read_text() == "good again\n"


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    result = play(tmp_path, [{"dest": str(tmp_path / "no" / "file"), "content": "x\n"}])
    assert result["failed"] is True and "directory does not exist" in result["msg"]


def test_a_missing_directory_is_a_change_in_check_mode(tmp_path: Path) -> None:
    dest = tmp_path / "no" / "file"
    result = play(tmp_path, [{"dest": str(dest), "content": "x\n"}], "--check")
    assert result["changed_files"] == [str(dest)] and not dest.parent.exists()


TEMPLATE = """# {{ ansible_managed }}
{% for server in servers %}
server {{ server }} iburst
{% endfor %}
{# a comment, and a block that trims its newline #}
{% if strict %}
maxdistance 1.0
{% endif %}
  indented {{ servers | length }}
trailing newline kept
"""


def test_a_src_template_renders_as_the_template_module_writes_it(tmp_path: Path) -> None:
    """A role's gate trusts this: the action plugin's rendering of a template is byte for
    byte what ansible.builtin.template writes, so "no change" from one means none for the
    other."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "chrony.conf.j2").write_text(TEMPLATE)
    dest = tmp_path / "chrony.conf"
    for servers, strict in ((["10.0.0.1", "10.0.0.2"], True), (["ntp.example"], False)):
        variables = {"servers": servers, "strict": strict}
        written = {
            "name": "template",
            "ansible.builtin.template": {
                "src": "chrony.conf.j2",
                "dest": str(dest),
                "mode": "0640",
            },
            "vars": variables,
        }
        gate = {
            "name": "files",
            "file_contents": {
                "files": [{"dest": str(dest), "src": "chrony.conf.j2", "mode": "0640"}]
            },
            "vars": variables,
        }
        run = run_play(tmp_path, HOSTS, [written, gate], "--check", user="tester", timeout=120)
        assert run.results["files"]["host"]["changed_files"] == [str(dest)]  # not written yet
        run = run_play(tmp_path, HOSTS, [written, gate], user="tester", timeout=120)
        assert run.results["template"]["host"]["changed"] is True
        assert run.results["files"]["host"]["changed_files"] == [], dest.read_text()
        assert dest.read_text().startswith("# Ansible managed\nserver")


def test_content_and_src_together_are_refused(tmp_path: Path) -> None:
    result = play(tmp_path, [{"dest": str(tmp_path / "f"), "content": "x\n", "src": "f.j2"}])
    assert result["failed"] is True and "content or src, not both" in result["msg"]
