"""Check digits of the identifiers a Chinese dealer stores: resident ID numbers and VINs.

The service validates what it is given, and the seed generates only valid values, so
test data looks like production data to every tool that checks it (backups, masking).
"""

from __future__ import annotations

import re

# GB 11643-1999: 17 digits weighted, ISO 7064 MOD 11-2, remainder -> check character.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]\Z")

# ISO 3779 / FMVSS 115 (used by GB 16735 VINs too): letters transliterated, weighted,
# mod 11 at position 9 (10 -> 'X'). I, O and Q never appear in a VIN.
VIN_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_PATTERN = re.compile(r"^[0-9A-HJ-NPR-Z]{17}\Z")


def id_check_char(first17: str) -> str:
    total = sum(int(char) * weight for char, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def valid_id_number(value: str) -> bool:
    return bool(ID_PATTERN.match(value)) and id_check_char(value[:17]) == value[17]


def vin_check_char(vin: str) -> str:
    """The check character of a 17-character VIN (its own position 9 is ignored)."""
    total = sum(VIN_VALUES[char] * weight for char, weight in zip(vin, VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def valid_vin(value: str) -> bool:
    return bool(VIN_PATTERN.match(value)) and vin_check_char(value) == value[8]


def mask_id_number(value: str) -> str:
    """What an API response shows of an ID number: region and last four only."""
    return value[:6] + "*" * 8 + value[-4:] if len(value) == 18 else "*" * len(value)
