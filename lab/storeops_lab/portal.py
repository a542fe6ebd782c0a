"""The lab's "brand portal": where DMS releases are downloaded from, as from the brand.

A real brand publishes release tarballs, their sha256 and a detached signature on its
dealer portal; the controller downloads them and verifies them before anything on a
store is stopped. In the lab, ``lab up`` builds the reference DMS releases
(``lab/dms/build.py``, reproducible and signed with the lab-only key) and serves
``lab/dms/dist/`` over HTTP on 127.0.0.1, so the download, checksum and signature steps
of the rollout are real. The server is a plain ``python -m http.server`` process,
started detached; its PID is kept in ``lab/.state/portal.pid``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from storeops.paths import LAB_STATE_DIR, REPO_ROOT

DMS_DIR = REPO_ROOT / "lab" / "dms"
DIST = DMS_DIR / "dist"
BUILD = DMS_DIR / "build.py"
HOST = "127.0.0.1"
PORT = 8808
URL = f"http://{HOST}:{PORT}"
PID_FILE = LAB_STATE_DIR / "portal.pid"
LOG_FILE = LAB_STATE_DIR / "portal.log"
START_TIMEOUT = 10.0


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


def _served(name: str) -> bytes | None:
    try:
        with urllib.request.urlopen(f"{URL}/{name}", timeout=2) as response:
            body: bytes = response.read()
            return body if response.status == 200 else None
    except (urllib.error.URLError, OSError):
        return None


def answering() -> bool:
    return _served("catalog.yml") is not None


def serves_this_checkout() -> bool:
    """The portal on the port serves this checkout's releases (signatures are per machine
    key and per checkout: another checkout's portal would fail every signature check)."""
    signatures = sorted(DIST.glob("*.sig"))
    return bool(signatures) and all(_served(sig.name) == sig.read_bytes() for sig in signatures)


def _portal_processes() -> list[int]:
    """PIDs of any lab portal serving on PORT (this checkout's or another's)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = cmdline.read_bytes().split(b"\0")
            if b"http.server" in words and str(PORT).encode() in words and HOST.encode() in words:
                found.append(int(cmdline.parent.name))
    return found


def _start() -> None:
    LAB_STATE_DIR.mkdir(parents=True, exist_ok=True)
    with LOG_FILE.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(PORT),
                "--bind",
                HOST,
                "--directory",
                str(DIST),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    PID_FILE.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if answering():
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the lab brand portal did not start on {URL} (see {LOG_FILE})")


def ensure_portal() -> list[str]:
    """Build the releases if needed and make sure the portal answers; return what was done."""
    actions = build_releases()
    if serves_this_checkout():
        return actions
    stop_portal()
    for pid in _portal_processes():  # another checkout's portal holds the port: take over
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            actions.append(f"stopped another checkout's brand portal (pid {pid})")
    time.sleep(0.5)
    _start()
    return [*actions, f"brand portal started on {URL} (serving {DIST.relative_to(REPO_ROOT)})"]


def stop_portal() -> list[str]:
    if not PID_FILE.is_file():
        return []
    pid = int(PID_FILE.read_text().strip() or 0)
    PID_FILE.unlink()
    with contextlib.suppress(ProcessLookupError, PermissionError, FileNotFoundError):
        if pid and "http.server" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGTERM)
            return [f"brand portal stopped (pid {pid})"]
    return []
