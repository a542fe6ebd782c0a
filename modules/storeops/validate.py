"""The validator: every rule that spans files, on top of the per-file schema checks.

``validate()`` returns the raw inventory with *every* issue found, so that the store IT
manager fixes them all in one pass. Nothing here contacts a host.
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import gc
import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from storeops import catalog
from storeops.inventory import (
    HOSTS_FILE,
    ROLES_FILE,
    Inventory,
    InventoryInvalid,
    RawInventory,
    VarsFile,
    read,
    typed_view,
)
from storeops.issues import Issue, issues_from_validation_error
from storeops.paths import LAB_INVENTORY, REPO_ROOT, ROLES_DIR
from storeops.schema import (
    CONTROLLER_PYTHON,
    DEVICE_ROLES,
    HOST_PYTHON_RE,
    SCHEMA_OWNED_VARS,
    STORE_GROUP_PREFIX,
    ConstrainedRoleVars,
    GroupWideVars,
    NetworkPlatform,
    Role,
    StoreVars,
)
from storeops.yamlfiles import VaultPasswords, YamlProblem, is_vaulted, read_yaml
from storeops.zones import is_role_or_all

# What a secret is, by name: the one rule, for a variable and for a key at any depth in one.
# A name is split into its _-separated words: a secret has one of SECRET_WORDS (ansible_password,
# ansible_ssh_pass, ansible_become_pass, ansible_httpapi_pass, ansible_net_auth_pass,
# db_passwd, vpn_psk, snmp_community, restic_passphrase, api_token, client_secret), a word that
# contains one of SECRET_WORD_PARTS (dbpassword, sshpassphrase, privkey, apikey), or is a key
# of a secret kind (KEY_QUALIFIERS + key: private_key, api_key, access_key, signing_key).
# A name ending in NOT_SECRET_SUFFIXES says where a secret is kept (a path), not the secret.
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "psk",
        "community",
        "credential",
        "credentials",
    }
)
SECRET_WORD_PARTS = ("password", "passwd", "passphrase", "secret", "privkey", "apikey")
KEY_QUALIFIERS = frozenset({"private", "api", "access", "auth", "signing", "encryption", "master"})
NOT_SECRET_SUFFIXES = ("_file", "_path", "_dir")
PRIVATE_KEY_VALUE_RE = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
VAULT_REFERENCE_RE = re.compile(r"\bvault_[a-z0-9_]+\b")
# The committed lab vault password: it may open the lab inventory's vault and nothing else.
LAB_VAULT_PASSWORD = REPO_ROOT / "lab" / "vault-password.txt"
LAB_VAULT_ID = "lab"  # ansible.cfg's vault_identity: the label of the lab's vault files
CONSTRUCTED_PLUGIN_NAMES = ("ansible.builtin.constructed", "constructed")
ROLES_FILE_KEYS = frozenset({"plugin", "strict", "keyed_groups", "groups"})
STORE_OWNED_VARS = frozenset(StoreVars.model_fields)
GROUP_OWNED_VARS = frozenset(GroupWideVars.model_fields)
PURE_TEMPLATE_RE = re.compile(r"^\s*\{\{.*\}\}\s*\Z", re.DOTALL)
CONNECTION_VAR_PREFIXES = ("ansible_",)
# Role variables the project derives, never an inventory value: a rule's sources and a
# device's ACLs come from the zone model (so no value can open a rule to the internet; a
# store's networks are private, schema.StoreNetwork), the DMS release and artifact from the
# store's target in the approved catalog. name -> (derived from, what to change instead).
DERIVED_VARS = {
    "firewall_inbound_rules": (
        "the zone model by the playbooks that run the firewall role (storeops.zones)",
        "storeops_flows or the stores' zones",
    ),
    "network_intended": (
        "the zone model by the network role's render step (storeops.network, storeops.acl)",
        "storeops_flows, the zones or the device's network_* variables",
    ),
    "dms_version": ("store.dms_target_version", "the store's dms_target_version"),
    "dms_artifact": ("the approved release catalog", "dms_catalog"),
    "dms_artifact_sha256": ("the approved release catalog", "dms_catalog"),
}
# Built by roles.yml beside the role groups: servers and workstations, switches and firewalls.
MANAGEMENT_GROUPS = ("linux", "network")
FLOWS_FILE = "flows.yml"


# ---------------------------------------------------------------------------- what roles declare


@dataclass(frozen=True)
class RoleKnowledge:
    """What the roles in ``roles/`` declare, and which hosts run which of their secrets.

    ``vault_needs``: role -> the vault_* names its defaults reference (in values, not in
    comments). ``secret_plays``: (host pattern, vault name, role) for every play of
    ``playbooks/`` that runs a role entry point using the secret: ``roles:``, or
    include/import_role without ``tasks_from`` (the whole role), or with ``tasks_from``
    when that task file (or one it imports) names the secret or the default holding it.
    """

    variables: frozenset[str]
    vault_needs: dict[str, frozenset[str]]
    secret_plays: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def scan(cls, roles_dir: Path, playbooks_dir: Path | None = None) -> RoleKnowledge:
        variables: set[str] = set()
        needs: dict[str, frozenset[str]] = {}
        holders: dict[str, dict[str, frozenset[str]]] = {}  # role -> default -> vault names
        for role in sorted(p for p in roles_dir.glob("*") if p.is_dir()):
            variables |= _argument_spec_options(role / "meta" / "argument_specs.yml")
            holders[role.name] = _vault_holders(role / "defaults")
            referenced = frozenset().union(*holders[role.name].values())
            if referenced:
                needs[role.name] = referenced
        plays = _secret_plays(
            roles_dir, playbooks_dir or roles_dir.parent / "playbooks", needs, holders
        )
        return cls(frozenset(variables), needs, plays)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _vault_holders(defaults: Path) -> dict[str, frozenset[str]]:
    """default variable -> the vault_* names its value references."""
    holders: dict[str, frozenset[str]] = {}
    for path in sorted(defaults.glob("*.yml")):
        try:
            data = read_yaml(path, VaultPasswords()).data
        except YamlProblem:
            continue
        for name, value in (data if isinstance(data, dict) else {}).items():
            found = {ref for text in _strings(value) for ref in VAULT_REFERENCE_RE.findall(text)}
            if found:
                holders[str(name)] = frozenset(found)
    return holders


def _entry_point_text(role: Path, entry: str) -> str:
    """The text of tasks/<entry>.yml and of the role's task files it imports or includes."""
    seen: set[str] = set()
    pending = [f"{entry}.yml"]
    texts = []
    while pending:
        name = pending.pop()
        path = role / "tasks" / name
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        pending += re.findall(r"(?:import|include)_tasks:\s*([\w./-]+\.ya?ml)", text)
        pending += re.findall(r"(?:file|name):\s*([\w./-]+\.ya?ml)", text)
    return "\n".join(texts)


