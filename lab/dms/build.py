#!/usr/bin/env python3
"""Build the reference DMS releases: ``lab/dms/dist/dms-<version>.tar.gz`` + .sha256 + .sig.

Why it is built this way:

* **Reproducible**: entries sorted, mtime/uid/gid/owner fixed, modes normalised
  (0755 dirs, 0644 files), no ``__pycache__``, gzip header mtime 0 and no file name.
  Building twice (on any machine) gives the same sha256, so the catalog's digests are
  stable and a tampered artifact stands out.
* **Signed**: a detached ed25519 signature over the tarball bytes, made with a lab-only
  key generated on first use into ``lab/.state/dms-signing/`` (gitignored, per machine).
  The public key goes to ``lab/dms/signing-key.pub``. Signatures are therefore per
  machine; the sha256 is not. (See ``lab/dms/README.md`` for a real brand's key.)
* **One source, five releases**: the tree is ``src/storedms`` + the release's own
  ``releases/<version>/release.py`` (its switches) + ``VERSION``, with the migrations up
  to the release's ``SCHEMA_VERSION``. The catalog data that is not the app's business
  (which versions a release may upgrade from) lives here, in ``UPGRADE_FROM``.

Usage: ``build.py`` (all releases), ``build.py --catalog`` (also print the catalog
entries as YAML on stdout), ``--dist DIR``, ``--key-dir DIR``, ``--pubkey FILE``.
Needs the ``cryptography`` package (the controller's venv), not the lab hosts.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent
SRC = HERE / "src" / "storedms"
RELEASES_DIR = HERE / "releases"
DEFAULT_DIST = HERE / "dist"
DEFAULT_KEY_DIR = HERE.parent / ".state" / "dms-signing"
DEFAULT_PUBKEY = HERE / "signing-key.pub"
PRIVATE_KEY_NAME = "dms-signing-key.pem"
# 2026-01-01T00:00:00Z: a fixed, plausible mtime for every entry (0 upsets some tools).
SOURCE_DATE_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.(up|down)\.sql\Z")
# A migration's own statement of its cost (its header), for the catalog's
# migration_estimate: "-- estimate: 0.3 s + 0.007 s per 1000 rows of customers".
ESTIMATE_LINE = re.compile(
    r"^-- estimate: (?P<seconds>\d+(\.\d+)?) s"
    r"(?P<rates>( \+ \d+(\.\d+)? s per 1000 rows of [a-z_][a-z0-9_]*)*)$",
    re.MULTILINE,
)
ESTIMATE_RATE = re.compile(r"(?P<rate>\d+(\.\d+)?) s per 1000 rows of (?P<table>[a-z_][a-z0-9_]*)")

# The catalog's upgrade paths: the brand's release notice says these, not the app.
UPGRADE_FROM: dict[str, list[str]] = {
    "3.1.0": [],
    "3.2.0": ["3.1.0"],
    "3.2.1": ["3.2.0"],
    "3.2.2": ["3.2.0"],
    "4.0.0": ["3.2.*"],
}


@dataclass(frozen=True)
class Release:
    version: str
    schema_version: str
    files: dict[str, bytes]  # archive path -> content

    @property
    def artifact(self) -> str:
        return f"dms-{self.version}.tar.gz"

    def migrations(self) -> list[str]:
        return sorted(
            {Path(path).name.split(".")[0] for path in self.files if path.endswith(".up.sql")}
        )


def migration_estimate(release: Release, names: list[str]) -> dict[str, object]:
    """The sum of the ``-- estimate:`` headers of the migrations ``names`` (those new in
    ``release``): fixed seconds, and seconds per 1000 rows of each table."""
    seconds = 0.0
    rates: dict[str, float] = {}
    for name in names:
        sql = release.files[f"storedms/migrations/{name}.up.sql"].decode("utf-8")
        header = ESTIMATE_LINE.search(sql)
        if header is None:
            raise SystemExit(f"migration {name}: no '-- estimate: N s [+ N s per 1000 rows of T]'")
        seconds += float(header["seconds"])
        for rate in ESTIMATE_RATE.finditer(header["rates"]):
            rates[rate["table"]] = round(rates.get(rate["table"], 0.0) + float(rate["rate"]), 6)
    return {"seconds": round(seconds, 6), "per_1000_rows": rates}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def constant(module: Path, name: str) -> str:
    """A module-level constant of a Python file, read without importing it."""
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise SystemExit(f"{module}: no {name}")


def release_schema(release_py: Path) -> str:
    """SCHEMA_VERSION from a release's release.py."""
    return constant(release_py, "SCHEMA_VERSION")


def runtime_packages() -> dict[str, str]:
    """The Debian packages every release needs, as apt pin versions: the storedms-runtime
    of the ABI the DMS supports (storedms/runtime.py), which patching must keep."""
    return {"storedms-runtime": constant(SRC / "runtime.py", "SUPPORTED_ABI") + ".*"}


