"""The run history: which playbooks ran, when, how they ended and which stores they touched.

ARA records every ansible-playbook run (ansible.cfg enables callback_plugins/ara_default.py).
By default into a local SQLite database under the controller's state
(``state_path("ara")``: ``logs/ara/ansible.sqlite``, or ``$STOREOPS_STATE_DIR/ara``); with
``ARA_API_CLIENT=http`` and ``ARA_API_SERVER`` into a shared ARA server, which this reader
then asks. :func:`runs` is what the monthly report counts and links.

Runs on the controller (the report, a feature may import it). ARA is imported only when
runs are read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storeops.paths import state_path

BASE_DIR_ENV = "ARA_BASE_DIR"
CLIENT_ENV = "ARA_API_CLIENT"
SERVER_ENV = "ARA_API_SERVER"
STATIC_ENV = "STOREOPS_ARA_HTML"  # where `ara-manage generate` wrote the static HTML
PAGE_SIZE = 200


def default_base_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where ARA keeps its settings and SQLite database unless ARA_BASE_DIR says otherwise."""
    env = os.environ if environ is None else environ
    return Path(env.get(BASE_DIR_ENV) or state_path("ara", environ=env))


def use_default_base_dir() -> None:
    """ARA_BASE_DIR defaults to the controller's state (before ARA's settings are read)."""
    os.environ.setdefault(BASE_DIR_ENV, str(default_base_dir()))


@dataclass(frozen=True)
class Run:
    """One playbook run as ARA recorded it."""

    id: int
    playbook: str  # the playbook's path as it was run
    started: dt.datetime
    ended: dt.datetime | None
    status: str  # completed, failed, running, expired (ARA's words)
    stores: tuple[str, ...]  # store codes of the hosts it touched, sorted
    hosts: tuple[str, ...]
    link: str  # the run's page: the ARA server's, or the static HTML's (file://)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "playbook": self.playbook,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
            "status": self.status,
            "stores": list(self.stores),
            "hosts": list(self.hosts),
            "link": self.link,
        }


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def link_for(run_id: int, environ: Mapping[str, str] | None = None) -> str:
    """The run's page: on the shared ARA server when one is configured, else in the static
    HTML that ``ara-manage generate <dir>`` writes (STOREOPS_ARA_HTML, default
    <base>/html), as a file:// URL."""
    env = os.environ if environ is None else environ
    if env.get(CLIENT_ENV) == "http" and env.get(SERVER_ENV):
        return f"{env[SERVER_ENV].rstrip('/')}/playbooks/{run_id}.html"
    html = Path(env.get(STATIC_ENV) or default_base_dir(env) / "html")
    return (html.resolve() / "playbooks" / f"{run_id}.html").as_uri()


def store_of_hosts(inventory: Path) -> dict[str, str]:
    """Every host of the inventory and its store code (hosts.yml)."""
    from storeops.inventory import read

    raw = read(inventory)
    return {host: raw.store_code_of_group(entry[0]) for host, entry in raw.host_entries.items()}


def _client() -> Any:
    """ARA's API client: http to the shared server, else offline (the local database)."""
    use_default_base_dir()
    from ara.clients.utils import get_client

    if os.environ.get(CLIENT_ENV) == "http":
        return get_client(
            client="http",
            endpoint=os.environ.get(SERVER_ENV, "http://127.0.0.1:8000"),
            username=os.environ.get("ARA_API_USERNAME"),
            password=os.environ.get("ARA_API_PASSWORD"),
        )
    with contextlib.redirect_stdout(io.StringIO()):  # Django's migrate reports on stdout
        client = get_client(client="offline", run_sql_migrations=True)
    from ara.server import settings

    # ARA's (Django's) settings are read once per process: a second base directory would
    # silently read the first one's database.
    if Path(settings.BASE_DIR) != Path(os.environ[BASE_DIR_ENV]):
        raise RuntimeError(
            f"ARA already reads {settings.BASE_DIR} in this process, not {os.environ[BASE_DIR_ENV]}"
        )
    return client


def _all_pages(client: Any, path: str, **query: Any) -> Iterable[dict[str, Any]]:
    offset = 0
    while True:
        page = client.get(path, limit=PAGE_SIZE, offset=offset, **query)
        results: list[dict[str, Any]] = page.get("results", [])
        yield from results
        if not page.get("next") or not results:
            return
        offset += len(results)


def _hosts_of(client: Any, playbook_id: int) -> tuple[str, ...]:
    return tuple(
        sorted({host["name"] for host in _all_pages(client, "/api/v1/hosts", playbook=playbook_id)})
    )


def runs(
    start: dt.datetime,
    end: dt.datetime,
    inventory: Path,
    client: Any | None = None,
) -> list[Run]:
    """The playbook runs started in [start, end) (aware datetimes), oldest first, each with
    the stores its hosts belong to in ``inventory`` (hosts not in it count for no store)."""
    stores = store_of_hosts(inventory)
    api = client if client is not None else _client()
    found = []
    query = {"started_after": start.isoformat(), "order": "started"}
    for record in _all_pages(api, "/api/v1/playbooks", **query):
        started = _parse_time(record.get("started"))
        if started is None or not start <= started < end:
            continue
        hosts = _hosts_of(api, int(record["id"]))
        found.append(
            Run(
                id=int(record["id"]),
                playbook=str(record.get("path", "")),
                started=started,
                ended=_parse_time(record.get("ended")),
                status=str(record.get("status", "unknown")),
                stores=tuple(sorted({stores[h] for h in hosts if h in stores})),
                hosts=hosts,
                link=link_for(int(record["id"])),
            )
        )
    return found


def runs_per_store(found: Iterable[Run]) -> dict[str, int]:
    """How many runs touched each store (what the monthly report counts)."""
    counts: dict[str, int] = {}
    for run in found:
        for store in run.stores:
            counts[store] = counts.get(store, 0) + 1
    return dict(sorted(counts.items()))


def configured(environ: Mapping[str, str] | None = None) -> bool:
    """ARA has something to read: a shared server, or the local database exists."""
    env = os.environ if environ is None else environ
    if env.get(CLIENT_ENV) == "http":
        return bool(env.get(SERVER_ENV))
    return (default_base_dir(env) / "ansible.sqlite").is_file()


@dataclass(frozen=True)
class AraRunHistory:
    """The monthly report's source of playbook runs: ARA's, mapped to ``inventory``'s stores."""

    inventory: Path

    def runs(self, start: dt.datetime, end: dt.datetime) -> list[Run]:
        return runs(start, end, self.inventory)
