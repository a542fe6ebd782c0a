"""Where things are: the project the run works on, and the controller's state (one place).

The *project* is the directory with ``ansible.cfg`` and ``roles/`` (this repository's checkout,
or the copy of it that AWX checks out for each job). It comes from the run, never from where
this package is installed (a wheel in an execution environment has no roles beside it):

1. ``STOREOPS_PROJECT``, when set (it must be a project);
2. the project holding the path the command works on (an inventory, a playbook directory);
3. the directory of ``ANSIBLE_CONFIG``, when that is a project;
4. the current directory or one of its parents (``ansible-playbook`` run from the project,
   as AWX does);
5. the checkout this package is imported from (an editable install, the tests).

The controller's *state* (device configuration backups, the rollout audit log, downloaded
releases, archives, the fact cache) is kept under ``STOREOPS_STATE_DIR`` when set (a
directory that outlives the job: AWX discards the project after each one), else where the
checkout has always kept it (``.cache/<name>``, ``logs/``). The lab's own files stay in the
checkout (``lab/.state``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROJECT_ENV = "STOREOPS_PROJECT"
STATE_ENV = "STOREOPS_STATE_DIR"

# The controller's state, by name: its place in the checkout when STOREOPS_STATE_DIR is not
# set; under STOREOPS_STATE_DIR each one is <STOREOPS_STATE_DIR>/<name>.
STATE_LAYOUT: Mapping[str, str] = {
    "network-backups": ".cache/network-backups",  # device running configs (password hashes)
    "dms-artifacts": ".cache/dms-artifacts",  # verified DMS releases (a download cache)
    "workstation-archives": ".cache/workstation-archives",  # scratch of decommissioning
    "ansible-facts": ".cache/ansible-facts",  # ansible.cfg's fact cache
    "logs": "logs",  # the controller-side rollout audit log (dms-rollouts.jsonl)
    "storeops.sqlite": "logs/storeops.sqlite",  # history, notifications (storeops.statedb)
    # each store's last `storeops audit` (pass rates), for the health check
    "compliance-audit.json": "logs/compliance-audit.json",
    "ara": "logs/ara",  # ARA's run history (callback_plugins/ara_default.py): ansible.sqlite
}


class ProjectNotFound(LookupError):
    """No project directory (ansible.cfg and roles/) for this run."""


def is_project(path: Path) -> bool:
    """``path`` is a storeops project: an ``ansible.cfg`` beside a ``roles/`` directory."""
    return (path / "ansible.cfg").is_file() and (path / "roles").is_dir()


def _enclosing_project(path: Path) -> Path | None:
    start = path.resolve()
    for candidate in (start, *start.parents):
        if is_project(candidate):
            return candidate
    return None


def _checkout() -> Path | None:
    """The checkout this package runs from (modules/storeops/ inside it), if it is one."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if is_project(candidate) else None


def find_project(
    near: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    installed: bool = True,
) -> Path:
    """The project of this run (see the module's docstring for the order).

    ``installed=False`` leaves out the last step, the checkout the package is imported
    from: the CLI's defaults come from the run, never from where storeops is installed.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(PROJECT_ENV)
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not is_project(root):
            raise ProjectNotFound(f"{PROJECT_ENV}={explicit}: no ansible.cfg and roles/ there")
        return root
    config = env.get("ANSIBLE_CONFIG")
    candidates = [
        Path(near) if near is not None else None,
        Path(config).expanduser().parent if config else None,
        Path.cwd(),
    ]
    for candidate in candidates:
        found = _enclosing_project(candidate) if candidate is not None else None
        if found is not None:
            return found
    found = _checkout() if installed else None
    if found is None:
        raise ProjectNotFound(
            "no storeops project (ansible.cfg and roles/) in the current directory or above: "
            f"run from the project directory or set {PROJECT_ENV}"
        )
    return found


def roles_dir(near: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The run's ``roles/`` (what the validator reads role defaults and specs from)."""
    return find_project(near, environ) / "roles"


def state_path(
    name: str, project: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Where the controller keeps ``name`` (a key of ``STATE_LAYOUT``)."""
    if name not in STATE_LAYOUT:
        raise KeyError(f"unknown controller state {name!r}; one of {sorted(STATE_LAYOUT)}")
    env = os.environ if environ is None else environ
    base = env.get(STATE_ENV)
    if base:
        return Path(base).expanduser().resolve() / name
    root = _enclosing_project(Path(project)) if project is not None else None
    return (root or find_project(environ=env)) / STATE_LAYOUT[name]


def _project_or_cwd() -> Path:
    try:
        return find_project()
    except ProjectNotFound:
        return Path.cwd()  # commands that need the project report ProjectNotFound themselves


# The run's project when this module is first imported (the CLI's and ansible-playbook's
# working directory, or the environment); commands given a path use find_project(path).
REPO_ROOT = _project_or_cwd()
LAB_STATE_DIR = REPO_ROOT / "lab" / ".state"
LAB_INVENTORY = REPO_ROOT / "inventory" / "lab"
ROLES_DIR = REPO_ROOT / "roles"
DEPLOYS_DIR = REPO_ROOT / "deploys"