def _entry_needs(
    role: Path, entry: str, needs: frozenset[str], holders: dict[str, frozenset[str]]
) -> frozenset[str]:
    if entry == "main":
        return needs
    text = _entry_point_text(role, entry)
    words = set(re.findall(r"\b\w+\b", text))
    used = {name for name in needs if name in words}
    for holder, names in holders.items():
        if holder in words:
            used |= names
    return frozenset(used)


def _role_uses(value: Any) -> Iterable[tuple[str, str]]:
    """(role, entry point) for every role a play (or any task in it) runs."""
    if isinstance(value, list):
        for item in value:
            yield from _role_uses(item)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key == "roles" and isinstance(item, list):
            for entry in item:
                name = entry.get("role", entry.get("name")) if isinstance(entry, dict) else entry
                if isinstance(name, str):
                    yield name, "main"
        elif str(key).endswith(("include_role", "import_role")) and isinstance(item, dict):
            name, entry = item.get("name"), item.get("tasks_from", "main")
            if isinstance(name, str) and isinstance(entry, str):
                yield name, entry.removesuffix(".yml")
        else:
            yield from _role_uses(item)


def _secret_plays(
    roles_dir: Path,
    playbooks_dir: Path,
    needs: dict[str, frozenset[str]],
    holders: dict[str, dict[str, frozenset[str]]],
) -> tuple[tuple[str, str, str], ...]:
    plays: set[tuple[str, str, str]] = set()
    for path in sorted(playbooks_dir.glob("*.yml")) if playbooks_dir.is_dir() else []:
        try:
            data = read_yaml(path, VaultPasswords()).data
        except YamlProblem:
            continue
        for play in data if isinstance(data, list) else []:
            hosts = play.get("hosts") if isinstance(play, dict) else None
            if not isinstance(hosts, str):
                continue
            for role, entry in _role_uses(play):
                if role not in needs:
                    continue
                used = _entry_needs(roles_dir / role, entry, needs[role], holders[role])
                plays.update((hosts, name, role) for name in used)
    return tuple(sorted(plays))


