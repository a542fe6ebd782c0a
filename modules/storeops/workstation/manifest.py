"""What every workstation gets, as the ``workstation`` role declares it, for the pyinfra deploy.

Runs on the controller (imported by ``deploys/workstation.py`` through :mod:`.deploy`, and by
the tests); it reads files and never contacts a host. The list is written once, in the role:

* ``roles/workstation/vars/main.yml``: the files (destination, owner, group, mode, the
  handler a change notifies, a validation command) and the services and timers, each with
  its concern: where in the run it is applied. The template of a file is
  ``roles/workstation/templates/<dest>.j2``.
* ``roles/workstation/handlers/main.yml``: each handler is one command.

The role loops over those lists (``tasks/files.yml``, imported once per concern by
``tasks/main.yml`` in :data:`CONCERNS` order); the deploy applies each concern's entries at
the same place, through :func:`load_manifest` and :func:`load_handlers`. An entry the two
could read differently is refused here: an unknown concern or handler, a missing template,
a value with a template in it (the role would render it, the deploy would not).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import yaml
from pydantic import AfterValidator, Field, ValidationError

from storeops.paths import ROLES_DIR
from storeops.schema import Strict, full_pattern, safe

if TYPE_CHECKING:
    from storeops.workstation.plan import WorkstationPlan

ROLE = "workstation"
# Where the role applies each concern's entries (tasks/main.yml), and the deploy too.
Concern = Literal[
    "accounts", "screen-lock", "updates", "antivirus", "printer", "dms-client", "record"
]
CONCERNS: tuple[str, ...] = get_args(Concern)
HANDLER_MODULE = "ansible.builtin.command"
SYSTEMD_MODULE = "ansible.builtin.systemd_service"
DAEMON_RELOAD = "systemctl daemon-reload"
_MODE_RE = re.compile(r"0[0-7]{3}")
_NAME_RE = re.compile(r"[a-z_][a-z0-9_-]*")
_UNIT_RE = re.compile(r"[A-Za-z0-9@_.:-]+\.(service|timer|socket|path)")


class ManifestError(ValueError):
    """The role's list cannot be read as both the role and the deploy would read it."""


def _plain(value: str) -> str:
    if "{{" in value or "{%" in value:
        raise ValueError("a template: the deploy does not render the role's list, give the value")
    return value


def _absolute(value: str) -> str:
    if not value.startswith("/") or "//" in value or "/../" in f"{value}/":
        raise ValueError(f"{value!r} is not an absolute path")
    return value


def _validation_command(value: str) -> str:
    if "%s" not in value:
        raise ValueError(f"{value!r} does not name the new file (%s)")
    return value


Plain = Annotated[str, safe(_plain)]  # one printable line, no template in it
Dest = Annotated[Plain, AfterValidator(_absolute)]
Account = Annotated[Plain, full_pattern(_NAME_RE, "an account or group name")]
Mode = Annotated[str, full_pattern(_MODE_RE, 'an octal file mode in quotes, e.g. "0644"')]
Unit = Annotated[Plain, full_pattern(_UNIT_RE, "a systemd unit name")]


class ManagedFile(Strict):
    """One file of ``workstation_files``."""

    dest: Dest
    concern: Concern
    owner: Account
    group: Account
    mode: Mode
    notify: Plain | None = None
    # ``validate`` in the file (the template module's option; a BaseModel method's name here)
    validation: Annotated[Plain, AfterValidator(_validation_command)] | None = Field(
        None, alias="validate"
    )
    title: Plain | None = None

    @property
    def template(self) -> str:
        """Its template, relative to the role's ``templates/``: the target path mirrored."""
        return f"{self.dest.lstrip('/')}.j2"

    def operation_name(self, plan: WorkstationPlan) -> str:
        """The deploy's name for writing it: its title with ``{plan.<field>}`` filled in."""
        return self.title.format(plan=plan) if self.title else f"Write {self.dest}"


class ManagedService(Strict):
    """One service or timer of ``workstation_services``."""

    name: Unit
    concern: Concern
    enabled: bool
    state: Literal["started", "stopped"]

    @property
    def running(self) -> bool:
        return self.state == "started"

    @property
    def operation_name(self) -> str:
        return f"{self.name}: {'enabled' if self.enabled else 'disabled'}, {self.state}"


class Manifest(Strict):
    """``roles/workstation/vars/main.yml``: nothing but these two lists."""

    workstation_files: tuple[ManagedFile, ...]
    workstation_services: tuple[ManagedService, ...]

    def files_of(self, concern: Concern) -> tuple[ManagedFile, ...]:
        return tuple(entry for entry in self.workstation_files if entry.concern == concern)

    def services_of(self, concern: Concern) -> tuple[ManagedService, ...]:
        return tuple(entry for entry in self.workstation_services if entry.concern == concern)


def role_dir(roles_dir: Path = ROLES_DIR) -> Path:
    return roles_dir / ROLE


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ManifestError(f"{path}: {error}") from None


def _handler_command(handler: dict[str, Any]) -> str | None:
    """The command a handler runs: its ``ansible.builtin.command``, or the one command a
    ``systemd_service`` handler that only reloads systemd stands for."""
    command = handler.get(HANDLER_MODULE)
    if isinstance(command, str):
        return command
    if handler.get(SYSTEMD_MODULE) == {"daemon_reload": True}:
        return DAEMON_RELOAD
    return None


def load_handlers(roles_dir: Path = ROLES_DIR) -> dict[str, str]:
    """The role's handlers, name -> the command each runs, in the file's order (the order
    in which Ansible runs notified handlers)."""
    path = role_dir(roles_dir) / "handlers" / "main.yml"
    handlers: dict[str, str] = {}
    for handler in _read(path) or []:
        name = handler.get("name") if isinstance(handler, dict) else None
        command = _handler_command(handler) if isinstance(handler, dict) else None
        if not isinstance(name, str) or command is None:
            raise ManifestError(
                f"{path}: {name or handler}: a handler is a name and one {HANDLER_MODULE} "
                f"(the deploy runs that command), or {SYSTEMD_MODULE} with daemon_reload only"
            )
        handlers[name] = command
    return handlers


def _problems(manifest: Manifest, handlers: dict[str, str], templates: Path) -> list[str]:
    problems = []
    for entry in manifest.workstation_files:
        if not (templates / entry.template).is_file():
            problems.append(f"{entry.dest}: no template {templates / entry.template}")
        if entry.notify is not None and entry.notify not in handlers:
            known = ", ".join(handlers) or "none"
            problems.append(f"{entry.dest}: notify {entry.notify!r}: no such handler ({known})")
    return problems


def load_manifest(roles_dir: Path = ROLES_DIR) -> Manifest:
    """The role's list, checked: every template there, every handler known."""
    path = role_dir(roles_dir) / "vars" / "main.yml"
    try:
        manifest = Manifest.model_validate(_read(path))
    except ValidationError as error:
        wrong = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        raise ManifestError(f"{path}: " + "; ".join(wrong)) from None
    problems = _problems(manifest, load_handlers(roles_dir), role_dir(roles_dir) / "templates")
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems))
    return manifest
