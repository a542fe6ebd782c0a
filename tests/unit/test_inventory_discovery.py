"""The validator sees exactly the files and hosts Ansible loads, on every fixture inventory.

Ansible's side is asked of Ansible itself: its inventory plugins build the hosts, and the
files its vars plugins load (for every group and host) are recorded at its DataLoader.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from storeops import discovery
from storeops.paths import LAB_INVENTORY, REPO_ROOT
from storeops.validate import MANAGEMENT_GROUPS, validate
from storeops.yamlfiles import VaultPasswords
from tests.conftest import (
    BAD_INVENTORIES,
    FIXTURE_ROLES,
    FIXTURE_VAULT_PASSWORD,
    FIXTURES,
    apply_overlay,
    build_inventory,
)

WORKSTATION = FIXTURES / "inventories" / "workstation"
PRODUCTION = REPO_ROOT / "inventory" / "example-production"
CASES = [
    "good",
    "workstation-valid",
    "lab",
    "example-production",
    *(f"bad/{p.name}" for p in sorted(BAD_INVENTORIES.iterdir()) if p.is_dir()),
    *(f"workstation/{p.name}" for p in sorted((WORKSTATION / "bad").iterdir()) if p.is_dir()),
]


def _inventory(case: str, tmp_path: Path) -> tuple[Path, VaultPasswords]:
    fixture_password = VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    if case == "lab":
        return LAB_INVENTORY, VaultPasswords.from_files([REPO_ROOT / "lab" / "vault-password.txt"])
    if case == "example-production":
        return PRODUCTION, VaultPasswords.from_files([PRODUCTION / "EXAMPLE-vault-password.txt"])
    target = tmp_path / "inventory"
    if case == "good":
        return build_inventory(target), fixture_password
    if case.startswith("bad/"):
        return build_inventory(
            target, BAD_INVENTORIES / case.removeprefix("bad/")
        ), fixture_password
    inventory = build_inventory(target, WORKSTATION / "valid")
    if case.startswith("workstation/"):
        apply_overlay(inventory, WORKSTATION / "bad" / case.removeprefix("workstation/"))
    return inventory, fixture_password


def _recording_loader() -> tuple[Any, set[Path]]:
    """Ansible's DataLoader (plugins initialised), and the set of files it loads from now on."""
    from ansible.parsing.dataloader import DataLoader

    from storeops.ansible_view import init_plugins

    loaded: set[Path] = set()

    class RecordingLoader(DataLoader):  # type: ignore[misc]  # ansible ships no types: Any
        def load_from_file(self, file_name: str, *args: Any, **kwargs: Any) -> Any:
            loaded.add(Path(file_name))
            return super().load_from_file(file_name, *args, **kwargs)

    init_plugins()
    return RecordingLoader(), loaded


