"""An inventory problem, named by file and field, and how pydantic errors become one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_PYDANTIC_MESSAGES = {
    "missing": "missing required key",
    "extra_forbidden": "unknown key",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in one file; ``field`` is a dotted path such as ``store.zones.office.vlan``."""

    file: Path
    field: str
    message: str

    def render(self, relative_to: Path | None = None) -> str:
        shown = self.file
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                shown = self.file.relative_to(relative_to)
        where = f"{shown}: {self.field}" if self.field else f"{shown}"
        return f"{where}: {self.message}"

    def __str__(self) -> str:
        return self.render(Path.cwd())


def field_path(location: Iterable[int | str]) -> str:
    """('store', 'blackout_dates', 1, 'to') -> 'store.blackout_dates[1].to'."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "enum":
        expected = str(context.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{error.get('input')!r} is not one of: {expected}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    message = _PYDANTIC_MESSAGES.get(kind, str(error["msg"]))
    if kind in {"missing", "extra_forbidden"}:
        return message
    return f"{error.get('input')!r}: {message}" if "input" in error else message


def _clean_location(location: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's internal markers such as 'function-before[...]' from a location."""
    return tuple(
        part for part in location if not (isinstance(part, str) and "[" in part and "(" in part)
    )


def issues_from_validation_error(
    error: ValidationError,
    file_of_key: dict[str, Path],
    default_file: Path,
    prefix: tuple[str, ...] = (),
) -> list[Issue]:
    """Turn every pydantic error into an Issue, attributed to the file its top key came from."""
    issues = []
    for detail in error.errors():
        location = prefix + _clean_location(tuple(detail["loc"]))
        top = str(location[0]) if location else ""
        file = file_of_key.get(top, default_file)
        issues.append(Issue(file, field_path(location), _message(detail)))
    return issues
