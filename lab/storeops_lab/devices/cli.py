"""Command-line plumbing shared by the emulated platforms: errors, exec commands, filters.

Exec commands (``show ...``, ``display ...``, ``write``, ``save``) are matched word by word
with the abbreviations a real CLI accepts (``sh run``, ``dis cur``): each typed word must be a
prefix of the command's word, and must not fit two different words. A word that fits none is
an error whose caret points at it, as on the devices. Configuration lines are not matched
here: they are plain text that the platform files into its configuration tree (see
:mod:`storeops_lab.devices.platform`), and must be typed in full.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from storeops_lab.devices.platform import Session

ErrorKind = Literal["invalid", "incomplete", "ambiguous", "parameter", "message"]

CTRL_Z = "\x1a"


class CliError(Exception):
    """A command the device rejects.

    ``column`` is the position in the typed line the caret points at; an exec handler,
    which sees only its argument words, gives ``word`` (the index of the offending argument)
    instead and the session turns it into a column. ``message`` is the whole answer for
    ``kind == "message"`` (device-specific refusals with no caret).
    """

    def __init__(
        self, kind: ErrorKind, column: int = 0, message: str = "", *, word: int | None = None
    ) -> None:
        super().__init__(message or kind)
        self.kind: ErrorKind = kind
        self.column = column
        self.message = message
        self.word = word


@dataclass(frozen=True)
class Reply:
    """What a command prints, and whether the session ends after it."""

    output: str = ""
    close: bool = False


Handler = Callable[["Session", list[str]], Reply]


@dataclass(frozen=True)
class ExecCommand:
    """An exec-mode command: its full words, the handler, and who may run it.

    ``args``: words after the command are passed to the handler (else they are an error).
    ``level``: 0 for everyone, 15 for privileged exec only (Cisco IOS).
    """

    words: tuple[str, ...]
    handler: Handler
    args: bool = False
    level: int = 0


def command(spec: str, handler: Handler, *, args: bool = False, level: int = 0) -> ExecCommand:
    return ExecCommand(tuple(spec.split()), handler, args, level)


def match_command(
    commands: Sequence[ExecCommand], typed: list[tuple[int, str]]
) -> tuple[ExecCommand, list[str]]:
    """The command the typed words select, and the words left for its arguments.

    Raises :class:`CliError` (invalid, ambiguous or incomplete) with the caret column.
    """
    candidates = list(commands)
    for index, (column, word) in enumerate(typed):
        lowered = word.lower()
        live = [
            c for c in candidates if len(c.words) > index and c.words[index].startswith(lowered)
        ]
        exact = [c for c in live if c.words[index] == lowered]
        live = exact or live
        finished = [c for c in candidates if len(c.words) == index]
        if not live:
            if finished and finished[0].args:
                return finished[0], [w for _, w in typed[index:]]
            raise CliError("invalid", column)
        if len({c.words[index] for c in live}) > 1:
            raise CliError("ambiguous", column)
        candidates = live + [c for c in finished if c.args]
    complete = [c for c in candidates if len(c.words) == len(typed)]
    if complete:
        return complete[0], []
    end = typed[-1][0] + len(typed[-1][1]) + 1 if typed else 0
    raise CliError("incomplete", end)


def expect_words(args: list[str], choices: Sequence[str]) -> str:
    """The one choice the single typed argument abbreviates (``mem`` for ``memory``)."""
    if len(args) != 1:
        raise CliError("incomplete" if not args else "invalid", word=min(len(args), 1))
    fits = [choice for choice in choices if choice.startswith(args[0].lower())]
    if len(fits) != 1:
        raise CliError("invalid", word=0)
    return fits[0]


FILTERS = ("include", "exclude", "begin", "section")


def split_pipe(line: str) -> tuple[str, str | None]:
    """``show run | include ntp`` -> (``show run``, ``include ntp``)."""
    command_part, bar, rest = line.partition("|")
    return (command_part.rstrip(), rest.strip() if bar else None)


def apply_filter(output: str, spec: str, column: int, allowed: Sequence[str] = FILTERS) -> str:
    """Apply an output modifier (``include``, ``exclude``, ``begin``, ``section``)."""
    name, _, pattern = spec.partition(" ")
    fits = [f for f in allowed if f.startswith(name.lower())] if name else []
    if len(fits) != 1:
        raise CliError("invalid", column)
    if not pattern.strip():
        raise CliError("incomplete", column)
    try:
        regex = re.compile(pattern.strip())
    except re.error as error:
        raise CliError("invalid", column) from error
    lines = output.splitlines()
    kept = _filtered(fits[0], regex, lines)
    return "\n".join(kept) + ("\n" if kept else "")


def _filtered(kind: str, regex: re.Pattern[str], lines: list[str]) -> list[str]:
    if kind == "include":
        return [line for line in lines if regex.search(line)]
    if kind == "exclude":
        return [line for line in lines if not regex.search(line)]
    if kind == "begin":
        starts = [i for i, line in enumerate(lines) if regex.search(line)]
        return lines[starts[0] :] if starts else []
    return _sections(regex, lines)


def _sections(regex: re.Pattern[str], lines: list[str]) -> list[str]:
    """IOS ``| section``: each matching top-level line with the lines indented under it."""
    kept: list[str] = []
    keeping = False
    for line in lines:
        if line[:1] not in (" ", ""):
            keeping = bool(regex.search(line))
        if keeping:
            kept.append(line)
    return kept
