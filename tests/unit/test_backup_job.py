"""storeops-backup (the host-side backup job, module_utils/storeops_backup.py) does not exit
while a process it started runs.

restic leaves the ssh it starts for SFTP to end on its own; the job adopts such orphans and
waits for them (the lab's systemd, which cannot see a cgroup become empty, failed a good
backup when an ssh outlived the job by a moment). Each case runs in a child Python that
imports the job as the host does (module_utils on its path, as /usr/local/lib/storeops is):
becoming a subreaper would change the test process itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import storeops_backup

from tests.conftest import REPO

ENTRY_POINT = REPO / "roles/backup/files/usr/local/sbin/storeops-backup"

# Imports the job, then: adopt (or not), start `sh` that leaves `sleep N` behind and exits at
# once (as restic leaves its ssh), reap with the given grace, and report whether the
# left-behind process still exists afterwards.
CASE = """
import json, os, subprocess, sys, time
sys.path.insert(0, {module_utils!r})
import storeops_backup as job
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
        module_utils=str(REPO / "module_utils"), adopt=adopt, sleep=sleep, grace=grace
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


@pytest.mark.parametrize("argv", [[], ["backup"], ["run", "now"], ["storeops-backup", "run"]])
def test_anything_but_one_known_command_prints_the_usage_and_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """main() takes the arguments without the program's name (sys.argv[1:]), and refuses
    before it changes anything of the process (its umask, here)."""
    umask = os.umask(0o022)
    os.umask(umask)
    assert storeops_backup.main(argv) == 2
    assert "storeops-backup run " in capsys.readouterr().err
    assert os.umask(umask) == umask


def test_the_installed_entry_point_runs_the_job_with_its_arguments() -> None:
    """/usr/local/sbin/storeops-backup as installed: it imports the job from its library
    directory (here module_utils, on PYTHONPATH) and passes its arguments and exit status."""
    done = subprocess.run(
        [sys.executable, str(ENTRY_POINT), "no-such-command"],
        env={**os.environ, "PYTHONPATH": str(REPO / "module_utils")},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "storeops-backup verify-files " in done.stderr
