"""``storeops lab up|down|status|image``: the lab commands, registered on the main CLI."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from storeops.cli_options import add_inventory_option, add_json_option, working
from storeops.inventory import Inventory, InventoryInvalid
from storeops.validate import load_valid
from storeops_lab import aptrepo, ntp, portal
from storeops_lab.errors import LabError
from storeops_lab.image import ImageBuildError, ensure_image
from storeops_lab.lab import HostStatus, down, status, up
from storeops_lab.plan import StoreNetwork

EXIT_OK = 0
EXIT_FAILED = 1

Handler = Callable[[argparse.Namespace], int]


def _fail(message: str) -> int:
    print(f"storeops lab: {message}", file=sys.stderr)
    return EXIT_FAILED


def _with_inventory(action: Callable[[Inventory, argparse.Namespace], int]) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        try:
            inventory = load_valid(args.inventory)  # resolved by cli_options.prepare
            return action(inventory, args)
        except InventoryInvalid as error:
            return _fail(str(error))
        except LabError as error:
            return _fail(str(error))

    return handler


def _up(inventory: Inventory, args: argparse.Namespace) -> int:
    print(f"lab up: inventory {inventory.root}")
    result = up(inventory)
    for action in result.actions:
        print(f"  changed: {action}")
    print(result.summary())
    return EXIT_OK


def _down(inventory: Inventory, args: argparse.Namespace) -> int:
    print(down(inventory).summary())
    return EXIT_OK


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def status_table(statuses: Sequence[HostStatus]) -> str:
    """A readable table (rich, no colour): one row per inventory host."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("HOST", "STORE", "ADDRESS", "CONTAINER", "SSH", "SYSTEMD", "NOTE"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        table.add_row(s.host, s.store, s.address, s.state, _yes_no(s.ssh_ok), s.systemd, s.note)
    console = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    console.print(table)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _status_summary(
    statuses: Sequence[HostStatus],
    portal_up: bool,
    repositories: dict[str, bool],
    time_servers: dict[str, bool],
) -> dict[str, Any]:
    return {
        "hosts": [{**dataclasses.asdict(s), "healthy": s.healthy} for s in statuses],
        "healthy": sum(s.healthy for s in statuses),
        "total": len(statuses),
        "portal": {"url": portal.URL, "answering": portal_up},
        "apt_repositories": [
            {"url": url, "answering": answers} for url, answers in repositories.items()
        ],
        "ntp_servers": [
            {"endpoint": endpoint, "answering": answers}
            for endpoint, answers in time_servers.items()
        ],
    }


def _store_networks(inventory: Inventory) -> list[StoreNetwork]:
    return [StoreNetwork(code, store.network) for code, store in inventory.stores.items()]


def _apt_repositories(inventory: Inventory) -> dict[str, bool]:
    """The lab apt repository's URL on each store network's gateway -> whether it answers."""
    return aptrepo.answering(network.gateway for network in _store_networks(inventory))


def _ntp_servers(inventory: Inventory) -> dict[str, bool]:
    """The lab NTP server on each store network's gateway (address:port) -> whether it
    answers with time a host may follow."""
    return ntp.answering(_store_networks(inventory))


def _status(inventory: Inventory, as_json: bool = False) -> int:
    with working("probing the lab's hosts"):
        statuses = status(inventory)
        portal_up = portal.answering()
        repositories = _apt_repositories(inventory)
        time_servers = _ntp_servers(inventory)
    healthy = sum(s.healthy for s in statuses)
    served = portal_up and all(repositories.values()) and all(time_servers.values())
    ok = EXIT_OK if healthy == len(statuses) and served else EXIT_FAILED
    if as_json:
        summary = _status_summary(statuses, portal_up, repositories, time_servers)
        print(json.dumps(summary, indent=2))
        return ok
    print(status_table(statuses))
    devices = sum(s.device for s in statuses)
    print(
        f"{healthy}/{len(statuses)} healthy"
        + (f" ({len(statuses) - devices} hosts, {devices} emulated devices)" if devices else "")
    )
    print(f"brand portal {portal.URL}: {'answering' if portal_up else 'NOT answering'}")
    for url, answers in repositories.items():
        print(f"apt repository {url}: {'answering' if answers else 'NOT answering'}")
    for endpoint, answers in time_servers.items():
        print(f"NTP server {endpoint}: {'answering' if answers else 'NOT answering'}")
    return ok


def _status_of(inventory: Inventory, args: argparse.Namespace) -> int:
    return _status(inventory, as_json=bool(getattr(args, "json", False)))


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
        ("status", "probe every host: container, SSH, systemd", _status_of),
    ):
        parser = add(name, help_text, _with_inventory(action))
        if name == "status":
            add_json_option(parser)
        add_inventory_option(parser, lab=True)
    add("image", "build the lab base image if its current version is missing", _image).add_argument(
        "--force", action="store_true", help="rebuild even if it exists"
    )
