"""storedms: the reference dealer-management service the lab upgrades.

It is test equipment for storeops' DMS rollouts: small, readable, but real (a threaded
HTTP service over MariaDB, versioned migrations, a smoke transaction). One source tree
builds five releases; what differs between them lives in ``storedms/release.py`` (one
file per release, see ``lab/dms/releases/``) and in the migrations a release ships.

Runs on the lab hosts' python3.11 with the standard library and ``pymysql`` only.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _read_version() -> str:
    """The release version, written into the release tree by ``lab/dms/build.py``."""
    try:
        return (PACKAGE_DIR / "VERSION").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return "0.0.0+source"


__version__ = _read_version()
