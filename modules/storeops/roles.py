"""The repository's Ansible roles as data: what tests and measurements read from them."""

from __future__ import annotations

from typing import Any

import yaml

from storeops.paths import ROLES_DIR


def role_defaults(role: str) -> dict[str, Any]:
    """``roles/<role>/defaults/main.yml``, as written (templates are not rendered)."""
    path = ROLES_DIR / role / "defaults" / "main.yml"
    defaults: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return defaults
