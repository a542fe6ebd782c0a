"""Which files Ansible reads from an inventory directory, found by Ansible's own code.

The validator must judge exactly what Ansible loads, so it asks Ansible rather than
re-deriving its rules:

* inventory sources: every entry of the directory (recursively) that
  ``ansible.inventory.manager.IGNORED`` does not skip (hidden names, ``group_vars``,
  ``host_vars``, ansible.cfg's ``ignore_patterns`` and ``ignore_extensions``);
* variables files: what the ``host_group_vars`` vars plugin loads for a group or host,
  ``DataLoader.find_vars_files`` (``NAME`` as a file or a directory read recursively, else
  ``NAME.yml``, ``NAME.yaml``, ``NAME.json``; inside a directory every file with one of
  those extensions or none, hidden files and ``*~`` skipped, in sorted order: the order in
  which Ansible merges them, the last one winning);
* hosts and groups: Ansible's inventory plugins parse the sources (no vars plugins, so no
  vault password is needed);
* variables beside the playbooks: ``group_vars/`` and ``host_vars/`` of each play's
  directory (``PlaybookExecutor``: the imported playbook's directory for an imported play,
  else the playbook's own), read by the same vars plugin rules as the inventory's.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VARS_DIRS = (("group_vars", False), ("host_vars", True))
IMPORT_PLAYBOOK = frozenset(
    {"import_playbook", "ansible.builtin.import_playbook", "ansible.legacy.import_playbook"}
)
PLAYBOOK_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class FoundVarsFile:
    """One file the host_group_vars plugin loads for ``owner``, in load order."""

    path: Path
    owner: str
    owner_is_host: bool


@dataclass(frozen=True)
class UnloadedEntry:
    """An entry of group_vars/ or host_vars/ that Ansible never loads, and why."""

    path: Path
    reason: str


@dataclass
class AnsibleHosts:
    """The hosts and groups Ansible's inventory plugins build from the sources."""

    groups: dict[str, frozenset[str]] = field(default_factory=dict)  # group -> its hosts
    hosts: dict[str, frozenset[str]] = field(default_factory=dict)  # host -> its groups
    error: str | None = None


def _yaml_extensions() -> list[str]:
    from ansible import constants

    return list(constants.YAML_FILENAME_EXTENSIONS)


def inventory_sources(root: Path) -> list[Path]:
    """Every file Ansible tries as an inventory source when given the directory ``root``."""
    from ansible.inventory.manager import IGNORED

    found: list[Path] = []

    def walk(directory: Path) -> None:
        for name in sorted(os.listdir(directory)):
            if IGNORED.search(os.fsencode(name)):
                continue
            path = directory / name
            if path.is_dir():
                walk(path)
            else:
                found.append(path)

    walk(root)
    return found


def _primary_name(entry: Path, extensions: list[str]) -> str:
    """The group or host name an entry of group_vars/ or host_vars/ is loaded for."""
    if entry.is_file() and entry.suffix in extensions:
        return entry.stem
    return entry.name


def vars_files(
    root: Path, known: set[str] | None = None
) -> tuple[list[FoundVarsFile], list[UnloadedEntry]]:
    """The files host_group_vars loads under ``root``, by owner, and the entries it skips.

    An entry is read for the name it is loaded for (``NAME/``, ``NAME.yml``, ``NAME``); a
    name of ``known`` (Ansible's groups and hosts) is also tried as a whole entry name, as
    Ansible would for a host called ``db.yml``.
    """
    from ansible.parsing.dataloader import DataLoader

    loader = DataLoader()
    extensions = _yaml_extensions()
    found: list[FoundVarsFile] = []
    unloaded: list[UnloadedEntry] = []
    for kind, owner_is_host in VARS_DIRS:
        directory = root / kind
        if not directory.is_dir():
            continue
        entries = sorted(e for e in directory.iterdir() if not e.name.startswith("."))
        names = {_primary_name(e, extensions) for e in entries}
        names |= {e.name for e in entries if known and e.name in known}
        loaded_entries: set[Path] = set()
        for name in sorted(names):
            paths = [Path(p) for p in loader.find_vars_files(str(directory), name)]
            found.extend(FoundVarsFile(p, name, owner_is_host) for p in paths)
            loaded_entries.update(_top_entry(directory, p) for p in paths)
        for entry in entries:
            if entry not in loaded_entries and _loads_nothing_by_design(entry, extensions):
                continue
            if entry not in loaded_entries:
                unloaded.append(UnloadedEntry(entry, _why_unloaded(entry, directory, extensions)))
    return found, unloaded


def _top_entry(directory: Path, path: Path) -> Path:
    return directory / path.relative_to(directory).parts[0]


def _loads_nothing_by_design(entry: Path, extensions: list[str]) -> bool:
    """An empty directory or a backup file: nothing Ansible would load, nothing lost."""
    if entry.is_dir():
        return not any(_dir_files(entry, extensions))
    return entry.name.endswith("~")


def _dir_files(directory: Path, extensions: list[str]) -> Iterator[Path]:
    for path in directory.rglob("*"):
        if path.is_file() and (not path.suffix or path.suffix in extensions):
            yield path


