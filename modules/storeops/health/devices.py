"""The health check's network devices: reachable, drift against the intended configuration and
against the last backup. Strictly read-only.

Runs on the controller. For each switch and firewall of the inventory (``storeops_roles``
switch or firewall, with a ``storeops_platform``) it logs in as the ``network`` role does
(netmiko; the role's ``network_username`` / ``network_password`` resolved as a play sees
them, vault included), reads the running configuration and logs out: no configuration-mode
command, no save, nothing written on the controller either. Then, on the controller:

- **intended**: the remediation hier_config would push, against the device's whole intended
  configuration rendered exactly as ``roles/network/tasks/render.yml`` renders it (the
  role's ``intended/<platform>.cfg.j2`` with the zone model of
  :func:`storeops.network.device_model`), secrets masked: what ``net_config`` returns in
  check mode. Never pushed.
- **backup**: the changed lines against the device's last backup in the network-backup git
  repository (``library/net_backup.py``: ``<repo>/<host>.cfg``, one commit per change), both
  sides as net_config shows a diff (``for_diff``: no volatile or separator lines, secrets
  masked), and the backup's commit time.

The network modules' shared code (``module_utils/storeops_net.py``: platforms, login, read,
remediation, masking) is loaded from the project's ``module_utils/`` under the name the
modules import it by, ``ansible.module_utils.storeops_net`` (:func:`net_utils`): one copy of
that code, the same module object the unit tests and the bench load. It cannot be imported
normally: it lives outside the package, because Ansible ships it to the modules.

Devices are read in parallel (threads); each device's conversation is abandoned after
``timeout`` seconds, so one device that accepts a connection and never answers cannot hold
the check.
"""

from __future__ import annotations

import difflib
import math
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from storeops.ansible_view import AnsibleHost
from storeops.ansible_view import load as load_ansible_view
from storeops.inventory import Host, Inventory
from storeops.module_utils import load_module_utils
from storeops.network import device_model
from storeops.paths import find_project, state_path
from storeops.role_templates import play_variables, render_role_template, resolve
from storeops.schema import Role
from storeops.validate import load_valid
from storeops.yamlfiles import VaultPasswords

NET_UTILS = "ansible.module_utils.storeops_net"  # the name library/net_*.py import it by
NETWORK_ROLE = "network"
BACKUPS = "network-backups"  # storeops.paths.STATE_LAYOUT: net_backup's repository
DEVICE_ROLES = frozenset({Role.SWITCH, Role.FIREWALL})
GIT_TIMEOUT_S = 30

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceFacts:
    """What the health check knows about one network device (see the module docstring).

    ``reachable``: the login worked (an unreachable device, a refused login or no answer
    within the timeout: False, ``error`` says which). ``error`` with ``reachable`` True: logged
    in but the running configuration could not be read. ``remediation``: the lines to reach
    the intended configuration, masked (empty: no drift, or see ``intended_error``).
    ``backup_changes``: ``-`` lines of the last backup the device no longer has, ``+``
    lines it has since; None when there is no backup (or the device could not be read:
    ``backup_at`` still dates the last backup). ``backup_error``: the backup repository could
    not be read. ``seconds``: the time this device took.
    """

    host: str
    store: str
    platform: str
    reachable: bool
    error: str = ""
    remediation: tuple[str, ...] = ()
    intended_error: str = ""
    backup_changes: tuple[str, ...] | None = None
    backup_at: datetime | None = None
    seconds: float = 0.0
    backup_error: str = ""


@dataclass(frozen=True)
class Target:
    """One device to read: how to log in (``login``: storeops_net.connect's parameters, the
    password included, so never shown) and its intended configuration, rendered beforehand."""

    host: str
    store: str
    platform: str
    login: Mapping[str, Any] = field(repr=False)
    intended: str = field(default="", repr=False)
    intended_error: str = ""
    management: Mapping[str, Any] = field(default_factory=dict)  # the zone model's
    login_error: str = ""  # the login could not be resolved: the device is not contacted


