"""module_utils/storeops_modes.py: the one check of a file mode that file_contents and
file_states apply, full-string (a trailing newline or a symbolic mode is refused)."""

from __future__ import annotations

import pytest
import storeops_modes  # module_utils/, as the hosts import it


@pytest.mark.parametrize("mode", [None, "0600", "644", "2750", "0440"])
def test_octal_modes_and_no_mode_pass(mode: str | None) -> None:
    assert storeops_modes.mode_issue("/etc/x", mode) is None


@pytest.mark.parametrize("mode", ["0600\n", "u+rw", "0800", "007777", "", "60"])
def test_anything_else_is_refused_with_its_path(mode: str) -> None:
    assert (
        storeops_modes.mode_issue("/etc/x", mode) == f"/etc/x: mode {mode!r} is not an octal mode"
    )
