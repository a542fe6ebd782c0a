"""The inventory schema, written once.

Every consumer of the inventory (the validator, the lab builder, the pyinfra adapter,
the Ansible plugins, the reports) goes through these models. Each model mirrors one
kind of file or one block in a file under ``inventory/<name>/``:

* ``hosts.yml``                      -> :class:`HostsFile` (stores and their hosts)
* ``group_vars/all/*.yml``           -> :class:`GroupWideVars` (catalog, waves, flows)
* ``group_vars/store_<code>[/*].yml``-> :class:`StoreVars` (the ``store:`` block)

Field-level rules (formats, ranges, enumerations) live here; rules that need to see
several files at once (duplicates, overlaps, references) live in ``validate.py``.
A feature's part of the schema lives in the feature (``storeops.workstation.schema``: the
``workstation_*`` variables, the asset register), built on the field types here; this
module imports no feature.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

STORE_GROUP_PREFIX = "store_"
# Every pattern here is applied with fullmatch (never match with ^...$: "$" also matches
# before a trailing newline, so "wang.fang\n" would pass).
STORE_CODE_RE = re.compile(r"[a-z]{2}[0-9]{2}")
HOST_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
VERSION_RE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
VERSION_PATTERN_RE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(\*|0|[1-9][0-9]*)")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
# A zone or a flow endpoint: becomes a VLAN name on the devices (upper-cased, at most 32).
ZONE_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# A login on a server or a device (ansible_user): no shell, sudoers or device syntax.
LOGIN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
# A file on the brand portal and in the controller's cache: a plain name, never a path.
FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*(\.[A-Za-z0-9_+-]+)*")
MAX_FILE_NAME = 128
# A path on a host (a state directory, an archive directory): absolute, no '..'.
ABSOLUTE_PATH_RE = re.compile(r"(/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)+/?|/")
MIGRATION_RE = re.compile(r"[0-9]{4}_[a-z0-9_]+")
MAX_TEXT = 200


class Strict(BaseModel):
    """Base of every model: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    """What a host is for. Ansible groups of the same names are built from these."""

    DMS = "dms"
    DB = "db"
    BACKUP = "backup"
    WORKSTATION = "workstation"
    SWITCH = "switch"
    FIREWALL = "firewall"


DEVICE_ROLES = frozenset({Role.SWITCH, Role.FIREWALL})


class NetworkPlatform(StrEnum):
    """The network operating systems storeops renders configuration for and the lab emulates."""

    CISCO_IOS = "cisco_ios"
    HUAWEI_VRP = "huawei_vrp"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


# ---------------------------------------------------------------------------- field types
#
# Every string of the inventory can end up in a configuration file, a command or a device
# (a store's name in a switch's SNMP location, a sudo command in sudoers, an origin in apt's
# configuration). So no field is a bare ``str``: each is one of the types below, all built
# by :func:`safe`, which refuses control characters (a newline would be an extra line in
# the file it lands in) before the type's own rule, a full match of a pattern as narrow as
# the value's use. tests/unit/test_hostile_values.py walks every model to keep it so.


def control_characters(value: str, *, allow_newlines: bool = False) -> list[str]:
    """The control (and other non-printable: line separators, bidi overrides) characters."""
    return sorted(
        {
            repr(char)
            for char in value
            if not (char.isprintable() or (allow_newlines and char == "\n"))
        }
    )


def safe(check: Callable[[Any], Any], *, allow_newlines: bool = False) -> BeforeValidator:
    """``check`` behind a refusal of non-string and non-printable values.

    The validator carries ``storeops_safe_text`` for the schema walk of the tests.
    ``allow_newlines`` only for the one value that is lines by nature (a PEM certificate),
    whose own pattern then says where the newlines may be.
    """

    def validate(value: Any) -> Any:
        if isinstance(value, bool | int | float):
            raise ValueError(f"{value!r}: YAML read a number or boolean, quote the value")
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string")
        bad = control_characters(value, allow_newlines=allow_newlines)
        if bad:
            raise ValueError(
                f"{value!r} contains control characters ({', '.join(bad)}): one line of "
                "printable text only (it would become extra lines in a configuration file)"
            )
        return check(value)

    validate.storeops_safe_text = True  # type: ignore[attr-defined]
    return BeforeValidator(validate)


def _full_match(
    regex: re.Pattern[str], what: str, max_length: int | None = None
) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not regex.fullmatch(value) or (max_length is not None and len(value) > max_length):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def full_pattern(
    regex: re.Pattern[str],
    what: str,
    max_length: int | None = None,
    *,
    allow_newlines: bool = False,
) -> Any:
    """A value that matches ``regex`` as a whole (and is at most ``max_length`` long);
    ``allow_newlines`` as for :func:`safe`."""
    return safe(_full_match(regex, what, max_length), allow_newlines=allow_newlines)


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("empty text")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{value[:40]!r}...: longer than {MAX_TEXT} characters")
    return value


def _time_of_day(value: str) -> str:
    if not TIME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a time (HH:MM, 00:00 to 24:00)")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known IANA timezone (e.g. Asia/Shanghai)") from None
    return value


def _version(value: str) -> str:
    if not VERSION_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a release version (MAJOR.MINOR.PATCH, quoted)")
    return value


def _version_pattern(value: str) -> str:
    if not VERSION_PATTERN_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a version or a MAJOR.MINOR.* pattern")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _ipv4_address(value: Any) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(value)
    except (ipaddress.AddressValueError, ValueError):
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _ipv4_network(value: Any) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError):
        raise ValueError(
            f"{value!r} is not an IPv4 network in CIDR form with host bits clear"
        ) from None


