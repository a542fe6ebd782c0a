"""What the controller-side action plugins share: the storeops inventories of a play's hosts.

An action plugin sees the play's hosts by name and their ``inventory_dir``; the domain
(zones, ACLs, the device model) needs the validated :class:`~storeops.inventory.Inventory`
they come from. :func:`inventories_of` loads each inventory directory once per call (a
50-store group takes about a second to load and validate), with the run's vault secrets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from storeops.inventory import Host, Inventory, InventoryInvalid
from storeops.validate import load_valid
from storeops.yamlfiles import VaultPasswords

T = TypeVar("T")


class PlayInventoryError(Exception):
    """The inventory is invalid, or a play host is not one of its storeops hosts."""


def vault_passwords(loader: Any) -> VaultPasswords:
    """The vault secrets of the running play (an Ansible DataLoader's)."""
    vault = getattr(loader, "_vault", None)
    return VaultPasswords(_secrets=list(getattr(vault, "secrets", None) or []))


def inventories_of(
    names: Sequence[str], hostvars: Mapping[str, Any], passwords: VaultPasswords
) -> Iterator[tuple[Inventory, Host]]:
    """Every named host with its validated inventory, each inventory loaded once."""
    by_directory: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_directory[hostvars[name]["inventory_dir"]].append(name)
    for directory, members in by_directory.items():
        try:
            inventory = load_valid(Path(directory), passwords)
        except InventoryInvalid as error:
            raise PlayInventoryError(f"run storeops validate: {error}") from None
        for name in members:
            host = inventory.hosts.get(name)
            if host is None:
                raise PlayInventoryError(f"{name} is not a storeops host of {directory}")
            yield inventory, host


def per_host(
    task_vars: Mapping[str, Any],
    hosts: Sequence[str] | None,
    passwords: VaultPasswords,
    compute: Callable[[Inventory, Host], T],
) -> dict[str, T]:
    """``compute(inventory, host)`` for every named host (default: the play's), by name."""
    names = hosts or task_vars["ansible_play_hosts"]
    return {
        host.name: compute(inventory, host)
        for inventory, host in inventories_of(names, task_vars["hostvars"], passwords)
    }