@dataclass(frozen=True)
class Backup:
    """A device's last backup: the file's text as committed, and when."""

    text: str = field(repr=False)
    at: datetime
    commit: str


class UnknownDevice(LookupError):
    """A host asked for is not in the inventory."""


class ReadFailed(Exception):
    """Logged in, but the running configuration could not be read (message safe to show)."""


class BackupUnreadable(Exception):
    """The backup repository exists but git could not read it (message safe to show)."""


# ---------------------------------------------------------------------------- module_utils


def net_utils(project: Path) -> ModuleType:
    """``module_utils/storeops_net.py`` of ``project``, as the network modules import it.

    Registered as ``ansible.module_utils.storeops_net`` (once per process, like an import):
    library/net_config.py loaded in the same process, the tests and the bench share it.
    """
    return load_module_utils(project, "storeops_net", NET_UTILS)


# ---------------------------------------------------------------------------- the devices


def network_devices(inventory: Inventory, hosts: Sequence[str] | None = None) -> list[Host]:
    """The inventory's switches and firewalls (with a platform), by name; only ``hosts``
    when given (other hosts in it are left out; a name the inventory lacks: UnknownDevice)."""
    if hosts is not None:
        unknown = sorted(set(hosts) - set(inventory.hosts))
        if unknown:
            raise UnknownDevice(f"not in inventory {inventory.root}: {', '.join(unknown)}")
    return [
        host
        for name, host in sorted(inventory.hosts.items())
        if host.platform is not None
        and DEVICE_ROLES & set(host.roles)
        and (hosts is None or name in hosts)
    ]


def connect_timeout(timeout: float) -> int:
    """netmiko's timeouts are whole seconds: at least 1."""
    return max(1, math.ceil(timeout))


def target(
    inventory: Inventory,
    host: Host,
    inventory_variables: Mapping[str, Any],
    project: Path,
    timeout: float,
) -> Target:
    """What reading ``host`` needs: the role's login as a play resolves it, and the intended
    configuration rendered as render.yml does (``intended_error`` when it cannot be)."""
    assert host.platform is not None  # network_devices() keeps devices with a platform only
    platform = host.platform.value
    roles_dir = project / "roles"
    variables = play_variables(host.name, inventory_variables, (NETWORK_ROLE,), roles_dir)
    address, port = host.endpoint
    login: dict[str, Any] = {
        "host": str(address),
        "port": port or 22,
        "platform": platform,
        "timeout": connect_timeout(timeout),
    }
    try:
        login["username"] = str(resolve(variables, "network_username"))
        login["password"] = password = str(resolve(variables, "network_password"))
    except Exception as error:  # e.g. the store's vault_network_password is missing
        reason = f"the network role's login cannot be resolved: {_safe(error)}"
        return Target(host.name, host.store, platform, login, login_error=reason)
    base = Target(host.name, host.store, platform, login)
    try:
        model = device_model(inventory, host)
        intended = render_role_template(
            NETWORK_ROLE,
            f"intended/{platform}.cfg.j2",
            f"intended/{platform}.cfg",
            {**variables, "network_device": model},
            roles_dir,
        )
    except Exception as error:  # the model, a template or a value the filters refuse
        return replace(base, intended_error=_safe(error, password))
    return replace(base, intended=intended, management=model["management"])


def _safe(error: BaseException, *secrets: str) -> str:
    """An exception as one line to show: its type when it says nothing, secrets removed."""
    text = str(error).strip() or type(error).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return " ".join(text.split())


def targets(
    inventory_root: Path,
    passwords: VaultPasswords | None,
    hosts: Sequence[str] | None,
    timeout: float,
) -> list[Target]:
    """Every device to read, in name order (the inventory read and validated once; Ansible's
    view of it for the variables). InventoryInvalid / UnknownDevice propagate."""
    project = find_project(inventory_root)
    inventory = load_valid(inventory_root, passwords, project / "roles")
    if not network_devices(inventory, hosts):
        return []
    view = load_ansible_view(inventory_root, passwords)
    return device_targets(inventory, view, project, hosts, timeout)


