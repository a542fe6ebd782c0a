"""The options every ``storeops`` command shares, and what their defaults resolve to.

Runs on the controller, in the CLI process, before a command's handler. A command (the core's
or a feature's, registered by entry point) adds what it needs with the ``add_*`` functions;
:func:`prepare` (called by ``storeops.cli.main`` once the command line is parsed) then fills
in ``args.inventory`` and points Ansible at the run's project, so every handler finds a
resolved inventory directory in ``args.inventory``:

- ``-i/--inventory INVENTORY`` (``validate`` also takes it as its argument). Without it, the
  inventory Ansible itself would use in the *project of the run*, the project found from the
  current directory (:func:`storeops.paths.find_project`, never the directory the package is
  installed in): ``ANSIBLE_INVENTORY`` or the project's ``ansible.cfg`` ``[defaults]
  inventory``, else the project's lab inventory (``inventory/lab``). The lab commands
  default to the lab inventory: they build containers for its hosts, never for a real
  store group's.
- ``--json``: the command prints JSON on standard output instead of its table.
- ``--vault-password-file FILE`` (repeatable): default ``ANSIBLE_VAULT_PASSWORD_FILE`` or
  the project's ``ansible.cfg`` (``vault_password_file``, under ``vault_identity``).

A wrong command line raises :class:`UsageError`: ``main`` prints it (no traceback) and
exits 2, argparse's own convention.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storeops.paths import ProjectNotFound, find_project

EXIT_USAGE = 2
LAB_INVENTORY_NAME = Path("inventory") / "lab"
CONFIG_NAME = "ansible.cfg"
# The attribute of the parsed arguments that says which default a command's inventory has.
_DEFAULT_KIND = "inventory_default"
_POSITIONAL = "inventory_argument"


class UsageError(Exception):
    """A command line that cannot run: printed as ``storeops <command>: <message>``, exit 2."""


# ---------------------------------------------------------------------------- the options


def add_inventory_option(
    parser: argparse.ArgumentParser, *, positional: bool = False, lab: bool = False
) -> None:
    """``-i/--inventory`` (and, with ``positional``, the same as an optional argument).

    ``lab``: the default is the project's lab inventory, whatever ``ansible.cfg`` names.
    """
    default = "the lab inventory of the project" if lab else "ansible.cfg's, else the lab's"
    parser.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=None,
        metavar="INVENTORY",
        help=f"inventory directory (default: {default}; the project is found from the "
        "current directory)",
    )
    if positional:
        parser.add_argument(
            _POSITIONAL,
            nargs="?",
            type=Path,
            default=None,
            metavar="INVENTORY",
            help="inventory directory (the same as -i)",
        )
    parser.set_defaults(**{_DEFAULT_KIND: "lab" if lab else "ansible"})


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: JSON on standard output, no table."""
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON on standard output, no table"
    )


def add_vault_options(parser: argparse.ArgumentParser) -> None:
    """``--vault-password-file`` (repeatable), defaulting to Ansible's configuration."""
    parser.add_argument(
        "--vault-password-file",
        type=Path,
        action="append",
        metavar="FILE",
        help="vault password file, may be repeated (default: ANSIBLE_VAULT_PASSWORD_FILE or "
        "the project's ansible.cfg)",
    )


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store CODE`` (repeatable): only these stores of the inventory."""
    parser.add_argument(
        "--store", action="append", metavar="CODE", help="only this store (may be repeated)"
    )


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """``--database URL``: the controller's database (storeops.statedb)."""
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the controller's database (default: STOREOPS_DATABASE_URL, else SQLite in the "
        "controller's state; a password only from STOREOPS_DATABASE_PASSWORD)",
    )


# ---------------------------------------------------------------------------- the defaults


