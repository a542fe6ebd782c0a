"""Filters of the hardening role for sshd's files (run on the controller).

tasks/ssh.yml slurps /etc/ssh/moduli from the host and writes back what
hardening_moduli keeps.
"""

from __future__ import annotations

from typing import Any


def _keep(line: str, min_size: int) -> bool:
    """Tell whether a moduli line stays: comments and blank lines, and groups of min_size+."""
    fields = line.split()
    if not fields or fields[0].startswith("#"):
        return True
    size = fields[4] if len(fields) >= 7 else ""
    return size.isascii() and size.isdigit() and int(size) >= min_size


def moduli(text: str, min_size: int) -> str:
    """Return the moduli file's text without the groups whose size field is below min_size.

    The size field (the 5th) is the modulus size in bits minus one: 2047 keeps 2048-bit
    groups and larger. Malformed lines are dropped.
    """
    kept = [line for line in text.splitlines() if _keep(line, int(min_size))]
    return "\n".join(kept) + "\n"


class FilterModule:
    """The hardening role's sshd filters."""

    def filters(self) -> dict[str, Any]:
        """Name the filters for Ansible."""
        return {"hardening_moduli": moduli}
