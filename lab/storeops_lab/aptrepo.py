"""The lab's apt repository: real, signed Debian packages for the patching playbook.

A real store host installs its updates from an apt mirror (the group's aptly, or the
Debian security mirror). In the lab, ``lab up`` builds a small signed repository
(``lab/aptrepo/build.py``: reprepro, a lab-only key; see ``lab/aptrepo/README.md``) into
``lab/.state/aptrepo/debian`` and serves it with ``python -m http.server`` on port 8809 of
every store network's gateway, the controller's address on that network (lab hosts
have no route anywhere else): ``http://<gateway>:8809/``, e.g. ``http://10.77.1.1:8809/``.
The gateway address exists only once the store's podman bridge is up, so the servers are
started after the containers. One server per gateway, its PID in
``lab/.state/aptrepo-<gateway>.pid``.
"""

from __future__ import annotations

import functools
import ipaddress
import subprocess
import sys
from collections.abc import Iterable

from storeops.paths import LAB_STATE_DIR, REPO_ROOT
from storeops_lab.errors import LabError
from storeops_lab.httpserver import StaticServer, shown, stop_pid_file

APTREPO_DIR = REPO_ROOT / "lab" / "aptrepo"
BUILD = APTREPO_DIR / "build.py"
SIGNING_KEY = APTREPO_DIR / "signing-key.asc"
REPOSITORY = LAB_STATE_DIR / "aptrepo" / "debian"
PORT = 8809
DISTRIBUTIONS = ("lab", "lab-security", "lab-updates")
WHAT = "apt repository"
BUILD_TIMEOUT = 120


def build_repository() -> list[str]:
    """Build the repository when an input changed (the builder decides); what was done."""
    completed = subprocess.run(
        [sys.executable, str(BUILD)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise LabError(f"{shown(BUILD)} failed: {completed.stderr.strip()}")
    if not completed.stdout.startswith("built"):
        return []
    return [f"built the lab apt repository into {shown(REPOSITORY)}"]


def server(gateway: ipaddress.IPv4Address) -> StaticServer:
    return StaticServer(
        what=WHAT,
        host=str(gateway),
        port=PORT,
        directory=REPOSITORY,
        pid_file=LAB_STATE_DIR / f"aptrepo-{gateway}.pid",
        log_file=LAB_STATE_DIR / "aptrepo.log",
        probe=f"dists/{DISTRIBUTIONS[0]}/InRelease",
    )


def url(gateway: ipaddress.IPv4Address) -> str:
    return f"{server(gateway).url}/"


def serves_this_checkout(served: StaticServer) -> bool:
    """It serves this checkout's repository (signed with this machine's key, as built)."""
    return served.serves([f"dists/{name}/InRelease" for name in DISTRIBUTIONS])


def serve(gateways: Iterable[ipaddress.IPv4Address]) -> list[str]:
    """A server on every gateway (the repository built first); return what was done."""
    actions = []
    for gateway in gateways:
        served = server(gateway)
        actions += served.ensure(functools.partial(serves_this_checkout, served))
    return actions


def answering(gateways: Iterable[ipaddress.IPv4Address]) -> dict[str, bool]:
    """URL -> whether it answers."""
    return {url(gateway): server(gateway).answering() for gateway in gateways}


def stop_serving() -> list[str]:
    """Stop every gateway's server (also of gateways the inventory no longer has)."""
    actions = []
    for pid_file in sorted(LAB_STATE_DIR.glob("aptrepo-*.pid")):
        gateway = pid_file.name.removeprefix("aptrepo-").removesuffix(".pid")
        actions += stop_pid_file(pid_file, f"{WHAT} on {gateway}")
    return actions
