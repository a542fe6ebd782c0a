"""DMS release artifacts: checked on the controller before anything on a store is stopped.

A release is accepted only if its sha256 is the one in the approved catalog and its
detached ed25519 signature verifies with the brand's public key (the lab's own key in
the lab; see lab/dms/README.md). Every refusal says what is wrong, with a distinct code,
so a tampered, re-signed or unsigned artifact is refused with a clear error.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storeops.schema import FILE_NAME_RE, Release

EXIT_OK, EXIT_BAD, EXIT_MISSING, EXIT_KEY = 0, 1, 2, 3
DOWNLOAD_TIMEOUT = 120
SIGNATURE_LENGTH = 64


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise VerifyError(f"{path}: not a readable PEM public key ({error})", EXIT_KEY) from error
    if not isinstance(key, Ed25519PublicKey):
        raise VerifyError(f"{path}: not an ed25519 public key", EXIT_KEY)
    return key


class VerifyError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def verify(artifact: Path, signature: Path, pubkey: Path, sha256: str | None = None) -> str:
    """Return the artifact's sha256 if it verifies; raise VerifyError otherwise."""
    if not artifact.is_file():
        raise VerifyError(f"{artifact}: artifact not found", EXIT_MISSING)
    if not signature.is_file():
        raise VerifyError(f"{artifact.name}: UNSIGNED: no signature file {signature}", EXIT_MISSING)
    data, sig = artifact.read_bytes(), signature.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256.lower():
        raise VerifyError(
            f"{artifact.name}: sha256 {digest} does not match the catalog's {sha256}: refusing it",
            EXIT_BAD,
        )
    if len(sig) != SIGNATURE_LENGTH:
        raise VerifyError(
            f"{signature}: not an ed25519 signature ({len(sig)} bytes, expected 64)", EXIT_BAD
        )
    try:
        load_public_key(pubkey).verify(sig, data)
    except InvalidSignature as error:
        raise VerifyError(
            f"{artifact.name}: BAD SIGNATURE: the artifact was modified or not signed by {pubkey}:"
            " refusing it",
            EXIT_BAD,
        ) from error
    return digest


def _download(url: str, destination: Path) -> None:
    """Fetch ``url`` into ``destination`` atomically (a partial download never looks complete)."""
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            partial.write_bytes(response.read())
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise VerifyError(f"cannot download {url}: {error}", EXIT_MISSING) from error
    partial.replace(destination)


def _sha256_of(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def cache_path(cache: Path, name: str) -> Path:
    """``cache/name``, refused unless it is a plain file name directly inside the cache.

    The catalog's schema already allows only plain names; this holds on its own (a catalog
    from elsewhere, a symlink planted in the cache): the path is resolved, symlinks
    followed, and must still be a direct child of the resolved cache directory.
    """
    root = cache.resolve()
    if not FILE_NAME_RE.fullmatch(name):
        raise VerifyError(f"{name!r}: not a plain file name, refusing to write it", EXIT_BAD)
    path = (root / name).resolve()
    if path.parent != root:
        raise VerifyError(
            f"{name!r}: resolves to {path}, outside the cache {root}: refusing to write it",
            EXIT_BAD,
        )
    return path


@dataclass(frozen=True)
class VerifiedArtifact:
    path: Path
    sha256: str
    downloaded: bool


def fetch_verified(
    portal_url: str, release: Release, public_key: Path, cache: Path
) -> VerifiedArtifact:
    """The release's artifact from the portal (or the cache), refused unless it verifies.

    Downloads go to a staging directory inside the cache; only an artifact whose sha256 and
    signature verify is renamed to its name in the cache. A refused one is never there.
    """
    if not release.signature:
        raise VerifyError(
            f"{release.artifact}: UNSIGNED: the catalog names no signature for {release.version}",
            EXIT_MISSING,
        )
    cache.mkdir(parents=True, exist_ok=True)
    target = cache_path(cache, release.artifact)
    signature_path = cache_path(cache, release.signature)
    if target == signature_path:
        raise VerifyError(f"{release.artifact}: artifact and signature are one file", EXIT_BAD)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".staging-") as staging:
        candidate, signature = Path(staging) / target.name, Path(staging) / signature_path.name
        downloaded = _sha256_of(target) != release.sha256
        if downloaded:
            _download(f"{portal_url}/{release.artifact}", candidate)
        else:
            shutil.copyfile(target, candidate)  # verified again, as a copy no one can swap
        # The signature is always fetched again: it is 64 bytes, and a cached one may have
        # been made with another key (the lab's key is per machine) or replaced on the portal.
        _download(f"{portal_url}/{release.signature}", signature)
        digest = verify(candidate, signature, public_key, release.sha256)
        candidate.replace(target)
        signature.replace(signature_path)
    return VerifiedArtifact(target, digest, downloaded)
