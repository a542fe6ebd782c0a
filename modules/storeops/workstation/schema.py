"""The workstation feature's part of the inventory schema: its variables and the asset register.

Runs on the controller, wherever the inventory is read (``storeops validate``, ``storeops
workstation``, the deploys). Workstation settings are inventory variables named
``workstation_*``, each at one level (:data:`WORKSTATION_VAR_LEVELS`): the group's catalogue
in ``group_vars/all``, the store's printer and DMS address in ``group_vars/store_<code>``, a
machine's assignment (asset tag, owner, role) in its ``host_vars``. All are optional to the
schema; the feature's validator rules (:mod:`storeops.workstation.validation`) require them
once a workstation is assigned. The asset register is ``inventory/<group>/assets/<store>.yml``.

Built on the core's field types (:mod:`storeops.schema`: every string refuses control
characters, then a full match of a pattern as narrow as its use). The core never imports
this module: the validator learns which variables it owns from the feature's registration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import Field, model_validator

from storeops.schema import (
    MAX_TEXT,
    AbsolutePath,
    Date,
    HostName,
    HttpUrl,
    StoreCode,
    Strict,
    Text,
    full_pattern,
    safe,
)

# ---------------------------------------------------------------------------- variables

USER_NAME_RE = re.compile(r"[a-z_][a-z0-9_-]*(\.[a-z0-9_-]+)*")
MAX_USER_NAME = 32
PACKAGE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
ASSET_TAG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?")
WORKSTATION_ROLE_RE = re.compile(r"[a-z][a-z_]{1,23}")
HOSTNAME_LABEL_RE = re.compile(r"[a-z][a-z0-9]{0,11}")
# At most 18 characters: a tier is the group storeops-tier-<tier> on the machine
# (storeops.workstation.plan.sudo_group_for), and a group name has 32 at most.
SUDO_TIER_RE = re.compile(r"[a-z][a-z0-9-]{0,17}")
CUPS_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,127}")
PRINTER_URI_RE = re.compile(
    r"(ipp|ipps|socket|lpd|http|https)://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%+/?=&-]*)?"
)
# lpadmin -m: "everywhere", a drv:/// or a PPD model name.
PRINTER_DRIVER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}")
# sudoers: ALL, or an absolute path with no argument, with "" (no arguments allowed), or
# with plain words as arguments. Nothing sudoers gives a meaning to (, : = \ # @ ! quotes,
# a line continuation, an @include at the start of a line) can be written.
SUDO_WORD = r"[A-Za-z0-9._/+*?%~-]+"
SUDO_COMMAND_RE = re.compile(rf'ALL|(/[A-Za-z0-9._+-]+)+( ""| {SUDO_WORD}( {SUDO_WORD})*)?')
SSH_PUBLIC_KEY_RE = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) "
    r"[A-Za-z0-9+/]+={0,2}( [ -~]*)?"
)
PEM_CERTIFICATE_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]+\n)+-----END CERTIFICATE-----\n?"
)
# unattended-upgrades' Origins-Pattern: key=value pairs, in a double-quoted apt.conf string.
APT_ORIGIN_RE = re.compile(r"[A-Za-z0-9=,._:/${}*~ -]{1,200}")
# freshclam's DatabaseMirror: a host name or address.
MIRROR_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?")
# systemd OnCalendar: "*-*-* 00/4:17:00", "daily", "Mon..Fri 12:00".
CALENDAR_RE = re.compile(r"[A-Za-z0-9*/:,.~ -]{1,100}")


def _user_name(value: str) -> str:
    if not USER_NAME_RE.fullmatch(value) or len(value) > MAX_USER_NAME:
        raise ValueError(
            f"{value!r} is not a login name (lowercase letters, digits, '_', '-', '.' "
            f"between them; at most {MAX_USER_NAME})"
        )
    return value


UserName = Annotated[str, safe(_user_name)]
PackageName = Annotated[str, full_pattern(PACKAGE_NAME_RE, "a Debian package name", 128)]
AssetTag = Annotated[
    str,
    full_pattern(ASSET_TAG_RE, "an asset tag (lowercase letters, digits, inner '-'; at most 16)"),
]
WorkstationRoleName = Annotated[
    str, full_pattern(WORKSTATION_ROLE_RE, "a workstation role name (lowercase letters, '_')")
]
HostnameLabel = Annotated[
    str,
    full_pattern(HOSTNAME_LABEL_RE, "a hostname label (lowercase letters, digits; at most 12)"),
]
SudoTierName = Annotated[
    str,
    full_pattern(
        SUDO_TIER_RE, "a sudo tier name (lowercase letters, digits, '-'; 18 characters at most)"
    ),
]
SudoCommand = Annotated[
    str,
    full_pattern(
        SUDO_COMMAND_RE,
        'a sudo command (ALL, or an absolute path, then nothing, "" or words of letters, '
        "digits and . _ / + * ? % ~ -)",
        MAX_TEXT,
    ),
]
SshPublicKey = Annotated[
    str, full_pattern(SSH_PUBLIC_KEY_RE, "an SSH public key line (type, key, comment)", 16384)
]
PemCertificate = Annotated[
    str,
    full_pattern(
        PEM_CERTIFICATE_RE,
        "one PEM certificate (-----BEGIN CERTIFICATE----- ...)",
        65536,
        allow_newlines=True,
    ),
]
AptOrigin = Annotated[
    str,
    full_pattern(
        APT_ORIGIN_RE, "an apt origin pattern (key=value pairs, no quotes or backslashes)"
    ),
]
MirrorHost = Annotated[str, full_pattern(MIRROR_RE, "a mirror host name or address")]
Calendar = Annotated[
    str, full_pattern(CALENDAR_RE, "a systemd calendar expression (e.g. *-*-* 12:30:00)")
]
PrinterUri = Annotated[
    str,
    full_pattern(PRINTER_URI_RE, "a printer URI (ipp://, ipps://, socket://... host[:port]/path)"),
]
PrinterDriver = Annotated[
    str, full_pattern(PRINTER_DRIVER_RE, "a printer driver (everywhere, drv:///..., a model)")
]


class SudoTier(Strict):
    """What the local IT admin account may run as root on a workstation (sudoers commands)."""

    description: Text | None = None
    commands: Annotated[list[SudoCommand], Field(min_length=1)]


class WorkstationRoleSpec(Strict):
    """One role of the catalogue: what a sales, service, parts... desk gets."""

    description: Text
    hostname_label: HostnameLabel  # <store>-<label>-<asset tag>
    packages: list[PackageName] = Field(default_factory=list)  # on top of the base packages
    sudo_tier: SudoTierName  # the IT admin account's tier on this role's machines
    # MLPS 2.0 L2-7.1.4.1-b-idle-timeout: a session idle longer than 15 minutes ends (the
    # compliance audit fails a longer TMOUT)
    idle_timeout_minutes: Annotated[int, Field(ge=1, le=15, strict=True)]


class WorkstationPrinter(Strict):
    """The store's printer, as a CUPS queue on every workstation of the store (the default)."""

    name: Annotated[
        str, full_pattern(CUPS_NAME_RE, "a CUPS queue name (letters, digits, '_', '-')")
    ]
    uri: PrinterUri
    driver: PrinterDriver = "everywhere"  # lpadmin -m: IPP Everywhere, or a drv:/// model
    location: Text | None = None
    description: Text | None = None


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
    workstation_security_origins: Annotated[list[AptOrigin], Field(min_length=1)] | None = None
    workstation_freshclam_mirrors: Annotated[list[MirrorHost], Field(min_length=1)] | None = None
    workstation_freshclam_calendar: Calendar = "*-*-* 00/4:17:00"
    workstation_scan_calendar: Calendar = "*-*-* 12:30:00"
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


MAC_RE = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}")


class AssetRecord(Strict):
    """One workstation of ``inventory/<group>/assets/<store>.yml``, keyed by its asset tag."""

    asset_tag: AssetTag
    store: StoreCode
    host: HostName
    hostname: HostName  # what the machine was named: <store>-<role label>-<asset tag>
    serial: Text
    serial_source: SerialSource
    model: Text
    mac: Annotated[str, full_pattern(MAC_RE, "a MAC address (six lowercase hex pairs, ':')")]
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
