"""The hardening role's moduli filter (roles/hardening/filter_plugins/hardening_ssh.py).

tasks/ssh.yml slurps /etc/ssh/moduli and writes back what hardening_moduli keeps: the
comments, and the Diffie-Hellman groups whose size field (the 5th: bits minus one) is at
least hardening_ssh_moduli_min_size (2047: groups of 2048 bits and more).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import REPO, load_plugin

PLUGIN = REPO / "roles" / "hardening" / "filter_plugins" / "hardening_ssh.py"


plugin = load_plugin("storeops_test_hardening_ssh", PLUGIN)
moduli: Callable[[str, int], str] = plugin.moduli

HEADER = "# Time Type Tests Tries Size Generator Modulus"


def _group(size: int, generator: int = 2) -> str:
    """A moduli line (time type tests tries size generator modulus), modulus shortened."""
    return f"20230316024514 2 6 100 {size} {generator} C5F7{size:04X}E0B3"


def _sizes(text: str) -> list[int]:
    """The size fields of the groups in a moduli text."""
    return [int(line.split()[4]) for line in text.splitlines() if line and line[0] != "#"]


MODULI = "\n".join([HEADER, *(_group(size) for size in (1535, 2047, 3071, 4095, 8191))]) + "\n"


@pytest.mark.parametrize(
    ("min_size", "kept"),
    [
        (2047, [2047, 3071, 4095, 8191]),  # 2048-bit groups stay
        (2048, [3071, 4095, 8191]),
        (3071, [3071, 4095, 8191]),
        (1023, [1535, 2047, 3071, 4095, 8191]),
        (8192, []),
    ],
)
def test_groups_below_the_size_are_dropped(min_size: int, kept: list[int]) -> None:
    assert _sizes(moduli(MODULI, min_size)) == kept


def test_2047_keeps_2048_bit_groups_and_drops_smaller_ones() -> None:
    assert moduli(f"{_group(2047)}\n{_group(2046)}\n{_group(1023)}\n", 2047) == f"{_group(2047)}\n"


def test_the_kept_lines_are_unchanged_and_in_order() -> None:
    text = f"{_group(4095, 5)}\n{_group(1535)}\n{_group(2047, 5)}\n{_group(3071)}\n"
    assert moduli(text, 2047) == f"{_group(4095, 5)}\n{_group(2047, 5)}\n{_group(3071)}\n"


@pytest.mark.parametrize(
    "comment",
    [
        HEADER,
        "# $OpenBSD: moduli,v 1.36 2023/03/15 $",
        "#1535 would look like a size",
        "   # indented comment",
        "#",
    ],
)
def test_comments_are_kept(comment: str) -> None:
    assert moduli(f"{comment}\n{_group(1535)}\n", 2047) == f"{comment}\n"


def test_blank_lines_are_kept() -> None:
    assert (
        moduli(f"{HEADER}\n\n{_group(2047)}\n   \n", 2047) == f"{HEADER}\n\n{_group(2047)}\n   \n"
    )


@pytest.mark.parametrize(
    "line",
    [
        "20230316024514 2 6 100 4095 2",  # no modulus
        "20230316024514 2 6 100",
        "garbage",
        "20230316024514 2 6 100 big 2 C5F7",  # size not a number
        "20230316024514 2 6 100 -4095 2 C5F7",
        "20230316024514 2 6 100 4095.0 2 C5F7",
        "20230316024514 2 6 100 \u00b2\u00b2\u00b2\u00b2 2 C5F7",  # superscript digits
        "20230316024514 2 6 100 \u0664\u0660\u0669\u0665 2 C5F7",  # Arabic-Indic 4095
    ],
)
def test_malformed_lines_are_dropped(line: str) -> None:
    assert moduli(f"{HEADER}\n{line}\n{_group(4095)}\n", 2047) == f"{HEADER}\n{_group(4095)}\n"


def test_the_size_may_come_as_a_string() -> None:
    # A Jinja expression can hand the filter the variable as text.
    assert _sizes(moduli(MODULI, "2047")) == [2047, 3071, 4095, 8191]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{HEADER}\n{_group(2047)}", f"{HEADER}\n{_group(2047)}\n"),  # no final newline
        (f"{HEADER}\r\n{_group(2047)}\r\n", f"{HEADER}\n{_group(2047)}\n"),
        (f"{_group(1535)}\n", "\n"),
        ("", "\n"),
    ],
)
def test_the_text_ends_in_one_newline(text: str, expected: str) -> None:
    assert moduli(text, 2047) == expected


def test_the_filter_ansible_sees() -> None:
    assert plugin.FilterModule().filters() == {"hardening_moduli": moduli}
