"""The synthetic store group (storeops_lab.synthetic): valid, and of the lab's shape."""

from __future__ import annotations

import ipaddress
import itertools
from collections import Counter
from pathlib import Path

import pytest

from storeops.inventory import typed_view
from storeops.schema import Role
from storeops.validate import validate
from storeops.yamlfiles import VaultPasswords, read_yaml
from storeops_lab.synthetic import MAX_STORES, generate, store_code, stores
from tests.unit.conftest import LAB_PASSWORDS

LAB_HOSTS_PER_ROLE = 1  # each lab store: one host of each role


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(3, tmp_path_factory.mktemp("synthetic") / "group", wave_size=2)


def test_three_stores_validate(group: Path) -> None:
    raw = validate(group, VaultPasswords.from_files(LAB_PASSWORDS))
    assert raw.issues == []


def test_each_store_has_the_lab_stores_hosts(group: Path) -> None:
    inventory = typed_view(validate(group, VaultPasswords.from_files(LAB_PASSWORDS)))
    assert sorted(inventory.stores) == ["aa01", "aa02", "aa03"]
    for code in inventory.stores:
        roles = Counter(role for host in inventory.hosts_of(code) for role in host.roles)
        assert roles == {role: LAB_HOSTS_PER_ROLE for role in Role}
    platforms = [host.platform for host in inventory.hosts_with_role(Role.SWITCH)]
    assert len(set(platforms)) == 2  # the two lab stores' switches, taken in turn


def test_one_pilot_and_the_wave_size(group: Path) -> None:
    inventory = typed_view(validate(group, VaultPasswords.from_files(LAB_PASSWORDS)))
    assert [code for code, store in inventory.stores.items() if store.pilot] == ["aa01"]
    assert inventory.group.dms_wave_size == 2


def test_store_files_are_the_stores_own(group: Path) -> None:
    """Every store's files name its own code and addresses (nothing of sh01 or hz01 left
    outside comments, which are the lab's)."""
    passwords = VaultPasswords.from_files(LAB_PASSWORDS)
    for path in sorted(group.rglob("*.yml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        assert "sh01" not in text and "hz01" not in text, path
        assert "10.77." not in text, path
    vault = read_yaml(group / "group_vars" / "store_aa02" / "vault.yml", passwords)
    assert vault.encrypted and "vault_network_password" in vault.data


def test_codes_networks_ports_unique_for_the_largest_group() -> None:
    group = stores(MAX_STORES)
    assert len({store.code for store in group}) == MAX_STORES
    networks = sorted(store.network for store in group)
    assert all(net.is_private for net in networks)
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(networks))
    ports = [port for store in group for port in store.ports]
    assert len(set(ports)) == len(ports) and max(ports) < 65536
    wans = [ipaddress.IPv4Interface(store.wan[0]).network for store in group]
    assert len(set(wans)) == MAX_STORES


def test_store_codes_follow_the_schema() -> None:
    assert [store_code(i) for i in (0, 1, 98, 99, 499)] == ["aa01", "aa02", "aa99", "ab01", "af05"]


def test_refuses_an_existing_directory_and_bad_sizes(tmp_path: Path) -> None:
    with pytest.raises(FileExistsError):
        generate(2, tmp_path)
    with pytest.raises(ValueError, match="1 to"):
        stores(0)
    with pytest.raises(ValueError, match="1 to"):
        stores(MAX_STORES + 1)