# A store's network and its zones' subnets: private (RFC 1918) and of a size a store has.
# They become the host firewalls' and the devices' rule sources, so a public or huge range
# (0.0.0.0/0) would open a rule to the internet; the only rules that reach beyond the store
# networks are written by name in storeops.acl (the edge ACL's "the rest"), never by a value.
PRIVATE_NETWORKS = tuple(
    ipaddress.IPv4Network(text) for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
STORE_PREFIX_RANGE = (16, 30)


def _store_network(value: Any) -> ipaddress.IPv4Network:
    network = _ipv4_network(value)
    shortest, longest = STORE_PREFIX_RANGE
    if not any(network.subnet_of(private) for private in PRIVATE_NETWORKS):
        ranges = ", ".join(str(private) for private in PRIVATE_NETWORKS)
        raise ValueError(
            f"{value!r} is not a private network: a store's networks are inside {ranges} "
            "(RFC 1918); they become firewall and ACL rule sources"
        )
    if not shortest <= network.prefixlen <= longest:
        raise ValueError(
            f"{value!r} is a /{network.prefixlen}: a store network or zone is "
            f"/{shortest} to /{longest}"
        )
    return network


def _file_name(value: str) -> str:
    if not FILE_NAME_RE.fullmatch(value) or len(value) > MAX_FILE_NAME:
        raise ValueError(
            f"{value!r} is not a plain file name (letters, digits, '_', '+', '-', inner "
            f"single dots; no '/', no '..', no leading '.'; at most {MAX_FILE_NAME})"
        )
    return value


def _relative_path(value: str) -> str:
    if not value.strip() or value.startswith("/") or len(value) > MAX_TEXT:
        raise ValueError(f"{value!r} is not a path relative to the inventory directory")
    return value


def _absolute_path(value: str) -> str:
    parts = value.split("/")
    if not ABSOLUTE_PATH_RE.fullmatch(value) or ".." in parts or len(value) > MAX_TEXT:
        raise ValueError(
            f"{value!r} is not an absolute path (letters, digits, '.', '_', '+', '-'; no '..')"
        )
    return value.rstrip("/") or "/"


# One line of printable text (names, descriptions, reasons): no control characters, at
# most MAX_TEXT characters. Where it is rendered, it is quoted for its file.
Text = Annotated[str, safe(_text)]
TimeOfDay = Annotated[str, safe(_time_of_day)]
Timezone = Annotated[str, safe(_timezone)]
Version = Annotated[str, safe(_version)]
VersionPattern = Annotated[str, safe(_version_pattern)]
Sha256 = Annotated[str, full_pattern(SHA256_RE, "a sha256 digest (64 lowercase hex digits)")]
Date = Annotated[dt.date, BeforeValidator(_date)]
IPv4Address = Annotated[ipaddress.IPv4Address, BeforeValidator(_ipv4_address)]
IPv4Network = Annotated[ipaddress.IPv4Network, BeforeValidator(_ipv4_network)]
StoreNetwork = Annotated[ipaddress.IPv4Network, BeforeValidator(_store_network)]
HostName = Annotated[
    str, full_pattern(HOST_NAME_RE, "a host name (lowercase letters, digits, '-'; at most 63)")
]
ZoneName = Annotated[
    str,
    full_pattern(
        ZONE_NAME_RE, "a zone name (a lowercase letter, then letters, digits, '_', '-'; at most 32)"
    ),
]
Login = Annotated[
    str, full_pattern(LOGIN_RE, "a login name (letters, digits, '_', '.', '-'; at most 32)")
]
FileName = Annotated[str, safe(_file_name)]
RelativePath = Annotated[str, safe(_relative_path)]
AbsolutePath = Annotated[str, safe(_absolute_path)]
MigrationName = Annotated[
    str, full_pattern(MIGRATION_RE, "a migration name (NNNN_lowercase_words)", MAX_TEXT)
]
VlanId = Annotated[int, Field(ge=1, le=4094, strict=True)]
# ansible_python_interpreter: pinned, never discovered (discovery costs a round trip per host
# and prints a warning per host). A store host's Python 3 by absolute path; a network device
# is driven from the controller (connection local), so its interpreter is the controller's.
HOST_PYTHON_RE = re.compile(r"/(?:[A-Za-z0-9._+-]+/)*python3(?:\.[0-9]{1,2})?")
CONTROLLER_PYTHON = "{{ ansible_playbook_python }}"
HostPython = Annotated[
    str,
    full_pattern(
        HOST_PYTHON_RE, "an absolute path to a Python 3 (/usr/bin/python3, /usr/bin/python3.11)"
    ),
]


def minutes_of(time_of_day: str) -> int:
    """'22:30' -> 1350; '24:00' -> 1440."""
    hours, minutes = time_of_day.split(":")
    return int(hours) * 60 + int(minutes)


# ---------------------------------------------------------------------------- hosts.yml


class HostEntry(Strict):
    """One host under ``all.children.stores.children.store_<code>.hosts``.

    ``ansible_host`` (and ``ansible_port``) is where Ansible or netmiko connects. It is also
    the host's address in its store's network, unless ``storeops_address`` says otherwise:
    for a host reached through another address (a NAT or a jump address, or the lab's
    network-device emulators on 127.0.0.1 ports), ``storeops_address`` is the address the
    zone model, the validator and the firewalls use.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ansible_host: IPv4Address
    storeops_roles: Annotated[list[Role], Field(min_length=1)]
    storeops_zone: ZoneName
    ansible_port: Annotated[int, Field(ge=1, le=65535, strict=True)] | None = None
    ansible_user: Login | None = None
    storeops_address: IPv4Address | None = None
    storeops_platform: NetworkPlatform | None = None  # switches and firewalls only
    # One host whose Python differs from its group's (group_vars/linux.yml pins the rest)
    ansible_python_interpreter: HostPython | None = None

    @property
    def address(self) -> IPv4Address:
        """The host's address in its store's network."""
        return self.storeops_address or self.ansible_host

    @property
    def address_key(self) -> str:
        """The key that sets :attr:`address`, for error messages."""
        return "storeops_address" if self.storeops_address is not None else "ansible_host"

    @model_validator(mode="after")
    def _roles_unique(self) -> HostEntry:
        if len(set(self.storeops_roles)) != len(self.storeops_roles):
            raise ValueError("storeops_roles lists a role twice")
        return self


def _empty_mapping_is_empty_dict(value: Any) -> Any:
    return {} if value is None else value


class StoreGroup(Strict):
    hosts: Annotated[dict[HostName, HostEntry], BeforeValidator(_empty_mapping_is_empty_dict)] = (
        Field(default_factory=dict)
    )


def _any_text(value: str) -> str:
    return value


class StoresGroup(Strict):
    # Keys: printable text here, named store_<code> below (reported at the stores level).
    children: dict[Annotated[str, safe(_any_text)], StoreGroup]

    @model_validator(mode="after")
    def _store_group_names(self) -> StoresGroup:
        for name in self.children:
            code = name.removeprefix(STORE_GROUP_PREFIX)
            if not name.startswith(STORE_GROUP_PREFIX) or not STORE_CODE_RE.fullmatch(code):
                raise ValueError(
                    f"group {name!r} is not named store_<code> (code: two letters, two digits)"
                )
        return self


class AllChildren(Strict):
    stores: StoresGroup


class AllGroup(Strict):
    children: AllChildren


class HostsFile(Strict):
    """``hosts.yml``: the stores and the hosts in each. Roles become groups via ``roles.yml``."""

    all: AllGroup


# ---------------------------------------------------------------------------- store vars


class MaintenanceWindow(Strict):
    """When changes may be made, in the store's local time.

    ``days`` are the days on which the window *opens*; a window whose ``end`` is not
    after its ``start`` runs past midnight into the next day (22:00-06:00).
    ``24:00`` as ``end`` means the end of the day.
    """

    days: Annotated[list[Weekday], Field(min_length=1)]
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _not_empty(self) -> MaintenanceWindow:
        if self.start == "24:00":
            raise ValueError("start may not be 24:00 (use 00:00)")
        if minutes_of(self.start) == minutes_of(self.end):
            raise ValueError(f"window is empty: start and end are both {self.start}")
        return self

    @property
    def crosses_midnight(self) -> bool:
        return minutes_of(self.end) < minutes_of(self.start)


class BlackoutRange(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: Date = Field(alias="from")
    end: Date = Field(alias="to")
    reason: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> BlackoutRange:
        if self.end < self.start:
            raise ValueError(f"range ends ({self.end}) before it starts ({self.start})")
        return self


def _blackout_item(value: Any) -> Any:
    """A blackout is a bare date or a {from, to, reason} mapping."""
    if isinstance(value, dict):
        return value
    day = _date(value)
    return {"from": day, "to": day}


BlackoutItem = Annotated[BlackoutRange, BeforeValidator(_blackout_item)]


StoreCode = Annotated[
    str, full_pattern(STORE_CODE_RE, "a store code (two lowercase letters, two digits)")
]


class Zone(Strict):
    """A security zone of the store: one VLAN, one subnet."""

    vlan: VlanId
    subnet: StoreNetwork
    description: Text | None = None


class Store(Strict):
    """The ``store:`` block of ``group_vars/store_<code>.yml``."""

    code: StoreCode
    name: Text
    city: Text
    timezone: Timezone
    maintenance_window: MaintenanceWindow
    blackout_dates: list[BlackoutItem] = Field(default_factory=list)
    network: StoreNetwork
    zones: Annotated[dict[ZoneName, Zone], Field(min_length=1)]
    pilot: bool = False
    dms_target_version: Version


class StoreVars(BaseModel):
    """The schema-owned variables of a store's group_vars (other keys are role variables)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    store: Store


# ---------------------------------------------------------------------------- group-wide vars


# A Debian package name (Debian Policy 5.6.1).
DEBIAN_PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]{1,99}")
DebianPackage = Annotated[str, full_pattern(DEBIAN_PACKAGE_RE, "a Debian package name")]
# The versions of a package an apt pin keeps (`Pin: version 1.*`): a Debian version
# (Policy 5.6.12), optionally ending in '*' (every version it begins).
APT_PIN_VERSION_RE = re.compile(r"([0-9]+:)?[0-9][A-Za-z0-9.+~-]{0,63}\*?|[0-9]+:?\*")
AptPinVersion = Annotated[
    str, full_pattern(APT_PIN_VERSION_RE, "a Debian version, optionally ending in '*' (1.*)")
]


