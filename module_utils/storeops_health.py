"""The health check's host probe: everything ``storeops health`` reads on one host, in one run.

Runs on the managed host, as root (``sudo -n python3 -``), sent over one SSH connection by
the controller (``storeops.health.gather``), which also sends ``storeops_apt`` beside it;
stdlib only (plus Debian's python3-apt for the apt plan). It **only reads**: no file, unit,
table or cache is written (apt's binary caches are built in memory). It prints one JSON
object: the facts, each section with an ``error`` instead of its values when it could not
be read, so one unreadable part never hides the others.

Its input is one JSON object (``probe(params)``)::

    {"mounts": ["/", "/var"],
     "firewall": {"family": "inet", "table": "storeops", "counter": "dropped",
                  "state_dir": "/var/lib/storeops/firewall"} | null,
     "backup_status": "/var/lib/storeops/backup/status.json" | null,
     "security_origins": ["origin=Debian,codename=${distro_codename}-security"] | null}
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

REBOOT_FLAG = "/run/reboot-required"
DISK_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "vfat"})
COMMAND_TIMEOUT_S = 20
ENV = {"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def _run(argv: list[str]) -> str:
    """A read-only command's standard output; RuntimeError with its message if it fails."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, env=ENV, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"{argv[0]}: {error}") from None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


def _section(read: Any, *args: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = read(*args)
    except (RuntimeError, OSError, ValueError, KeyError, ImportError) as error:
        return {"error": str(error) or type(error).__name__}
    return result


def _disk_filesystems() -> list[str]:
    """Every mounted filesystem that lives on a disk (as check_disk's -l: no tmpfs, proc...)."""
    found = []
    with open("/proc/self/mounts", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 2 and fields[2] in DISK_FILESYSTEMS:
                target = fields[1].replace("\\040", " ")
                if os.path.isdir(target):  # not a bind-mounted file (/etc/hosts in a container)
                    found.append(target)
    return found


def _usage(mount: str, stat: os.statvfs_result) -> dict[str, Any]:
    return {
        "mount": mount,
        "size_mib": stat.f_blocks * stat.f_frsize // 2**20,
        "free_mib": stat.f_bavail * stat.f_frsize // 2**20,
        "free_percent": round(100 * stat.f_bavail / stat.f_blocks, 1) if stat.f_blocks else None,
        "inodes_free_percent": round(100 * stat.f_favail / stat.f_files, 1)
        if stat.f_files
        else None,
    }


def disks(mounts: list[str]) -> dict[str, Any]:
    """The configured mounts, then every other disk filesystem; each filesystem once."""
    found, seen = [], set()
    for mount in [*mounts, *_disk_filesystems()]:
        if not os.path.isdir(mount):
            continue
        device = os.stat(mount).st_dev
        if device in seen:
            continue
        seen.add(device)
        found.append(_usage(mount, os.statvfs(mount)))
    return {"mounts": found}


def failed_units() -> dict[str, Any]:
    out = _run(["systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"])
    return {"failed": sorted(line.split()[0] for line in out.splitlines() if line.strip())}


def time_sync() -> dict[str, Any]:
    """chrony's view (the hardening role's time source), else systemd's."""
    try:
        fields = _run(["chronyc", "-c", "-n", "tracking"]).strip().split(",")
    except RuntimeError as error:
        synced = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"]).strip()
        return {"source": "timedatectl", "synchronised": synced == "yes", "detail": str(error)}
    # -c tracking: refid, address, stratum, ref time, offset (s), ..., leap status (last)
    leap = fields[-1] if fields else ""
    return {
        "source": "chrony",
        "synchronised": leap != "Not synchronised" and fields[0] not in ("0", "7F7F0101", ""),
        "server": fields[1] if len(fields) > 1 else "",
        "stratum": int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None,
        "offset_s": float(fields[4]) if len(fields) > 4 else None,
        "leap": leap,
    }


def reboot() -> dict[str, Any]:
    packages: list[str] = []
    if os.path.exists(REBOOT_FLAG + ".pkgs"):
        with open(REBOOT_FLAG + ".pkgs", encoding="utf-8") as handle:
            packages = sorted({line.strip() for line in handle if line.strip()})
    return {"required": os.path.exists(REBOOT_FLAG), "packages": packages}


def _codename() -> str:
    with open("/etc/os-release", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return ""


def updates(security_origins: list[str]) -> dict[str, Any]:
    """Pending upgrades as of the host's last ``apt-get update`` (never refreshed here)."""
    import storeops_apt  # sent beside this probe by the controller

    origins = storeops_apt.parse_origin_patterns(security_origins, _codename())
    apt_pkg, cache, depcache = storeops_apt.open_cache(read_only=True)
    planned = storeops_apt.plan(apt_pkg, cache, depcache, origins)
    lists = "/var/lib/apt/lists"
    stamps = [os.stat(os.path.join(lists, name)).st_mtime for name in os.listdir(lists)]
    return {
        "security": sorted(item["spec"] for item in planned["security"]),
        "all": len(planned["all"]),
        "held": sorted(item["name"] for item in planned["held"]),
        "lists_updated": max(stamps) if stamps else None,
    }


def firewall(spec: dict[str, str]) -> dict[str, Any]:
    """The managed table as loaded, against the listing the last confirmed load recorded."""
    family, table = spec["family"], spec["table"]
    try:
        live = _run(["nft", "-s", "list", "table", family, table])
    except RuntimeError as error:
        return {"loaded": False, "detail": str(error)}
    recorded = os.path.join(spec["state_dir"], "applied.list")
    confirmed = None
    if os.path.exists(recorded):
        with open(recorded, encoding="utf-8") as handle:
            confirmed = handle.read() == live
    counter = json.loads(_run(["nft", "-j", "list", "counter", family, table, spec["counter"]]))
    packets = next(
        (item["counter"]["packets"] for item in counter["nftables"] if "counter" in item), None
    )
    return {
        "loaded": True,
        "matches_confirmed": confirmed,
        "awaiting_confirmation": os.path.exists(os.path.join(spec["state_dir"], "armed.json")),
        "dropped_packets": packets,
    }


def backup(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        return {"status": None}
    with open(path, encoding="utf-8") as handle:
        status: dict[str, Any] = json.load(handle)
    status.pop("drill", None)  # the drill's table-by-table detail: the result is enough
    return {"status": status}


def probe(params: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "now": time.time(),  # the host's clock, against the controller's
        "disk": _section(disks, params.get("mounts") or ["/"]),
        "units": _section(failed_units),
        "time": _section(time_sync),
        "reboot": _section(reboot),
    }
    if params.get("security_origins") is not None:
        facts["updates"] = _section(updates, params["security_origins"])
    if params.get("firewall"):
        facts["firewall"] = _section(firewall, params["firewall"])
    if params.get("backup_status"):
        facts["backup"] = _section(backup, params["backup_status"])
    return facts


def main(params_json: str) -> None:
    print(json.dumps(probe(json.loads(params_json)), sort_keys=True))
