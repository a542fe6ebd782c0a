"""Running ansible-playbook from the tests as an operator would, and reading its recap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Recap:
    ok: int
    changed: int
    unreachable: int
    failed: int


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def recap(self) -> dict[str, Recap]:
        return {
            m["host"]: Recap(
                int(m["ok"]), int(m["changed"]), int(m["unreachable"]), int(m["failed"])
            )
            for m in RECAP_LINE.finditer(self.stdout)
        }

    @property
    def words(self) -> str:
        """All output with whitespace collapsed (Ansible wraps long lines)."""
        return " ".join((self.stdout + self.stderr).split())


def run_playbook(
    playbook: str, tmp_path: Path, *args: str, inventory: Path | None = None
) -> PlaybookRun:
    """ansible-playbook from the repo root, with its own SSH control sockets (no reuse)."""
    control_dir = tmp_path / "cp"
    control_dir.mkdir(exist_ok=True)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(Path.home()),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
        "ANSIBLE_NOCOLOR": "true",
        # ARA: not recording, unless a test enables it (tests/conftest.py)
        "ANSIBLE_CALLBACKS_ENABLED": os.environ["ANSIBLE_CALLBACKS_ENABLED"],
        "ARA_BASE_DIR": os.environ["ARA_BASE_DIR"],
    }
    command = [ANSIBLE_PLAYBOOK, playbook, *args]
    if inventory is not None:
        command += ["-i", str(inventory)]
    try:
        done = subprocess.run(
            command, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=900
        )
    finally:
        for socket in control_dir.iterdir():  # end the persistent SSH masters we opened
            subprocess.run(
                ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "unused"],
                check=False,
                capture_output=True,
                timeout=10,
            )
    return PlaybookRun(done.returncode, done.stdout, done.stderr)


def changes_per_host(run: PlaybookRun) -> dict[str, int]:
    """changed= of every managed host in the recap (localhost, the validator, left out)."""
    return {name: recap.changed for name, recap in run.recap.items() if name != "localhost"}
