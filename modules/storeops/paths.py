"""Where things are, relative to the repository root (one place for every path)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_STATE_DIR = REPO_ROOT / "lab" / ".state"
LAB_INVENTORY = REPO_ROOT / "inventory" / "lab"
ROLES_DIR = REPO_ROOT / "roles"
DEPLOYS_DIR = REPO_ROOT / "deploys"
