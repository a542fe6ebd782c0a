#!/usr/bin/env python3
"""Verify a DMS artifact before anything is stopped: ``verify.py ARTIFACT SIG PUBKEY``.

Checks the detached ed25519 signature (and, with ``--sha256 HEX``, the catalog digest).
Exit 0 and one "OK" line when it verifies; otherwise a message that says what is wrong
and a distinct exit code, so the rollout can refuse with a clear error:
1 bad signature or digest (tampered, or signed by another key), 2 unsigned or missing
files, 3 the public key is not an ed25519 PEM key.
Runs on the controller (needs ``cryptography``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EXIT_OK, EXIT_BAD, EXIT_MISSING, EXIT_KEY = 0, 1, 2, 3
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("signature", type=Path)
    parser.add_argument("pubkey", type=Path)
    parser.add_argument("--sha256", help="the digest the catalog expects")
    args = parser.parse_args(argv)
    try:
        digest = verify(args.artifact, args.signature, args.pubkey, args.sha256)
    except VerifyError as error:
        print(f"verify: {error}", file=sys.stderr)
        return error.exit_code
    print(f"OK {args.artifact.name} sha256 {digest} signature verified with {args.pubkey}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