# A table of the DMS's database, named in a migration estimate (it reaches SQL, quoted
# with backticks, only after this full-string match).
SQL_TABLE_RE = re.compile(r"[a-z_][a-z0-9_]{0,63}")
SqlTable = Annotated[str, full_pattern(SQL_TABLE_RE, "a table name (lowercase, digits, '_')")]
Seconds = Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]


class MigrationEstimate(Strict):
    """How long a release's migrations are expected to take on a store's data: ``seconds``
    plus, per table, seconds for every thousand rows the store has in it
    (``per_1000_rows: {customers: 0.05}``). The rollout plan compares it with
    dms_rollout_queue_limit (clients wait in the queue that long)."""

    seconds: Seconds = 0.0
    per_1000_rows: dict[SqlTable, Seconds] = Field(default_factory=dict)


class Release(Strict):
    """One approved DMS release in the catalog."""

    version: Version
    artifact: FileName
    sha256: Sha256
    signature: FileName | None = None
    upgrade_from: list[VersionPattern] = Field(default_factory=list)
    migrations: list[MigrationName] = Field(default_factory=list)
    # Debian packages this release needs, kept at these versions by apt pins on the
    # store's hosts (playbooks/patch.yml): {storedms-runtime: "1.*"}.
    packages: dict[DebianPackage, AptPinVersion] = Field(default_factory=dict)
    # The vendor's figure for its migrations (release notes, or measured on a copy).
    migration_estimate: MigrationEstimate | None = None

    @model_validator(mode="after")
    def _no_downgrade(self) -> Release:
        """A release upgrades only from earlier ones: an equal or later version (or a
        pattern that can only name such versions) would be a downgrade, or a cycle."""
        for pattern in self.upgrade_from:
            if pattern_reaches(pattern, self.version):
                raise ValueError(
                    f"upgrade_from {pattern!r}: {self.version} can only upgrade from earlier "
                    "releases (this would be a downgrade or a cycle)"
                )
        if self.signature is not None and self.signature == self.artifact:
            raise ValueError("signature and artifact name the same file")
        return self


def version_key(version: str) -> tuple[int, int, int]:
    """'3.10.2' -> (3, 10, 2): versions compare as numbers."""
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def pattern_reaches(pattern: str, version: str) -> bool:
    """Whether ``pattern`` matches ``version`` or a later one: '3.2.*' reaches 3.2.1 (it
    matches 3.2.1 and 3.2.9), '3.1.*' does not; '3.2.0' reaches 3.2.0 and 3.1.0."""
    major, minor, patch = version_key(version)
    if pattern.endswith(".*"):
        first, second = (int(part) for part in pattern[:-2].split("."))
        return (first, second) >= (major, minor)
    return version_key(pattern) >= (major, minor, patch)


# scheme://host[:port][/path]: no user info, query or characters a shell, a sed expression
# or a configuration file would give a meaning to.
HTTP_URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%+/-]*)?")


def _http_url(value: str) -> str:
    if not HTTP_URL_RE.fullmatch(value) or len(value) > MAX_TEXT:
        raise ValueError(f"{value!r} is not an http(s) URL (scheme://host[:port][/path])")
    return value.rstrip("/")


HttpUrl = Annotated[str, safe(_http_url)]


class DmsPortal(Strict):
    """Where DMS releases are downloaded from, and the key their signatures must verify with."""

    url: HttpUrl
    signing_key: RelativePath  # PEM ed25519 public key; a path relative to the inventory dir


