"""The inventory schema, written once.

Every consumer of the inventory (the validator, the lab builder, the pyinfra adapter,
the Ansible plugins, the reports) goes through these models. Each model mirrors one
kind of file or one block in a file under ``inventory/<name>/``:

* ``hosts.yml``                      -> :class:`HostsFile` (stores and their hosts)
* ``group_vars/all/*.yml``           -> :class:`GroupWideVars` (catalog, waves, flows)
* ``group_vars/store_<code>[/*].yml``-> :class:`StoreVars` (the ``store:`` block)

Field-level rules (formats, ranges, enumerations) live here; rules that need to see
several files at once (duplicates, overlaps, references) live in ``validate.py``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

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
STORE_CODE_RE = re.compile(r"^[a-z]{2}[0-9]{2}$")
HOST_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
VERSION_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
VERSION_PATTERN_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(\*|0|[1-9][0-9]*)$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


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


def _time_of_day(value: Any) -> str:
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise ValueError(f"{value!r} is not a time (HH:MM, 00:00 to 24:00)")
    return value


def _timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an IANA timezone name (e.g. Asia/Shanghai)")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known IANA timezone (e.g. Asia/Shanghai)") from None
    return value


def _version(value: Any) -> str:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise ValueError(f"{value!r} is not a release version (MAJOR.MINOR.PATCH, quoted)")
    return value


def _version_pattern(value: Any) -> str:
    if not isinstance(value, str) or not VERSION_PATTERN_RE.match(value):
        raise ValueError(f"{value!r} is not a version or a MAJOR.MINOR.* pattern")
    return value


def _sha256(value: Any) -> str:
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise ValueError(f"{value!r} is not a sha256 digest (64 lowercase hex digits)")
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


def _host_name(value: Any) -> str:
    if not isinstance(value, str) or not HOST_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a host name (lowercase letters, digits, '-')")
    return value


TimeOfDay = Annotated[str, BeforeValidator(_time_of_day)]
Timezone = Annotated[str, BeforeValidator(_timezone)]
Version = Annotated[str, BeforeValidator(_version)]
VersionPattern = Annotated[str, BeforeValidator(_version_pattern)]
Sha256 = Annotated[str, BeforeValidator(_sha256)]
Date = Annotated[dt.date, BeforeValidator(_date)]
IPv4Address = Annotated[ipaddress.IPv4Address, BeforeValidator(_ipv4_address)]
IPv4Network = Annotated[ipaddress.IPv4Network, BeforeValidator(_ipv4_network)]
HostName = Annotated[str, BeforeValidator(_host_name)]
VlanId = Annotated[int, Field(ge=1, le=4094, strict=True)]
NonEmptyText = Annotated[str, Field(min_length=1)]


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
    storeops_zone: NonEmptyText
    ansible_port: Annotated[int, Field(ge=1, le=65535, strict=True)] | None = None
    ansible_user: NonEmptyText | None = None
    storeops_address: IPv4Address | None = None
    storeops_platform: NetworkPlatform | None = None  # switches and firewalls only

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


class StoresGroup(Strict):
    children: dict[str, StoreGroup]

    @model_validator(mode="after")
    def _store_group_names(self) -> StoresGroup:
        for name in self.children:
            code = name.removeprefix(STORE_GROUP_PREFIX)
            if not name.startswith(STORE_GROUP_PREFIX) or not STORE_CODE_RE.match(code):
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
    reason: NonEmptyText | None = None

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


def _store_code(value: Any) -> str:
    if not isinstance(value, str) or not STORE_CODE_RE.match(value):
        raise ValueError(f"{value!r} is not a store code (two lowercase letters, two digits)")
    return value


class Zone(Strict):
    """A security zone of the store: one VLAN, one subnet."""

    vlan: VlanId
    subnet: IPv4Network
    description: NonEmptyText | None = None


class Store(Strict):
    """The ``store:`` block of ``group_vars/store_<code>.yml``."""

    code: Annotated[str, BeforeValidator(_store_code)]
    name: NonEmptyText
    city: NonEmptyText
    timezone: Timezone
    maintenance_window: MaintenanceWindow
    blackout_dates: list[BlackoutItem] = Field(default_factory=list)
    network: IPv4Network
    zones: Annotated[dict[NonEmptyText, Zone], Field(min_length=1)]
    pilot: bool = False
    dms_target_version: Version


class StoreVars(BaseModel):
    """The schema-owned variables of a store's group_vars (other keys are role variables)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    store: Store


