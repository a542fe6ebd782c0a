"""Emulated devices as the hosts of a play: the network modules (library/net_backup.py,
library/net_config.py) run by ``ansible-playbook`` against devices started in this process.

What tests/emulated and bench/network.py share. Runs on the controller: ``ansible-playbook``
is a child process started from the project (so ansible.cfg's library and module_utils paths
apply), one host per device with ``ansible_connection=local`` and this Python as interpreter;
:func:`host_vars` says where a device listens and how to log in, :data:`LOGIN` is the
modules' login options read from those variables, :func:`run_play` runs one play and reads
its results back through the ``ansible.posix.json`` stdout callback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storeops.paths import REPO_ROOT
from storeops_lab.devices.start import DeviceHandle

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
JSON_CALLBACK = "ansible.posix.json"
SHOWN_OUTPUT = 2000  # characters of each stream an error shows (a 100-device run says a lot)

# net_backup's and net_config's login options, from a device's host_vars (timeout apart).
LOGIN: Mapping[str, str] = {
    "host": "{{ net_host }}",
    "port": "{{ net_port }}",
    "platform": "{{ net_platform }}",
    "username": "{{ net_username }}",
    "password": "{{ net_password }}",
}

Results = dict[str, dict[str, dict[str, Any]]]  # task name -> host -> result


def host_vars(handle: DeviceHandle, password: str, **extra: Any) -> dict[str, Any]:
    """The inventory variables of the host standing for ``handle``'s device: the modules run
    locally; ``net_*`` say where the device listens and how to log in (``extra`` added)."""
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "net_name": handle.name,
        "net_host": handle.host,
        "net_port": handle.port,
        "net_platform": handle.platform,
        "net_username": handle.username,
        "net_password": password,
        **extra,
    }


@dataclass(frozen=True)
class PlayRun:
    """One ``ansible-playbook`` run: per-task results, all it printed, its wall time."""

    results: Results
    output: str
    seconds: float


class PlayOutputError(RuntimeError):
    """``ansible-playbook`` printed no JSON report (it failed before or outside the play)."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(
            f"ansible-playbook gave no JSON (rc={returncode}): "
            f"{stdout[-SHOWN_OUTPUT:]}\n{stderr[-SHOWN_OUTPUT:]}"
        )
        self.output = f"{stdout}\n{stderr}"


def run_play(
    directory: Path,
    hosts: dict[str, dict[str, Any]],
    tasks: list[dict[str, Any]],
    *args: str,
    user: str,
    timeout: float,
    umask: int = -1,
    environment: Mapping[str, str] | None = None,
) -> PlayRun:
    """Run ``tasks`` on ``hosts`` (inventory and play written into ``directory``).

    ``args``: more ansible-playbook arguments (``--check``...); ``user``: the ``USER`` the
    run sees (net_backup's commit author); ``umask``: the umask it runs with (-1: this
    process's own); ``environment``: more variables for it (the caller's ``ANSIBLE_*`` are
    left out, so that ansible.cfg decides). PlayOutputError without a JSON report.
    """
    inventory = directory / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}), encoding="utf-8")
    playbook = directory / "play.yml"
    playbook.write_text(
        yaml.safe_dump([{"name": "net", "hosts": "all", "gather_facts": False, "tasks": tasks}]),
        encoding="utf-8",
    )
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")},
        "ANSIBLE_STDOUT_CALLBACK": JSON_CALLBACK,
        "ANSIBLE_CALLBACKS_ENABLED": JSON_CALLBACK,  # not profile_tasks (text output)
        "ANSIBLE_NOCOLOR": "true",
        "USER": user,
        **(environment or {}),
    }
    started = time.monotonic()
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        umask=umask,
    )
    seconds = time.monotonic() - started
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise PlayOutputError(done.returncode, done.stdout, done.stderr) from None
    return PlayRun(_results(report["plays"]), done.stdout + done.stderr, seconds)


def _results(plays: Sequence[dict[str, Any]]) -> Results:
    return {task["task"]["name"]: task["hosts"] for play in plays for task in play["tasks"]}
