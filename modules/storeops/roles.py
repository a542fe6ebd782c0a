"""The repository's Ansible roles as data: what tests, measurements, the lab and the role
template renderer (:mod:`storeops.role_templates`) read from them. Runs on the controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from storeops.paths import ROLES_DIR


def role_defaults(role: str, roles_dir: Path = ROLES_DIR) -> dict[str, Any]:
    """``roles/<role>/defaults/main.yml``, as written (templates are not rendered); a role
    without defaults has none (``{}``), as in Ansible."""
    return _role_file(roles_dir / role / "defaults" / "main.yml")


def role_vars(role: str, roles_dir: Path = ROLES_DIR) -> dict[str, Any]:
    """``roles/<role>/vars/main.yml``, as written: the role's variables, which override the
    inventory's in a play (``{}`` for a role without)."""
    return _role_file(roles_dir / role / "vars" / "main.yml")


def _role_file(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return dict(loaded or {})
