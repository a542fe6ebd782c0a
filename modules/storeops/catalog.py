"""The approved DMS release catalog: which releases exist, which upgrade paths are allowed."""

from __future__ import annotations

from collections.abc import Sequence

from storeops.schema import VERSION_RE, Release, version_key

__all__ = ["find", "pattern_matches", "upgrade_allowed", "version_key"]


def pattern_matches(pattern: str, version: str) -> bool:
    """'3.2.*' matches '3.2.0' and '3.2.1'; a plain version matches only itself."""
    if pattern.endswith(".*"):
        return version.rsplit(".", 1)[0] == pattern[:-2]
    return pattern == version


def find(catalog: Sequence[Release], version: str) -> Release | None:
    return next((release for release in catalog if release.version == version), None)


def upgrade_allowed(catalog: Sequence[Release], current: str, target: str) -> tuple[bool, str]:
    """Whether a store on ``current`` may move to ``target``, and why (or why not)."""
    release = find(catalog, target)
    if release is None:
        return False, f"{target} is not in the approved release catalog"
    if current == target:
        return True, f"already on {target}"
    if not VERSION_RE.fullmatch(current):
        return False, f"{current!r} is not a release version: cannot tell the upgrade path"
    if version_key(current) > version_key(target):
        return False, f"{current} -> {target} is a downgrade: never allowed"
    if any(pattern_matches(pattern, current) for pattern in release.upgrade_from):
        return True, f"{current} -> {target} is an approved upgrade path"
    allowed = ", ".join(release.upgrade_from) or "nothing (fresh installs only)"
    return False, f"{current} -> {target} is not allowed: {target} upgrades only from {allowed}"
