"""The inventory loader: one reader of ``inventory/<name>/`` for every consumer.

The inventory is a plain Ansible inventory directory, so ``ansible-inventory`` and AWX
read it as it is:

```
inventory/<name>/
  hosts.yml                    stores (groups store_<code>) and their hosts
  roles.yml                    constructed plugin: groups dms, db, ... from storeops_roles
  group_vars/all/*.yml         storeops_group, dms_catalog, dms_wave_size, vault.yml
  group_vars/store_<code>/*.yml  the store: block, plus the store's vault.yml
  group_vars/<role>.yml        role variables for one host role (optional)
  host_vars/<host>.yml         per-host variables (optional)
```

The files read are exactly those Ansible loads (:mod:`storeops.discovery` asks Ansible's own
code): group_vars/<name>/ read recursively, .yml, .yaml, .json and extension-less files, in
Ansible's load order; the hosts and groups its inventory plugins build from every source;
given the run's playbooks, the group_vars/ and host_vars/ beside them too.

:func:`read` parses every file and checks each against the schema, collecting issues;
``validate.py`` adds the rules that span files; its :func:`load_valid` returns the typed view
only when there is no issue at all.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storeops import discovery
from storeops.discovery import AnsibleHosts, UnloadedEntry
from storeops.issues import Issue, issues_from_validation_error
from storeops.schema import (
    STORE_GROUP_PREFIX,
    GroupWideVars,
    HostEntry,
    HostsFile,
    NetworkPlatform,
    Role,
    Store,
    StoreVars,
)
from storeops.yamlfiles import (
    VaultPasswords,
    YamlProblem,
    is_vault_envelope,
    read_yaml,
    vaulted_values,
)

HOSTS_FILE = "hosts.yml"
ROLES_FILE = "roles.yml"


class InventoryInvalid(Exception):
    """Raised by :func:`storeops.validate.load_valid`; carries every issue found."""

    def __init__(self, root: Path, issues: list[Issue]) -> None:
        self.root = root
        self.issues = issues
        lines = "\n".join(issue.render(Path.cwd()) for issue in issues)
        super().__init__(f"inventory {root} has {len(issues)} error(s):\n{lines}")


@dataclass(frozen=True)
class Host:
    """A host of the inventory, as every consumer sees it."""

    name: str
    store: str
    address: ipaddress.IPv4Address  # in the store's network: what the zone model uses
    roles: tuple[Role, ...]
    zone: str
    port: int | None = None
    user: str | None = None
    connect_to: ipaddress.IPv4Address | None = None  # ansible_host, when it is not ``address``
    platform: NetworkPlatform | None = None  # a switch's or firewall's operating system

    @property
    def endpoint(self) -> tuple[ipaddress.IPv4Address, int | None]:
        """Where Ansible (or netmiko) connects: address and port (None: the default)."""
        return (self.connect_to or self.address, self.port)


@dataclass(frozen=True)
class VarsFile:
    """One file of group_vars or host_vars: whose variables, from which file."""

    path: Path
    owner: str
    owner_is_host: bool
    variables: dict[str, Any]
    encrypted: bool
    # (field, vault envelope): the whole file's ("") or each inline !vault value's
    ciphertexts: tuple[tuple[str, str], ...] = ()


@dataclass
class RawInventory:
    """Everything that could be read, valid or not, with the issues found so far."""

    root: Path
    issues: list[Issue] = field(default_factory=list)
    host_entries: dict[str, tuple[str, HostEntry]] = field(default_factory=dict)
    store_groups: list[str] = field(default_factory=list)
    hosts_readable: bool = False
    duplicate_entries: list[tuple[str, HostEntry]] = field(default_factory=list)
    unreadable_owners: set[str] = field(default_factory=set)
    group_wide: GroupWideVars | None = None
    stores: dict[str, tuple[Store, Path]] = field(default_factory=dict)
    vars_files: list[VarsFile] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)  # inventory sources Ansible parses
    unloaded: list[UnloadedEntry] = field(default_factory=list)  # vars entries it skips
    ansible: AnsibleHosts | None = None  # hosts and groups as Ansible builds them
    undecrypted: list[Path] = field(default_factory=list)  # vault files that did not open
    # group_vars/ and host_vars/ beside the playbooks of the run (discovery.playbook_dirs):
    # Ansible loads them over the inventory's for the plays of that directory
    playbook_dirs: list[Path] = field(default_factory=list)
    playbook_vars_files: list[VarsFile] = field(default_factory=list)
    # (owner_is_host, owner) -> positions in vars_files, and the list (and length) indexed
    _owner_index: dict[tuple[bool, str], list[int]] = field(default_factory=dict, repr=False)
    _indexed: tuple[int, int] = field(default=(0, -1), repr=False)

    @property
    def hosts_path(self) -> Path:
        return self.root / HOSTS_FILE

    def vars_files_of(self, groups: Iterable[str] = (), host: str | None = None) -> list[VarsFile]:
        """The vars files of these groups and of this host, in ``vars_files`` order (Ansible's
        load order): by an index of owners, so that asking for every store or host reads
        each file once, not every file once per store or host."""
        if self._indexed != (id(self.vars_files), len(self.vars_files)):
            self._owner_index = defaultdict(list)
            for position, vars_file in enumerate(self.vars_files):
                self._owner_index[(vars_file.owner_is_host, vars_file.owner)].append(position)
            self._indexed = (id(self.vars_files), len(self.vars_files))
        keys = [(False, group) for group in groups] + ([(True, host)] if host is not None else [])
        positions = sorted({p for key in keys for p in self._owner_index.get(key, ())})
        return [self.vars_files[position] for position in positions]

    def store_code_of_group(self, group: str) -> str:
        return group.removeprefix(STORE_GROUP_PREFIX)


@dataclass(frozen=True)
class Inventory:
    """A valid inventory: the typed view that the lab, the plugins and the reports use."""

    root: Path
    group: GroupWideVars
    stores: dict[str, Store]
    hosts: dict[str, Host]

    def hosts_of(self, store_code: str) -> list[Host]:
        """The store's hosts, in inventory order (by an index: the zone model asks this for
        every host of every store, which scanning every host each time made quadratic)."""
        return list(self._hosts_by_store.get(store_code, ()))

    def hosts_with_role(self, role: Role) -> list[Host]:
        return [host for host in self.hosts.values() if role in host.roles]

    @functools.cached_property
    def network_blocks(self) -> tuple[ipaddress.IPv4Network, ...]:
        """Every store's network, collapsed into the fewest CIDR blocks, sorted (computed
        once: every zone ACL of every device closes them)."""
        networks = (store.network for store in self.stores.values())
        return tuple(sorted(ipaddress.collapse_addresses(networks)))

    @functools.cached_property
    def _hosts_by_store(self) -> dict[str, tuple[Host, ...]]:
        by_store: dict[str, list[Host]] = defaultdict(list)
        for host in self.hosts.values():
            by_store[host.store].append(host)
        return {code: tuple(hosts) for code, hosts in by_store.items()}


# ---------------------------------------------------------------------------- reading


def _known_entities(raw: RawInventory) -> set[str]:
    if raw.ansible is None or raw.ansible.error:
        return set()
    return set(raw.ansible.groups) | set(raw.ansible.hosts)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def _variables(raw: RawInventory, path: Path, data: Any) -> dict[str, Any] | None:
    """The file's variables; None (and an issue) when it holds no mapping of names."""
    if data is None:
        raw.issues.append(
            Issue(path, "", "empty: defines no variable (a truncated save?); restore or delete it")
        )
        return None
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        raw.issues.append(Issue(path, "", f"must be a mapping of variable names, not {kind}"))
        return None
    variables: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(key, str):
            variables[key] = value
        else:
            raw.issues.append(
                Issue(
                    path,
                    str(key),
                    f"not a variable name: YAML reads {key!r} as {_kind(key)}, not text "
                    "(a name is a letter or _, then letters, digits or _)",
                )
            )
    return variables