def _why_unloaded(entry: Path, directory: Path, extensions: list[str]) -> str:
    name = _primary_name(entry, extensions)
    if (directory / name).exists() and directory / name != entry:
        return (
            f"Ansible does not load this file: {directory.name}/{name} is loaded instead "
            "(a directory or a file without extension takes precedence); move its variables there"
        )
    if entry.is_dir():
        return "Ansible does not load this directory (a directory name with an extension)"
    return (
        f"Ansible does not load this file (only {', '.join(extensions)} or no extension); "
        "rename or remove it"
    )


@contextlib.contextmanager
def expressions_compiled_once() -> Iterator[dict[tuple[int, str, bool], Any]]:
    """Within the block, Ansible compiles each distinct Jinja expression once per environment.

    ansible-core 2.19 compiles an expression every time it evaluates one: the ``constructed``
    plugin (roles.yml: one key and two conditionals) compiled the same three expressions for
    every host, most of the validator's time at 500 stores (9,000 compilations of about
    1 ms). A compiled expression depends only on its environment, its text and whether
    backslashes are escaped (what ``TemplateEngine._compile_expression`` reads); the trust
    check and the evaluation with each host's variables still run every time. Yields the
    cache (key -> compiled expression), so that a test can count what was compiled. With
    another Ansible whose engine lacks that method, the block changes nothing.
    """
    compiled: dict[tuple[int, str, bool], Any] = {}
    try:
        from ansible._internal._templating._engine import TemplateEngine
    except ImportError:
        yield compiled
        return
    original = getattr(TemplateEngine, "_compile_expression", None)
    if original is None:
        yield compiled
        return

    def compile_once(engine: Any, expression: str, options: Any) -> Any:
        key = (id(engine.environment), str(expression), bool(options.escape_backslashes))
        if key not in compiled:
            compiled[key] = original(engine, expression, options)
        return compiled[key]

    TemplateEngine._compile_expression = compile_once
    try:
        yield compiled
    finally:
        TemplateEngine._compile_expression = original


def ansible_hosts(sources: list[Path]) -> AnsibleHosts:
    """Hosts and groups as Ansible's enabled inventory plugins build them from ``sources``."""
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    from storeops.ansible_view import init_plugins

    init_plugins()
    manager = InventoryManager(loader=DataLoader(), sources=[], parse=False)
    # Ansible warns on stderr about a source no plugin could parse: the validator reports it.
    with (
        contextlib.redirect_stderr(io.StringIO()),
        contextlib.redirect_stdout(io.StringIO()),
        expressions_compiled_once(),
    ):
        try:
            for source in sources:
                manager.parse_source(str(source))
            manager._inventory.reconcile_inventory()
        except (AnsibleError, OSError, ValueError) as error:
            return AnsibleHosts(error=str(error))
    groups = {
        name: frozenset(host.name for host in group.get_hosts())
        for name, group in manager.groups.items()
    }
    hosts = {
        name: frozenset(group.name for group in host.get_groups())
        for name, host in manager.hosts.items()
    }
    return AnsibleHosts(groups, hosts)


@dataclass
class PlaybookDirs:
    """Where a run's plays take playbook-adjacent variables from, and what could not be
    followed (a playbook that cannot be read, an import whose path is a template)."""

    dirs: list[Path] = field(default_factory=list)
    problems: list[UnloadedEntry] = field(default_factory=list)


def _playbook_entries(path: Path, found: PlaybookDirs) -> list[object] | None:
    from storeops.yamlfiles import VaultPasswords, YamlProblem, read_yaml

    try:
        data = read_yaml(path, VaultPasswords()).data
    except YamlProblem as problem:
        found.problems.append(UnloadedEntry(path, str(problem)))
        return None
    return data if isinstance(data, list) else None


def _imported(entry: object) -> object | None:
    """The value of an entry's import_playbook, or None for a play."""
    if not isinstance(entry, dict):
        return None
    keys = IMPORT_PLAYBOOK.intersection(entry)
    return entry[next(iter(keys))] if keys else None


def _follow(path: Path, found: PlaybookDirs, seen: set[Path]) -> None:
    path = path.resolve()
    if path in seen:
        return
    seen.add(path)
    entries = _playbook_entries(path, found)
    if entries is None:
        return
    has_play = False
    for index, entry in enumerate(entries):
        target = _imported(entry)
        if target is None:
            has_play = has_play or isinstance(entry, dict)
        elif isinstance(target, str) and "{" not in target and (path.parent / target).is_file():
            _follow(path.parent / target, found, seen)
        else:
            found.problems.append(
                UnloadedEntry(
                    path,
                    f"[{index}].import_playbook: {target!r} is not a playbook file the validator "
                    "can follow (a template or a missing file): the group_vars/ and host_vars/ "
                    "beside it would go unchecked; name the file",
                )
            )
    if has_play and path.parent not in found.dirs:
        found.dirs.append(path.parent)


def playbook_dirs(given: list[Path]) -> PlaybookDirs:
    """The directories whose group_vars/ and host_vars/ the plays of ``given`` load.

    ``given``: playbook files, or directories meaning every playbook directly in them; each
    one's imports are followed (relative to the importing playbook, as Ansible resolves
    them). A play's directory is its own playbook's, imported or not; a playbook that only
    imports others runs no play of its own.
    """
    found = PlaybookDirs()
    seen: set[Path] = set()
    for item in given:
        files = (
            sorted(p for p in item.iterdir() if p.suffix in PLAYBOOK_SUFFIXES and p.is_file())
            if item.is_dir()
            else [item]
        )
        for path in files:
            _follow(path, found, seen)
    found.dirs.sort()
    return found
