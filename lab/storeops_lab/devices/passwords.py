"""Password hashes as the emulated devices store them: never the clear text.

A real Cisco IOS device turns ``username admin secret S3cret`` into ``username admin secret 9
$9$<salt>$<hash>`` (scrypt), and a Huawei VRP device turns ``local-user admin password
irreversible-cipher S3cret`` into an opaque ``$1a$...$`` string, each with a fresh random salt.
So pushing a clear-text secret twice never yields the same line twice: a remediation tool
that compares configurations must compare secrets in their hashed form. The emulators do the
same, with hashes of the same shape (scrypt, a lower cost than Cisco's, and not
byte-compatible with either vendor: nothing outside the emulator has to verify them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# The crypt(3) alphabet Cisco uses for type 8/9 hashes.
_CRYPT = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_CRYPT = str.maketrans(_STD, _CRYPT)
_SCRYPT_N = 2**10  # Cisco uses 2**14; the emulator keeps logins fast


def _digest(password: str, salt: str) -> str:
    raw = hashlib.scrypt(password.encode(), salt=salt.encode(), n=_SCRYPT_N, r=1, p=1, dklen=32)
    return base64.b64encode(raw).decode().rstrip("=").translate(_TO_CRYPT)


def _salt(length: int) -> str:
    return "".join(secrets.choice(_CRYPT) for _ in range(length))


def cisco_type9(password: str, salt: str | None = None) -> str:
    """``$9$<14-char salt>$<43-char hash>``, the shape of an IOS type-9 secret."""
    salt = salt or _salt(14)
    return f"$9${salt}${_digest(password, salt)}"


def huawei_cipher(password: str, salt: str | None = None) -> str:
    """``$1a$<salt>$<hash>$``, the shape of a VRP irreversible-cipher password."""
    salt = salt or _salt(16)
    return f"$1a${salt}${_digest(password, salt)}$"


def is_hashed(value: str) -> bool:
    """True for a value already in one of the stored forms above."""
    return value.startswith(("$9$", "$1a$"))


def verify(password: str, stored: str) -> bool:
    """Check a clear-text password against a stored hash (constant-time comparison)."""
    parts = stored.split("$")
    if stored.startswith("$9$") and len(parts) == 4:
        expected = cisco_type9(password, parts[2])
    elif stored.startswith("$1a$") and len(parts) == 5:
        expected = huawei_cipher(password, parts[2])
    else:
        return False
    return hmac.compare_digest(expected, stored)
