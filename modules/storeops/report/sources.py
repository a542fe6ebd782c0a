"""What the report reads besides the history database (runs on the controller, read-only).

- the rollout audit log (``dms-rollouts.jsonl``, one JSON line per store per run, written by
  roles/dms_rollout's report.yml) and the patching change report (``patch-runs.jsonl``, one
  line per host per run, roles/patching's report.yml);
- the asset registers (``inventory/<group>/assets/<store>.yml``), through a loader the
  workstation feature provides by entry point (``storeops.report.assets``): the report
  imports no other feature, and reads only the attributes of ``Asset``;
- the playbook run history (ARA), through any ``RunHistory``: with none, the report says run
  history is not configured.

Every field read from these files is data, never markup: the template escapes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from storeops.run_history import Run

ROLLOUT_LOG = "dms-rollouts.jsonl"
PATCH_LOG = "patch-runs.jsonl"
ASSET_LOADERS = "storeops.report.assets"


class RunHistory(Protocol):
    """A source of playbook runs (storeops.run_history.AraRunHistory reads ARA's)."""

    def runs(self, start: datetime, end: datetime) -> Sequence[Run]:
        """The runs started with ``start <= started < end``."""
        ...


class Asset(Protocol):
    """What the report reads of an asset register record (storeops.workstation's)."""

    @property
    def asset_tag(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def provisioned(self) -> date: ...
    @property
    def status(self) -> str: ...
    @property
    def returned(self) -> date | None: ...


AssetLoader = Callable[[Path, str], Sequence[Asset]]


def asset_loader() -> AssetLoader | None:
    """The asset register reader a feature registered (``storeops.report.assets``), if any."""
    found = sorted(entry_points(group=ASSET_LOADERS), key=lambda point: point.name)
    if not found:
        return None
    loader: AssetLoader = found[0].load()
    return loader


@dataclass(frozen=True)
class LogLines:
    """The JSON objects of a JSON-lines log, and how many lines could not be read."""

    records: tuple[dict[str, Any], ...]
    unreadable: int


def _objects(lines: Iterator[str]) -> Iterator[dict[str, Any] | None]:
    for line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            yield None
            continue
        yield value if isinstance(value, dict) else None


def read_json_lines(path: Path) -> LogLines:
    """The records of ``path`` (none when it does not exist); broken lines are counted."""
    if not path.is_file():
        return LogLines((), 0)
    with path.open(encoding="utf-8", errors="replace") as handle:
        found = list(_objects(iter(handle)))
    records = tuple(record for record in found if record is not None)
    return LogLines(records, len(found) - len(records))


def moment(value: Any) -> datetime | None:
    """A record's time: ISO 8601 text (naive is UTC) or epoch seconds; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
