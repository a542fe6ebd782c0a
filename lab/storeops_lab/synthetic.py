"""A synthetic dealer group of N stores with the lab inventory's shape, for scale tests.

Test and bench equipment (bench/scale.py, tests/unit/test_synthetic.py): the controller's
work before it touches a host (validation, inventory loading, wave planning, firewall
rules, device configurations) is measured on groups of 2 to 500 stores that nobody has to
write by hand. Nothing here starts a container or contacts a host.

Each synthetic store is a copy of one of the two lab stores, taken in turn (sh01: a Cisco
IOS switch and VLANs 10, 20, ...; hz01: a Huawei VRP switch and consecutive VLANs), with:

* its own code (two letters, two digits: ``aa01`` ... ``aa99``, ``ab01`` ...) in its group,
  host names, files and printer;
* its own network, ``10.B.C.0/24`` from the store's index (``B`` = 64 + index // 256,
  ``C`` = index % 256: 10.64.0.0/24 to 10.79.255.0/24, room for 4096 stores), the zones
  and host addresses inside it as in the lab store;
* its devices' emulator ports (``ansible_port``, unique on 127.0.0.1) and WAN addresses
  (a /30 each in 100.64.0.0/10);
* ``pilot: true`` on the first store only; ``dms_wave_size`` (group_vars/all) set for the
  group's size.

Group-wide files (catalog, flows, network, workstation roles, the group's vault) are the
lab's own. A store's ``vault.yml`` is a byte copy of its lab store's encrypted file (the
lab's ``lab`` vault ID): the same secrets in every store, each file still decrypted on its
own by every reader, as distinct files would be.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import string
from dataclasses import dataclass
from pathlib import Path

from storeops.paths import LAB_INVENTORY, REPO_ROOT

# The lab's stores, their network and their devices' emulator ports, as hosts.yml has them.
TEMPLATE_STORES = ("sh01", "hz01")
TEMPLATE_PREFIX = {"sh01": "10.77.1.", "hz01": "10.77.2."}
TEMPLATE_PORTS = {"sh01": (8821, 8822), "hz01": (8823, 8824)}
TEMPLATE_WAN = {
    "sh01": ("198.51.100.10/30", "198.51.100.9"),
    "hz01": ("198.51.100.14/30", "198.51.100.13"),
}
FIRST_PORT = 20000  # store i's firewall: FIRST_PORT + 2i, its switch: the next port
WAN_BLOCK = ipaddress.IPv4Network("100.64.0.0/10")
FIRST_SECOND_OCTET = 64
MAX_STORES = 16 * 256  # 10.64.0.0/24 ... 10.79.255.0/24
CODES_PER_PREFIX = 99  # aa01 ... aa99
DEFAULT_WAVE_SIZE = 20
LAB_KEY = "signing_key: ../../lab/dms/signing-key.pub"
COPIED_KEY = "files/lab-dms-signing-key.pub"
HOSTS_HEADER = (
    "---\n# A synthetic store group (storeops_lab.synthetic): {count} copies of the lab's\n"
    "# stores, each with its own code, network and device ports.\n"
)


@dataclass(frozen=True)
class SyntheticStore:
    """One store of the synthetic group: where it comes from and what makes it its own."""

    index: int
    code: str
    template: str
    network: ipaddress.IPv4Network

    @property
    def prefix(self) -> str:
        """The first three octets and a dot, as the template's text writes addresses."""
        return str(self.network.network_address).rsplit(".", 1)[0] + "."

    @property
    def ports(self) -> tuple[int, int]:
        return (FIRST_PORT + 2 * self.index, FIRST_PORT + 2 * self.index + 1)

    @property
    def wan(self) -> tuple[str, str]:
        """The firewall's WAN address (CIDR) and its upstream gateway, a /30 of its own."""
        base = WAN_BLOCK.network_address + 4 * self.index
        return (f"{base + 2}/30", str(base + 1))


def store_code(index: int) -> str:
    """The code of store ``index`` (0-based): aa01 ... aa99, ab01 ..."""
    letters = string.ascii_lowercase
    prefix, number = divmod(index, CODES_PER_PREFIX)
    return f"{letters[prefix // 26 % 26]}{letters[prefix % 26]}{number + 1:02d}"


def store_network(index: int) -> ipaddress.IPv4Network:
    """Store ``index``'s /24: 10.(64 + index // 256).(index % 256).0/24."""
    second, third = divmod(index, 256)
    return ipaddress.IPv4Network(f"10.{FIRST_SECOND_OCTET + second}.{third}.0/24")


def stores(count: int) -> list[SyntheticStore]:
    """The ``count`` stores of a synthetic group, in order (the first is the pilot)."""
    if not 1 <= count <= MAX_STORES:
        raise ValueError(f"a synthetic group has 1 to {MAX_STORES} stores, not {count}")
    return [
        SyntheticStore(i, store_code(i), TEMPLATE_STORES[i % 2], store_network(i))
        for i in range(count)
    ]


