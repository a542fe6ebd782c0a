"""Once-per-incident notification of a store's failures (the API the health check and the
DMS sampler call). Runs on the controller.

    notifier = Notifier.from_inventory(inventory)
    sent = notifier.update([Event("sh01", "dms", True, "DMS down", "GET /health: timeout")])

Each store's channels come from its ``storeops_notify`` (group_vars/all, overridden whole by
the store's group_vars), the vault references resolved from the store's vault variables, the
resolved URLs checked again (storeops.schema.NotifyUrl). A channel that fails is reported in
the returned :class:`Sent`, never raised: the incident stays un-notified and the next
``update`` with a failing event for it tries again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from storeops import schema
from storeops.notify.incidents import IncidentStore
from storeops.notify.shared import shared
from storeops.statedb import database_url, open_engine
from storeops.yamlfiles import VaultPasswords

NO_CHANNEL = "no notification channel configured for the store (storeops_notify)"


class NotifyConfigError(ValueError):
    """A store's storeops_notify cannot be used (the message names the store and field)."""


@dataclass(frozen=True)
class Event:
    """What a check saw: ``failing`` or OK, for ``key`` (``dms``, ``backup sh01-db``,
    ``health:firewall:sh01-dms``) at ``store``."""

    store: str
    key: str
    failing: bool
    title: str
    text: str = ""
    host: str = ""


@dataclass(frozen=True)
class Sent:
    """A message that was due: ``kind`` failure or recovery; ``results`` per channel (None:
    sent, else the error)."""

    event: Event
    kind: str
    results: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return any(error is None for error in self.results.values())

    @property
    def error(self) -> str | None:
        if self.delivered:
            return None
        if not self.results:
            return NO_CHANNEL
        return "; ".join(f"{name}: {error}" for name, error in self.results.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.event.store,
            "key": self.event.key,
            "kind": self.kind,
            "delivered": self.delivered,
            "channels": dict(self.results),
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The fields of a channel that may be vault references, and the check of their value.
def _secret_problem(value: str) -> str | None:
    if schema.control_characters(value):
        return "contains control characters"
    return None if 0 < len(value) <= schema.MAX_NOTIFY_URL else "empty or too long"


_RESOLVED: Mapping[str, Callable[[str], str | None]] = {
    "url": schema.notify_url_problem,
    "secret": _secret_problem,
    "password": _secret_problem,
}


def _resolve(value: str, variables: Mapping[str, Any], where: str) -> str:
    if not schema.VAULT_REFERENCE_RE.fullmatch(value):
        return value
    name = value.removeprefix("{{ ").removesuffix(" }}")
    resolved = variables.get(name)
    if not isinstance(resolved, str):
        raise NotifyConfigError(f"{where}: {name} is not defined (a string from the vault)")
    return resolved


def resolve_channels(
    settings: Any, variables: Mapping[str, Any], store: str
) -> list[dict[str, Any]]:
    """``storeops_notify`` of a store, checked by the schema, its vault references resolved
    and their values checked (errors never repeat a secret)."""
    try:
        parsed = schema.NotifySettings.model_validate(settings)
    except ValidationError as error:
        raise NotifyConfigError(f"store {store}: storeops_notify: {error}") from None
    channels = []
    for index, channel in enumerate(parsed.channels):
        resolved = channel.model_dump(exclude_none=True)
        for name, problem_of in _RESOLVED.items():
            if name not in resolved:
                continue
            where = f"store {store}: storeops_notify.channels[{index}].{name}"
            resolved[name] = _resolve(resolved[name], variables, where)
            problem = problem_of(resolved[name])
            if problem:
                raise NotifyConfigError(f"{where}: the vault's value is refused: {problem}")
        channels.append(resolved)
    return channels


def store_channels(
    inventory: Path, passwords: VaultPasswords | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every store's resolved channels, from the inventory as Ansible sees it."""
    from storeops.ansible_view import load

    channels: dict[str, list[dict[str, Any]]] = {}
    for host in sorted(load(inventory, passwords).values(), key=lambda host: host.name):
        store_groups = [g for g in host.groups if g.startswith(schema.STORE_GROUP_PREFIX)]
        if not store_groups:
            continue
        store = store_groups[0].removeprefix(schema.STORE_GROUP_PREFIX)
        if store in channels:
            continue  # group variables: every host of a store sees the same
        settings = host.variables.get("storeops_notify") or {"channels": []}
        channels[store] = resolve_channels(settings, host.variables, store)
    return channels


class Notifier:
    """Notify each store's channels once per incident (state: the controller's database)."""

    def __init__(
        self,
        channels: Mapping[str, list[dict[str, Any]]],
        engine: Engine,
        now: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.channels = channels
        self.incidents = IncidentStore(engine)
        self.now = now

    @classmethod
    def from_inventory(
        cls,
        inventory: Path,
        passwords: VaultPasswords | None = None,
        database: str | None = None,
    ) -> Notifier:
        """The notifier of ``inventory``'s stores, on the controller's database (``database``:
        a URL, else STOREOPS_DATABASE_URL, else the SQLite file)."""
        return cls(store_channels(inventory, passwords), open_engine(database_url(database)))

    def update(self, events: Iterable[Event]) -> list[Sent]:
        """Apply the events in order; the messages that were due, sent or not."""
        return [sent for event in events if (sent := self._apply(event)) is not None]

    def _apply(self, event: Event) -> Sent | None:
        incident = self.incidents.get(event.store, event.key)
        action = shared.decide(
            incident is not None, incident is not None and incident.notified, event.failing
        )
        if action == shared.SUPPRESS:
            if not event.failing and incident is not None:
                self.incidents.close(event.store, event.key)  # never announced: closed quietly
            return None
        sent = Sent(event, action, self._send(event))
        if action == shared.NOTIFY_FAILURE:
            self.incidents.record_failure(
                event.store, event.key, event.title, self.now(), sent.error
            )
        elif sent.delivered:
            self.incidents.close(event.store, event.key)
        else:
            self.incidents.keep_open_after_failed_recovery(event.store, event.key, sent.error or "")
        return sent

    def _send(self, event: Event, test: bool = False) -> dict[str, str | None]:
        message = shared.Message(
            event.store, event.key, event.failing, event.title, event.text, event.host, test
        )
        return shared.send_all(list(self.channels.get(event.store, [])), message)

    def test(self, store: str) -> dict[str, str | None]:
        """Send a test message through each of ``store``'s channels (no incident)."""
        if store not in self.channels:
            raise NotifyConfigError(f"store {store!r} is not in the inventory")
        event = Event(
            store,
            "test",
            False,
            "test message from storeops",
            f"storeops notify test: the channels of store {store} reach you.",
        )
        return self._send(event, test=True)
