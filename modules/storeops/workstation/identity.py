"""A workstation's names and identity: the hostname convention, serial, model and MAC.

The identity is read on the machine by one shell probe (:data:`IDENTITY_PROBE`, run as a
pyinfra fact) and parsed here, so that the rules are tested without a machine:

* **serial**: the firmware's (``/sys/class/dmi/id/product_serial``, root-only) when the
  machine has a real one. A container has none of its own (it would show the host's), and
  some firmware ships placeholders ("To be filled by O.E.M."): then the serial is derived
  from ``/etc/machine-id`` (``mid-`` and 16 hex digits of its SHA-256; the id itself stays
  private, see machine-id(5)), and ``serial_source`` says so. The machine-id survives
  reboots and is new after a reinstall: a reinstalled container is a new asset.
* **model**: vendor and product name from DMI; ``container (<engine>)`` in a container.
* **MAC**: of the interface that carries the inventory address (how the store knows the
  machine), else of the first Ethernet interface by name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from storeops.schema import HOST_NAME_RE
from storeops.workstation.schema import SerialSource

IDENTITY_PROBE = r"""
printf 'virt=%s\n' "$(systemd-detect-virt 2>/dev/null)"
for field in product_serial product_name sys_vendor; do
  printf '%s=%s\n' "$field" "$(cat /sys/class/dmi/id/$field 2>/dev/null | tr -d '\n')"
done
printf 'machine_id=%s\n' "$(cat /etc/machine-id 2>/dev/null)"
ip -o -4 addr show 2>/dev/null | awk '{print "addr=" $2 " " $4}'
for dev in /sys/class/net/*; do
  if [ "$(cat "$dev/type" 2>/dev/null)" = 1 ]; then
    printf 'link=%s %s\n' "${dev##*/}" "$(cat "$dev/address")"
  fi
done
true
""".strip()

CONTAINER_ENGINES = frozenset(
    {"podman", "docker", "lxc", "lxc-libvirt", "systemd-nspawn", "rkt", "wsl", "proot", "openvz"}
)
PLACEHOLDER_SERIALS = frozenset(
    {
        "",
        "0",
        "none",
        "default string",
        "not specified",
        "not applicable",
        "system serial number",
        "to be filled by o.e.m.",
        "123456789",
    }
)
MAX_HOSTNAME = 63


class IdentityError(Exception):
    """The probe's output does not identify the machine (no machine-id, no Ethernet MAC)."""


def hostname_for(store: str, role_label: str, asset_tag: str) -> str:
    """``<store>-<role label>-<asset tag>``, e.g. ``sh01-sales-0101``."""
    name = f"{store}-{role_label}-{asset_tag}"
    if len(name) > MAX_HOSTNAME or not HOST_NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid hostname (lowercase, digits, '-', at most 63)")
    return name


@dataclass(frozen=True)
class Identity:
    serial: str
    serial_source: SerialSource
    model: str
    mac: str
    virtualization: str  # systemd-detect-virt: none, kvm, podman...

    @property
    def in_container(self) -> bool:
        return self.virtualization in CONTAINER_ENGINES


def _fields(
    lines: list[str],
) -> tuple[dict[str, str], list[tuple[str, str]], list[tuple[str, str]]]:
    """The probe's key=value lines: single values, (interface, address) and (interface, MAC)."""
    values: dict[str, str] = {}
    addresses: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []
    for line in lines:
        key, _, value = line.strip().partition("=")
        if key == "addr":
            interface, _, address = value.partition(" ")
            addresses.append((interface, address.split("/")[0]))
        elif key == "link":
            interface, _, mac = value.partition(" ")
            links.append((interface.split("@")[0].rstrip(":"), mac.lower()))
        elif key:
            values[key] = value.strip()
    return values, addresses, links


def machine_id_serial(machine_id: str) -> str:
    digest = hashlib.sha256(f"storeops-asset:{machine_id}".encode()).hexdigest()
    return f"mid-{digest[:16]}"


def _serial(values: dict[str, str], in_container: bool) -> tuple[str, SerialSource]:
    firmware = values.get("product_serial", "")
    if not in_container and firmware.lower() not in PLACEHOLDER_SERIALS:
        return firmware, SerialSource.DMI
    machine_id = values.get("machine_id", "")
    if not machine_id:
        raise IdentityError("no firmware serial and no /etc/machine-id: cannot identify it")
    return machine_id_serial(machine_id), SerialSource.MACHINE_ID


def _model(values: dict[str, str], virtualization: str, in_container: bool) -> str:
    if in_container:
        return f"container ({virtualization})"
    model = " ".join(v for v in (values.get("sys_vendor"), values.get("product_name")) if v)
    return model or "unknown model"


def _mac(
    addresses: list[tuple[str, str]], links: list[tuple[str, str]], address: str | None
) -> str:
    macs = dict(links)
    by_address = [interface for interface, ip in addresses if ip == address]
    for interface in by_address:
        if interface in macs:
            return macs[interface]
    if not macs:
        raise IdentityError("no Ethernet interface: no MAC address to register")
    return macs[min(macs)]


def parse_identity(lines: list[str], address: str | None = None) -> Identity:
    """The machine's identity from :data:`IDENTITY_PROBE`'s output lines."""
    values, addresses, links = _fields(lines)
    virtualization = values.get("virt") or "none"
    in_container = virtualization in CONTAINER_ENGINES
    serial, source = _serial(values, in_container)
    return Identity(
        serial=serial,
        serial_source=source,
        model=_model(values, virtualization, in_container),
        mac=_mac(addresses, links, address),
        virtualization=virtualization,
    )
