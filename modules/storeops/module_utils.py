"""The project's ``module_utils/`` files, used on the controller too.

``module_utils/`` holds the stdlib-only code Ansible ships with the modules and the roles
copy to the hosts (the network devices' helpers, the notifications' formats, the health
probe). Where the controller needs the same code, it loads the file from the run's project,
once per process, under the name its other users import it by, so there is one copy of it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

_LOADING = threading.Lock()


def module_utils_file(project: Path, name: str) -> Path:
    """``<project>/module_utils/<name>.py``."""
    return project / "module_utils" / f"{name}.py"


def load_module_utils(project: Path, name: str, import_name: str) -> ModuleType:
    """``module_utils/<name>.py`` of ``project``, imported once per process as
    ``import_name`` (a failed load leaves nothing behind in ``sys.modules``)."""
    with _LOADING:
        loaded = sys.modules.get(import_name)
        if loaded is not None:
            return loaded
        path = module_utils_file(project, name)
        spec = importlib.util.spec_from_file_location(import_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[import_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[import_name]
            raise
        return module
