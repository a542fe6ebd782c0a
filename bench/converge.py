"""A no-op converge of the whole lab (bench/run.py `site-noop`), and the engine AWX uses
(bench/run.py `runner`).

``site-noop``: ``playbooks/site.yml`` over the converged lab (2 stores: 8 servers and
workstations, 4 emulated devices), where nothing is left to change, three ways, alternated,
each with cold SSH (a fresh control-socket directory):

* the repository's ``ansible.cfg`` (pinned interpreters, pipelining, ControlPersist, 20
  forks, facts only where a role needs them; its callbacks: ARA and profile_tasks);
* the same without run history: ARA's callback off (profile_tasks kept), its share;
* Ansible's defaults: a configuration that only says where the project's roles, modules and
  plugins and the lab's vault password are (forks 5, no pipelining, the default callback);
* the repository's settings with Mitogen 0.3's ``mitogen_linear`` strategy, the opt-in: a
  third-party strategy plugin, which ansible-core 2.19 deprecates (it warns on every run;
  removal in a later release, no replacement planned), so it is never the default.

``site-noop-link``: the repository's settings and Ansible's defaults again, each SSH
connection to a server or workstation through an emulated store link
(``storeops_lab.slowlink``: a ProxyCommand that delays every byte, 15 ms each way, a 30 ms
round trip, as a store's VPN from the head office). The lab's bridge has no latency, which
hides what pipelining, connection reuse and forks are for; the emulated devices are reached
by network_cli (paramiko) and are not behind the link.

Every run must report changed=0 on every host (else the figure is not of a no-op: the bench
stops). ``runner``: the same job (``playbooks/common.yml``, a no-op, ARA off) through
ansible-runner's Python API (a private data directory with the project, the inventory and
the environment, as AWX runs it) and through ansible-playbook, alternated.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ansible_mitogen
import ansible_runner

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SITE = "playbooks/site.yml"
RECAP_RE = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)
# Ansible's defaults, but for where this project keeps its parts (without these no playbook
# of it could run at all) and the lab's vault.
DEFAULTS_CFG = f"""[defaults]
inventory = {REPO}/inventory/lab
roles_path = {REPO}/roles
library = {REPO}/library
module_utils = {REPO}/module_utils
action_plugins = {REPO}/action_plugins
filter_plugins = {REPO}/filter_plugins
doc_fragment_plugins = {REPO}/doc_fragments
vault_identity = lab
vault_password_file = {REPO}/lab/vault-password.txt
[inventory]
enable_plugins = ansible.builtin.yaml, ansible.builtin.constructed
ignore_patterns = ^(assets|files)$
"""


def mitogen_strategy_dir() -> Path:
    return Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"


def recap(output: str) -> dict[str, tuple[int, int]]:
    """host -> (ok, changed) from the play recap; unreachable or failed hosts raise."""
    hosts: dict[str, tuple[int, int]] = {}
    for host, ok, changed, unreachable, failed in RECAP_RE.findall(output):
        if int(unreachable) or int(failed):
            raise RuntimeError(f"{host} unreachable or failed:\n{output[-3000:]}")
        hosts[host] = (int(ok), int(changed))
    return hosts


def run_playbook(
    env: dict[str, str], playbook: str = SITE, *args: str
) -> tuple[float, dict[str, tuple[int, int]]]:
    """One ansible-playbook run with cold SSH: wall time and its recap."""
    with tempfile.TemporaryDirectory(prefix="storeops-bench-cp-") as control:
        started = time.monotonic()
        done = subprocess.run(
            [str(BIN / "ansible-playbook"), playbook, *args],
            cwd=REPO,
            env={**env, "ANSIBLE_SSH_CONTROL_PATH_DIR": control},
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{playbook} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed, recap(done.stdout)


def no_op(name: str, hosts: dict[str, tuple[int, int]]) -> None:
    """Raise unless the recap shows no change on any host."""
    changed = {host: c for host, (_, c) in hosts.items() if c}
    if changed:
        raise RuntimeError(f"{name}: not a no-op, changed: {changed}")


def base_env() -> dict[str, str]:
    """This process's environment without its ANSIBLE_* settings, the venv first on PATH
    (ansible-runner starts ansible-playbook from PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return {**env, "PATH": f"{BIN}:{env.get('PATH', '')}"}


def settings(scratch: Path) -> dict[str, dict[str, str]]:
    defaults = scratch / "ansible.cfg"
    defaults.write_text(DEFAULTS_CFG)
    base = base_env()
    return {
        "repo": {**base, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        "no_history": {
            **base,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        },
        "defaults": {**base, "ANSIBLE_CONFIG": str(defaults)},
        "mitogen": {
            **base,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_STRATEGY_PLUGINS": str(mitogen_strategy_dir()),
            "ANSIBLE_STRATEGY": "mitogen_linear",
        },
    }


def alternated(
    ways: dict[str, dict[str, str]], runs: int
) -> tuple[dict[str, float], dict[str, tuple[int, int]]]:
    """Each way's median wall time over ``runs`` no-op runs of site.yml, the ways taking
    turns; and the first way's recap. A run that changes anything stops the bench."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    recaps: dict[str, dict[str, tuple[int, int]]] = {}
    for _ in range(runs):
        for name, env in ways.items():
            elapsed, recaps[name] = run_playbook(env)
            no_op(name, recaps[name])
            times[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return medians, recaps[next(iter(ways))]


def site_noop(runs: int) -> dict[str, float]:
    """Median wall time of a no-op site.yml per way; every run must change nothing."""
    with tempfile.TemporaryDirectory(prefix="storeops-bench-cfg-") as scratch:
        ways = settings(Path(scratch))
        first, _ = run_playbook(ways["repo"])  # converge first: what follows must be a no-op
        medians, hosts = alternated(ways, runs)
    return {
        "converge_first_s": first,
        "repo_s": medians["repo"],
        "no_history_s": medians["no_history"],
        "history_share": 1 - medians["no_history"] / medians["repo"],
        "defaults_s": medians["defaults"],
        "mitogen_s": medians["mitogen"],
        "defaults_ratio": medians["defaults"] / medians["repo"],
        "mitogen_ratio": medians["repo"] / medians["mitogen"],
        "tasks_ok": sum(ok for ok, _ in hosts.values()),
        "hosts": len(hosts),
        "runs": runs,
    }


LINK_ONE_WAY_MS = 15


def behind_store_link(env: dict[str, str]) -> dict[str, str]:
    """The same settings, every SSH connection through the emulated store link."""
    proxy = f"{sys.executable} -m storeops_lab.slowlink %h %p {LINK_ONE_WAY_MS}"
    return {**env, "ANSIBLE_SSH_EXTRA_ARGS": f"-o ProxyCommand='{proxy}'"}


def site_noop_link(runs: int) -> dict[str, float]:
    """Median wall time of a no-op site.yml behind the store link: the repository's settings
    vs Ansible's defaults, alternated; every run must change nothing."""
    with tempfile.TemporaryDirectory(prefix="storeops-bench-cfg-") as scratch:
        ways = settings(Path(scratch))
        linked = {name: behind_store_link(ways[name]) for name in ("repo", "defaults")}
        run_playbook(ways["repo"])  # converged first, without the link
        medians, _ = alternated(linked, runs)
    return {
        "rtt_ms": 2 * LINK_ONE_WAY_MS,
        "repo_s": medians["repo"],
        "defaults_s": medians["defaults"],
        "defaults_ratio": medians["defaults"] / medians["repo"],
        "runs": runs,
    }


def link_rows(f: dict[str, float]) -> list[str]:
    return [
        f"| no-op `site.yml`, every server and workstation behind an emulated store link "
        f"({f['rtt_ms']:.0f} ms round trip), the repository's settings | {f['repo_s']:.1f} s |",
        f"| the same with Ansible's defaults | {f['defaults_s']:.1f} s "
        f"({f['defaults_ratio']:.1f}x the repository's) |",
    ]


RUNNER_JOB = "playbooks/common.yml"


def _runner_once(env: dict[str, str]) -> float:
    """The job through ansible-runner's API, as AWX runs it: a private data directory with
    the project and the inventory, the environment in env/envvars."""
    with tempfile.TemporaryDirectory(prefix="storeops-bench-runner-") as scratch:
        data = Path(scratch)
        (data / "project").symlink_to(REPO)
        (data / "inventory").symlink_to(REPO / "inventory" / "lab")
        started = time.monotonic()
        job = ansible_runner.run(
            private_data_dir=str(data),
            playbook=RUNNER_JOB,
            envvars={**env, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(data / "cp")},
            quiet=True,
        )
        elapsed = time.monotonic() - started
        if job.status != "successful":
            raise RuntimeError(f"{RUNNER_JOB} through ansible-runner: {job.status}")
        if any(job.stats["changed"].values()):
            raise RuntimeError(f"not a no-op: {job.stats['changed']}")
    return elapsed


def runner(runs: int) -> dict[str, float]:
    """The same no-op job through ansible-runner and through ansible-playbook, alternated,
    both without ARA's callback: ansible-runner's own callback path cannot load it (the
    execution environment turns it off), so with it on only one engine would record."""
    env = {**base_env(), "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"}
    run_playbook(env, RUNNER_JOB)  # converged first
    through_runner, through_playbook = [], []
    for _ in range(runs):
        through_runner.append(_runner_once(env))
        elapsed, hosts = run_playbook(env, RUNNER_JOB)
        no_op(RUNNER_JOB, hosts)
        through_playbook.append(elapsed)
    runner_s, playbook_s = statistics.median(through_runner), statistics.median(through_playbook)
    return {
        "runner_s": runner_s,
        "playbook_s": playbook_s,
        "runner_overhead": runner_s / playbook_s,
        "runs": runs,
    }


def runner_rows(f: dict[str, float]) -> list[str]:
    return [
        f"| no-op `{RUNNER_JOB}` on the lab through ansible-runner 2.4 (AWX's engine: private "
        f"data directory, event capture; ARA off in both) | {f['runner_s']:.1f} s |",
        f"| the same through ansible-playbook | {f['playbook_s']:.1f} s "
        f"(runner {f['runner_overhead']:.2f}x) |",
    ]


def rows(f: dict[str, float]) -> list[str]:
    """The README's rows for these figures."""
    return [
        f"| no-op `site.yml` on the lab ({f['hosts']:.0f} hosts and devices, {f['tasks_ok']:.0f}"
        f" task results), the repository's settings | {f['repo_s']:.1f} s |",
        f"| the same without run history (ARA's callback off) | {f['no_history_s']:.1f} s "
        f"(ARA {f['history_share']:.0%} of the run) |",
        f"| the same with Ansible's defaults | {f['defaults_s']:.1f} s "
        f"({f['defaults_ratio']:.1f}x the repository's) |",
        f"| the repository's settings + Mitogen `mitogen_linear` (opt-in; a third-party "
        f"strategy, deprecated by ansible-core 2.19) | {f['mitogen_s']:.1f} s "
        f"({f['mitogen_ratio']:.1f}x faster than without) |",
    ]


if __name__ == "__main__":
    benches = {"site-noop": site_noop, "site-noop-link": site_noop_link, "runner": runner}
    print(benches[sys.argv[1]](int(sys.argv[2])))