# ---------------------------------------------------------------------------- flows


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"


# The named services a flow may use instead of proto/port. Kept small on purpose: a name
# here must mean the same port in every store of every group.
SERVICE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "ssh": "tcp/22",
        "http": "tcp/80",
        "https": "tcp/443",
        "mysql": "tcp/3306",
        "dms": "tcp/8080",
    }
)
PORT_SERVICE_RE = re.compile(r"(tcp|udp)/([0-9]{1,5})(?:-([0-9]{1,5}))?")
MAX_PORT = 65535
SERVICE_GRAMMAR = "tcp/N, udp/N, tcp/N-M, udp/N-M, icmp, or one of: " + ", ".join(
    sorted(SERVICE_ALIASES)
)


@dataclass(frozen=True, order=True)
class Service:
    """What a flow opens: a TCP or UDP port range, or ICMP (ping: echo requests).

    ``icmp`` has no port. ICMP errors and replies that belong to an allowed connection are
    established/related traffic, which every host firewall accepts without a flow.
    """

    protocol: Protocol
    first_port: int | None = None
    last_port: int | None = None

    @property
    def ports(self) -> str | None:
        """``"22"`` or ``"5000-5010"`` (also nftables' dport syntax); None for ICMP."""
        if self.first_port is None:
            return None
        if self.first_port == self.last_port:
            return str(self.first_port)
        return f"{self.first_port}-{self.last_port}"

    @property
    def port_range(self) -> range:
        """The ports as a range; empty for ICMP."""
        if self.first_port is None or self.last_port is None:
            return range(0)
        return range(self.first_port, self.last_port + 1)

    def covers(self, other: Service) -> bool:
        """Whether a rule for this service lets ``other`` through (same protocol, ports within)."""
        mine, theirs = self.port_range, other.port_range
        return (
            self.protocol == other.protocol
            and mine.start <= theirs.start
            and theirs.stop <= mine.stop
        )

    def __str__(self) -> str:
        """The canonical spelling: ``tcp/22``, ``udp/5000-5010``, ``icmp`` (aliases resolved)."""
        ports = self.ports
        return self.protocol.value if ports is None else f"{self.protocol.value}/{ports}"


def parse_service(value: Any) -> Service:
    """``'ssh'`` -> tcp/22; ``'udp/5000-5010'``; ``'icmp'``. Raises ValueError with the grammar."""
    if isinstance(value, Service):
        return value
    text = SERVICE_ALIASES.get(value, value) if isinstance(value, str) else value
    if text == Protocol.ICMP.value:
        return Service(Protocol.ICMP)
    match = PORT_SERVICE_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a service ({SERVICE_GRAMMAR})")
    first = int(match.group(2))
    last = int(match.group(3) or first)
    for port in (first, last):
        if not 1 <= port <= MAX_PORT:
            raise ValueError(f"{value!r} is not a service: port {port} is outside 1-{MAX_PORT}")
    if last < first:
        raise ValueError(f"{value!r} is not a service: range {first}-{last} ends before it starts")
    return Service(Protocol(match.group(1)), first, last)


ServiceSpec = Annotated[Service, PlainValidator(parse_service), PlainSerializer(str)]
FlowName = Annotated[
    str, full_pattern(HOST_NAME_RE, "a flow name (lowercase letters, digits, '-'; at most 63)")
]
# A zone, a host role or 'all': a zone name's rule covers the three.
Endpoints = Annotated[list[ZoneName], Field(min_length=1)]

ALL_HOSTS = "all"


class Flow(Strict):
    """One allowed flow of ``storeops_flows``, the same in every store: from -> to, services.

    An endpoint is a zone (its subnet), a host role (the hosts that have it, /32 each) or
    ``all`` (every host of the store). Endpoints resolve inside one store at a time, so a
    flow never opens traffic between two stores. See :mod:`storeops.zones`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: FlowName
    from_: Endpoints = Field(alias="from")
    to: Endpoints
    services: Annotated[list[ServiceSpec], Field(min_length=1)]
    description: Text | None = None


class GroupInfo(Strict):
    name: Text
    contact: Text | None = None


# The path (and query) of an HTTP request: unreserved characters, '/', '?', '=', '&', '%'.
URL_PATH_RE = re.compile(r"/[A-Za-z0-9._~/?=&%-]{0,200}")
UrlPath = Annotated[str, full_pattern(URL_PATH_RE, "a URL path beginning with '/'")]


class HealthSettings(Strict):
    """``storeops_health``: what the morning check (``storeops health``) calls amber or red."""

    # The hosts it checks, by role (workstations are laptops: often off at 07:30).
    roles: Annotated[list[Role], Field(min_length=1)] = Field(
        default_factory=lambda: [Role.DMS, Role.DB, Role.BACKUP]
    )
    mounts: Annotated[list[AbsolutePath], Field(min_length=1)] = Field(
        default_factory=lambda: ["/", "/var"]
    )
    disk_free_warning_percent: Annotated[int, Field(ge=1, le=99, strict=True)] = 20
    disk_free_critical_percent: Annotated[int, Field(ge=0, le=99, strict=True)] = 10
    inodes_free_warning_percent: Annotated[int, Field(ge=1, le=99, strict=True)] = 20
    inodes_free_critical_percent: Annotated[int, Field(ge=0, le=99, strict=True)] = 10
    # The weekly restic check and restore drill, with a day's grace.
    restic_check_max_age_days: Annotated[int, Field(ge=1, le=366, strict=True)] = 8
    restore_drill_max_age_days: Annotated[int, Field(ge=1, le=366, strict=True)] = 8
    certificate_warning_days: Annotated[int, Field(ge=1, le=365, strict=True)] = 30
    # Clock offset from the time source that is a warning (chrony's last offset).
    time_offset_warning_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    # Seconds to wait for a host's probe, a device's login, a DMS answer.
    timeout_seconds: Annotated[int, Field(ge=1, le=300, strict=True)] = 20
    # The availability sampler (storeops sample): a DMS slower than this is down for the
    # staff at the counter, whatever it answers later.
    sample_timeout_seconds: Annotated[int, Field(ge=1, le=60, strict=True)] = 5
    # The DMS's read-only smoke query: a GET the DMS answers from its database without
    # returning customer data (the lab DMS: a work order that cannot exist, answered 404).
    dms_smoke_path: UrlPath = "/work-orders/0"
    dms_smoke_status: Annotated[int, Field(ge=100, le=599, strict=True)] = 404

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> HealthSettings:
        for kind in ("disk", "inodes"):
            warning = getattr(self, f"{kind}_free_warning_percent")
            critical = getattr(self, f"{kind}_free_critical_percent")
            if critical >= warning:
                raise ValueError(
                    f"{kind}_free_critical_percent ({critical}) must be below "
                    f"{kind}_free_warning_percent ({warning})"
                )
        return self


class ReportSettings(Strict):
    """``storeops_report``: what the monthly report (``storeops report``) measures against."""

    # The brand's DMS availability target per store and month, in % (the report's line).
    availability_target: Annotated[
        float, Field(ge=90, le=100, strict=True, allow_inf_nan=False)
    ] = 99.5


class GroupWideVars(BaseModel):
    """The schema-owned variables of ``group_vars/all`` (other keys are role variables)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    storeops_group: GroupInfo
    dms_catalog: Annotated[list[Release], Field(min_length=1)]
    dms_portal: DmsPortal
    dms_wave_size: Annotated[int, Field(ge=1, strict=True)] = 1
    storeops_health: HealthSettings = Field(default_factory=HealthSettings)
    # Required, and never empty: every host firewall is rendered from it (default drop), so
    # an inventory without flows would cut every host off, the controller's SSH included.
    # The default only lets validate.py report a missing list in the file it belongs in.
    storeops_flows: Annotated[list[Flow], Field(min_length=1)] = Field(default_factory=list)
    storeops_report: ReportSettings | None = None