# ---------------------------------------------------------------------------- group-wide vars


class Release(Strict):
    """One approved DMS release in the catalog."""

    version: Version
    artifact: NonEmptyText
    sha256: Sha256
    signature: NonEmptyText | None = None
    upgrade_from: list[VersionPattern] = Field(default_factory=list)
    migrations: list[NonEmptyText] = Field(default_factory=list)


def _http_url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


HttpUrl = Annotated[str, BeforeValidator(_http_url)]


class DmsPortal(Strict):
    """Where DMS releases are downloaded from, and the key their signatures must verify with."""

    url: HttpUrl
    signing_key: NonEmptyText  # PEM ed25519 public key; a path relative to the inventory dir


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
PORT_SERVICE_RE = re.compile(r"^(tcp|udp)/([0-9]{1,5})(?:-([0-9]{1,5}))?$")
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
    match = PORT_SERVICE_RE.match(text) if isinstance(text, str) else None
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


def _flow_name(value: Any) -> str:
    if not isinstance(value, str) or not HOST_NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not a flow name (lowercase letters, digits, '-'; at most 63)"
        )
    return value


ServiceSpec = Annotated[Service, PlainValidator(parse_service), PlainSerializer(str)]
FlowName = Annotated[str, BeforeValidator(_flow_name)]
Endpoints = Annotated[list[NonEmptyText], Field(min_length=1)]

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
    description: NonEmptyText | None = None


class GroupInfo(Strict):
    name: NonEmptyText
    contact: NonEmptyText | None = None