def _argument_spec_options(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML has it
    data = yaml.load(path.read_text(), Loader=loader) or {}
    names: set[str] = set()
    for entry_point in (data.get("argument_specs") or {}).values():
        names |= set((entry_point or {}).get("options") or {})
    return names


# ---------------------------------------------------------------------------- rules


def _check_endpoints(raw: RawInventory) -> Iterable[Issue]:
    """Two hosts reached at one address and port would be one host."""
    seen: dict[tuple[ipaddress.IPv4Address, int | None], str] = {}
    for name, (group, entry) in raw.host_entries.items():
        if entry.storeops_address is None:
            continue  # its address is checked for duplicates with the store addresses
        endpoint = (entry.ansible_host, entry.ansible_port)
        if endpoint in seen:
            location = f"all.children.stores.children.{group}.hosts.{name}"
            where = f"{entry.ansible_host}" + (
                f" port {entry.ansible_port}" if entry.ansible_port else ""
            )
            yield Issue(
                raw.hosts_path,
                f"{location}.ansible_port" if entry.ansible_port else f"{location}.ansible_host",
                f"duplicate connection {where}: already used by {seen[endpoint]}",
            )
        else:
            seen[endpoint] = name


def _check_platforms(raw: RawInventory) -> Iterable[Issue]:
    """Switches and firewalls name their operating system; other hosts have none."""
    choices = ", ".join(platform.value for platform in NetworkPlatform)
    for name, (group, entry) in raw.host_entries.items():
        location = f"all.children.stores.children.{group}.hosts.{name}.storeops_platform"
        is_device = bool(DEVICE_ROLES.intersection(entry.storeops_roles))
        if is_device and entry.storeops_platform is None:
            yield Issue(
                raw.hosts_path, location, f"missing: a switch or firewall needs one of {choices}"
            )
        elif not is_device and entry.storeops_platform is not None:
            yield Issue(
                raw.hosts_path, location, "only a switch or a firewall has a network platform"
            )


INTERPRETER = "ansible_python_interpreter"
# Where the interpreter may be pinned: the two management groups (disjoint, so no group
# precedence decides it) and a host of its own (above any group).
INTERPRETER_GROUPS = {
    "linux": "the hosts' Python 3 (/usr/bin/python3): discovering it costs a round trip "
    "and prints a warning per host",
    "network": f"{CONTROLLER_PYTHON!r}: devices are driven from the controller",
}


def _interpreter_value_issue(value: Any, device: bool) -> str | None:
    """Why ``value`` cannot be the interpreter of a device (or of a store host), if it cannot."""
    if device:
        if value != CONTROLLER_PYTHON:
            return (
                f"{value!r}: a switch or firewall is driven from the controller "
                f"(connection local): its interpreter is {CONTROLLER_PYTHON!r}"
            )
        return None
    if not isinstance(value, str) or not HOST_PYTHON_RE.fullmatch(value):
        return (
            f"{value!r} is not an absolute path to a Python 3 on the host "
            "(/usr/bin/python3, /usr/bin/python3.11)"
        )
    return None


def _interpreter_pins(raw: RawInventory) -> tuple[set[str], list[Issue]]:
    """The owners (linux, network, a host) that pin an interpreter, and the bad pins."""
    pinned: set[str] = set()
    issues: list[Issue] = []
    for vars_file in raw.vars_files:
        if INTERPRETER not in vars_file.variables:
            continue
        owner = vars_file.owner
        if not vars_file.owner_is_host and owner not in INTERPRETER_GROUPS:
            issues.append(
                Issue(
                    vars_file.path,
                    INTERPRETER,
                    "pin it in group_vars/linux.yml (servers and workstations), "
                    f"group_vars/network.yml ({CONTROLLER_PYTHON}) or one host's host_vars: "
                    f"set for group {owner}, it would reach hosts of both kinds",
                )
            )
            continue
        entry = raw.host_entries.get(owner) if vars_file.owner_is_host else None
        device = owner == "network" or (
            entry is not None and entry[1].storeops_platform is not None
        )
        problem = _interpreter_value_issue(vars_file.variables[INTERPRETER], device)
        if problem:
            issues.append(Issue(vars_file.path, INTERPRETER, problem))
        pinned.add(owner)  # a bad pin is reported above, not again as a missing one
    return pinned, issues


def _check_interpreters(raw: RawInventory) -> Iterable[Issue]:
    """Every host's Python is pinned, never discovered, with a value fit for its kind."""
    pinned, issues = _interpreter_pins(raw)
    yield from issues
    missing: dict[str, list[str]] = defaultdict(list)
    for name, (group, entry) in sorted(raw.host_entries.items()):
        kind = "network" if entry.storeops_platform is not None else "linux"
        if entry.ansible_python_interpreter is not None:
            location = f"all.children.stores.children.{group}.hosts.{name}.{INTERPRETER}"
            problem = _interpreter_value_issue(entry.ansible_python_interpreter, kind == "network")
            if problem:
                yield Issue(raw.hosts_path, location, problem)
            continue
        if name not in pinned and kind not in pinned:
            missing[kind].append(name)
    for kind, hosts in sorted(missing.items()):
        yield Issue(
            raw.root / "group_vars" / f"{kind}.yml",
            INTERPRETER,
            f"missing for {', '.join(hosts)}: pin {INTERPRETER_GROUPS[kind]}",
        )


def _check_addresses(raw: RawInventory) -> Iterable[Issue]:
    seen: dict[ipaddress.IPv4Address, str] = {}
    for name, (group, entry) in raw.host_entries.items():
        location = f"all.children.stores.children.{group}.hosts.{name}"
        address, key = entry.address, entry.address_key
        if address in seen:
            yield Issue(
                raw.hosts_path,
                f"{location}.{key}",
                f"duplicate address {address}: already used by {seen[address]}",
            )
        else:
            seen[address] = name
        stored = raw.stores.get(raw.store_code_of_group(group))
        if stored is None:
            continue
        store, _ = stored
        zone = store.zones.get(entry.storeops_zone)
        if zone is None:
            known = ", ".join(sorted(store.zones))
            yield Issue(
                raw.hosts_path,
                f"{location}.storeops_zone",
                f"unknown zone {entry.storeops_zone!r} (store {store.code} has: {known})",
            )
        if address not in store.network:
            yield Issue(
                raw.hosts_path,
                f"{location}.{key}",
                f"{address} is outside store {store.code}'s network {store.network}",
            )
        elif zone is not None and address not in zone.subnet:
            yield Issue(
                raw.hosts_path,
                f"{location}.{key}",
                f"{address} is outside zone {entry.storeops_zone} ({zone.subnet})",
            )


class _PlacedNetworks:
    """Networks placed one after the other, asked which earlier ones a new one overlaps.

    Two CIDR blocks overlap only when one holds the other: the earlier ones that hold a
    network are among its 33 supernets (a dictionary lookup each), those it holds start
    inside it (a bisection of the sorted start addresses). Comparing every store's network
    with every other's made the validator quadratic in the stores.
    """

    def __init__(self) -> None:
        self._owners: dict[ipaddress.IPv4Network, list[tuple[int, str]]] = defaultdict(list)
        self._starts: list[tuple[int, int, ipaddress.IPv4Network]] = []  # (start, order, net)

    def overlapping(
        self, network: ipaddress.IPv4Network
    ) -> list[tuple[ipaddress.IPv4Network, str]]:
        """The placed networks ``network`` overlaps, with their owners, in placing order."""
        found: list[tuple[int, ipaddress.IPv4Network, str]] = []
        for prefix in range(network.prefixlen, -1, -1):
            holder = network.supernet(new_prefix=prefix)
            found += [(order, holder, owner) for order, owner in self._owners.get(holder, ())]
        first = int(network.network_address)
        low = bisect.bisect_left(self._starts, (first, -1))
        high = bisect.bisect_right(
            self._starts, (int(network.broadcast_address), len(self._starts))
        )
        held = {
            net
            for _start, _order, net in self._starts[low:high]
            if net != network and net.subnet_of(network)  # a holder starting here: found above
        }
        for net in held:
            found += [(order, net, owner) for order, owner in self._owners[net]]
        return [(net, owner) for _order, net, owner in sorted(found, key=lambda item: item[0])]

    def place(self, network: ipaddress.IPv4Network, owner: str) -> None:
        order = len(self._starts)
        self._owners[network].append((order, owner))
        bisect.insort(self._starts, (int(network.network_address), order, network))


def _check_subnets(raw: RawInventory) -> Iterable[Issue]:
    placed = _PlacedNetworks()
    for code, (store, path) in sorted(raw.stores.items()):
        for network, owner in placed.overlapping(store.network):
            yield Issue(
                path, "store.network", f"{store.network} overlaps {owner}'s network {network}"
            )
        placed.place(store.network, f"store {code}")
        zones = sorted(store.zones.items())
        for index, (name, zone) in enumerate(zones):
            field = f"store.zones.{name}.subnet"
            if not zone.subnet.subnet_of(store.network):
                yield Issue(
                    path, field, f"{zone.subnet} is not inside the store network {store.network}"
                )
            for other_name, other in zones[:index]:
                if zone.subnet.overlaps(other.subnet):
                    yield Issue(
                        path, field, f"{zone.subnet} overlaps zone {other_name} ({other.subnet})"
                    )
        vlans: dict[int, str] = {}
        for name, zone in zones:
            if zone.vlan in vlans:
                yield Issue(
                    path,
                    f"store.zones.{name}.vlan",
                    f"VLAN {zone.vlan} is also zone {vlans[zone.vlan]}'s",
                )
            vlans[zone.vlan] = name


def _check_store_roles(raw: RawInventory) -> Iterable[Issue]:
    roles: dict[str, set[Role]] = defaultdict(set)  # store group -> its hosts' roles
    for host_group, entry in [*raw.host_entries.values(), *raw.duplicate_entries]:
        roles[host_group].update(entry.storeops_roles)
    for group in raw.store_groups:
        for required in (Role.DMS, Role.DB):
            if required not in roles[group]:
                yield Issue(
                    raw.hosts_path,
                    f"all.children.stores.children.{group}.hosts",
                    f"store has no {required.value} host (every store needs a dms and a db host)",
                )


def _check_catalog(raw: RawInventory) -> Iterable[Issue]:
    if raw.group_wide is None:
        return
    releases = raw.group_wide.dms_catalog
    catalog_file = _file_defining(raw, "all", "dms_catalog")
    versions = [release.version for release in releases]
    for index, release in enumerate(releases):
        if versions.index(release.version) != index:
            yield Issue(
                catalog_file, f"dms_catalog[{index}].version", f"{release.version} is listed twice"
            )
        for position, pattern in enumerate(release.upgrade_from):
            if not any(catalog.pattern_matches(pattern, known) for known in versions):
                yield Issue(
                    catalog_file,
                    f"dms_catalog[{index}].upgrade_from[{position}]",
                    f"{pattern!r} names no release in the catalog",
                )
    for code, (store, path) in sorted(raw.stores.items()):
        if catalog.find(releases, store.dms_target_version) is None:
            yield Issue(
                path,
                "store.dms_target_version",
                f"{store.dms_target_version!r} is not in the approved release catalog "
                f"({', '.join(versions)})",
            )
        del code


def _all_stores_read(raw: RawInventory) -> bool:
    """Whether every store of hosts.yml was read: only then may a rule say 'no store has X'."""
    return bool(raw.hosts_readable and raw.stores and len(raw.stores) == len(raw.store_groups))


def _check_pilot(raw: RawInventory) -> Iterable[Issue]:
    if _all_stores_read(raw) and not any(store.pilot for store, _ in raw.stores.values()):
        _first, first_path = min(raw.stores.values(), key=lambda item: item[0].code)
        yield Issue(
            first_path,
            "store.pilot",
            "no store is the pilot: set pilot: true on the store that gets changes first",
        )


def _check_flows_declared(raw: RawInventory) -> Iterable[Issue]:
    """``storeops_flows`` is required; reported in the file it belongs in, not another one."""
    unknown = not raw.root.is_dir() or "all" in raw.unreadable_owners  # reported already
    if unknown or _defines(raw, "all", "storeops_flows"):
        return
    yield Issue(
        raw.root / "group_vars" / "all" / FLOWS_FILE,
        "storeops_flows",
        "missing: the flows allowed inside each store (without them every host "
        "firewall drops everything, the controller's SSH included)",
    )


def _check_flow_names(raw: RawInventory) -> Iterable[Issue]:
    if raw.group_wide is None:
        return
    flows_file = _file_defining(raw, "all", "storeops_flows")
    names = [flow.name for flow in raw.group_wide.storeops_flows]
    for index, name in enumerate(names):
        first = names.index(name)
        if first != index:
            yield Issue(
                flows_file,
                f"storeops_flows[{index}].name",
                f"{name!r} is already the name of storeops_flows[{first}]",
            )


def _check_flow_endpoints(raw: RawInventory) -> Iterable[Issue]:
    """Every endpoint is ``all``, a host role, or a zone of at least one store.

    A zone need not exist in every store (a store without it gets no rule from the flow).
    Checked only once every store could be read: an unreadable store's zones are unknown.
    """
    if raw.group_wide is None or not _all_stores_read(raw):
        return
    flows_file = _file_defining(raw, "all", "storeops_flows")
    zones = sorted({zone for store, _ in raw.stores.values() for zone in store.zones})
    for index, flow in enumerate(raw.group_wide.storeops_flows):
        for side, endpoints in (("from", flow.from_), ("to", flow.to)):
            for position, endpoint in enumerate(endpoints):
                if is_role_or_all(endpoint) or endpoint in zones:
                    continue
                yield Issue(
                    flows_file,
                    f"storeops_flows[{index}].{side}[{position}]",
                    _unknown_endpoint_message(raw, endpoint, zones),
                )


def _unknown_endpoint_message(raw: RawInventory, endpoint: str, zones: list[str]) -> str:
    if endpoint in raw.host_entries:
        return (
            f"{endpoint!r} is a host: flows name zones, host roles or all, "
            "so that they mean the same in every store"
        )
    roles = ", ".join(role.value for role in Role)
    return (
        f"{endpoint!r} is not a zone or a host role of any store "
        f"(zones: {', '.join(zones)}; roles: {roles}; or all)"
    )


def _check_groups_and_hosts(raw: RawInventory) -> Iterable[Issue]:
    if not raw.hosts_readable:
        return  # hosts.yml itself is reported; its groups and hosts are unknown
    roles = (role.value for role in Role)
    known_groups = {"all", "stores", *MANAGEMENT_GROUPS, *raw.store_groups, *roles}
    for vars_file in raw.vars_files:
        if vars_file.owner_is_host and vars_file.owner not in raw.host_entries:
            yield Issue(
                vars_file.path,
                "",
                f"host_vars for {vars_file.owner!r}, which is not in {HOSTS_FILE}",
            )
        if not vars_file.owner_is_host and vars_file.owner not in known_groups:
            yield Issue(
                vars_file.path,
                "",
                f"group_vars for unknown group {vars_file.owner!r} "
                "(groups: all, stores, store_<code> from hosts.yml, the host roles, "
                "linux, network)",
            )


def _check_variables(
    raw: RawInventory, roles: RoleKnowledge, schema_owned: frozenset[str]
) -> Iterable[Issue]:
    for vars_file in [*raw.vars_files, *raw.playbook_vars_files]:
        for name, value in vars_file.variables.items():
            if name in schema_owned:
                continue
            if name in DERIVED_VARS:
                source, instead = DERIVED_VARS[name]
                yield Issue(
                    vars_file.path,
                    name,
                    f"derived from {source}: a value set here would bypass it; "
                    f"change {instead} instead",
                )
                continue
            if name.startswith("vault_"):
                if not _fully_vaulted(value):
                    yield Issue(
                        vars_file.path,
                        name,
                        "secret in plain text: vault_* variables must be encrypted "
                        "(ansible-vault encrypt the file, or encrypt_string the value)",
                    )
                continue
            if name.startswith(CONNECTION_VAR_PREFIXES):
                yield from _check_secret_value(vars_file, name, value)
                continue
            if name not in roles.variables:
                yield Issue(
                    vars_file.path,
                    name,
                    "unknown variable: not in the inventory schema nor in any role's "
                    "meta/argument_specs.yml",
                )
                yield from _check_secret_value(vars_file, name, value)  # unknown, still secret
                continue
            yield from _check_secret_value(vars_file, name, value)
        yield from _check_role_values(vars_file)


def _check_role_values(vars_file: VarsFile) -> Iterable[Issue]:
    """Role variables that reach a shell, a ruleset or a device: the schema's rules."""
    constrained = {
        name: value
        for name, value in vars_file.variables.items()
        if name in ConstrainedRoleVars.model_fields
    }
    try:
        ConstrainedRoleVars.model_validate(constrained)
    except ValidationError as error:
        yield from issues_from_validation_error(error, {}, vars_file.path)


def _fully_vaulted(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_fully_vaulted(item) for item in value.values())
    if isinstance(value, list):
        return all(_fully_vaulted(item) for item in value)
    return is_vaulted(value) or not isinstance(value, str)


def is_secret_name(name: str) -> bool:
    """Whether a variable (or a key in one) holds a secret, by its name: see SECRET_WORDS."""
    lowered = name.lower()
    if lowered.endswith(NOT_SECRET_SUFFIXES):
        return False
    words = [word for word in re.split(r"[^a-z0-9]+", lowered) if word]
    for index, word in enumerate(words):
        if word in SECRET_WORDS or any(part in word for part in SECRET_WORD_PARTS):
            return True
        if word in {"key", "keys"} and index and words[index - 1] in KEY_QUALIFIERS:
            return True
    return False


def _check_secret_value(vars_file: VarsFile, name: str, value: Any) -> Iterable[Issue]:
    """A secret-looking key, at any depth, must be vaulted or a template pointing at the vault."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _check_secret_value(vars_file, f"{name}.{key}", item)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_secret_value(vars_file, f"{name}[{index}]", item)
        return
    key = name.rsplit(".", 1)[-1]
    private_key = isinstance(value, str) and bool(PRIVATE_KEY_VALUE_RE.search(value))
    if not (is_secret_name(key) or private_key):
        return
    if isinstance(value, str) and not is_vaulted(value) and not PURE_TEMPLATE_RE.match(value):
        top = name.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]
        yield Issue(
            vars_file.path,
            name,
            "secret in plain text: move it to an encrypted vault.yml as a vault_* variable "
            f"and reference it here ('{{{{ vault_{top}_... }}}}')"
            if top != name
            else f"secret in plain text: move it to an encrypted vault.yml as vault_{name} "
            f"and set {name}: '{{{{ vault_{name} }}}}'",
        )


def _pattern_hosts(raw: RawInventory, pattern: str) -> set[str]:
    """The hosts an Ansible host pattern (a:b, a,b, !a, &a, wildcards) matches."""
    assert raw.ansible is not None
    groups, hosts = raw.ansible.groups, raw.ansible.hosts

    def term(name: str) -> set[str]:
        matched: set[str] = set()
        for group in fnmatch.filter(groups, name):
            matched |= groups[group]
        return matched | set(fnmatch.filter(hosts, name))

    selected: set[str] = set()
    terms = [t.strip() for t in re.split(r"[:,]", pattern) if t.strip()]
    for text in sorted(terms, key=lambda t: t[:1] in "!&"):  # unions first, as Ansible does
        if text.startswith("!"):
            selected -= term(text[1:])
        elif text.startswith("&"):
            selected &= term(text[1:])
        else:
            selected |= term(text)
    return selected


def _secret_file(raw: RawInventory, name: str, group: str) -> Path:
    """Where a missing secret belongs: in the store's vault.yml when stores keep it in theirs,
    else (the inventory keeps it group-wide, or nowhere yet) in group_vars/all/vault.yml."""
    per_store = any(
        name in f.variables and not f.owner_is_host and f.owner.startswith(STORE_GROUP_PREFIX)
        for f in raw.vars_files
    )
    if per_store:
        return raw.root / "group_vars" / group / "vault.yml"
    return raw.root / "group_vars" / "all" / "vault.yml"


def _check_required_secrets(raw: RawInventory, roles: RoleKnowledge) -> Iterable[Issue]:
    """Each secret a play's role uses, defined for each host the play runs on.

    A missing one is reported for the hosts that use it, in the file where it belongs: the
    store's vault.yml when the other stores keep it in theirs, else group_vars/all/vault.yml.
    """
    if raw.unreadable_owners or raw.ansible is None or raw.ansible.error:
        return  # a file that could not be read (or decrypted) is reported; its names are unknown
    groups_of = raw.ansible.hosts
    defined_for: dict[str, set[str]] = defaultdict(set)  # owner (group/host) -> vault names
    for vars_file in [*raw.vars_files, *raw.playbook_vars_files]:
        defined_for[vars_file.owner].update(
            k for k in vars_file.variables if k.startswith("vault_")
        )
    users: dict[tuple[str, str], set[str]] = defaultdict(set)  # (name, role) -> hosts
    for pattern, name, role in roles.secret_plays:
        users[(name, role)] |= _pattern_hosts(raw, pattern)
    missing: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for (name, role), users_of in sorted(users.items()):
        for host in sorted(users_of):
            owners = (host, *groups_of.get(host, ()))
            if host in raw.host_entries and not any(name in defined_for[o] for o in owners):
                group = raw.host_entries[host][0]
                missing[(str(_secret_file(raw, name, group)), name, role)].append(host)
    for (file, name, role), hosts in sorted(missing.items()):
        yield Issue(
            Path(file), name, f"missing vault variable: role {role} needs it for {', '.join(hosts)}"
        )


def _check_inventory_sources(raw: RawInventory) -> Iterable[Issue]:
    """Ansible parses every file of the directory: only hosts.yml and roles.yml may be there."""
    for path in raw.sources:
        if path.parent == raw.root and path.name in {HOSTS_FILE, ROLES_FILE}:
            continue
        yield Issue(
            path,
            "",
            "Ansible reads this file as an inventory source, storeops validate does not: "
            f"hosts belong in {HOSTS_FILE}, variables in group_vars/ or host_vars/ "
            "(move it out of the inventory, or name it *.md / *.txt if it is a note)",
        )


def _check_roles_file(raw: RawInventory) -> Iterable[Issue]:
    """roles.yml builds groups with the constructed plugin; it may not set variables."""
    path = raw.root / ROLES_FILE
    if path not in raw.sources:
        return
    try:
        data = read_yaml(path, VaultPasswords()).data
    except YamlProblem as problem:
        yield Issue(path, "", str(problem))
        return
    if not isinstance(data, dict) or data.get("plugin") not in CONSTRUCTED_PLUGIN_NAMES:
        yield Issue(path, "plugin", "must be ansible.builtin.constructed (the role groups)")
        return
    for key in sorted(set(data) - ROLES_FILE_KEYS, key=str):
        yield Issue(
            path,
            str(key),
            f"not allowed in {ROLES_FILE} (only {', '.join(sorted(ROLES_FILE_KEYS))}): "
            "it would give hosts variables or groups that storeops validate does not check",
        )


def _check_ansible_hosts(raw: RawInventory) -> Iterable[Issue]:
    """The hosts Ansible builds are those of hosts.yml, each in the store group it has there."""
    if raw.ansible is None:
        return
    if raw.ansible.error:
        yield Issue(raw.root, "", f"Ansible cannot parse the inventory: {raw.ansible.error}")
        return
    extra = [p for p in raw.sources if p.name not in {HOSTS_FILE, ROLES_FILE}]
    where = extra[0] if len(extra) == 1 else raw.root
    for host, groups in sorted(raw.ansible.hosts.items()):
        entry = raw.host_entries.get(host)
        if entry is None:
            yield Issue(
                where,
                "",
                f"Ansible has a host {host!r} that {HOSTS_FILE} does not define "
                f"(groups: {', '.join(sorted(groups - {'all'}))})",
            )
            continue
        stores = sorted(g for g in groups if g.startswith(STORE_GROUP_PREFIX))
        duplicated = {group for group, _ in raw.duplicate_entries}  # reported already
        if stores != [entry[0]] and not set(stores) - {entry[0]} <= duplicated:
            yield Issue(
                raw.root / ROLES_FILE,
                "",
                f"Ansible puts {host} in {', '.join(stores) or 'no store group'}, "
                f"{HOSTS_FILE} in {entry[0]}: a host takes the variables of one store only",
            )


def _check_unloaded(raw: RawInventory) -> Iterable[Issue]:
    for entry in raw.unloaded:
        yield Issue(entry.path, "", entry.reason)


def _check_schema_owned_placement(raw: RawInventory) -> Iterable[Issue]:
    """The store block and the group-wide settings are judged where they belong; set
    anywhere else, Ansible would use the copy for some hosts and the validator not see it."""
    for vars_file in raw.vars_files:
        store_group = not vars_file.owner_is_host and vars_file.owner.startswith(STORE_GROUP_PREFIX)
        group_wide = not vars_file.owner_is_host and vars_file.owner == "all"
        for name in vars_file.variables:
            if name in STORE_OWNED_VARS and not store_group:
                yield Issue(
                    vars_file.path,
                    name,
                    "belongs in group_vars/store_<code>/ only: here it would override the "
                    "store's own for some hosts",
                )
            elif name in GROUP_OWNED_VARS and not group_wide:
                yield Issue(
                    vars_file.path,
                    name,
                    "belongs in group_vars/all/ only: here it would override the group's "
                    "setting for some hosts",
                )


def _check_playbook_vars(raw: RawInventory, schema_owned: frozenset[str]) -> Iterable[Issue]:
    """Beside a playbook, Ansible loads variables over the inventory's for every inventory
    the playbook runs with: the store block and the group's settings stay in the inventory,
    where they are judged (and a store group's file there would override the store's own)."""
    for vars_file in raw.playbook_vars_files:
        for name in vars_file.variables:
            if name in schema_owned:
                yield Issue(
                    vars_file.path,
                    name,
                    "belongs in the inventory (group_vars/all/ or group_vars/store_<code>/): "
                    "beside a playbook it overrides the inventory's for every run of the "
                    "playbook, unchecked",
                )


def _vault_label(ciphertext: str | bytes) -> str:
    """The vault ID an envelope is labelled with ($ANSIBLE_VAULT;1.2;AES256;<id>), or ''."""
    text = ciphertext.decode("ascii", "replace") if isinstance(ciphertext, bytes) else ciphertext
    header = text.lstrip().split("\n", 1)[0].strip().split(";")
    return header[3] if len(header) > 3 else ""


def _is_repository_inventory(root: Path) -> bool:
    """An inventory of this repository's inventory/ other than the lab: a real store group."""
    return root.parent == LAB_INVENTORY.parent.resolve() and root != LAB_INVENTORY.resolve()


def _check_lab_password(raw: RawInventory, lab_password: Path) -> Iterable[Issue]:
    """The lab password opens the lab's vault and nothing else.

    Content that opens with it is refused in every inventory of inventory/ but the lab, and
    anywhere else (a copy of the lab for a rehearsal or a test) unless it is labelled with the
    lab's vault ID: a file encrypted before the lab had one, or by mistake, says ``1.1`` or
    another ID, while the lab's own files say ``1.2;AES256;lab``.
    """
    if raw.root == LAB_INVENTORY.resolve() or not lab_password.is_file():
        return
    strict = _is_repository_inventory(raw.root)
    lab = VaultPasswords.from_files([lab_password], LAB_VAULT_ID)
    message = (
        "encrypted with the lab vault password (lab/vault-password.txt, committed to git): "
        "re-encrypt it with this inventory's own (ansible-vault rekey --vault-id "
        "lab@lab/vault-password.txt --new-vault-id prod@prompt --encrypt-vault-id prod FILE)"
    )
    beside_playbooks = {vars_file.path for vars_file in raw.playbook_vars_files}
    found: list[tuple[Path, str, str | bytes]] = [
        (vars_file.path, name, ciphertext)
        for vars_file in [*raw.vars_files, *raw.playbook_vars_files]
        for name, ciphertext in vars_file.ciphertexts
    ]
    for path in raw.undecrypted:
        with contextlib.suppress(OSError):
            found.append((path, "", path.read_bytes()))
    for path, name, ciphertext in found:
        labelled_lab = _vault_label(ciphertext) == LAB_VAULT_ID
        # beside a playbook, lab content would reach every inventory the playbook runs with
        lab_only = strict or path in beside_playbooks or not labelled_lab
        if lab_only and lab.opens(ciphertext):
            yield Issue(path, name, message)


def _file_defining(raw: RawInventory, owner: str, variable: str) -> Path:
    for vars_file in raw.vars_files:
        if vars_file.owner == owner and variable in vars_file.variables:
            return vars_file.path
    return raw.root / "group_vars" / owner


def _defines(raw: RawInventory, owner: str, variable: str) -> bool:
    return any(
        vars_file.owner == owner and variable in vars_file.variables for vars_file in raw.vars_files
    )


# What a feature adds to the validator (the workstation's): a FeatureRules registered as an
# entry point of this group (pyproject.toml), so that the core never imports a feature.
FEATURE_RULES = "storeops.validators"


@dataclass(frozen=True)
class FeatureRules:
    """A feature's part of the validator.

    ``check``: its rules, taking the raw inventory and yielding issues. ``owned_vars``: the
    inventory variables its own schema owns and ``check`` judges; like the core schema's
    (``SCHEMA_OWNED_VARS``), they are not role variables, and not allowed beside a playbook.
    """

    check: Callable[[RawInventory], Iterable[Issue]]
    owned_vars: frozenset[str]


def feature_rules() -> list[FeatureRules]:
    """The registered features' rules, by name; a missing or stale registration is an error,
    not fewer checks (an install that predates pyproject's entry points: reinstall)."""
    found = sorted(entry_points(group=FEATURE_RULES), key=lambda entry: entry.name)
    if not found:
        raise RuntimeError(
            f"no {FEATURE_RULES} entry points: reinstall storeops (make venv) to register them"
        )
    features: list[FeatureRules] = []
    for entry in found:
        feature = entry.load()
        if not isinstance(feature, FeatureRules):
            raise RuntimeError(
                f"{FEATURE_RULES} entry point {entry.name} ({entry.value}) is not a "
                "FeatureRules: reinstall storeops (make venv)"
            )
        features.append(feature)
    return features


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector paused for the block (reference counting still frees).

    Reading a group allocates hundreds of thousands of objects that stay alive (parsed
    files, Ansible's hosts and groups, the typed view): each collection walks all of them
    again, about a third of validating 500 stores, for no cycle to free. Restored (to what
    it was) on the way out, even on an error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(
    root: Path | str,
    passwords: VaultPasswords | None = None,
    roles_dir: Path | None = None,
    lab_password: Path = LAB_VAULT_PASSWORD,
    playbooks: list[Path] | None = None,
) -> RawInventory:
    """Read the inventory and apply every rule; ``raw.issues`` lists all problems found.

    ``playbooks``: the run's playbook files or directories of playbooks; the variables
    beside them (group_vars/, host_vars/ of each play's directory) are judged too.
    """
    with _cyclic_gc_paused():
        return _validated(root, passwords, roles_dir, lab_password, playbooks)


def _validated(
    root: Path | str,
    passwords: VaultPasswords | None,
    roles_dir: Path | None,
    lab_password: Path,
    playbooks: list[Path] | None,
) -> RawInventory:
    raw = read(root, passwords, playbooks)
    roles = RoleKnowledge.scan(roles_dir or ROLES_DIR)
    features = feature_rules()
    schema_owned = SCHEMA_OWNED_VARS.union(*(feature.owned_vars for feature in features))
    for rule in (
        _check_inventory_sources(raw),
        _check_roles_file(raw),
        _check_ansible_hosts(raw),
        _check_unloaded(raw),
        _check_schema_owned_placement(raw),
        _check_playbook_vars(raw, schema_owned),
        _check_lab_password(raw, lab_password),
        _check_addresses(raw),
        _check_endpoints(raw),
        _check_platforms(raw),
        _check_interpreters(raw),
        _check_subnets(raw),
        _check_store_roles(raw),
        _check_catalog(raw),
        _check_pilot(raw),
        _check_flows_declared(raw),
        _check_flow_names(raw),
        _check_flow_endpoints(raw),
        _check_groups_and_hosts(raw),
        _check_variables(raw, roles, schema_owned),
        _check_required_secrets(raw, roles),
        *(feature.check(raw) for feature in features),
    ):
        raw.issues.extend(rule)
    raw.issues.sort(key=lambda issue: (str(issue.file), issue.field))
    return raw


def summary(raw: RawInventory) -> str:
    """One line for a valid inventory: stores and hosts by role."""
    by_role: dict[str, int] = defaultdict(int)
    for _group, entry in raw.host_entries.values():
        for role in entry.storeops_roles:
            by_role[role.value] += 1
    roles = ", ".join(f"{by_role[r.value]} {r.value}" for r in Role if by_role[r.value])
    pilots = [code for code, (store, _) in sorted(raw.stores.items()) if store.pilot]
    return (
        f"inventory {raw.root.name} OK: {len(raw.stores)} stores ({', '.join(sorted(raw.stores))}; "
        f"pilot {', '.join(pilots)}), {len(raw.host_entries)} hosts ({roles})"
    )


def load_valid(
    root: Path | str, passwords: VaultPasswords | None = None, roles_dir: Path | None = None
) -> Inventory:
    """Read and validate the whole inventory; raise :class:`InventoryInvalid` on any issue."""
    raw = validate(
        root,
        passwords if passwords is not None else VaultPasswords.from_ansible_config(),
        roles_dir,
    )
    if raw.issues:
        raise InventoryInvalid(raw.root, raw.issues)
    return typed_view(raw)