# ---------------------------------------------------------------------------- role variables
#
# Role variables are declared by the roles (meta/argument_specs.yml); those whose values
# reach a root shell, a ruleset or a device configuration are constrained here too, wherever
# an inventory sets them (validate.py checks them in every vars file).

# An nftables table or object name (also a systemd unit name part: nft-revert-<table>).
# module_utils/storeops_nft.py holds the same rule on the host.
FIREWALL_TABLE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
# A word of a device's configuration (an SNMP group, a user name).
DEVICE_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,31}")
# IOS ends a banner at its delimiter (^C), VRP's header is a double-quoted string.
DEVICE_TEXT_FORBIDDEN = frozenset('^"')


def _device_text(value: str) -> str:
    _text(value)
    bad = sorted(DEVICE_TEXT_FORBIDDEN.intersection(value))
    if bad:
        raise ValueError(
            f"{value!r} contains {', '.join(map(repr, bad))}: banner delimiters on the devices"
        )
    return value


NftName = Annotated[
    str,
    full_pattern(
        FIREWALL_TABLE_RE,
        "an nftables name (a lowercase letter, then letters, digits, '_'; at most 32)",
    ),
]
DeviceText = Annotated[str, safe(_device_text)]
DeviceWord = Annotated[
    str, full_pattern(DEVICE_WORD_RE, "a device word (letters, digits, '_', '.', '-')")
]
# A file system and path on a device (IOS archive: flash:storeops-rollback).
DEVICE_PATH_RE = re.compile(r"[a-z][a-z0-9]{0,15}:[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,63}")
DevicePath = Annotated[
    str, full_pattern(DEVICE_PATH_RE, "a device path (flash:name: letters, digits, '_./-')")
]

# The hardening role (roles/hardening): what it writes to sshd, sudoers, sysctl.d, profile.d,
# audit rules, login.defs, PAM and chrony files, and passes to find, apt and usermod.
# One algorithm of an sshd list (Ciphers, MACs, KexAlgorithms): no list syntax (',', a
# '+', '-' or '^' prefix, wildcards). storeops.quoting.ssh_algorithm holds the same rule.
SSH_ALGORITHM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]{0,63}")
# A sysctl key, dotted (net.ipv4.ip_forward) or slashed; no '-' prefix, no glob.
SYSCTL_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}")
# A sysctl value as sysctl.d writes it: words of digits, letters and '_.:/|%-', one space apart.
SYSCTL_VALUE_RE = re.compile(r"[A-Za-z0-9_.:/|%-]{1,64}( [A-Za-z0-9_.:/|%-]{1,64}){0,7}")
# A umask as octal digits, quoted in YAML (an unquoted 027 is the number 23).
UMASK_RE = re.compile(r"[0-7]{3,4}")
# A sudoers rule after the %group (ALL=(ALL) NOPASSWD:ALL, ALL=(root) /usr/bin/apt-get
# update): runas lists, tags and commands; no comment ('#' but for #<ID>), no '@' (include),
# no backslash (escape, line continuation).
SUDOERS_RULE_RE = re.compile(r"(?:[A-Za-z0-9_.,:=()!/*+ %-]|#[0-9]){1,200}")
# An apt origin pattern (unattended-upgrades Origins-Pattern): key=value pairs, no quotes or
# backslashes (apt.conf strings cannot escape them).
APT_ORIGIN_RE = re.compile(r"[A-Za-z0-9=,._:/${}*~ -]{1,200}")
# A host name or an IPv4 or IPv6 address (an NTP server, the controller's address).
HOST_OR_ADDRESS_RE = re.compile(r"[A-Za-z0-9:]([A-Za-z0-9.:-]{0,252}[A-Za-z0-9])?")
# A journald size (SystemMaxUse=): bytes, or K, M, G, T with an optional decimal part.
JOURNAL_SIZE_RE = re.compile(r"[1-9][0-9]{0,5}(\.[0-9]{1,3})?[KMGT]?")
# chrony options of a `server` line (iburst, minpoll 4, nts): words, one space apart.
CHRONY_OPTIONS_RE = re.compile(r"[a-z][a-z0-9]{0,15}( [a-z0-9][a-z0-9.]{0,15}){0,15}")
# A value Ansible computes from one expression (the lab's NTP server from the store's network,
# a group member from hardening_automation_user): the rendered value is quoted by the template.
JINJA_EXPRESSION_RE = re.compile(r"\{\{ [^{}]{1,200} \}\}")