class GroupWideVars(BaseModel):
    """The schema-owned variables of ``group_vars/all`` (other keys are role variables)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    storeops_group: GroupInfo
    dms_catalog: Annotated[list[Release], Field(min_length=1)]
    dms_portal: DmsPortal
    dms_wave_size: Annotated[int, Field(ge=1, strict=True)] = 1
    # Required, and never empty: every host firewall is rendered from it (default drop), so
    # an inventory without flows would cut every host off, the controller's SSH included.
    # The default only lets validate.py report a missing list in the file it belongs in.
    storeops_flows: Annotated[list[Flow], Field(min_length=1)] = Field(default_factory=list)


# ---------------------------------------------------------------------------- workstations
#
# Workstation settings are inventory variables named workstation_*, each at one level:
# the group's catalogue in group_vars/all, the store's printer and DMS address in
# group_vars/store_<code>, a machine's assignment (asset tag, owner, role) in its host_vars.
# All are optional to the schema; validate.py requires them once a workstation is assigned.

USER_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]*(\.[a-z0-9_-]+)*$")
MAX_USER_NAME = 32
PACKAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
ASSET_TAG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$")
WORKSTATION_ROLE_RE = re.compile(r"^[a-z][a-z_]{1,23}$")
HOSTNAME_LABEL_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
SUDO_TIER_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
CUPS_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,127}$")
PRINTER_URI_RE = re.compile(r"^(ipp|ipps|socket|lpd|http|https)://[^\s/]+(/\S*)?$")
# sudoers: a command is an absolute path with optional arguments, or ALL; the characters
# sudoers gives a meaning to inside a command (, : = \) are refused rather than escaped.
SUDO_COMMAND_RE = re.compile(r"^(ALL|/[^\s,:=\\]+( [^,:=\\]+)?)$")
SSH_PUBLIC_KEY_RE = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) "
    r"[A-Za-z0-9+/]+={0,2}( [^\n]*)?$"
)
PEM_CERTIFICATE_RE = re.compile(
    r"^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$"
)


def _pattern(regex: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> str:
        if isinstance(value, int | float):
            raise ValueError(f"{value!r} is not {what}: YAML read a number, quote the value")
        if not isinstance(value, str) or not regex.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return BeforeValidator(check)


def _user_name(value: Any) -> str:
    if not isinstance(value, str) or not USER_NAME_RE.match(value) or len(value) > MAX_USER_NAME:
        raise ValueError(
            f"{value!r} is not a login name (lowercase letters, digits, '_', '-', '.' "
            f"between them; at most {MAX_USER_NAME})"
        )
    return value


def _absolute_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "\n" in value:
        raise ValueError(f"{value!r} is not an absolute path")
    return value.rstrip("/") or "/"


UserName = Annotated[str, BeforeValidator(_user_name)]
PackageName = Annotated[str, _pattern(PACKAGE_NAME_RE, "a Debian package name")]
AssetTag = Annotated[
    str,
    _pattern(ASSET_TAG_RE, "an asset tag (lowercase letters, digits, inner '-'; at most 16)"),
]
WorkstationRoleName = Annotated[
    str, _pattern(WORKSTATION_ROLE_RE, "a workstation role name (lowercase letters, '_')")
]
HostnameLabel = Annotated[
    str, _pattern(HOSTNAME_LABEL_RE, "a hostname label (lowercase letters, digits; at most 12)")
]
SudoTierName = Annotated[
    str, _pattern(SUDO_TIER_RE, "a sudo tier name (lowercase letters, digits, '-')")
]
SudoCommand = Annotated[
    str,
    _pattern(
        SUDO_COMMAND_RE, "a sudo command (ALL, or an absolute path and arguments without , : = \\)"
    ),
]
SshPublicKey = Annotated[str, _pattern(SSH_PUBLIC_KEY_RE, "an SSH public key line")]
PemCertificate = Annotated[
    str, _pattern(PEM_CERTIFICATE_RE, "one PEM certificate (-----BEGIN CERTIFICATE----- ...)")
]
AbsolutePath = Annotated[str, BeforeValidator(_absolute_path)]


class SudoTier(Strict):
    """What the local IT admin account may run as root on a workstation (sudoers commands)."""

    description: NonEmptyText | None = None
    commands: Annotated[list[SudoCommand], Field(min_length=1)]


class WorkstationRoleSpec(Strict):
    """One role of the catalogue: what a sales, service, parts... desk gets."""

    description: NonEmptyText
    hostname_label: HostnameLabel  # <store>-<label>-<asset tag>
    packages: list[PackageName] = Field(default_factory=list)  # on top of the base packages
    sudo_tier: SudoTierName  # the IT admin account's tier on this role's machines
    idle_timeout_minutes: Annotated[int, Field(ge=1, le=60, strict=True)]


class WorkstationPrinter(Strict):
    """The store's printer, as a CUPS queue on every workstation of the store (the default)."""

    name: Annotated[str, _pattern(CUPS_NAME_RE, "a CUPS queue name (letters, digits, '_', '-')")]
    uri: Annotated[str, _pattern(PRINTER_URI_RE, "a printer URI (ipp://, ipps://, socket://...)")]
    driver: NonEmptyText = "everywhere"  # lpadmin -m: IPP Everywhere, or a drv:/// model
    location: NonEmptyText | None = None
    description: NonEmptyText | None = None