def _what_ansible_loads(
    root: Path, passwords: VaultPasswords
) -> tuple[set[str], set[str], set[Path], set[str]]:
    """Ansible's hosts and groups, every file its vars plugins load for them, and the groups
    and hosts whose files it could not load (Ansible stops the run there)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.vars.plugins import get_vars_from_inventory_sources

    loader, loaded = _recording_loader()
    loader.set_vault_secrets(passwords.secrets)
    manager = InventoryManager(loader=loader, sources=[], parse=False)
    manager.parse_source(str(root))
    manager._inventory.reconcile_inventory()
    loaded.clear()  # the inventory sources; from here on, what the vars plugins load
    failed: set[str] = set()
    for entity in [*manager.groups.values(), *manager.hosts.values()]:
        try:
            get_vars_from_inventory_sources(loader, [str(root)], [entity], "task")
        except Exception:
            failed.add(entity.name)
    return set(manager.hosts), set(manager.groups), loaded, failed


@pytest.mark.parametrize("case", CASES)
def test_the_validator_reads_the_files_and_hosts_ansible_loads(case: str, tmp_path: Path) -> None:
    root, passwords = _inventory(case, tmp_path)
    root = root.resolve()
    raw = validate(root, passwords, FIXTURE_ROLES if "/" in case or case == "good" else None)
    reported = {issue.file for issue in raw.issues}
    ansible_hosts, ansible_groups, ansible_files, failed = _what_ansible_loads(root, passwords)

    known = ansible_hosts | ansible_groups
    found, _unloaded = discovery.vars_files(root, known)
    read = {f.path for f in raw.vars_files} | {f.path for f in found if f.path in reported}
    assert {f.path for f in found} == read  # every file found is read, or reported unreadable
    for_ansible = {f.path for f in found if f.owner in known and f.owner not in failed}
    assert for_ansible == {
        f for f in ansible_files if not any(g.path == f and g.owner in failed for g in found)
    }
    for owner in failed:  # Ansible stops at a file it cannot load: the validator names it
        assert any(f.owner == owner and f.path in reported for f in found), owner
    if raw.hosts_readable:  # (else hosts.yml is reported, and the groups are unknown)
        # files Ansible never loads are reported; linux and network are no typo, only a
        # group without members yet (a store group with no devices: no network group)
        unknown_owners = {
            f.path for f in found if f.owner not in known and f.owner not in MANAGEMENT_GROUPS
        }
        assert unknown_owners <= reported
        extra = ansible_hosts - set(raw.host_entries)
        assert not extra or any("Ansible has a host" in issue.message for issue in raw.issues)
        assert set(raw.host_entries) <= ansible_hosts


def _ansible_shows(inventory: Path, host: str) -> str:
    return subprocess.run(
        [str(REPO_ROOT / ".venv/bin/ansible-inventory"), "-i", str(inventory), "--host", host],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"ANSIBLE_VAULT_PASSWORD_FILE": str(FIXTURE_VAULT_PASSWORD), "PATH": "/usr/bin:/bin"},
    ).stdout


@pytest.mark.parametrize(
    ("case", "shown", "field"),
    [
        ("nested-group-vars", '"network": "0.0.0.0/0"', "store.network"),
        ("nested-target-version", '"dms_target_version": "9.9.9"', "store.dms_target_version"),
    ],
)
def test_a_nested_store_file_overrides_for_ansible_and_is_judged(
    case: str, shown: str, field: str, tmp_path: Path
) -> None:
    """The issue's example: group_vars/store_aa01/zz/store.yml wins in Ansible; the validator
    judges that value (0.0.0.0/0: not a store network; 9.9.9: not in the catalog), in that
    file."""
    inventory = build_inventory(tmp_path / "inventory", BAD_INVENTORIES / case)
    assert shown in _ansible_shows(inventory, "aa01-db")
    raw = validate(inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), FIXTURE_ROLES)
    nested = inventory / "group_vars" / "store_aa01" / "zz" / "store.yml"
    assert [(i.file, i.field) for i in raw.issues] == [(nested, field)]


def test_vars_files_are_found_in_ansibles_load_order(tmp_path: Path) -> None:
    """group_vars/<group>/ recursively, sorted, .yml/.yaml/.json and no extension; hidden
    files, backups and other extensions skipped; the directory shadows <group>.yml."""
    group = tmp_path / "group_vars" / "g"
    for name in ["b.yml", "a.json", "c", "sub/z.yaml", ".hidden.yml", "x.yml~", "notes.txt"]:
        (group / name).parent.mkdir(parents=True, exist_ok=True)
        (group / name).write_text("---\nk: 1\n")
    (tmp_path / "group_vars" / "g.yml").write_text("---\nk: 2\n")
    found, unloaded = discovery.vars_files(tmp_path, {"g"})
    assert [f.path.relative_to(group).as_posix() for f in found] == [
        "a.json",
        "b.yml",
        "c",
        "sub/z.yaml",
    ]
    assert [u.path.name for u in unloaded] == ["g.yml"]


def _dirs_ansible_plays_from(playbook: Path, root: Path) -> tuple[set[Path], set[Path]]:
    """Each play's directory as ansible-playbook sets it (the imported playbook's for an
    imported play, PlaybookExecutor), and the files its vars plugins load from there."""
    from ansible.inventory.manager import InventoryManager
    from ansible.playbook import Playbook
    from ansible.vars.manager import VariableManager
    from ansible.vars.plugins import get_vars_from_path

    loader, loaded = _recording_loader()
    manager = InventoryManager(loader=loader, sources=[str(root)])
    playbook_loaded = Playbook.load(
        str(playbook), variable_manager=VariableManager(loader, manager), loader=loader
    )
    dirs = {
        Path(play._included_path or playbook_loaded._basedir).resolve()
        for play in playbook_loaded.get_plays()
    }
    loaded.clear()
    entities = [*manager.groups.values(), *manager.hosts.values()]
    for directory in dirs:
        get_vars_from_path(loader, str(directory), entities, "task")
    return dirs, loaded


def test_the_validator_reads_the_vars_ansible_loads_beside_the_playbooks(tmp_path: Path) -> None:
    """The directories the plays run from, and every file Ansible loads there, are exactly
    those the validator reads (a playbook that only imports runs no play of its own)."""
    import shutil

    inventory = build_inventory(tmp_path / "inventory").resolve()
    playbooks = tmp_path / "playbooks"
    shutil.copytree(FIXTURES / "inventories" / "playbook-vars" / "playbooks", playbooks)
    site = (playbooks / "site.yml").resolve()
    dirs, ansible_files = _dirs_ansible_plays_from(site, inventory)
    assert dirs == {playbooks.resolve(), (playbooks / "sub").resolve()}
    assert set(discovery.playbook_dirs([site]).dirs) == dirs
    raw = validate(inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), FIXTURE_ROLES)
    assert raw.playbook_vars_files == []
    raw = validate(
        inventory,
        VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]),
        FIXTURE_ROLES,
        playbooks=[site],
    )
    assert {f.path for f in raw.playbook_vars_files} == ansible_files
    assert len(ansible_files) == 4


def test_an_import_the_validator_cannot_follow_is_reported(tmp_path: Path) -> None:
    site = tmp_path / "site.yml"
    site.write_text(
        "---\n- ansible.builtin.import_playbook: '{{ which }}.yml'\n"
        "- import_playbook: missing.yml\n"
    )
    found = discovery.playbook_dirs([site])
    assert found.dirs == []
    assert [problem.reason.split(":")[0] for problem in found.problems] == [
        "[0].import_playbook",
        "[1].import_playbook",
    ]