# An apt source's mirror: http(s)://host[:port][/path], the host possibly one Ansible
# expression (the lab's controller address from the store's network).
APT_URI_RE = re.compile(
    r"https?://([A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\{\{ [^{}]{1,200} \}\})"
    r"(:[0-9]{1,5})?(/[A-Za-z0-9._~/+-]*)?"
)
# An apt suite or component (bookworm-security, main, an aptly publish prefix/name).
APT_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
# A repository's ASCII-armored public key as `gpg --armor --export` writes it.
PGP_PUBLIC_KEY_RE = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----\n([A-Za-z0-9+/=:. -]{0,76}\n){1,4000}"
    r"-----END PGP PUBLIC KEY BLOCK-----\n?"
)
# A command the reboot module runs to tell boots apart: words of a safe alphabet, no shell.
BOOT_TIME_COMMAND_RE = re.compile(r"[A-Za-z0-9/._=-]{1,64}( [A-Za-z0-9/._=-]{1,64}){0,7}")
# A systemd unit name (needrestart's services).
SYSTEMD_UNIT_RE = re.compile(r"[A-Za-z0-9:_.@-]{1,200}\.(service|socket|timer|target|mount)")
# A name of a source the patching role writes (its file name part).
APT_SOURCE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")

SshAlgorithm = Annotated[
    str, full_pattern(SSH_ALGORITHM_RE, "an SSH algorithm name (letters, digits, '@._-')")
]
SysctlName = Annotated[
    str, full_pattern(SYSCTL_NAME_RE, "a sysctl key (letters, digits, '_', '.', '/', '-')")
]
SysctlValue = Annotated[
    str, full_pattern(SYSCTL_VALUE_RE, "a sysctl value (words of letters, digits, '_.:/|%-')")
]
Umask = Annotated[str, full_pattern(UMASK_RE, "a umask (3 or 4 octal digits, quoted)")]
SudoersRule = Annotated[
    str,
    full_pattern(
        SUDOERS_RULE_RE,
        "a sudoers rule (runas list, tags, commands; no comment, include or backslash)",
    ),
]
KERNEL_MODULE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,55}")
KernelModule = Annotated[str, full_pattern(KERNEL_MODULE_RE, "a kernel module name")]
AptOriginPattern = Annotated[
    str,
    full_pattern(APT_ORIGIN_RE, "an apt origin pattern (key=value pairs, no quotes or '\\')"),
]
HostOrAddress = Annotated[str, full_pattern(HOST_OR_ADDRESS_RE, "a host name or an address", 253)]
JournalSize = Annotated[
    str, full_pattern(JOURNAL_SIZE_RE, "a journald size (digits, then K, M, G or T)")
]
ChronyOptions = Annotated[
    str, full_pattern(CHRONY_OPTIONS_RE, "chrony server options (lowercase words)")
]
JinjaExpression = Annotated[
    str, full_pattern(JINJA_EXPRESSION_RE, "one Ansible expression ('{{ ... }}')")
]

# login.defs days (PASS_MAX_DAYS ...), faillock seconds (a week at most), idle seconds
# (tasks/idle_timeout.yml: at most 900 s, MLPS 2.0 level 2), journal retention
# (tasks/journal.yml: at least 180 days).
LoginDefsDays = Annotated[int, Field(ge=0, le=99999, strict=True)]
FaillockSeconds = Annotated[int, Field(ge=0, le=604800, strict=True)]
IdleSeconds = Annotated[int, Field(ge=1, le=900, strict=True)]
RetentionDays = Annotated[int, Field(ge=180, le=3650, strict=True)]


AptUri = Annotated[str, full_pattern(APT_URI_RE, "an http(s) mirror URL", 300)]
AptWord = Annotated[str, full_pattern(APT_WORD_RE, "an apt suite or component")]
PgpPublicKey = Annotated[
    str,
    full_pattern(PGP_PUBLIC_KEY_RE, "an ASCII-armored PGP public key block", allow_newlines=True),
]
BootTimeCommand = Annotated[
    str, full_pattern(BOOT_TIME_COMMAND_RE, "a command of words (letters, digits, '/._=-')")
]
SystemdUnit = Annotated[str, full_pattern(SYSTEMD_UNIT_RE, "a systemd unit name (foo.service)")]


# The controller's timers (role controller): a systemd time span, one word of the unit
# (5min, 1h, 90s, 1h30min), from 30 seconds (the sampler must not hammer the stores) to a
# day. systemd's "m" is minutes; months and years are not intervals of a schedule.
TIME_SPAN_PART_RE = re.compile(r"([0-9]{1,6})(s|sec|m|min|h|hr|d)?")
TIME_SPAN_RE = re.compile(r"(?:[0-9]{1,6}(?:s|sec|m|min|h|hr|d)?)+")
TIME_SPAN_SECONDS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
TIME_SPAN_RANGE = (30, 86400)


def _time_span(value: str) -> str:
    if not TIME_SPAN_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a systemd time span (5min, 1h, 90s; no spaces)")
    seconds = sum(
        int(number) * TIME_SPAN_SECONDS[unit] for number, unit in TIME_SPAN_PART_RE.findall(value)
    )
    shortest, longest = TIME_SPAN_RANGE
    if not shortest <= seconds <= longest:
        raise ValueError(f"{value!r} is {seconds} s: an interval is {shortest} s to one day")
    return value


# The controller's database (storeops.statedb): a SQLAlchemy URL without the password
# (the password comes from the vault, through a root-only environment file), or a SQLite
# file by its absolute path.
DATABASE_URL_RE = re.compile(
    r"sqlite:////[A-Za-z0-9._/-]{1,200}"
    r"|[a-z][a-z0-9]{0,15}(\+[a-z0-9_]{1,31})?://([A-Za-z0-9._~-]{1,64}@)?"
    r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/[A-Za-z0-9_]{1,64}(\?[A-Za-z0-9_.=&-]{1,200})?"
)
_URL_PASSWORD_RE = re.compile(r"://[^/@]*:[^/@]*@")


def _database_url(value: str) -> str:
    if _URL_PASSWORD_RE.search(value):
        raise ValueError(
            "the database URL holds a password: give it without, and the password in the "
            "vault (vault_controller_database_password)"
        )
    if not DATABASE_URL_RE.fullmatch(value) or ".." in value.split("/"):
        raise ValueError(
            f"{value!r} is not a database URL (mysql+pymysql://user@host/database, or "
            "sqlite:////absolute/path)"
        )
    return value


TimeSpan = Annotated[str, safe(_time_span)]
DatabaseUrl = Annotated[str, safe(_database_url)]


class AptSource(Strict):
    """One apt source of the patching role (a deb822 file, signed by its key)."""

    name: Annotated[str, full_pattern(APT_SOURCE_NAME_RE, "lowercase letters, digits and '-'")]
    uris: Annotated[list[AptUri], Field(min_length=1)]
    suites: Annotated[list[AptWord], Field(min_length=1)]
    components: Annotated[list[AptWord], Field(min_length=1)]
    key: PgpPublicKey | JinjaExpression | None = None
    signed_by: AbsolutePath | None = None

    @model_validator(mode="after")
    def _one_key(self) -> AptSource:
        """apt verifies every source: exactly one of key and signed_by."""
        if (self.key is None) == (self.signed_by is None):
            raise ValueError("give exactly one of key (the armored key) and signed_by (a keyring)")
        return self


