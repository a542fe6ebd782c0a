"""module_utils/storeops_nft.py as the pyinfra workstation deploy runs it: a host-side script.

What can be checked without nftables: the command line, and every refusal that comes before
the first ``nft`` call (a missing candidate, one that flushes the ruleset, declares another
table or includes files; a confirmation or a status with nothing armed). Loading, the armed revert and
the confirmation run for real on the lab (tests/integration/test_firewall_module.py through
the nft_ruleset module, tests/integration/test_workstation.py through the deploy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

HELPER = REPO / "module_utils" / "storeops_nft.py"


def _helper(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HELPER), *args, "--table", "storeops", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_confirmation_with_nothing_armed_changes_nothing(tmp_path: Path) -> None:
    done = _helper(tmp_path / "state", "confirm")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["changed"], outcome["armed"], outcome["confirmed"]) == (False, False, False)


def test_status_with_nothing_applied_says_nothing_is_armed(tmp_path: Path) -> None:
    done = _helper(tmp_path / "state", "status")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["changed"], outcome["armed"]) == (False, False)
    assert "live_as_applied" not in outcome  # no candidate asked about
    assert not (tmp_path / "state").exists()  # read-only: not even the lock file


def test_status_names_a_missing_candidate(tmp_path: Path) -> None:
    missing = tmp_path / "candidate.nft"
    done = _helper(tmp_path / "state", "status", "--src", str(missing))
    assert done.returncode == 1
    assert done.stderr.strip() == f"storeops_nft status: {missing}: No such file or directory"


def test_apply_needs_a_candidate_file(tmp_path: Path) -> None:
    done = _helper(tmp_path, "apply")
    assert done.returncode == 2
    assert "apply needs --src" in done.stderr


def test_the_timeout_is_at_least_a_second(tmp_path: Path) -> None:
    done = _helper(tmp_path, "apply", "--src", str(tmp_path / "c.nft"), "--timeout", "0")
    assert done.returncode == 2
    assert "--timeout must be at least 1 second" in done.stderr


def test_a_missing_candidate_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "candidate.nft"
    done = _helper(tmp_path / "state", "apply", "--src", str(missing))
    assert done.returncode == 1
    assert done.stderr.strip() == f"storeops_nft apply: {missing}: No such file or directory"
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("candidate", "refusal"),
    [
        ("flush ruleset\ntable inet storeops {\n}\n", "flushes the whole ruleset"),
        ("table inet storeops {\n}\ntable ip nat {\n}\n", "declares table ip nat"),
        ('include "/etc/nftables.d/*.nft"\n', "includes other files"),
    ],
    ids=["flush", "other table", "include"],
)
def test_a_candidate_that_reaches_beyond_its_table_is_refused(
    tmp_path: Path, candidate: str, refusal: str
) -> None:
    source = tmp_path / "candidate.nft"
    source.write_text(candidate)
    done = _helper(tmp_path / "state", "apply", "--src", str(source))
    assert done.returncode == 1
    assert refusal in done.stderr
    assert not (tmp_path / "state" / "armed.json").exists()