def _read_vars_files(raw: RawInventory, passwords: VaultPasswords) -> None:
    found, raw.unloaded = discovery.vars_files(raw.root, _known_entities(raw))
    raw.vars_files = _read_found(raw, found, passwords)


def _read_playbook_vars_files(
    raw: RawInventory, passwords: VaultPasswords, playbooks: list[Path]
) -> None:
    """The vars files beside the run's playbooks, read like the inventory's."""
    dirs = discovery.playbook_dirs(playbooks)
    raw.unloaded.extend(dirs.problems)
    for directory in dirs.dirs:
        found, unloaded = discovery.vars_files(directory, _known_entities(raw))
        raw.unloaded.extend(unloaded)
        if found:
            raw.playbook_dirs.append(directory)
        raw.playbook_vars_files.extend(_read_found(raw, found, passwords))


def _read_found(
    raw: RawInventory, found: list[discovery.FoundVarsFile], passwords: VaultPasswords
) -> list[VarsFile]:
    read_files: list[VarsFile] = []
    for entry in found:
        path, owner = entry.path, entry.owner
        try:
            parsed = read_yaml(path, passwords)
        except YamlProblem as problem:
            raw.issues.append(Issue(path, "", str(problem)))
            raw.unreadable_owners.add(owner)
            if _is_vault_file(path):
                raw.undecrypted.append(path)
            continue
        variables = _variables(raw, path, parsed.data)
        if variables is None:
            if parsed.data is not None:
                raw.unreadable_owners.add(owner)
            continue
        ciphertexts = [("", parsed.ciphertext)] if parsed.encrypted else []
        ciphertexts += [(name, value.ciphertext) for name, value in vaulted_values(variables)]
        read_files.append(
            VarsFile(
                path, owner, entry.owner_is_host, variables, parsed.encrypted, tuple(ciphertexts)
            )
        )
    return read_files


