"""``storeops``: the project's command line (validate, lab, workstation; later health, report)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from importlib.metadata import version as package_version
from pathlib import Path

from storeops.cli_options import (
    EXIT_USAGE,
    UsageError,
    add_inventory_option,
    add_json_option,
    add_vault_options,
    prepare,
    vault_passwords,
)
from storeops.issues import Issue
from storeops.paths import ProjectNotFound, roles_dir
from storeops.validate import summary, validate

EXIT_OK = 0
EXIT_INVALID = 1
# The features' subcommands (storeops lab, storeops workstation): entry points of this group
# (pyproject.toml), each a register(subparsers); the CLI imports no feature by name.
COMMANDS = "storeops.commands"


def _issue_json(issue: Issue) -> dict[str, str]:
    return {"file": str(issue.file), "field": issue.field, "message": issue.message}


def _cmd_validate(args: argparse.Namespace) -> int:
    passwords = vault_passwords(args)
    try:  # the roles of the project holding the inventory, not of the installed package
        roles = roles_dir(near=args.inventory)
    except ProjectNotFound as exc:
        raise UsageError(str(exc)) from None
    # the variables beside the playbooks are loaded over the inventory's by every run
    playbooks = args.playbooks or [roles.parent / "playbooks"]
    raw = validate(args.inventory, passwords, roles, playbooks=playbooks)
    if args.json:
        result = {
            "inventory": str(args.inventory),
            "valid": not raw.issues,
            "summary": None if raw.issues else summary(raw),
            "issues": [_issue_json(issue) for issue in raw.issues],
        }
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return EXIT_INVALID if raw.issues else EXIT_OK
    if raw.issues:
        print(f"{len(raw.issues)} error(s) in inventory {args.inventory}:", file=sys.stderr)
        for issue in raw.issues:
            print(f"  {issue}", file=sys.stderr)
        return EXIT_INVALID
    print(summary(raw))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storeops", description="Run and check a dealer group's stores from one inventory."
    )
    parser.add_argument(
        "--version", action="version", version=f"storeops {package_version('storeops')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "validate", help="check the whole inventory; report every error with file and field"
    )
    add_inventory_option(check, positional=True)
    add_json_option(check)
    add_vault_options(check)
    check.add_argument(
        "--playbooks",
        type=Path,
        action="append",
        metavar="PATH",
        help="a playbook, or a directory of playbooks, whose group_vars/ and host_vars/ "
        "(and those of the playbooks it imports) are checked too (default: the project's "
        "playbooks/)",
    )
    check.set_defaults(handler=_cmd_validate)
    for entry in sorted(entry_points(group=COMMANDS), key=lambda entry: entry.name):
        try:
            register = entry.load()
        except ImportError:  # the lab's command without the lab extra's packages installed
            continue
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command's exit status; a usage error is one line on stderr and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(prepare(args))
    except UsageError as error:
        command = " ".join(
            str(part) for part in (args.command, *_action_of(args)) if part is not None
        )
        print(f"storeops {command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    return status


def _action_of(args: argparse.Namespace) -> list[str]:
    """The sub-command's action, for the message (``lab status``, ``workstation provision``)."""
    return [value for name, value in vars(args).items() if name.endswith(("action", "_command"))]


if __name__ == "__main__":
    sys.exit(main())
