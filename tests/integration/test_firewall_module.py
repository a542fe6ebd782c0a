"""nft_ruleset (library/) for real: validation, atomic apply, check mode, commit-confirm, drift.

One throwaway systemd container (``storeops-fwdev-module``, ``--network none``, with
NET_ADMIN for its own nftables, removed at the end even on failure) from the lab image.
The module runs through ``ansible-playbook`` with the podman connection, as the firewall
role's molecule scenario runs it; every ``nft`` of the test itself runs inside the
container (``podman exec``), never on this machine, whose podman networking has tables of
its own. The lab's own containers (storeops-sh01-*, storeops-hz01-*) are never touched.

The candidates are small hand-written tables in nft's listing format, so that the stateless
listing of the live table can be compared with what was loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.waiting import seconds_until

pytestmark = pytest.mark.lab

IMAGE = "localhost/storeops-lab:latest"
CONTAINER = "storeops-fwdev-module"
TABLE = "storeops"
UNIT = f"nft-revert-{TABLE}"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
# seconds: confirm_timeout of the commit-confirm tests. The confirmation is the playbook's
# next task; with the lab suites side by side (tests/lab_lanes.py) a task can start more
# than 5 s after the previous one returned, and the revert then fired first.
REVERT_TIMEOUT = 15
STATE_DIR = "/var/lib/storeops/firewall"  # the module's default state_dir


def table(*accepts: str) -> str:
    """Table inet storeops as ``nft -s list table`` prints it: input drops but for ``accepts``."""
    rules = "".join(f"\t\t{rule}\n" for rule in accepts)
    return (
        f"table inet {TABLE} {{\n"
        "\tchain input {\n"
        "\t\ttype filter hook input priority filter; policy drop;\n"
        "\t\tct state established,related accept\n"
        f"{rules}"
        "\t}\n"
        "}\n"
    )


SSH = 'tcp dport 22 counter accept comment "flow ssh"'
DMS = 'ip saddr { 10.77.1.40, 10.77.1.96/27 } tcp dport 8080 counter accept comment "flow dms"'
# What the role renders: a comment, the replace prelude, then the table.
PRELUDE = f"# candidate\ntable inet {TABLE}\ndelete table inet {TABLE}\n\n"
A = table(SSH)
B = table(SSH, DMS)
CUT = table()  # accepts nothing new: a controller's next SSH connection would hang
CANDIDATES = {
    "a.nft": PRELUDE + A,
    "b.nft": PRELUDE + B,
    "cut.nft": PRELUDE + CUT,
    "broken.nft": PRELUDE + A.replace("accept comment", "acept comment"),
    "flush.nft": "flush ruleset\n" + A,
    "other.nft": A.replace(f"table inet {TABLE}", "table ip nat"),
}


def podman(*args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["podman", *args], input=stdin, capture_output=True, text=True, check=False, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result.stdout


def sh(script: str, check: bool = True) -> str:
    """A shell script inside the test container."""
    return podman("exec", CONTAINER, "sh", "-c", script, check=check)


def live() -> str | None:
    """``nft -s list table inet storeops`` inside the container; None without the table."""
    done = subprocess.run(
        ["podman", "exec", CONTAINER, "nft", "-s", "list", "table", "inet", TABLE],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else None


def timer_active() -> bool:
    return sh(f"systemctl is-active {UNIT}.timer", check=False).strip() == "active"


def nft_ruleset(tmp_path: Path, *calls: dict[str, Any]) -> list[dict[str, Any]]:
    """One playbook run, one nft_ruleset task per call (errors ignored): each task's result.

    A call may carry ``_check`` (check mode); every task runs with --diff.
    """
    tasks = [
        {
            "name": f"call {number}",
            "nft_ruleset": {"table": TABLE, **{k: v for k, v in call.items() if k != "_check"}},
            "check_mode": bool(call.get("_check")),
            "diff": True,
            "ignore_errors": True,
        }
        for number, call in enumerate(calls)
    ]
    playbook = tmp_path / "nft_ruleset.yml"
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    env = {
        **os.environ,
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",
    }
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", f"{CONTAINER},", "-c", "containers.podman.podman",
         "-e", "ansible_python_interpreter=/usr/bin/python3", str(playbook)],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    try:
        report = json.loads(done.stdout)
    except ValueError as error:
        raise AssertionError(f"ansible-playbook: {done.stdout[-2000:]}\n{done.stderr}") from error
    results = [task["hosts"][CONTAINER] for task in report["plays"][0]["tasks"]]
    assert len(results) == len(calls), done.stdout[-2000:]
    return results


def apply(src: str, **options: Any) -> dict[str, Any]:
    return {"state": "applied", "src": f"/root/{src}", **options}


CONFIRM = {"state": "confirmed"}


def converge(tmp_path: Path, src: str) -> None:
    """The table is ``src``'s, loaded and confirmed, nothing armed: each test starts so
    (the module is not called when a previous test left it so: the suite stays fast)."""
    kept = sh(f"cat {STATE_DIR}/applied.nft {STATE_DIR}/armed.json", check=False)
    if live() == table_of(src) and kept == CANDIDATES[src] and not timer_active():
        return
    applied, confirmed = nft_ruleset(tmp_path, apply(src), CONFIRM)
    assert not applied.get("failed") and not confirmed.get("failed"), (applied, confirmed)
    assert live() == table_of(src) and not timer_active()


def table_of(src: str) -> str:
    return {"a.nft": A, "b.nft": B, "cut.nft": CUT}[src]


def wait_for_table(expected: str, deadline_s: float) -> float:
    """Seconds until the live table is ``expected``; fails after ``deadline_s``."""
    took = seconds_until(lambda: live() == expected, within=deadline_s)
    if took is None:
        raise AssertionError(f"the table is not back after {deadline_s} s:\n{live()}")
    return took


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        pytest.fail(f"lab image {IMAGE} is missing: `storeops lab image` builds it")
    podman("rm", "-f", "-t", "2", CONTAINER, check=False)
    try:
        podman(
            "run", "-d", "--systemd=always", "--network", "none", "--cap-add", "NET_ADMIN",
            "--name", CONTAINER, IMAGE, "/sbin/init",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while sh("systemctl is-system-running", check=False).strip() not in {"running", "degraded"}:
            assert time.monotonic() < deadline, f"{CONTAINER} did not boot"
            time.sleep(0.3)
        for name, text in CANDIDATES.items():
            podman("exec", "-i", CONTAINER, "sh", "-c", f"cat > /root/{name}", stdin=text)
        yield CONTAINER
    finally:
        podman("rm", "-f", "-t", "2", CONTAINER, check=False)


def test_a_new_table_is_applied_confirmed_and_then_left_alone(host: str, tmp_path: Path) -> None:
    sh(f"nft delete table inet {TABLE}", check=False)
    first, confirmed, again, confirmed_again = nft_ruleset(
        tmp_path, apply("a.nft"), CONFIRM, apply("a.nft"), CONFIRM
    )
    assert (first["changed"], first["armed"], first["revert_unit"]) == (True, True, UNIT)
    assert first["listing"] == A and first["diff"]["before"] == ""
    assert (confirmed["changed"], confirmed["confirmed"]) == (True, True)
    assert (again["changed"], again["armed"]) == (False, False)
    assert (confirmed_again["changed"], confirmed_again["msg"]) == (False, "nothing armed")
    assert live() == A and not timer_active()


def test_a_candidate_that_does_not_parse_is_refused(host: str, tmp_path: Path) -> None:
    converge(tmp_path, "a.nft")
    ruleset = sh("nft -s list ruleset")
    broken, flush, other = nft_ruleset(
        tmp_path, apply("broken.nft"), apply("flush.nft"), apply("other.nft")
    )
    assert broken["failed"] and "does not load (nft -c)" in broken["msg"], broken
    assert "syntax error" in broken["msg"] and "/root/broken.nft:" in broken["msg"]
    assert flush["failed"] and "flushes the whole ruleset" in flush["msg"], flush
    assert other["failed"] and "declares table ip nat" in other["msg"], other
    assert sh("nft -s list ruleset") == ruleset  # nothing reached the kernel
    assert not timer_active()


def test_check_mode_shows_the_diff_and_changes_nothing(host: str, tmp_path: Path) -> None:
    converge(tmp_path, "a.nft")
    state = sh(f"cd {STATE_DIR} && ls && md5sum *")
    (checked,) = nft_ruleset(tmp_path, {**apply("b.nft"), "_check": True})
    assert (checked["changed"], checked["armed"]) == (True, False), checked
    assert checked["diff"]["before"] == A
    assert checked["diff"]["after"] == B  # the candidate without its comment and prelude
    assert live() == A and not timer_active()
    assert sh(f"cd {STATE_DIR} && ls && md5sum *") == state


def test_an_unconfirmed_apply_reverts_by_itself(host: str, tmp_path: Path) -> None:
    converge(tmp_path, "a.nft")
    (cut,) = nft_ruleset(tmp_path, apply("cut.nft", confirm_timeout=REVERT_TIMEOUT))
    assert (cut["changed"], cut["armed"]) == (True, True) and cut["listing"] == CUT
    assert live() == CUT and timer_active()
    # Nobody confirms: the timer puts table A back by itself.
    took = wait_for_table(A, deadline_s=REVERT_TIMEOUT + 10)
    print(f"reverted {took:.1f} s after the apply returned (confirm_timeout {REVERT_TIMEOUT} s)")
    assert not timer_active()
    journal = sh(f"journalctl -u {UNIT}.service -o cat --no-pager")
    assert f"Finished {UNIT}.service - Revert nftables table inet {TABLE}" in journal
    # A confirmation that comes too late is refused, and the next apply loads the table again.
    late, again = nft_ruleset(tmp_path, CONFIRM, apply("cut.nft"))
    assert late["failed"] and "the automatic revert fired" in late["msg"], late
    assert again["changed"] and again["diff"]["before"] == A


def test_a_confirmed_apply_stays(host: str, tmp_path: Path) -> None:
    converge(tmp_path, "a.nft")
    applied, confirmed = nft_ruleset(
        tmp_path, apply("b.nft", confirm_timeout=REVERT_TIMEOUT), CONFIRM
    )
    assert applied["armed"] and (confirmed["changed"], confirmed["confirmed"]) == (True, True)
    assert not timer_active() and UNIT not in sh("systemctl list-timers --all --no-pager")
    time.sleep(REVERT_TIMEOUT + 2)
    assert live() == B


def test_a_second_apply_while_armed_keeps_the_confirmed_rollback(host: str, tmp_path: Path) -> None:
    converge(tmp_path, "a.nft")
    # B is loaded and never confirmed; CUT is loaded on top of it: the revert goes back to
    # A, the last confirmed table, not to the unconfirmed B.
    first, second = nft_ruleset(
        tmp_path,
        apply("b.nft", confirm_timeout=60),
        apply("cut.nft", confirm_timeout=REVERT_TIMEOUT),
    )
    assert first["armed"] and second["armed"] and live() == CUT
    wait_for_table(A, deadline_s=REVERT_TIMEOUT + 10)
    assert not timer_active()


def test_a_hand_edit_of_the_live_table_is_detected_and_repaired(host: str, tmp_path: Path) -> None:
    converge(tmp_path, "a.nft")
    sh(f"nft add rule inet {TABLE} input tcp dport 9999 accept")
    (repaired, confirmed) = nft_ruleset(tmp_path, apply("a.nft"), CONFIRM)
    assert repaired["changed"] and "tcp dport 9999 accept" in repaired["diff"]["before"]
    assert confirmed["confirmed"] and live() == A
    # A table deleted by hand is a change too.
    sh(f"nft delete table inet {TABLE}")
    recreated, confirmed = nft_ruleset(tmp_path, apply("a.nft"), CONFIRM)
    assert recreated["changed"] and confirmed["confirmed"] and live() == A
