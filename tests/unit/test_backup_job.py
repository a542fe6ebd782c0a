"""storeops-backup (the host-side backup job) does not exit while a process it started runs.

restic leaves the ssh it starts for SFTP to end on its own; the job adopts such orphans and
waits for them (the lab's systemd, which cannot see a cgroup become empty, failed a good
backup when an ssh outlived the job by a moment). Each case runs in a child Python: becoming
a subreaper would change the test process itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "roles/backup/files/usr/local/sbin/storeops-backup"

# Loads the job as a module, then: adopt (or not), start `sh` that leaves `sleep N` behind
# and exits at once (as restic leaves its ssh), reap with the given grace, and report whether
# the left-behind process still exists afterwards.
CASE = """
import importlib.machinery, importlib.util, json, os, subprocess, sys, time
sys.path.insert(0, {module_utils!r})
loader = importlib.machinery.SourceFileLoader("storeops_backup_job", {job!r})
spec = importlib.util.spec_from_loader(loader.name, loader)
job = importlib.util.module_from_spec(spec)
loader.exec_module(job)
if {adopt!r}:
    job.adopt_orphans()
started = subprocess.run(["sh", "-c", "sleep {sleep} >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, check=True)
orphan = int(started.stdout)
began = time.monotonic()
job.reap_orphans(grace={grace})
print(json.dumps({{"orphan_alive": os.path.exists(f"/proc/{{orphan}}"),
                   "waited": time.monotonic() - began}}))
"""


def run_case(*, adopt: bool, sleep: float, grace: float) -> dict[str, float | bool]:
    code = CASE.format(
        module_utils=str(ROOT / "module_utils"), job=str(JOB), adopt=adopt, sleep=sleep, grace=grace
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, float | bool] = json.loads(done.stdout)
    result["stderr"] = bool(done.stderr.strip())
    return result


def test_without_adopting_an_orphan_outlives_the_job() -> None:
    """The failure itself: what restic leaves behind is not the job's to wait for."""
    result = run_case(adopt=False, sleep=2, grace=30)
    assert result["orphan_alive"] is True


def test_the_job_waits_for_what_its_children_left_behind() -> None:
    result = run_case(adopt=True, sleep=1, grace=30)
    assert result["orphan_alive"] is False
    assert result["waited"] >= 0.5  # it waited for the sleep to end...
    assert result["stderr"] is False  # ...and killed nothing


def test_a_helper_that_never_ends_is_killed_after_the_grace_and_said_so() -> None:
    result = run_case(adopt=True, sleep=600, grace=0.5)
    assert result["orphan_alive"] is False
    assert result["stderr"] is True  # "killing helper process N ..."