class WorkstationGroupVars(Strict):
    """``group_vars/all``: the group's workstation catalogue and standards."""

    workstation_roles: (
        Annotated[dict[WorkstationRoleName, WorkstationRoleSpec], Field(min_length=1)] | None
    ) = None
    workstation_sudo_tiers: Annotated[dict[SudoTierName, SudoTier], Field(min_length=1)] | None = (
        None
    )
    workstation_base_packages: Annotated[list[PackageName], Field(min_length=1)] | None = None
    workstation_admin_user: UserName | None = None
    workstation_admin_public_keys: list[SshPublicKey] = Field(default_factory=list)
    workstation_ca_certificate: PemCertificate | None = None
    workstation_security_origins: Annotated[list[NonEmptyText], Field(min_length=1)] | None = None
    workstation_freshclam_mirrors: Annotated[list[NonEmptyText], Field(min_length=1)] | None = None
    workstation_freshclam_calendar: NonEmptyText = "*-*-* 00/4:17:00"
    workstation_scan_calendar: NonEmptyText = "*-*-* 12:30:00"
    workstation_archive_dir: AbsolutePath = "/srv/storeops-archive/workstations"


class WorkstationStoreVars(Strict):
    """``group_vars/store_<code>``: what a workstation of this store connects to."""

    workstation_printer: WorkstationPrinter | None = None
    workstation_dms_url: HttpUrl | None = None


class WorkstationHostVars(Strict):
    """``host_vars/<host>``: the machine's assignment (written by ``storeops workstation``)."""

    workstation_asset_tag: AssetTag | None = None
    workstation_owner: UserName | None = None
    workstation_role: WorkstationRoleName | None = None


# Keys of WorkstationGroupVars that an assigned workstation cannot do without.
WORKSTATION_REQUIRED_GROUP_VARS = (
    "workstation_roles",
    "workstation_sudo_tiers",
    "workstation_base_packages",
    "workstation_admin_user",
    "workstation_ca_certificate",
    "workstation_security_origins",
    "workstation_freshclam_mirrors",
)
WORKSTATION_REQUIRED_STORE_VARS = ("workstation_printer", "workstation_dms_url")
# The vault secret a new employee account's first password comes from.
WORKSTATION_INITIAL_PASSWORD = "vault_workstation_initial_password"

WORKSTATION_VAR_LEVELS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(WorkstationGroupVars.model_fields, "all"),
        **dict.fromkeys(WorkstationStoreVars.model_fields, "store"),
        **dict.fromkeys(WorkstationHostVars.model_fields, "host"),
    }
)


# ---------------------------------------------------------------------------- asset register


class AssetStatus(StrEnum):
    IN_USE = "in_use"
    RETURNED = "returned"


class SerialSource(StrEnum):
    """Where a serial number came from: the firmware, or (containers, VMs without one) systemd."""

    DMI = "dmi"
    MACHINE_ID = "machine-id"


MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


class AssetRecord(Strict):
    """One workstation of ``inventory/<group>/assets/<store>.yml``, keyed by its asset tag."""

    asset_tag: AssetTag
    store: Annotated[str, BeforeValidator(_store_code)]
    host: HostName
    hostname: HostName  # what the machine was named: <store>-<role label>-<asset tag>
    serial: NonEmptyText
    serial_source: SerialSource
    model: NonEmptyText
    mac: Annotated[str, _pattern(MAC_RE, "a MAC address (six lowercase hex pairs, ':')")]
    owner: UserName
    role: WorkstationRoleName
    provisioned: Date
    status: AssetStatus = AssetStatus.IN_USE
    returned: Date | None = None

    @model_validator(mode="after")
    def _returned_has_date(self) -> AssetRecord:
        if (self.status is AssetStatus.RETURNED) != (self.returned is not None):
            raise ValueError("a returned asset has a returned date, and only a returned one")
        return self


class AssetRegisterFile(Strict):
    """``assets/<store>.yml``: the store's workstations, one record per asset tag."""

    assets: list[AssetRecord] = Field(default_factory=list)


SCHEMA_OWNED_VARS = (
    frozenset(GroupWideVars.model_fields)
    | frozenset(StoreVars.model_fields)
    | frozenset(WORKSTATION_VAR_LEVELS)
)
