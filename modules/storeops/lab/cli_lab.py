"""``storeops lab up|down|status|image``: the lab commands, registered on the main CLI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from storeops.inventory import Inventory, InventoryInvalid, load_valid
from storeops.lab import portal
from storeops.lab.errors import LabError
from storeops.lab.image import ImageBuildError, ensure_image
from storeops.lab.lab import HostStatus, down, status, up
from storeops.paths import LAB_INVENTORY

EXIT_OK = 0
EXIT_FAILED = 1

Handler = Callable[[argparse.Namespace], int]


def _fail(message: str) -> int:
    print(f"storeops lab: {message}", file=sys.stderr)
    return EXIT_FAILED


def _with_inventory(action: Callable[[Inventory], int]) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        try:
            inventory = load_valid(args.lab_inventory)
            return action(inventory)
        except InventoryInvalid as error:
            return _fail(str(error))
        except LabError as error:
            return _fail(str(error))

    return handler


def _up(inventory: Inventory) -> int:
    print(f"lab up: inventory {inventory.root}")
    result = up(inventory)
    for action in result.actions:
        print(f"  changed: {action}")
    print(result.summary())
    return EXIT_OK


def _down(inventory: Inventory) -> int:
    print(down(inventory).summary())
    return EXIT_OK


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def status_table(statuses: Sequence[HostStatus]) -> str:
    """A plain-text table: one row per inventory host."""
    header = ("HOST", "STORE", "ADDRESS", "CONTAINER", "SSH", "SYSTEMD", "NOTE")
    rows = [
        (s.host, s.store, s.address, s.state, _yes_no(s.ssh_ok), s.systemd, s.note)
        for s in statuses
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _status(inventory: Inventory) -> int:
    statuses = status(inventory)
    print(status_table(statuses))
    healthy = sum(s.healthy for s in statuses)
    devices = sum(s.device for s in statuses)
    print(
        f"{healthy}/{len(statuses)} healthy"
        + (f" ({len(statuses) - devices} hosts, {devices} emulated devices)" if devices else "")
    )
    portal_up = portal.answering()
    print(f"brand portal {portal.URL}: {'answering' if portal_up else 'NOT answering'}")
    return EXIT_OK if healthy == len(statuses) and portal_up else EXIT_FAILED


def _image(args: argparse.Namespace) -> int:
    try:
        print(ensure_image(force=args.force))
    except ImageBuildError as error:
        return _fail(str(error))
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``lab`` (up, down, status, image) to the CLI's subparsers; sets ``handler``."""
    lab = subparsers.add_parser("lab", help="the local lab: the inventory's hosts as containers")
    commands = lab.add_subparsers(dest="lab_command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        parser.set_defaults(handler=handler)
        return parser

    for name, help_text, action in (
        ("up", "create or repair the lab; does nothing when it is healthy", _up),
        ("down", "remove the lab's containers and networks (keeps image and key)", _down),
        ("status", "probe every host: container, SSH, systemd", _status),
    ):
        add(name, help_text, _with_inventory(action)).add_argument(
            "-i",
            "--inventory",
            dest="lab_inventory",
            metavar="DIR",
            type=Path,
            default=LAB_INVENTORY,
            help=f"inventory directory (default: {LAB_INVENTORY})",
        )
    add("image", "build the lab base image if its current version is missing", _image).add_argument(
        "--force", action="store_true", help="rebuild even if it exists"
    )
