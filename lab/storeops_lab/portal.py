"""The lab's "brand portal": where DMS releases are downloaded from, as from the brand.

A real brand publishes release tarballs, their sha256 and a detached signature on its
dealer portal; the controller downloads them and verifies them before anything on a
store is stopped. In the lab, ``lab up`` builds the reference DMS releases
(``lab/dms/build.py``, reproducible and signed with the lab-only key) and serves
``lab/dms/dist/`` over HTTP on 127.0.0.1, so the download, checksum and signature steps
of the rollout are real. The server is a plain ``python -m http.server`` process,
started detached (:mod:`storeops_lab.httpserver`); its PID is kept in
``lab/.state/portal.pid``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storeops.paths import LAB_STATE_DIR, REPO_ROOT
from storeops_lab.httpserver import StaticServer

DMS_DIR = REPO_ROOT / "lab" / "dms"
DIST = DMS_DIR / "dist"
BUILD = DMS_DIR / "build.py"
HOST = "127.0.0.1"
PORT = 8808
URL = f"http://{HOST}:{PORT}"
PID_FILE = LAB_STATE_DIR / "portal.pid"
LOG_FILE = LAB_STATE_DIR / "portal.log"


def _sources() -> list[Path]:
    return [
        BUILD,
        *(p for p in (DMS_DIR / "src").rglob("*") if p.is_file()),
        *(p for p in (DMS_DIR / "releases").rglob("*") if p.is_file()),
    ]


def releases_outdated() -> bool:
    """True when dist/ is missing or older than any build input."""
    marker = DIST / "catalog.yml"
    if not marker.is_file() or not (DMS_DIR / "signing-key.pub").is_file():
        return True
    built = marker.stat().st_mtime
    return any(source.stat().st_mtime > built for source in _sources())


def build_releases() -> list[str]:
    if not releases_outdated():
        return []
    subprocess.run([sys.executable, str(BUILD)], check=True, capture_output=True, timeout=300)
    return [f"built the reference DMS releases into {DIST.relative_to(REPO_ROOT)}"]


SERVER = StaticServer(
    what="brand portal",
    host=HOST,
    port=PORT,
    directory=DIST,
    pid_file=PID_FILE,
    log_file=LOG_FILE,
    probe="catalog.yml",
)


def answering() -> bool:
    return SERVER.answering()


def serves_this_checkout() -> bool:
    """The portal on the port serves this checkout's releases (signatures are per machine
    key and per checkout: another checkout's portal would fail every signature check)."""
    return SERVER.serves(sorted(sig.name for sig in DIST.glob("*.sig")))


def ensure_portal() -> list[str]:
    """Build the releases if needed and make sure the portal answers; return what was done."""
    return [*build_releases(), *SERVER.ensure(serves_this_checkout)]


def stop_portal() -> list[str]:
    return SERVER.stop()
