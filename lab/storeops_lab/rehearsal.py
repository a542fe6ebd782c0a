"""Rehearsing DMS rollouts on the lab: private copies of its inventory, and a DMS reset.

Lab equipment for the integration tests and the benchmark:
- ``copy_lab_inventory`` and the ``set_*`` edits give a run its own copy of
  inventory/lab with another window, blackout date or target release;
- ``reset_dms`` takes a lab store's DMS back to nothing (service stopped; releases,
  rollout journal, audit log and pre-upgrade dumps removed; an empty DMS database), so
  that playbooks/lab-baseline.yml installs the baseline again. Through podman, never
  over the network, and only on the lab's containers (``storeops-<host>``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops_lab.plan import NAME_PREFIX
from storeops_lab.podman import exec_in, inspect_container

LAB_KEY = "signing_key: ../../lab/dms/signing-key.pub"
COPIED_KEY = "files/lab-dms-signing-key.pub"


def copy_lab_inventory(directory: Path) -> Path:
    """A copy of inventory/lab that validates as it is: the lab's portal key is copied into
    its ``files/`` (the validator takes the key only relative to the inventory)."""
    target = directory / "inventory"
    shutil.copytree(LAB_INVENTORY, target)
    catalog = target / "group_vars" / "all" / "dms_catalog.yml"
    text = catalog.read_text()
    if LAB_KEY not in text:
        raise ValueError(f"{catalog}: no {LAB_KEY!r} to point at the lab's key")
    (target / "files").mkdir(exist_ok=True)
    shutil.copyfile(REPO_ROOT / "lab" / "dms" / "signing-key.pub", target / COPIED_KEY)
    catalog.write_text(text.replace(LAB_KEY, f"signing_key: {COPIED_KEY}"))
    return target


def _edit_store(inventory: Path, store: str, old: str, new: str) -> None:
    path = inventory / "group_vars" / f"store_{store}" / "store.yml"
    text = path.read_text()
    if old not in text:
        raise ValueError(f"{path}: no {old!r}")
    path.write_text(text.replace(old, new))


def set_window(inventory: Path, store: str, start: str, end: str) -> None:
    _edit_store(inventory, store, 'start: "00:00"', f'start: "{start}"')
    _edit_store(inventory, store, 'end: "24:00"', f'end: "{end}"')


def set_blackout(inventory: Path, store: str, day: str) -> None:
    _edit_store(inventory, store, "blackout_dates: []", f"blackout_dates: [{day}]")


def set_target(inventory: Path, store: str, version: str) -> None:
    path = inventory / "group_vars" / f"store_{store}" / "store.yml"
    lines = path.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip().startswith("dms_target_version:")]
    if len(hits) != 1:
        raise ValueError(f"{path}: dms_target_version not found exactly once")
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]] = f'{indent}dms_target_version: "{version}"\n'
    path.write_text("".join(lines))


JOURNAL = "/var/lib/storedms/rollout.json"
AUDIT_LOG = "/var/log/storedms/rollouts.jsonl"
DUMP_DIR = "/var/backups/storedms/pre-upgrade"
DATABASE = "storedms"
LIST_TABLES = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{DATABASE}'"


class ResetError(RuntimeError):
    pass


def run_on(host: str, *argv: str, check: bool = True) -> str:
    """``argv`` in the lab container of ``host`` (through podman); its stdout."""
    done = exec_in(f"{NAME_PREFIX}{host}", argv, timeout=120)
    if check and done.returncode != 0:
        raise ResetError(f"{host}: {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def _empty_database(db_host: str) -> None:
    """Drop the DMS database's tables; the database itself is the mariadb role's (charset,
    collation, grants) and stays."""
    tables = run_on(db_host, "mariadb", "--batch", "--skip-column-names", "-e", LIST_TABLES).split()
    if tables:
        drops = ", ".join(f"`{table}`" for table in tables)
        run_on(
            db_host, "mariadb", "-e", f"SET FOREIGN_KEY_CHECKS = 0; DROP TABLE {drops}", DATABASE
        )


def reset_dms(store: str) -> None:
    """Store ``store`` (its ``<store>-dms`` and ``<store>-db`` hosts) without any DMS."""
    dms, db = f"{store}-dms", f"{store}-db"
    run_on(dms, "systemctl", "stop", "storedms.service", "storedms.socket", check=False)
    run_on(dms, "rm", "-rf", "/opt/storedms", JOURNAL, AUDIT_LOG)
    _empty_database(db)
    run_on(db, "rm", "-rf", DUMP_DIR)


# The lab packages patching moves (lab/aptrepo), at the versions lab-baseline.yml installs.
PATCH_BASELINE = {"storeops-lab-agent": "1.0", "storeops-lab-kernel": "1.0"}
DMS_RUNTIME = "storedms-runtime"
PATCH_STATE_FILE = "/var/lib/storeops/patching.json"


def lab_package_versions(host: str) -> dict[str, str]:
    """Installed version of each lab package on ``host`` ('(state)' when not installed)."""
    out = run_on(
        host,
        "dpkg-query",
        "-W",
        "-f",
        "${Package} ${db:Status-Status} ${Version}\n",
        "storeops-lab-*",
        DMS_RUNTIME,
        check=False,
    )
    found = {}
    for line in out.splitlines():
        name, status, version = [*line.split(), "", ""][:3]
        found[name] = version if status == "installed" else f"({status})"
    return found


def reset_patch_level(host: str) -> None:
    """``host``'s lab packages back at 1.0 (a DMS host's runtime too), dpkg's unfinished
    work finished, no pending reboot and no record of a last patch: what a patch run
    finds after playbooks/lab-baseline.yml."""
    run_on(host, "dpkg", "--configure", "-a")
    wanted = dict(PATCH_BASELINE)
    if host.endswith("-dms"):
        wanted[DMS_RUNTIME] = "1.0"
    installed = lab_package_versions(host)
    if any(installed.get(name) != version for name, version in wanted.items()):
        run_on(host, "apt-get", "update", "-q")
        specs = [f"{name}={version}" for name, version in wanted.items()]
        run_on(host, "apt-get", "install", "-y", "-q", "--allow-downgrades", *specs)
    run_on(host, "rm", "-f", "/run/reboot-required", "/run/reboot-required.pkgs", PATCH_STATE_FILE)


def started_at(host: str) -> str:
    """When the container of ``host`` last started: changes with every reboot from inside
    (the lab's containers share the controller's kernel, so their boot ID does not)."""
    info = inspect_container(f"{NAME_PREFIX}{host}")
    if info is None:
        raise ResetError(f"{host}: no lab container")
    return info.started_at