class SysctlSetting(Strict):
    name: SysctlName
    value: SysctlValue


class SudoGroup(Strict):
    name: Login
    rule: SudoersRule
    members: list[Login | JinjaExpression]


# ---------------------------------------------------------------------------- notifications
#
# storeops_notify (group_vars/all, overridden whole by a store's group_vars): where a store's
# failures are sent (module_utils/storeops_notify.py). The robots' URLs carry their key and the
# DingTalk secret and SMTP password are secrets: in the inventory each is a reference to one
# vault variable ("{{ vault_notify_wecom_url }}"), resolved where it is used; the resolved URL
# must then be a NotifyUrl.

VAULT_REFERENCE_RE = re.compile(r"\{\{ vault_[a-z0-9_]{1,64} \}\}")
NOTIFY_CHANNEL_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
# An e-mail address as a mail header takes it: no display name, comment, quotes or ','.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
MAX_EMAIL = 254
# A robot's or a receiver's URL: scheme://host[:port][/path][?query], the query of
# name=value pairs (the robots' key=, access_token=); no user info or fragment.
NOTIFY_URL_RE = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?)"
    r"(:[0-9]{1,5})?(/[A-Za-z0-9._~%+/-]*)?"
    r"(\?[A-Za-z0-9._~%+-]+=[A-Za-z0-9._~%+-]*(&[A-Za-z0-9._~%+-]+=[A-Za-z0-9._~%+-]*)*)?"
)
MAX_NOTIFY_URL = 500
LOOPBACK_NETWORK = ipaddress.IPv4Network("127.0.0.0/8")


def _plain_http_allowed(host: str) -> bool:
    """http (no TLS) only to a loopback or private address: the lab's and the tests'
    receivers. A robot or a receiver named by host name, or on the internet, is https."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return address in LOOPBACK_NETWORK or any(address in net for net in PRIVATE_NETWORKS)


def notify_url_problem(value: str) -> str | None:
    """Why ``value`` is not a notification URL (None: it is one), without repeating it:
    the robots' URLs are secrets."""
    match = NOTIFY_URL_RE.fullmatch(value)
    if not match or len(value) > MAX_NOTIFY_URL:
        return "not a notification URL (https://host[:port][/path][?name=value&...])"
    if match["scheme"] == "http" and not _plain_http_allowed(match["host"]):
        return (
            f"http://{match['host']}: a notification URL is https (http only to a loopback "
            "or private address: the lab's receiver)"
        )
    return None


def _notify_url(value: str) -> str:
    problem = notify_url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _email(value: str) -> str:
    if not EMAIL_RE.fullmatch(value) or len(value) > MAX_EMAIL:
        raise ValueError(f"{value!r} is not an e-mail address (local@domain, nothing else)")
    return value


VaultReference = Annotated[
    str,
    full_pattern(
        VAULT_REFERENCE_RE, "a reference to one vault variable ('{{ vault_notify_wecom_url }}')"
    ),
]
NotifyUrl = Annotated[str, safe(_notify_url)]
EmailAddress = Annotated[str, safe(_email)]
NotifyChannelName = Annotated[
    str,
    full_pattern(NOTIFY_CHANNEL_NAME_RE, "a channel name (lowercase letters, digits, '-')"),
]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]


class WecomChannel(Strict):
    """A WeCom group robot; ``url`` (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)
    from the vault."""

    type: Literal["wecom"]
    name: NotifyChannelName | None = None
    url: VaultReference


class DingtalkChannel(Strict):
    """A DingTalk custom robot (https://oapi.dingtalk.com/robot/send?access_token=...); with
    ``secret``, the robot's "sign" setting, each message is signed."""

    type: Literal["dingtalk"]
    name: NotifyChannelName | None = None
    url: VaultReference
    secret: VaultReference | None = None


class WebhookChannel(Strict):
    """A receiver of the group's own, which gets the event as JSON."""

    type: Literal["webhook"]
    name: NotifyChannelName | None = None
    url: VaultReference | NotifyUrl


class SmtpChannel(Strict):
    """Mail through the group's SMTP server (STARTTLS, certificate verified)."""

    type: Literal["smtp"]
    name: NotifyChannelName | None = None
    host: HostOrAddress
    port: Port = 587
    sender: EmailAddress
    to: Annotated[list[EmailAddress], Field(min_length=1, max_length=20)]
    username: EmailAddress | Login | None = None
    password: VaultReference | None = None
    ca_file: AbsolutePath | None = None  # a private CA's certificate on the sender

    @model_validator(mode="after")
    def _login_has_password(self) -> SmtpChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("give username and password together (password from the vault)")
        return self


NotifyChannel = Annotated[
    WecomChannel | DingtalkChannel | WebhookChannel | SmtpChannel, Field(discriminator="type")
]


