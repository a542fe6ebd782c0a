"""Reading the stores for ``storeops health``: one SSH connection per host, all at once.

Runs on the controller. Each host gets the probe (``module_utils/storeops_health.py``, with
``storeops_apt.py`` beside it) over **one** ``ssh`` connection, run as root by ``sudo -n
python3 -``, and answers with one JSON object; the hosts are read in parallel threads.
Each store's DMS is asked over HTTP from the controller, as the rollout and the patch run
ask it. Nothing here writes anything anywhere: the probe only reads, and the DMS requests
are GETs.

A host that cannot be reached, or whose probe fails, gives a :class:`HostFacts` with the
reason in ``error``: never an exception, and the other hosts are still read.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from storeops.health.targets import HostTarget, StoreTarget
from storeops.module_utils import module_utils_file

T = TypeVar("T")
R = TypeVar("R")
# The host-side code the probe needs, in the order it is loaded (storeops_health imports
# storeops_apt by bare name, as module_utils/ files do on hosts).
PROBE_MODULES = ("storeops_apt", "storeops_health")
PROBE_COMMAND = ("sudo", "-n", "/usr/bin/python3", "-")
# Loads the modules sent on stdin as if they were files beside each other, then runs.
BOOTSTRAP = """import sys, types
def _load(name, source):
    module = types.ModuleType(name)
    module.__file__ = name + ".py"
    sys.modules[name] = module
    exec(compile(source, name + ".py", "exec"), module.__dict__)
    return module
"""


@dataclass(frozen=True)
class HostFacts:
    host: str
    facts: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # unreachable, or the probe failed: why
    seconds: float = 0.0


@dataclass(frozen=True)
class HttpAnswer:
    url: str
    status: int | None  # None: no HTTP answer at all
    body: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class DmsFacts:
    store: str
    health: HttpAnswer
    smoke: HttpAnswer | None  # None: not asked (no answer to /health)


@cache
def _module_source(project: Path, name: str) -> str:
    return module_utils_file(project, name).read_text(encoding="utf-8")


def probe_script(project: Path, params: dict[str, Any]) -> str:
    """The Python program sent to a host: the modules, then ``storeops_health.main``."""
    lines = [BOOTSTRAP]
    for name in PROBE_MODULES:
        lines.append(f"_load({name!r}, {_module_source(project, name)!r})")
    lines.append(f"sys.modules['storeops_health'].main({json.dumps(params)!r})")
    return "\n".join(lines) + "\n"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""


def probe_host(project: Path, target: HostTarget, timeout: int) -> HostFacts:
    started = time.monotonic()
    argv = [*target.ssh.argv(connect_timeout=min(timeout, 10)), *PROBE_COMMAND]
    try:
        done = subprocess.run(
            argv,
            input=probe_script(project, target.probe),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=project,  # the inventory's relative key and known_hosts paths, as Ansible
            check=False,
        )
    except subprocess.TimeoutExpired:
        return HostFacts(target.name, error=f"no answer within {timeout} s", seconds=timeout)
    seconds = round(time.monotonic() - started, 2)
    if done.returncode == 255:  # ssh's own failure: the host was not reached
        return HostFacts(target.name, error=f"ssh: {_last_line(done.stderr)}", seconds=seconds)
    if done.returncode != 0:
        why = _last_line(done.stderr) or f"exit {done.returncode}"
        return HostFacts(target.name, error=f"probe failed: {why}", seconds=seconds)
    try:
        facts = json.loads(done.stdout)
    except ValueError:
        return HostFacts(target.name, error="probe answered no JSON", seconds=seconds)
    return HostFacts(target.name, facts=facts, seconds=seconds)


def http_get(url: str, timeout: float) -> HttpAnswer:
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    status: int | None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read(65536)
    except urllib.error.HTTPError as error:  # 4xx/5xx: an answer, with its body
        status, raw = error.code, error.read(65536)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        return HttpAnswer(url, None, error=str(reason), seconds=time.monotonic() - started)
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return HttpAnswer(url, status, body=body, seconds=round(time.monotonic() - started, 3))


def probe_dms(store: StoreTarget, smoke_path: str, timeout: float) -> DmsFacts | None:
    if store.dms_url is None:
        return None
    health = http_get(f"{store.dms_url}/health", timeout)
    smoke = http_get(f"{store.dms_url}{smoke_path}", timeout) if health.status else None
    return DmsFacts(store.code, health, smoke)


def in_parallel(
    work: Callable[[T], R], items: Iterable[T], workers: int, done: Callable[[], None] | None
) -> list[R]:
    """``work`` over ``items`` in threads, results in the items' order; ``done`` per item."""

    def run(item: T) -> R:
        result = work(item)
        if done is not None:
            done()
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(run, items))
