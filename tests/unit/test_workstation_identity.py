"""The hostname convention and a machine's identity from the probe's output."""

from __future__ import annotations

import pytest

from storeops.workstation.identity import (
    IdentityError,
    hostname_for,
    machine_id_serial,
    parse_identity,
)
from storeops.workstation.schema import SerialSource

MACHINE_ID = "0123456789abcdef0123456789abcdef"


def _probe(virt: str = "none", serial: str = "PF3K8T2L", **extra: str) -> list[str]:
    lines = [
        f"virt={virt}",
        f"product_serial={serial}",
        "product_name=ThinkCentre M70q Gen 3",
        "sys_vendor=LENOVO",
        f"machine_id={MACHINE_ID}",
        "addr=lo 127.0.0.1/8",
        "addr=wlan0 192.168.5.20/24",
        "addr=eth1 10.77.1.100/24",
        "link=eth1 AA:BB:CC:DD:EE:02",
        "link=eth0 aa:bb:cc:dd:ee:01",
        "link=wlan0 aa:bb:cc:dd:ee:03",
    ]
    return lines + [f"{key}={value}" for key, value in extra.items()]


def test_hostname_is_store_role_label_asset() -> None:
    assert hostname_for("sh01", "sales", "0101") == "sh01-sales-0101"


@pytest.mark.parametrize("label", ["Sales", "sa_les", "x" * 60])
def test_a_hostname_outside_the_convention_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match="not a valid hostname"):
        hostname_for("sh01", label, "0101")


def test_a_real_machine_is_identified_by_its_firmware() -> None:
    identity = parse_identity(_probe(), "10.77.1.100")
    assert (identity.serial, identity.serial_source) == ("PF3K8T2L", SerialSource.DMI)
    assert identity.model == "LENOVO ThinkCentre M70q Gen 3"
    assert identity.mac == "aa:bb:cc:dd:ee:02"  # the interface with the inventory address
    assert not identity.in_container


def test_a_container_gets_a_serial_derived_from_its_machine_id() -> None:
    identity = parse_identity(_probe(virt="podman", serial="HOSTS-OWN-SERIAL"), "10.77.1.100")
    assert identity.serial == machine_id_serial(MACHINE_ID)
    assert identity.serial.startswith("mid-") and len(identity.serial) == 20
    assert MACHINE_ID not in identity.serial
    assert (identity.serial_source, identity.model) == (
        SerialSource.MACHINE_ID,
        "container (podman)",
    )
    assert identity.in_container


@pytest.mark.parametrize("placeholder", ["", "To be filled by O.E.M.", "Default string", "0"])
def test_a_placeholder_serial_falls_back_to_the_machine_id(placeholder: str) -> None:
    identity = parse_identity(_probe(virt="kvm", serial=placeholder))
    assert identity.serial_source is SerialSource.MACHINE_ID


def test_without_the_inventory_address_the_first_ethernet_interface_counts() -> None:
    assert parse_identity(_probe(), None).mac == "aa:bb:cc:dd:ee:01"
    assert parse_identity(_probe(), "10.99.0.1").mac == "aa:bb:cc:dd:ee:01"


def test_the_machine_id_serial_is_stable_and_distinct() -> None:
    assert machine_id_serial(MACHINE_ID) == machine_id_serial(MACHINE_ID)
    assert machine_id_serial(MACHINE_ID) != machine_id_serial(MACHINE_ID[::-1])


def test_no_serial_and_no_machine_id_is_an_error() -> None:
    lines = [line for line in _probe(virt="podman") if not line.startswith("machine_id=")]
    with pytest.raises(IdentityError, match="machine-id"):
        parse_identity(lines)


def test_no_ethernet_interface_is_an_error() -> None:
    lines = [line for line in _probe() if not line.startswith("link=")]
    with pytest.raises(IdentityError, match="MAC"):
        parse_identity(lines)