class NotifySettings(Strict):
    """``storeops_notify``: the channels a store's failures go to (the store's IT contact)."""

    channels: Annotated[list[NotifyChannel], Field(max_length=10)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_unique(self) -> NotifySettings:
        names = [channel.name for channel in self.channels if channel.name is not None]
        if len(set(names)) != len(names):
            raise ValueError("two channels have the same name")
        return self


class ConstrainedRoleVars(BaseModel):
    """The role variables whose values reach a root shell, a ruleset or a device."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    firewall_table: NftName | None = None
    # roles/dms: the hold file its ExecStartPre script names (a shell word) and dms_switch writes.
    dms_hold_file: AbsolutePath | None = None
    firewall_drop_counter: NftName | None = None
    firewall_state_dir: AbsolutePath | None = None
    firewall_candidate_path: AbsolutePath | None = None
    firewall_persist_path: AbsolutePath | None = None
    network_username: DeviceWord | None = None
    network_snmp_group: DeviceWord | None = None
    network_snmp_location: DeviceText | None = None
    network_snmp_contact: DeviceText | None = None
    network_banner: DeviceText | None = None
    network_login_banner: DeviceText | None = None
    network_archive_path: DevicePath | None = None
    network_revert_minutes: Annotated[int, Field(ge=0, le=120, strict=True)] | None = None
    network_previous_username: DeviceWord | Literal[""] | None = None
    network_running_management_address: IPv4Address | Literal[""] | None = None
    hardening_automation_user: Login | None = None
    hardening_controller_address: HostOrAddress | JinjaExpression | None = None
    hardening_pwquality_minlen: Annotated[int, Field(ge=8, le=128, strict=True)] | None = None
    hardening_pwquality_minclass: Annotated[int, Field(ge=0, le=4, strict=True)] | None = None
    hardening_pwquality_retry: Annotated[int, Field(ge=1, le=10, strict=True)] | None = None
    hardening_pass_max_days: LoginDefsDays | None = None
    hardening_pass_min_days: LoginDefsDays | None = None
    hardening_pass_warn_age: LoginDefsDays | None = None
    hardening_faillock_deny: Annotated[int, Field(ge=1, le=100, strict=True)] | None = None
    hardening_faillock_unlock_time: FaillockSeconds | None = None
    hardening_faillock_fail_interval: FaillockSeconds | None = None
    # tasks/idle_timeout.yml: at most 900 s idle (MLPS 2.0 level 2).
    hardening_tmout: IdleSeconds | None = None
    hardening_ssh_client_alive_interval: IdleSeconds | None = None
    hardening_ssh_client_alive_count_max: IdleSeconds | None = None
    hardening_ssh_ciphers: Annotated[list[SshAlgorithm], Field(min_length=1)] | None = None
    hardening_ssh_macs: Annotated[list[SshAlgorithm], Field(min_length=1)] | None = None
    hardening_ssh_kex: Annotated[list[SshAlgorithm], Field(min_length=1)] | None = None
    hardening_ssh_moduli_min_size: Annotated[int, Field(ge=1023, le=8191, strict=True)] | None = (
        None
    )
    hardening_ssh_max_auth_tries: Annotated[int, Field(ge=1, le=10, strict=True)] | None = None
    hardening_ssh_login_grace_time: Annotated[int, Field(ge=1, le=600, strict=True)] | None = None
    hardening_sudo_groups: list[SudoGroup] | None = None
    hardening_sudo_exempt_users: list[Login] | None = None
    hardening_system_uid_max: Annotated[int, Field(ge=99, le=59999, strict=True)] | None = None
    hardening_system_accounts_exempt: list[Login] | None = None
    hardening_nologin_shell: AbsolutePath | None = None
    hardening_nologin_shells: list[AbsolutePath] | None = None
    hardening_umask: Umask | None = None
    hardening_setuid_blacklist: list[AbsolutePath] | None = None
    hardening_audit_privileged_paths: list[AbsolutePath] | None = None  # find's start points
    hardening_audit_auid_min: Annotated[int, Field(ge=500, le=60000, strict=True)] | None = None
    # meta/argument_specs.yml's choices: never discard, never ignore a full or failing disk.
    hardening_auditd_max_log_file_action: Literal["keep_logs", "rotate"] | None = None
    hardening_auditd_space_left_action: Literal["syslog", "email"] | None = None
    hardening_auditd_admin_space_left_action: Literal["suspend", "single"] | None = None
    hardening_auditd_disk_full_action: Literal["suspend", "single", "halt"] | None = None
    hardening_auditd_disk_error_action: Literal["suspend", "single", "halt"] | None = None
    hardening_legacy_packages: list[DebianPackage] | None = None
    hardening_network_sysctls: list[SysctlSetting] | None = None
    hardening_core_dump_sysctls: list[SysctlSetting] | None = None
    hardening_kernel_sysctls: list[SysctlSetting] | None = None
    hardening_unused_filesystems: list[KernelModule] | None = None
    hardening_security_origins: Annotated[list[AptOriginPattern], Field(min_length=1)] | None = None
    hardening_journal_system_max_use: JournalSize | None = None
    # tasks/journal.yml: at least 180 days of logs (MLPS 2.0 level 2).
    hardening_journal_max_retention_days: RetentionDays | None = None
    hardening_ntp_servers: (
        Annotated[list[HostOrAddress | JinjaExpression], Field(min_length=1)] | None
    ) = None
    hardening_ntp_server_options: ChronyOptions | Literal[""] | None = None
    patching_upgrade: Literal["security", "all"] | None = None
    patching_apt_sources: list[AptSource] | None = None
    patching_apt_sources_absent: list[AbsolutePath] | None = None
    patching_security_origins: Annotated[list[AptOriginPattern], Field(min_length=1)] | None = None
    patching_role_order: Annotated[list[Role], Field(min_length=1)] | None = None
    patching_wave_size: Annotated[int, Field(ge=1, strict=True)] | None = None
    patching_min_free_mib: Annotated[int, Field(ge=0, strict=True)] | None = None
    patching_backup_max_age_hours: (
        Annotated[int, Field(ge=1, strict=True)] | JinjaExpression | None
    ) = None
    patching_restart_exclude: list[SystemdUnit] | None = None
    patching_boot_time_command: BootTimeCommand | None = None
    patching_reboot_timeout: Annotated[int, Field(ge=30, le=7200, strict=True)] | None = None
    patching_hold_priority: Annotated[int, Field(ge=1, le=999, strict=True)] | None = None
    patching_backup_status: AbsolutePath | None = None
    patching_holds_file: AbsolutePath | None = None
    patching_state_file: AbsolutePath | None = None
    patching_lock: AbsolutePath | None = None
    patching_rollout_journal: AbsolutePath | None = None
    # role controller: every value is written into the systemd units or their environment file
    controller_user: Login | None = None
    controller_group: Login | None = None
    controller_state_dir: AbsolutePath | None = None
    controller_project_dir: AbsolutePath | JinjaExpression | None = None
    controller_storeops: AbsolutePath | JinjaExpression | None = None
    controller_inventory: AbsolutePath | JinjaExpression | None = None
    controller_vault_password_file: AbsolutePath | Literal[""] | None = None
    controller_sample_interval: TimeSpan | None = None
    controller_health_interval: TimeSpan | None = None
    controller_database_url: DatabaseUrl | Literal[""] | None = None
    controller_env_file: AbsolutePath | None = None
    storeops_notify: NotifySettings | None = None


# The variables the core schema owns and judges. A feature's own (the workstation's) come
# with its registration with the validator (storeops.validate.FeatureRules.owned_vars).
# storeops_notify is set group-wide and overridden per store: owned here, judged in every
# vars file by ConstrainedRoleVars (the roles read it: backup, dms_rollout).
SCHEMA_OWNED_VARS = (
    frozenset(GroupWideVars.model_fields)
    | frozenset(StoreVars.model_fields)
    | frozenset({"storeops_notify"})
)
