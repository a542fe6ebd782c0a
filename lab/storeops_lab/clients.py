"""The DMS's clients during an upgrade: HTTP requests at a fixed rate, each answer kept.

A workshop tablet asks the store's DMS several times a second and gives up after its own
timeout. :class:`Clients` plays that from the controller, one thread per URL, one request
every ``1 / hz`` seconds however long the previous answer took (a slow answer does not
slow the rate: each request runs in its own thread), and records every answer's time and
outcome. The rollout tests and ``bench/dms_queue.py`` read the result: how many requests
failed (refused, timed out, any status but 200) and how long the longest answer took.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

OK = "200"
REFUSED = "refused"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Answer:
    sent: float  # time.monotonic() when the request was sent
    seconds: float  # until the answer (or the failure)
    outcome: str  # OK, REFUSED, TIMEOUT, another HTTP status, or the error's class


def ask(url: str, timeout: float) -> tuple[float, str]:
    """One GET: (seconds, outcome)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            answer.read()
            outcome = str(answer.status)
    except urllib.error.HTTPError as error:
        outcome = str(error.code)
    except urllib.error.URLError as error:
        outcome = (
            REFUSED
            if isinstance(error.reason, ConnectionRefusedError)
            else (
                TIMEOUT if isinstance(error.reason, TimeoutError) else type(error.reason).__name__
            )
        )
    except TimeoutError:
        outcome = TIMEOUT
    except OSError as error:
        outcome = REFUSED if isinstance(error, ConnectionRefusedError) else type(error).__name__
    return time.monotonic() - started, outcome


@dataclass
class Client:
    """GET ``url`` ``hz`` times a second until stopped, each with ``timeout``."""

    url: str
    hz: float
    timeout: float
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _requests: list[threading.Thread] = field(default_factory=list)

    def _one(self) -> None:
        sent = time.monotonic()
        seconds, outcome = ask(self.url, self.timeout)
        with self._lock:
            self.answers.append(Answer(sent, seconds, outcome))

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            request = threading.Thread(target=self._one, daemon=True)
            request.start()
            self._requests.append(request)
            next_at += 1 / self.hz
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        for request in self._requests:
            request.join(self.timeout + 1)

    @property
    def failed(self) -> int:
        return sum(answer.outcome != OK for answer in self.answers)

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(answer.outcome for answer in self.answers)

    @property
    def longest_s(self) -> float:
        return round(max((answer.seconds for answer in self.answers), default=0.0), 3)

    def summary(self) -> str:
        outcomes = ", ".join(f"{name} x{count}" for name, count in sorted(self.outcomes.items()))
        return f"{len(self.answers)} requests ({outcomes}), longest {self.longest_s} s"


@contextmanager
def clients(
    urls: Mapping[str, str], hz: float | Mapping[str, float], timeout: float
) -> Iterator[dict[str, Client]]:
    """One :class:`Client` per named URL, asking from entry to exit of the block, at ``hz``
    requests a second (one rate for all, or one per name)."""
    rates = hz if isinstance(hz, Mapping) else dict.fromkeys(urls, hz)
    running = {name: Client(url, rates[name], timeout) for name, url in urls.items()}
    threads = [threading.Thread(target=c.run, daemon=True) for c in running.values()]
    for thread in threads:
        thread.start()
    try:
        yield running
    finally:
        for client in running.values():
            client._stop.set()
        for thread in threads:
            thread.join()
        for client in running.values():
            client.stop()
