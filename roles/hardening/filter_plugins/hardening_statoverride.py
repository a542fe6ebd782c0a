"""Filters of the hardening role for setuid binaries (run on the controller).

tasks/setuid.yml finds the blacklisted binaries (one ``find``: its file entries carry the
same stat fields as ``stat``) and reads ``dpkg-statoverride --list``;
these filters say which binaries need an override registered so that dpkg itself keeps
their setuid and setgid bits off, on every later upgrade of their package too.
"""

from __future__ import annotations

from typing import Any

SETUID_SETGID = 0o6000


def statoverrides(listing: str) -> dict[str, dict[str, str]]:
    """Parse ``dpkg-statoverride --list`` (``owner group mode path`` per line) by path."""
    overrides = {}
    for line in listing.splitlines():
        fields = line.split(maxsplit=3)
        if len(fields) == 4:
            owner, group, mode, path = fields
            overrides[path] = {"owner": owner, "group": group, "mode": mode}
    return overrides


def _without_special_bits(mode: str) -> str:
    return format(int(mode, 8) & ~SETUID_SETGID & 0o7777, "04o")


def _has_special_bits(mode: str) -> bool:
    try:
        return bool(int(mode, 8) & SETUID_SETGID)
    except ValueError:
        return True  # an unreadable override is replaced


def setuid_overrides_needed(files: list[dict[str, Any]], listing: str) -> list[dict[str, str]]:
    """Return the overrides to register: one per regular file among ``find``'s file entries
    whose registered override is missing or still sets a setuid/setgid bit.

    Each entry keeps the file's owner, group and permission bits, without the bits.
    """
    registered = statoverrides(listing)
    needed = []
    for stat in files:
        if not stat.get("isreg"):
            continue
        path = stat["path"]
        override = registered.get(path)
        if override is not None and not _has_special_bits(override["mode"]):
            continue
        needed.append(
            {
                "path": path,
                "owner": stat["pw_name"],
                "group": stat["gr_name"],
                "mode": _without_special_bits(stat["mode"]),
            }
        )
    return needed


class FilterModule:
    """The hardening role's setuid filters."""

    def filters(self) -> dict[str, Any]:
        """Name the filters for Ansible."""
        return {"hardening_setuid_overrides_needed": setuid_overrides_needed}