def device_targets(
    inventory: Inventory,
    view: Mapping[str, AnsibleHost],
    project: Path,
    hosts: Sequence[str] | None,
    timeout: float,
) -> list[Target]:
    """:func:`targets` of an inventory already validated and seen through Ansible (the
    health check has both: it reads neither again)."""
    return [
        target(inventory, host, view[host.name].variables, project, timeout)
        for host in network_devices(inventory, hosts)
    ]


# ---------------------------------------------------------------------------- reading


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``, or TimeoutError when it has not returned after ``seconds``.

    It runs in a daemon thread that is abandoned at the deadline (netmiko's own timeouts end
    it later; it cannot keep the process alive).
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, work()))
        except BaseException as error:  # handed to the caller, raised there
            box.put((False, error))

    threading.Thread(target=run, name="health-device-read", daemon=True).start()
    try:
        done, value = box.get(timeout=seconds)
    except queue.Empty:
        raise TimeoutError(f"no answer within {seconds:g} s") from None
    if done:
        result: T = value
        return result
    raise value


class Logouts:
    """The sessions being closed in the background, waited for once at the end of the check.

    netmiko's logout waits for the device to fall silent (about 2 s on Huawei VRP): done
    after the read, beside the other devices' reads, it costs the check those 2 s once
    instead of once per device.
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def close(self, net: ModuleType, conn: Any) -> None:
        thread = threading.Thread(
            target=net.disconnect, args=(conn,), name="health-device-logout", daemon=True
        )
        thread.start()
        with self._lock:
            self._threads.append(thread)

    def wait(self, seconds: float) -> None:
        """Wait for every logout, ``seconds`` at most in all (the rest end on their own)."""
        deadline = time.monotonic() + seconds
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def read_running(net: ModuleType, login: Mapping[str, Any], logouts: Logouts) -> str:
    """Log in, read the running configuration, log out (in the background): exec-mode
    commands only.

    NetError (storeops_net): unreachable or the login refused; ReadFailed: logged in, not read.
    """
    conn = net.connect(dict(login))
    try:
        return str(net.running_config(conn, login["platform"]))
    except Exception as error:  # NetError, or netmiko's ReadTimeout
        raise ReadFailed(_safe(error, login["password"])) from None
    finally:
        logouts.close(net, conn)


def remediation(net: ModuleType, device: Target, running: str) -> tuple[tuple[str, ...], str]:
    """The lines net_config would push (in check mode: make, rest, break), masked; or the
    reason there are none to show (``intended_error``)."""
    if device.intended_error:
        return (), device.intended_error
    refused = net.clear_text_secrets(device.platform, device.intended)
    if refused:
        lines = ", ".join(map(str, refused))
        return (), f"intended has clear-text secrets on line(s) {lines}"
    management = net.Management(
        vlans=tuple(int(vlan) for vlan in device.management.get("vlans", ())),
        address=device.management.get("address"),
        running_address=device.management.get("address"),
        user=device.login["username"],
    )
    try:
        stages, _ = net.remediation(device.platform, running, device.intended, management)
    except net.NetError as error:  # e.g. the intended configuration removes the login user
        return (), _safe(error, device.login["password"])
    return tuple(net.mask(device.platform, line) for line in net.ordered(stages)), ""


def changed_lines(net: ModuleType, platform: str, before: str, after: str) -> tuple[str, ...]:
    """``-`` lines of ``before`` that ``after`` lacks, ``+`` lines it adds, in order, both
    sides normalised as net_config's diff (``for_diff``), compared with their secrets (a
    changed password hash is a change) and shown masked."""
    old = net.for_diff(platform, before, masked=False).splitlines()
    new = net.for_diff(platform, after, masked=False).splitlines()
    diff = list(difflib.unified_diff(old, new, lineterm="", n=0))
    return tuple(net.mask(platform, line) for line in diff[2:] if not line.startswith("@@"))


# ---------------------------------------------------------------------------- backups


def _git(repo: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """A read-only git command's output ("" for an exit status in ``ok`` other than 0; no
    optional locks: nothing is written)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "--no-pager", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackupUnreadable(f"git {args[0]} in {repo}: {_safe(error)}") from None
    if done.returncode in ok:
        return done.stdout if done.returncode == 0 else ""
    reason = (done.stderr or done.stdout).strip().splitlines()
    raise BackupUnreadable(f"git {args[0]} in {repo}: {reason[-1] if reason else done}")