def _is_vault_file(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            return is_vault_envelope(stream.read(64))
    except OSError:
        return False


def _read_ansible_view(raw: RawInventory) -> None:
    """Ansible's own hosts and groups, once hosts.yml could be read (else it would fail too)."""
    if raw.hosts_readable:
        raw.ansible = discovery.ansible_hosts(raw.sources)


def _read_hosts(raw: RawInventory, passwords: VaultPasswords) -> None:
    path = raw.hosts_path
    if not path.is_file():
        raw.issues.append(Issue(path, "", "missing: every inventory needs a hosts.yml"))
        return
    try:
        data = read_yaml(path, passwords).data
    except YamlProblem as problem:
        raw.issues.append(Issue(path, "", str(problem)))
        return
    try:
        hosts_file = HostsFile.model_validate(data)
    except ValidationError as error:
        raw.issues.extend(issues_from_validation_error(error, {}, path))
        return
    raw.hosts_readable = True
    for group, store_group in hosts_file.all.children.stores.children.items():
        raw.store_groups.append(group)
        for name, entry in store_group.hosts.items():
            if name in raw.host_entries:
                first = raw.host_entries[name][0]
                raw.issues.append(
                    Issue(
                        path,
                        f"all.children.stores.children.{group}.hosts.{name}",
                        f"duplicate host name: {name!r} is already a host of {first}",
                    )
                )
                raw.duplicate_entries.append((group, entry))
                continue
            raw.host_entries[name] = (group, entry)


def _merged(files: list[VarsFile]) -> tuple[dict[str, Any], dict[str, Path]]:
    """The variables of one owner across its files, and the file each came from."""
    variables: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for vars_file in files:
        for key, value in vars_file.variables.items():
            variables[key] = value
            origin[key] = vars_file.path
    return variables, origin


def _files_of_group(raw: RawInventory, group: str) -> list[VarsFile]:
    return raw.vars_files_of([group])


def _group_location(raw: RawInventory, group: str) -> Path:
    files = _files_of_group(raw, group)
    return files[0].path if files else raw.root / "group_vars" / group


def _read_group_wide(raw: RawInventory) -> None:
    if "all" in raw.unreadable_owners:
        return
    variables, origin = _merged(_files_of_group(raw, "all"))
    try:
        raw.group_wide = GroupWideVars.model_validate(variables)
    except ValidationError as error:
        raw.issues.extend(issues_from_validation_error(error, origin, _group_location(raw, "all")))


def _store_groups_to_read(raw: RawInventory) -> list[str]:
    """The stores of hosts.yml; if it could not be read, those that have group_vars."""
    if raw.hosts_readable:
        return raw.store_groups
    owners = {f.owner for f in raw.vars_files if not f.owner_is_host}
    return sorted(owner for owner in owners if owner.startswith(STORE_GROUP_PREFIX))


def _read_stores(raw: RawInventory) -> None:
    for group in _store_groups_to_read(raw):
        if group in raw.unreadable_owners:
            continue  # the file that could not be read is reported; its keys are unknown
        variables, origin = _merged(_files_of_group(raw, group))
        location = _group_location(raw, group)
        try:
            store = StoreVars.model_validate(variables).store
        except ValidationError as error:
            raw.issues.extend(issues_from_validation_error(error, origin, location))
            continue
        store_file = origin["store"]
        expected = raw.store_code_of_group(group)
        if store.code != expected:
            raw.issues.append(
                Issue(
                    store_file,
                    "store.code",
                    f"{store.code!r} does not match its group {group!r} (expected {expected!r})",
                )
            )
            continue
        raw.stores[store.code] = (store, store_file)


def read(
    root: Path | str,
    passwords: VaultPasswords | None = None,
    playbooks: list[Path] | None = None,
) -> RawInventory:
    """Read every file of the inventory and check each against the schema.

    ``playbooks``: the run's playbook files (or directories of playbooks), whose adjacent
    group_vars/ and host_vars/ are read too (``raw.playbook_vars_files``).
    """
    raw = RawInventory(Path(root).resolve())
    if not raw.root.is_dir():
        raw.issues.append(Issue(raw.root, "", "is not an inventory directory"))
        return raw
    passwords = passwords or VaultPasswords()
    raw.sources = discovery.inventory_sources(raw.root)
    _read_hosts(raw, passwords)
    _read_ansible_view(raw)
    _read_vars_files(raw, passwords)
    _read_group_wide(raw)
    _read_stores(raw)
    _read_playbook_vars_files(raw, passwords, [Path(p).resolve() for p in playbooks or []])
    return raw


# ---------------------------------------------------------------------------- typed view


def typed_view(raw: RawInventory) -> Inventory:
    """The valid inventory; only meaningful when ``raw.issues`` is empty."""
    if raw.group_wide is None:
        raise InventoryInvalid(raw.root, raw.issues)
    hosts = {
        name: Host(
            name=name,
            store=raw.store_code_of_group(group),
            address=entry.address,
            roles=tuple(entry.storeops_roles),
            zone=entry.storeops_zone,
            port=entry.ansible_port,
            user=entry.ansible_user,
            connect_to=entry.ansible_host if entry.storeops_address is not None else None,
            platform=entry.storeops_platform,
        )
        for name, (group, entry) in raw.host_entries.items()
    }
    stores = {code: store for code, (store, _path) in raw.stores.items()}
    return Inventory(raw.root, raw.group_wide, stores, hosts)
