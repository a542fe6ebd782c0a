"""``storeops``: the project's command line (validate, lab, workstation; later health, report)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from storeops.paths import LAB_INVENTORY, ProjectNotFound, roles_dir
from storeops.validate import summary, validate
from storeops.yamlfiles import VaultPasswords, YamlProblem

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
# The features' subcommands (storeops lab, storeops workstation): entry points of this group
# (pyproject.toml), each a register(subparsers); the CLI imports no feature by name.
COMMANDS = "storeops.commands"


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.inventory_option and args.inventory and args.inventory_option != args.inventory:
        print("storeops validate: give the inventory once (-i or the argument)", file=sys.stderr)
        return EXIT_USAGE
    args.inventory = args.inventory_option or args.inventory or LAB_INVENTORY
    try:
        passwords = VaultPasswords.from_ansible_config(args.vault_password_file or ())
    except (OSError, YamlProblem, Exception) as exc:  # ansible raises its own error types
        print(f"storeops validate: cannot load the vault password: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:  # the roles of the project holding the inventory, not of the installed package
        roles = roles_dir(near=args.inventory)
    except ProjectNotFound as exc:
        print(f"storeops validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # the variables beside the playbooks are loaded over the inventory's by every run
    playbooks = args.playbooks or [roles.parent / "playbooks"]
    raw = validate(args.inventory, passwords, roles, playbooks=playbooks)
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "validate", help="check the whole inventory; report every error with file and field"
    )
    check.add_argument(
        "-i",
        "--inventory",
        dest="inventory_option",
        type=Path,
        metavar="INVENTORY",
        help="inventory directory (as every storeops command takes it; default: the lab)",
    )
    check.add_argument(
        "inventory", nargs="?", type=Path, default=None, help="inventory directory (same as -i)"
    )
    check.add_argument(
        "--vault-password-file",
        type=Path,
        action="append",
        help="vault password file (default: ANSIBLE_VAULT_PASSWORD_FILE or ansible.cfg)",
    )
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
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
