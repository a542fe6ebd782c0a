"""The octal file mode the project's file modules accept ("0600", "644", "2750"), checked
in one place. Used by the file_contents and file_states modules
(``ansible.module_utils.storeops_modes``). Python standard library only: it runs on the host.
"""

from __future__ import annotations

import re

OCTAL_MODE = re.compile(r"0?[0-7]{3,4}")


def mode_issue(path: str, mode: str | None) -> str | None:
    """Why ``mode`` is refused for ``path``, or None when it is absent or an octal mode."""
    if mode is None or OCTAL_MODE.fullmatch(mode):
        return None
    return f"{path}: mode {mode!r} is not an octal mode"
