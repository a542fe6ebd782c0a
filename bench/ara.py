"""What ARA's callback costs per playbook run (no lab needed).

A small playbook (ten tasks against localhost, connection local) run REPEAT times with the
callbacks ansible.cfg enables (profile_tasks and ara_default, recording into a throwaway
ARA_BASE_DIR) and REPEAT times without ara_default, alternating; the first run of each kind
is a warm-up (ARA creates its database then). Prints the medians and the difference.

    .venv/bin/python bench/ara.py [REPEAT]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLAYBOOK = """
- name: A small playbook
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
"""
TASK = """
    - name: Task {n}
      ansible.builtin.stat:
        path: /etc/hostname
"""
TASKS = 10


def _run(playbook: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def measure(repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        playbook = Path(scratch) / "small.yml"
        playbook.write_text(PLAYBOOK + "".join(TASK.format(n=n) for n in range(TASKS)))
        with_ara = {**os.environ, "ARA_BASE_DIR": str(Path(scratch) / "ara")}
        without = {**os.environ, "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"}
        _run(playbook, with_ara), _run(playbook, without)  # warm-up
        times: dict[str, list[float]] = {"with_ara": [], "without_ara": []}
        for _ in range(repeat):
            times["with_ara"].append(_run(playbook, with_ara))
            times["without_ara"].append(_run(playbook, without))
        database = Path(scratch) / "ara" / "ansible.sqlite"
        result = {name: round(statistics.median(values), 2) for name, values in times.items()}
        result["ara_cost_s"] = round(result["with_ara"] - result["without_ara"], 2)
        result["database_kib_per_run"] = round(database.stat().st_size / 1024 / (repeat + 1), 1)
        result["runs"] = repeat
        result["tasks"] = TASKS
        return result


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))
