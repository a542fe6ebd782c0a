"""The shared implementation (module_utils/storeops_notify.py), loaded from the project.

module_utils/ is what the roles copy to the store servers and Ansible ships with modules, so
the formats and the sending live there once (stdlib only); the controller loads that same
file from the run's project (storeops.paths.find_project), where module_utils/ always is.
Runs on the controller.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from storeops.paths import ProjectNotFound, find_project

MODULE_NAME = "storeops_notify"


def shared_source() -> Path:
    """module_utils/storeops_notify.py of this run's project."""
    try:
        return find_project() / "module_utils" / f"{MODULE_NAME}.py"
    except ProjectNotFound as error:
        raise ImportError(f"{MODULE_NAME}: {error}") from None


def load_shared() -> ModuleType:
    """The shared module (imported once per process under its host-side name)."""
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    source = shared_source()
    spec = importlib.util.spec_from_file_location(MODULE_NAME, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import storeops_notify as shared
else:
    shared = load_shared()

__all__ = ["load_shared", "shared"]
