"""The shared implementation (module_utils/storeops_notify.py), loaded from the project.

module_utils/ is what the roles copy to the store servers and Ansible ships with modules, so
the formats and the sending live there once (stdlib only); the controller loads that same
file from the run's project (storeops.paths.find_project), where module_utils/ always is.
Runs on the controller.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from storeops.module_utils import load_module_utils
from storeops.paths import ProjectNotFound, find_project

MODULE_NAME = "storeops_notify"


def load_shared() -> ModuleType:
    """The shared module (imported once per process under its host-side name)."""
    try:
        project = find_project()
    except ProjectNotFound as error:
        raise ImportError(f"{MODULE_NAME}: {error}") from None
    return load_module_utils(project, MODULE_NAME, MODULE_NAME)


if TYPE_CHECKING:
    import storeops_notify as shared
else:
    shared = load_shared()

__all__ = ["load_shared", "shared"]
