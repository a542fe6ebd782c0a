"""What apt would upgrade on this host, and what it holds back: the one reading of apt's
plan, written once.

Used by the ``apt_patch`` module (the patch run: ``ansible.module_utils.storeops_apt``) and by
the health check's host probe (``storeops_health``, which imports it by bare name). Python
standard library plus Debian's python3-apt (``apt_pkg``, untyped, imported by the caller's
:func:`open_cache`), so that it runs on the managed host.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

# Origins-Pattern keys (unattended-upgrades) -> apt_pkg.PackageFile attributes.
ORIGIN_KEYS = {
    "origin": "origin",
    "o": "origin",
    "label": "label",
    "l": "label",
    "codename": "codename",
    "n": "codename",
    "archive": "archive",
    "a": "archive",
    "suite": "archive",
    "component": "component",
    "c": "component",
    "site": "site",
}


def open_cache(
    lists_dir: str = "", preferences_dir: str = "", read_only: bool = False
) -> tuple[Any, Any, Any]:
    """apt_pkg, its cache and depcache; ImportError without python3-apt.

    ``read_only``: the binary caches are built in memory, never written to /var/cache/apt
    (the health check changes nothing on the host)."""
    apt_pkg: Any = importlib.import_module("apt_pkg")  # python3-apt, as Debian ships it
    apt_pkg.init_config()
    if lists_dir:
        apt_pkg.config.set("Dir::State::Lists", lists_dir)
    if preferences_dir:
        apt_pkg.config.set("Dir::Etc::PreferencesParts", preferences_dir)
    if read_only:
        apt_pkg.config.set("Dir::Cache::pkgcache", "")
        apt_pkg.config.set("Dir::Cache::srcpkgcache", "")
    apt_pkg.init_system()
    cache = apt_pkg.Cache(progress=None)
    return apt_pkg, cache, apt_pkg.DepCache(cache)


def parse_origin_patterns(patterns: list[str], codename: str) -> list[dict[str, str]]:
    """['origin=Debian,label=Debian-Security'] -> [{'origin': 'Debian', 'label': ...}]."""
    parsed = []
    for pattern in patterns:
        entry: dict[str, str] = {}
        for pair in pattern.replace("${distro_codename}", codename).split(","):
            key, sep, value = pair.partition("=")
            if not sep or key.strip() not in ORIGIN_KEYS:
                raise ValueError(f"security origin {pattern!r}: {pair!r} is not key=value")
            entry[ORIGIN_KEYS[key.strip()]] = value.strip()
        parsed.append(entry)
    return parsed


def from_origin(version: Any, origins: list[dict[str, str]]) -> str:
    """The first package file of ``version`` matching one of ``origins``, as text, or ''."""
    for package_file, _ in version.file_list:
        for entry in origins:
            if all(getattr(package_file, attr, None) == value for attr, value in entry.items()):
                return f"{package_file.origin} {package_file.archive}"
    return ""


def describe_origin(version: Any) -> str:
    files = [f"{pf.origin} {pf.archive}" for pf, _ in version.file_list if pf.archive != "now"]
    return files[0] if files else "local"


def plan(apt_pkg: Any, cache: Any, depcache: Any, origins: list[dict[str, str]]) -> dict[str, Any]:
    """Per installed package with a newer version: its security and its full upgrade (or
    why it is held), see DOCUMENTATION."""

    def compare(first: Any, second: Any) -> int:
        return int(apt_pkg.version_compare(first.ver_str, second.ver_str))

    order = functools.cmp_to_key(compare)
    upgrades: dict[str, list[dict[str, Any]]] = {"security": [], "all": []}
    held: list[dict[str, Any]] = []
    for package in cache.packages:
        installed = package.current_ver
        if installed is None:
            continue
        newer = sorted(
            (
                version
                for version in package.version_list
                if version.downloadable
                and apt_pkg.version_compare(version.ver_str, installed.ver_str) > 0
            ),
            key=order,
        )
        if not newer:
            continue
        if package.selected_state == apt_pkg.SELSTATE_HOLD:
            held.append(_held(package, installed, newer[-1], installed, "dpkg hold"))
            continue
        candidate = depcache.get_candidate_ver(package)
        allowed = [
            version
            for version in newer
            if candidate is not None
            and apt_pkg.version_compare(version.ver_str, candidate.ver_str) <= 0
        ]
        if newer[-1] not in allowed:
            kept = allowed[-1] if allowed else installed
            priority = depcache.policy.get_priority(kept)
            held.append(
                _held(package, installed, newer[-1], kept, f"apt pin (priority {priority})")
            )
        security = [version for version in allowed if from_origin(version, origins)]
        for mode, target in (("security", security[-1:]), ("all", allowed[-1:])):
            if target:
                upgrades[mode].append(_upgrade(package, installed, target[0], origins))
    return {**upgrades, "held": held}


def _upgrade(
    package: Any, installed: Any, target: Any, origins: list[dict[str, str]]
) -> dict[str, Any]:
    security_origin = from_origin(target, origins)
    return {
        "name": package.name,
        "from": installed.ver_str,
        "to": target.ver_str,
        "security": bool(security_origin),
        "origin": security_origin or describe_origin(target),
        "spec": f"{package.name}={target.ver_str}",
    }


def _held(package: Any, installed: Any, newest: Any, kept: Any, by: str) -> dict[str, Any]:
    return {
        "name": package.name,
        "installed": installed.ver_str,
        "available": newest.ver_str,
        "kept_at": kept.ver_str,
        "by": by,
    }