def last_backup(repo: Path, name: str) -> Backup | None:
    """``name``'s last committed backup (``<repo>/<name>.cfg``, net_backup's layout), or
    None when there is none yet; BackupUnreadable when git fails."""
    if not (repo / ".git").exists():
        return None
    filename = f"{name}.cfg"
    if not _git(repo, "rev-parse", "--quiet", "--verify", "HEAD", ok=(0, 1)):
        return None  # initialised, nothing committed yet
    found = _git(repo, "log", "-1", "--format=%H %cI", "--", filename).split()
    if len(found) != 2:
        return None
    commit, at = found
    text = _git(repo, "show", f"{commit}:{filename}")
    return Backup(text, datetime.fromisoformat(at), commit)


# ---------------------------------------------------------------------------- one device


def facts_of(
    net: ModuleType, device: Target, repo: Path, timeout: float, logouts: Logouts
) -> DeviceFacts:
    """Read one device (at most ``timeout`` seconds of conversation) and compare."""
    started = time.monotonic()
    known = DeviceFacts(
        device.host,
        device.store,
        device.platform,
        reachable=False,
        intended_error=device.intended_error,
    )
    backup: Backup | None = None
    try:
        backup = last_backup(repo, device.host)
    except BackupUnreadable as error:
        known = replace(known, backup_error=str(error))
    known = replace(known, backup_at=backup.at if backup else None)
    try:
        if device.login_error:
            raise ValueError(device.login_error)
        running = within(timeout, lambda: read_running(net, device.login, logouts))
    except ReadFailed as error:
        found = replace(known, reachable=True, error=str(error))
    except Exception as error:  # NetError (unreachable, refused), TimeoutError, the unforeseen
        expected = isinstance(error, net.NetError | TimeoutError) or bool(device.login_error)
        reason = str(error) if expected else f"{type(error).__name__}: {_safe(error)}"
        found = replace(known, error=_safe(RuntimeError(reason), device.login.get("password", "")))
    else:
        lines, intended_error = remediation(net, device, running)
        changes = changed_lines(net, device.platform, backup.text, running) if backup else None
        found = replace(
            known,
            reachable=True,
            remediation=lines,
            intended_error=intended_error,
            backup_changes=changes,
        )
    return replace(found, seconds=time.monotonic() - started)


def read_devices(
    net: ModuleType,
    devices: Sequence[Target],
    repo: Path,
    workers: int = 8,
    timeout: float = 10.0,
) -> list[DeviceFacts]:
    """The facts of ``devices`` (from :func:`targets`), in their order, ``workers`` at a time,
    each conversation at most ``timeout`` s; backups from ``repo``. Returns once every
    session is logged out (or ``timeout`` more seconds have passed)."""
    logouts = Logouts()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="health") as pool:
        found = list(pool.map(lambda one: facts_of(net, one, repo, timeout, logouts), devices))
    logouts.wait(timeout)
    return found


def gather_devices(
    inventory_root: Path,
    passwords: VaultPasswords | None,
    hosts: Sequence[str] | None = None,
    workers: int = 8,
    timeout: float = 10.0,
) -> list[DeviceFacts]:
    """The facts of every switch and firewall of the inventory (only ``hosts`` when given),
    in name order, ``workers`` devices at a time, each conversation at most ``timeout`` s.

    Never raises for a device (its facts say what went wrong); the inventory's own
    problems do (InventoryInvalid, UnknownDevice, ProjectNotFound). Backups are read from
    ``state_path("network-backups")`` of the inventory's project.
    """
    root = Path(inventory_root)
    net = net_utils(find_project(root))
    devices = targets(root, passwords, hosts, timeout)
    return read_devices(net, devices, state_path(BACKUPS, root), workers, timeout)