def source_files(schema_version: str) -> dict[str, bytes]:
    """The common package, minus caches and migrations newer than the release's schema."""
    files: dict[str, bytes] = {}
    for path in sorted(SRC.rglob("*")):
        relative = path.relative_to(SRC)
        if path.is_dir() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        match = MIGRATION_FILE.match(path.name)
        if match and match.group(1) > schema_version:
            continue
        files[f"storedms/{relative.as_posix()}"] = path.read_bytes()
    return files


def load_release(version: str) -> Release:
    release_py = RELEASES_DIR / version / "release.py"
    schema = release_schema(release_py)
    files = source_files(schema)
    files["storedms/release.py"] = release_py.read_bytes()
    files["storedms/VERSION"] = f"{version}\n".encode()
    return Release(version, schema, files)


def all_releases() -> list[Release]:
    versions = sorted((p.name for p in RELEASES_DIR.iterdir() if p.is_dir()), key=version_key)
    unknown = set(versions) ^ set(UPGRADE_FROM)
    if unknown:
        raise SystemExit(f"releases/ and UPGRADE_FROM disagree on {sorted(unknown)}")
    return [load_release(version) for version in versions]


def tar_info(name: str, size: int, directory: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = 0 if directory else size
    info.mtime = SOURCE_DATE_EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def tarball(files: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz of ``files`` (directories added explicitly, all sorted)."""
    directories = {
        str(parent) for path in files for parent in Path(path).parents if str(parent) != "."
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(directories | set(files)):
            if name in directories:
                tar.addfile(tar_info(name, 0, directory=True))
            else:
                tar.addfile(
                    tar_info(name, len(files[name]), directory=False), io.BytesIO(files[name])
                )
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def signing_key(key_dir: Path, pubkey_path: Path) -> Ed25519PrivateKey:
    """The lab signing key: loaded, or generated (0600) on first use; exports the public key."""
    key_path = key_dir / PRIVATE_KEY_NAME
    if key_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SystemExit(f"{key_path}: not an ed25519 private key")
    else:
        key = Ed25519PrivateKey.generate()
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        print(f"generated lab signing key {key_path}", file=sys.stderr)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not pubkey_path.is_file() or pubkey_path.read_bytes() != public:
        pubkey_path.write_bytes(public)
    return key


def write_if_changed(path: Path, content: bytes) -> None:
    """Leave identical files alone (mtimes stay meaningful for make and the rollout)."""
    if not path.is_file() or path.read_bytes() != content:
        path.write_bytes(content)


def build(release: Release, dist: Path, key: Ed25519PrivateKey) -> str:
    """Write the artifact, its .sha256 (sha256sum format) and .sig; return the sha256."""
    data = tarball(release.files)
    digest = hashlib.sha256(data).hexdigest()
    write_if_changed(dist / release.artifact, data)
    write_if_changed(
        dist / f"{release.artifact}.sha256", f"{digest}  {release.artifact}\n".encode()
    )
    signature_path = dist / f"{release.artifact}.sig"
    # ed25519 signatures are deterministic: same key + same bytes = same signature.
    write_if_changed(signature_path, key.sign(data))
    return digest


def catalog_yaml(releases: list[Release], digests: dict[str, str]) -> str:
    """The entries for ``inventory/<group>/group_vars/all/dms_catalog.yml`` (same format)."""
    known = [r.migrations() for r in releases]
    lines = ["dms_catalog:"]
    for index, release in enumerate(releases):
        before = set(known[index - 1]) if index else set()
        new = [name for name in known[index] if name not in before]
        lines += [
            f'  - version: "{release.version}"',
            f"    artifact: {release.artifact}",
            f'    sha256: "{digests[release.version]}"',
            f"    signature: {release.artifact}.sig",
            f"    upgrade_from: {json.dumps(UPGRADE_FROM[release.version])}",  # JSON is YAML
            f"    migrations: {json.dumps(new)}",
            f"    packages: {json.dumps(runtime_packages())}",
        ]
        if new:
            estimate = json.dumps(migration_estimate(release, new))
            lines.append(f"    migration_estimate: {estimate}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", action="store_true", help="print the catalog entries as YAML")
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST)
    parser.add_argument("--key-dir", type=Path, default=DEFAULT_KEY_DIR)
    parser.add_argument("--pubkey", type=Path, default=DEFAULT_PUBKEY)
    args = parser.parse_args(argv)
    args.dist.mkdir(parents=True, exist_ok=True)
    key = signing_key(args.key_dir, args.pubkey)
    releases = all_releases()
    digests = {}
    for release in releases:
        digests[release.version] = build(release, args.dist, key)
        print(f"{release.artifact}  sha256 {digests[release.version]}", file=sys.stderr)
    catalog = catalog_yaml(releases, digests)
    write_if_changed(args.dist / "catalog.yml", catalog.encode())
    if args.catalog:
        sys.stdout.write(catalog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
