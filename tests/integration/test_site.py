"""playbooks/site.yml on the lab, run the way AWX runs it.

Store hz01 is converged first with ansible-playbook, as an operator runs it (whatever earlier
suites left). The second run is the same job through ansible-runner, the engine under AWX
and AAP: a private data directory holding the project, the lab inventory, the environment
and extra variables; the test reads its events and artifacts as AWX would. It must change
nothing on any host or device of the store. Then drift made by hand (the host firewall's
table deleted on the database server) is reported by ``--check`` on exactly that host,
changing nothing, and a run repairs it.

The hardening part is skipped here (``--skip-tags hardening``): its own suites converge
and break it (test_hardening_*, the hardening molecule scenario), and its no-op costs
about 5 min on the lab today, two thirds of a whole-lab no-op (README, Performance).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible_runner
import pytest
import yaml

from storeops.inventory import Inventory
from storeops_lab.podman import exec_in
from tests.conftest import REPO
from tests.integration.ansible_run import PlaybookRun, changes_per_host, run_playbook

pytestmark = pytest.mark.lab

SITE = "playbooks/site.yml"
DISCOVERY_WARNING = "discovered Python interpreter"
STORE = "store_hz01"
SCOPE = ("--limit", STORE, "--skip-tags", "hardening")  # see the module's docstring
DRIFTED = "hz01-db"  # its host firewall's table deleted by hand


@dataclass(frozen=True)
class RunnerJob:
    """What AWX keeps of a job: its status, return code, events and artifact directory."""

    status: str
    rc: int
    events: list[dict[str, Any]]
    artifacts: Path

    def stats(self, name: str) -> dict[str, int]:
        (stats,) = [e for e in self.events if e.get("event") == "playbook_on_stats"]
        return {str(host): int(count) for host, count in stats["event_data"][name].items()}


def execution_environment_env() -> dict[str, str]:
    """The ANSIBLE_* variables execution-environment.yml's image sets for every job."""
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text(encoding="utf-8"))
    steps = ee["additional_build_steps"]["append_final"]
    found = [re.fullmatch(r"ENV (ANSIBLE_\w+)=(\S+)", step) for step in steps]
    return {match[1]: match[2] for match in found if match}


def run_through_runner(
    private_data_dir: Path, playbook: str, cmdline: tuple[str, ...], **extravars: Any
) -> RunnerJob:
    """The job as AWX runs it: the project and the inventory in a private data directory."""
    (private_data_dir / "env").mkdir(parents=True)
    (private_data_dir / "project").symlink_to(REPO)  # AWX checks the project out here
    (private_data_dir / "inventory").symlink_to(REPO / "inventory" / "lab")
    envvars = {
        "PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        **execution_environment_env(),  # as the image sets it
        "ARA_BASE_DIR": os.environ["ARA_BASE_DIR"],
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
    }
    (private_data_dir / "env" / "envvars").write_text(json.dumps(envvars))
    (private_data_dir / "env" / "extravars").write_text(json.dumps(extravars))
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        playbook=playbook,
        cmdline=" ".join(cmdline),
        ident="site-noop",
        quiet=True,
        timeout=900,
    )
    return RunnerJob(
        status=runner.status,
        rc=int(runner.rc),
        events=list(runner.events),
        artifacts=private_data_dir / "artifacts" / "site-noop",
    )


@pytest.fixture(scope="module")
def converged(
    lab: Inventory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PlaybookRun, RunnerJob]]:
    scratch = tmp_path_factory.mktemp("site")
    first = run_playbook(SITE, scratch, *SCOPE)
    assert first.returncode == 0, first.stdout[-3000:]
    second = run_through_runner(
        tmp_path_factory.mktemp("runner"), SITE, SCOPE, storeops_run_by="awx"
    )
    yield first, second


def test_the_store_converges_then_the_runner_job_changes_nothing(
    lab: Inventory, converged: tuple[PlaybookRun, RunnerJob]
) -> None:
    first, job = converged
    hosts = {host.name for host in lab.hosts_of("hz01")}
    assert set(changes_per_host(first)) == hosts  # every server, workstation and device
    assert (job.status, job.rc) == ("successful", 0), job.artifacts
    changed = job.stats("changed")
    assert set(job.stats("ok")) >= hosts
    assert {host: changed.get(host, 0) for host in hosts} == dict.fromkeys(hosts, 0), changed
    assert not job.stats("failures") and not job.stats("dark")
    validations = [
        e["event"]
        for e in job.events
        if e.get("event_data", {}).get("task") == "Validate every inventory source of this run"
        and e["event"] in {"runner_on_ok", "runner_on_skipped"}
    ]
    assert validations.count("runner_on_ok") == 1, validations  # once per run, then skipped


def test_the_runner_job_leaves_awx_its_artifacts(converged: tuple[PlaybookRun, RunnerJob]) -> None:
    _, job = converged
    assert (job.artifacts / "rc").read_text().strip() == "0"
    assert (job.artifacts / "status").read_text().strip() == "successful"
    command = json.loads((job.artifacts / "command").read_text())["command"]
    assert Path(command[0]).name == "ansible-playbook" and SITE in command
    assert "--limit" in command and STORE in command
    extravars = command[command.index("-e") + 1]  # the extra vars, as AWX passes them
    assert extravars.startswith("@") and extravars.endswith("/env/extravars")
    assert json.loads(Path(extravars[1:]).read_text()) == {"storeops_run_by": "awx"}
    stored = sorted((job.artifacts / "job_events").glob("*.json"))
    assert len(stored) == len(job.events)
    tasks = {e["event_data"].get("task") for e in job.events if e["event"] == "runner_on_ok"}
    assert "Validate every inventory source of this run" in tasks
    assert "PLAY RECAP" in (job.artifacts / "stdout").read_text()


def test_no_host_discovers_its_python(converged: tuple[PlaybookRun, RunnerJob]) -> None:
    first, job = converged
    assert DISCOVERY_WARNING not in first.words
    assert "[WARNING]" not in first.stdout + first.stderr, first.stdout[-3000:]
    words = (job.artifacts / "stdout").read_text()
    assert "[WARNING]" not in words, words[-3000:]  # no callback the image cannot load
    for event in job.events:
        facts = event.get("event_data", {}).get("res", {}).get("ansible_facts", {})
        assert "discovered_interpreter_python" not in facts, event["event_data"].get("host")


def _firewall_table(container: str) -> int:
    return exec_in(container, ["nft", "list", "table", "inet", "storeops"]).returncode


def test_check_reports_drift_on_exactly_its_host_and_a_run_repairs_it(
    converged: tuple[PlaybookRun, RunnerJob], tmp_path: Path
) -> None:
    container = f"storeops-{DRIFTED}"
    deleted = exec_in(container, ["nft", "delete", "table", "inet", "storeops"])
    assert deleted.returncode == 0, deleted.stderr
    try:
        check = run_playbook(SITE, tmp_path, *SCOPE, "--check", "--tags", "firewall")
        assert check.returncode == 0, check.stdout[-3000:]
        drifted = {host for host, count in changes_per_host(check).items() if count}
        assert drifted == {DRIFTED}, check.stdout[-3000:]
        assert _firewall_table(container) != 0  # --check changed nothing
    finally:
        repaired = run_playbook(SITE, tmp_path, *SCOPE, "--tags", "firewall")
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    changed = {host for host, count in changes_per_host(repaired).items() if count}
    assert changed == {DRIFTED}, repaired.stdout[-3000:]
    assert _firewall_table(container) == 0