def _renamed(text: str, store: SyntheticStore) -> str:
    """A template store's file as this store's: code, addresses, ports, WAN, pilot."""
    template = store.template
    text = text.replace(TEMPLATE_PREFIX[template], store.prefix)
    text = re.sub(rf"(?<![a-z0-9]){template}(?![a-z0-9])", store.code, text)
    for old_port, new_port in zip(TEMPLATE_PORTS[template], store.ports, strict=True):
        text = text.replace(f"ansible_port: {old_port}", f"ansible_port: {new_port}")
    for old_wan, new_wan in zip(TEMPLATE_WAN[template], store.wan, strict=True):
        text = text.replace(old_wan, new_wan)
    text = re.sub(
        r"^(  name: )BMW .*$", rf"\g<1>BMW Synthetic {store.code.upper()} 4S", text, flags=re.M
    )
    pilot = "true" if store.index == 0 else "false"
    return re.sub(r"^(  pilot: )(true|false)$", rf"\g<1>{pilot}", text, flags=re.M)


def _store_hosts_block(hosts_text: str, template: str) -> str:
    """The template store's group in the lab's hosts.yml, as text (its hosts, comments)."""
    match = re.search(
        rf"^(        store_{template}:\n(?: {{10}}.*\n)+)",
        hosts_text,
        flags=re.M,
    )
    if match is None:
        raise ValueError(f"{LAB_INVENTORY / 'hosts.yml'}: no group store_{template}")
    return match.group(1)


def _write_hosts(target: Path, group: list[SyntheticStore]) -> None:
    lab_hosts = (LAB_INVENTORY / "hosts.yml").read_text(encoding="utf-8")
    blocks = {template: _store_hosts_block(lab_hosts, template) for template in TEMPLATE_STORES}
    parts = [
        HOSTS_HEADER.format(count=len(group)),
        "all:\n  children:\n    stores:\n      children:\n",
    ]
    parts += [_renamed(blocks[store.template], store) for store in group]
    (target / "hosts.yml").write_text("".join(parts), encoding="utf-8")


def _copy_renamed(source: Path, destination: Path, store: SyntheticStore) -> None:
    """Copy a store's file or directory, renaming it and (text files) its content."""
    if source.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        for child in sorted(source.iterdir()):
            _copy_renamed(child, destination / child.name, store)
        return
    raw = source.read_bytes()
    if raw.startswith(b"$ANSIBLE_VAULT;"):
        destination.write_bytes(raw)  # encrypted: the lab store's secrets, as they are
    else:
        destination.write_text(_renamed(raw.decode("utf-8"), store), encoding="utf-8")


def _write_store(target: Path, store: SyntheticStore) -> None:
    template = store.template
    _copy_renamed(
        LAB_INVENTORY / "group_vars" / f"store_{template}",
        target / "group_vars" / f"store_{store.code}",
        store,
    )
    for entry in sorted((LAB_INVENTORY / "host_vars").iterdir()):
        if entry.name.startswith(f"{template}-"):
            name = entry.name.replace(template, store.code, 1)
            _copy_renamed(entry, target / "host_vars" / name, store)


def _group_wide(target: Path, wave_size: int) -> None:
    """The lab's group-wide files, with the portal key beside them and the group's wave size."""
    shutil.copytree(LAB_INVENTORY, target)
    for template in TEMPLATE_STORES:
        shutil.rmtree(target / "group_vars" / f"store_{template}")
    for entry in (target / "host_vars").iterdir():
        if entry.name.startswith(tuple(f"{template}-" for template in TEMPLATE_STORES)):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    catalog = target / "group_vars" / "all" / "dms_catalog.yml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace(LAB_KEY, f"signing_key: {COPIED_KEY}")
    )
    lab_key = REPO_ROOT / "lab" / "dms" / "signing-key.pub"
    if lab_key.is_file():  # written by lab/dms/build.py on each machine; not read by validation
        (target / "files").mkdir(exist_ok=True)
        shutil.copyfile(lab_key, target / COPIED_KEY)
    settings = target / "group_vars" / "all" / "storeops.yml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        re.sub(r"^dms_wave_size: \d+$", f"dms_wave_size: {wave_size}", text, flags=re.M)
    )


def generate(count: int, directory: Path, wave_size: int = DEFAULT_WAVE_SIZE) -> Path:
    """Write a synthetic group of ``count`` stores as the inventory ``directory`` (new).

    Returns the directory. ``wave_size``: stores upgraded in parallel per wave after the pilot.
    """
    if directory.exists():
        raise FileExistsError(f"{directory} exists: the synthetic group needs a new directory")
    if wave_size < 1:
        raise ValueError(f"the wave size is at least 1, not {wave_size}")
    group = stores(count)
    _group_wide(directory, wave_size)
    _write_hosts(directory, group)
    for store in group:
        _write_store(directory, store)
    return directory
