#!/usr/bin/env python3
"""Verify a DMS artifact before anything is stopped: ``verify.py ARTIFACT SIG PUBKEY``.

Checks the detached ed25519 signature (and, with ``--sha256 HEX``, the catalog digest)
with the same code the rollout uses (``storeops.artifacts``). Exit 0 and one "OK" line
when it verifies; otherwise a message that says what is wrong and a distinct exit code:
1 bad signature or digest (tampered, or signed by another key), 2 unsigned or missing
files, 3 the public key is not an ed25519 PEM key. Runs on the controller (the venv).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from storeops.artifacts import EXIT_OK, VerifyError, verify


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