def run_project(near: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The project of the run: the one holding ``near``, else found from the current directory.

    Never the checkout the package is installed from: a command run outside any project is
    told so (a :class:`UsageError`) instead of working on the installation's lab.
    """
    try:
        return find_project(near, environ, installed=False)
    except ProjectNotFound as error:
        raise UsageError(str(error)) from None


def _config_file(project: Path, environ: Mapping[str, str]) -> Path:
    """The ansible.cfg Ansible reads for this run: ``ANSIBLE_CONFIG``, else the project's."""
    explicit = environ.get("ANSIBLE_CONFIG")
    return Path(explicit).expanduser() if explicit else project / CONFIG_NAME


def ansible_setting(name: str, project: Path) -> tuple[Any, str]:
    """A setting (``DEFAULT_HOST_LIST``...) as Ansible resolves it for the project, and where
    it came from (``default``, ``env: ...``, or the configuration file's path). Paths in the
    file are resolved against the file's directory, as Ansible does."""
    from ansible.config.manager import ConfigManager
    from ansible.errors import AnsibleError

    config = _config_file(project, os.environ)
    try:  # ConfigManager reads the environment (ANSIBLE_INVENTORY...) itself
        manager = ConfigManager(conf_file=str(config) if config.is_file() else None)
        value, origin = manager.get_config_value_and_origin(name)
    except AnsibleError as error:
        raise UsageError(f"cannot read the Ansible configuration {config}: {error}") from None
    return value, str(origin)


def default_inventory(project: Path, *, lab: bool = False) -> Path:
    """The inventory a command works on when ``-i`` is not given (see the module docstring)."""
    fallback = project / LAB_INVENTORY_NAME
    if lab:
        return fallback
    sources, origin = ansible_setting("DEFAULT_HOST_LIST", project)
    if origin == "default" or not sources:
        return fallback
    if len(sources) != 1:
        raise UsageError(
            f"the Ansible configuration ({origin}) names {len(sources)} inventories "
            f"({', '.join(map(str, sources))}): give one with -i"
        )
    return Path(sources[0])


def _given_inventory(args: argparse.Namespace) -> Path | None:
    option: Path | None = getattr(args, "inventory", None)
    argument: Path | None = getattr(args, _POSITIONAL, None)
    if option is not None and argument is not None and option != argument:
        raise UsageError("give the inventory once (-i or the argument)")
    return option or argument


def resolve_inventory(args: argparse.Namespace) -> Path:
    """The command's inventory directory (absolute), checked to exist."""
    given = _given_inventory(args)
    if given is not None:
        inventory = given.expanduser().resolve()
    else:
        lab = getattr(args, _DEFAULT_KIND, "ansible") == "lab"
        inventory = default_inventory(run_project(), lab=lab).resolve()
    if not inventory.is_dir():
        where = "" if given is not None else " (the default; give one with -i)"
        raise UsageError(f"no inventory directory {inventory}{where}")
    return inventory


def use_project_config(inventory: Path | None, environ: dict[str, str] | None = None) -> None:
    """Point Ansible (this process's and the subprocesses') at the project's ansible.cfg.

    Ansible reads ``./ansible.cfg`` only from the current directory; run from a directory
    inside the project, or on an inventory of another project, it would miss the project's
    inventory plugins, ignore patterns and vault identity. ``ANSIBLE_CONFIG`` set by the
    caller wins. Called before anything imports Ansible.
    """
    env = os.environ if environ is None else environ
    if env.get("ANSIBLE_CONFIG"):
        return
    try:
        project = find_project(inventory, env, installed=False)
    except ProjectNotFound:
        return
    if (project / CONFIG_NAME).is_file():
        env["ANSIBLE_CONFIG"] = str(project / CONFIG_NAME)


def prepare(args: argparse.Namespace) -> argparse.Namespace:
    """Resolve the shared options of the parsed command line (``args.inventory``)."""
    if hasattr(args, _DEFAULT_KIND):
        use_project_config(_given_inventory(args))
        args.inventory = resolve_inventory(args)
    return args


def vault_passwords(args: argparse.Namespace) -> Any:
    """The vault passwords of the command: ``--vault-password-file``, else Ansible's config.

    Returns a :class:`storeops.yamlfiles.VaultPasswords`; a file that cannot be read is a
    :class:`UsageError`.
    """
    from storeops.yamlfiles import VaultPasswords

    explicit: list[Path] = list(getattr(args, "vault_password_file", None) or ())
    try:
        if explicit:
            return VaultPasswords.from_files(explicit)
        project = run_project(getattr(args, "inventory", None))
        configured, _ = ansible_setting("DEFAULT_VAULT_PASSWORD_FILE", project)
        identity, _ = ansible_setting("DEFAULT_VAULT_IDENTITY", project)
        files = [Path(configured)] if configured and Path(configured).is_file() else []
        return VaultPasswords.from_files(files, str(identity or "default"))
    except UsageError:
        raise
    except Exception as error:  # OSError, YamlProblem, and ansible's own error types
        raise UsageError(f"cannot load the vault password: {error}") from None


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A command's result as a rich table on standard output (what ``--json`` replaces);
    long cells wrap instead of being cut."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def working(description: str) -> Any:
    """A transient spinner with the time elapsed on standard error, for a step of unknown
    length (probing hosts): the bar of :func:`progress` when the total is not known."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        "[progress.description]{task.description}",
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.add_task(description, total=None)
    return bar


def progress(console: Any) -> Any:
    """A transient rich progress bar (description, bar, done/total, elapsed) on ``console``:
    what a command that takes more than a few seconds shows while it works."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
