"""The runtime library the DMS depends on: the ``storedms-runtime`` Debian package.

The package ships its ABI level in ``/usr/share/storedms-runtime/abi`` (one line). Every
release of this DMS supports ABI ``1`` only: a host upgraded to runtime 2.0 (a feature
update, ``lab-updates``, never a security update) has a DMS that cannot work, and
``/health`` says so (503). No file: the runtime is not installed (development, tests),
which is fine. ``STOREDMS_RUNTIME_ABI_FILE`` names another file (tests).
"""

from __future__ import annotations

import os
from pathlib import Path

SUPPORTED_ABI = "1"
ABI_FILE = "/usr/share/storedms-runtime/abi"
ABI_FILE_ENV = "STOREDMS_RUNTIME_ABI_FILE"


def abi_file() -> Path:
    return Path(os.environ.get(ABI_FILE_ENV) or ABI_FILE)


def problem() -> str | None:
    """Why the installed runtime cannot run this DMS, or None."""
    path = abi_file()
    try:
        abi = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"{path} unreadable: {error.strerror}"
    if abi != SUPPORTED_ABI:
        return f"abi {abi or '(empty)'} unsupported (needs {SUPPORTED_ABI})"
    return None
