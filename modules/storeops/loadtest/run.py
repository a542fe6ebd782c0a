"""One load test run: locust, headless, in a child process, against one DMS.

Why a child process of this interpreter (``sys.executable -m locust``): locust imports gevent,
which monkey-patches the standard library of the process that loads it (threads, sockets);
in ansible-playbook's worker or in pytest that breaks everything after it. The child runs in
a private temporary directory (its working directory and ``HOME``, so no ``locust.conf`` or
``pyproject.toml`` of the caller's configures it; the caller's ``LOCUST_*`` variables are
dropped), which is removed afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from storeops.loadtest.result import LoadResult, ReportError, parse_report

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Bounds of a spec: a short acceptance test, not a soak test; ids as the DMS accepts them.
USERS = (1, 200)
DURATION_S = (3, 600)
READ_IDS = (1, 9_999_999_999)
THINK_MS = (0, 60_000)
REQUEST_TIMEOUT_S = (1, 300)
# Locust's start (imports, spawning) and stop on top of the run time; then it is killed.
START_AND_STOP_S = 60
PROBE_TIMEOUT_S = 5
SHOWN_STDERR = 500  # characters of locust's stderr line an error quotes


class LoadTestError(RuntimeError):
    """The load test could not measure (locust missing or failing, DMS unreachable, no request).

    Not a failed gate: a verdict needs figures, and this run has none.
    """


@dataclass(frozen=True)
class LoadSpec:
    """One workload: where, how many simulated clients, how fast they start, for how long.

    A baseline and the run after the upgrade must use the same spec to be comparable.
    ``spawn_rate`` (clients started per second) defaults to ``users``: all start in the first
    second. ``read_id_min``..``read_id_max``: the work-order ids the reads draw from.
    ``think_ms``: a client's mean pause between two requests.
    """

    url: str
    users: int = 10
    spawn_rate: int | None = None
    duration_s: int = 20
    read_id_min: int = 1
    read_id_max: int = 1000
    think_ms: int = 100
    request_timeout_s: int = 10

    def __post_init__(self) -> None:
        problems = [problem for problem in self._problems() if problem]
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> list[str | None]:
        return [
            url_problem(self.url),
            _outside("users", self.users, USERS),
            _outside("spawn_rate", self.clients_per_second, (1, self.users)),
            _outside("duration_s", self.duration_s, DURATION_S),
            _outside("read_id_min", self.read_id_min, READ_IDS),
            _outside("read_id_max", self.read_id_max, (self.read_id_min, READ_IDS[1])),
            _outside("think_ms", self.think_ms, THINK_MS),
            _outside("request_timeout_s", self.request_timeout_s, REQUEST_TIMEOUT_S),
        ]

    def workload(self) -> dict[str, int]:
        """What must be equal for two runs' figures to compare (the URL may differ)."""
        return {
            "users": self.users,
            "spawn_rate": self.clients_per_second,
            "duration_s": self.duration_s,
            "read_id_min": self.read_id_min,
            "read_id_max": self.read_id_max,
            "think_ms": self.think_ms,
            "request_timeout_s": self.request_timeout_s,
        }

    @property
    def clients_per_second(self) -> int:
        return self.users if self.spawn_rate is None else self.spawn_rate


def _outside(name: str, value: object, bounds: tuple[int, int]) -> str | None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"{name}: {value!r} is not an integer in {low}..{high}"
    return None


def url_problem(url: object) -> str | None:
    """Why ``url`` is not the base URL of a DMS (``http[s]://host[:port]``), else None.

    No credentials (they would show in logs and results), no path, query or fragment: the
    workload's paths are the DMS's own.
    """
    if not isinstance(url, str) or not url.isprintable() or " " in url:
        return f"url: {url!r} is not an http or https URL"
    parts = urllib.parse.urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        return f"url: {url!r} is not an http or https URL"
    if parts.username or parts.password:
        return "url: credentials do not belong in the URL"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"url: {url!r}: give the DMS's base URL, without a path"
    return None


def run_load(spec: LoadSpec) -> LoadResult:
    """Drive ``spec``'s workload against its DMS and return the figures.

    LoadTestError when nothing could be measured: locust is not installed or fails to
    start, the DMS does not answer at all, the run exceeds its time, or no request was made.
    Failed requests are figures (the verdict's business), not errors.
    """
    if importlib.util.find_spec("locust") is None:
        raise LoadTestError(
            f"locust is not installed for {sys.executable} (pip install -r requirements.txt)"
        )
    probe(spec.url)
    with tempfile.TemporaryDirectory(prefix="storeops-load-") as private:
        prefix = Path(private) / "report"
        _run_locust(spec, Path(private), prefix)
        try:
            result = parse_report(prefix)
            _raise_on_exceptions(Path(f"{prefix}_exceptions.csv"))
        except ReportError as error:
            raise LoadTestError(f"locust's report: {error}") from None
    if result.requests == 0:
        raise LoadTestError(f"no request was made in {spec.duration_s} s against {spec.url}")
    return replace(result, workload=spec.workload())


def probe(url: str) -> None:
    """LoadTestError unless the DMS answers ``GET /health`` with any HTTP status at all.

    An unhealthy DMS (503) is the load test's to measure; one that does not answer would only
    give a run of connection errors.
    """
    request = urllib.request.Request(url.rstrip("/") + "/health", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S):
            pass
    except urllib.error.HTTPError:
        pass
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise LoadTestError(f"{url} does not answer: {reason}") from None


def locust_command(spec: LoadSpec) -> list[str]:
    """The headless locust run of ``spec`` (final figures only, no web UI)."""
    return [
        sys.executable, "-m", "locust", "--headless",
        "-f", str(LOCUSTFILE),
        "-H", spec.url,
        "-u", str(spec.users),
        "-r", str(spec.clients_per_second),
        "-t", f"{spec.duration_s}s",
        "--only-summary",
        "--loglevel", "WARNING",
        "--exit-code-on-error", "0",  # failed requests are figures; a non-zero exit an error
    ]  # fmt: skip


def locust_environment(spec: LoadSpec, private: Path, prefix: Path) -> dict[str, str]:
    """The caller's environment without ``LOCUST_*``; the locustfile's parameters added."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("LOCUST_")}
    return {
        **inherited,
        "HOME": str(private),
        "STOREOPS_LOAD_READ_ID_MIN": str(spec.read_id_min),
        "STOREOPS_LOAD_READ_ID_MAX": str(spec.read_id_max),
        "STOREOPS_LOAD_THINK_MS": str(spec.think_ms),
        "STOREOPS_LOAD_REQUEST_TIMEOUT_S": str(spec.request_timeout_s),
        "STOREOPS_LOAD_REPORT_PREFIX": str(prefix),
    }


def _run_locust(spec: LoadSpec, private: Path, prefix: Path) -> None:
    timeout = spec.duration_s + START_AND_STOP_S
    try:
        done = subprocess.run(
            locust_command(spec),
            cwd=private,
            env=locust_environment(spec, private, prefix),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise LoadTestError(f"locust did not finish within {timeout} s; killed") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(nothing on stderr)"]
        # The last line: the locustfile's own message, or the exception a traceback ends with.
        raise LoadTestError(f"locust failed (exit {done.returncode}): {lines[-1][:SHOWN_STDERR]}")


def _raise_on_exceptions(path: Path) -> None:
    """The locustfile's own errors (not failed requests) make the figures meaningless."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    if len(lines) > 1:
        raise ReportError(f"the workload raised: {lines[1][:SHOWN_STDERR]}")
