"""What the lab asks a running container, through ``podman exec`` (never via its status).

One probe per host answers every question of a healthy ``lab up`` at once: does the
container run a process for us, is systemd up, which host key does sshd serve, is the
lab key the remote user's authorized key with the right owner and modes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from storeops_lab import podman
from storeops_lab.errors import LabError
from storeops_lab.ssh import REMOTE_USER

READY_STATES = ("running", "degraded")
SYSTEMD_TIMEOUT = 60.0
PROBE_TIMEOUT = 10.0

# $1 is the remote user. Every line is key=value; a missing file gives an empty value.
_PROBE = """
d="$(getent passwd "$1" | cut -d: -f6)/.ssh"
echo "systemd=$(systemctl is-system-running 2>/dev/null)"
echo "host_key=$(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null)"
echo "key_access=$(stat -c %U:%a "$d" "$d/authorized_keys" 2>/dev/null | paste -sd' ')"
echo "key_sha256=$(sha256sum < "$d/authorized_keys" 2>/dev/null | cut -d' ' -f1)"
"""

_KEY_INSTALL = """
set -e
d="$(getent passwd "$1" | cut -d: -f6)/.ssh"
install -d -m 0700 -o "$1" -g "$1" "$d"
umask 077
cat > "$d/authorized_keys.tmp"
chown "$1:$1" "$d/authorized_keys.tmp"
mv -f "$d/authorized_keys.tmp" "$d/authorized_keys"
"""


@dataclass(frozen=True)
class Probe:
    systemd: str
    host_key: str
    key_access: str
    key_sha256: str

    @property
    def ready(self) -> bool:
        return self.systemd in READY_STATES

    def has_key(self, public_key: str) -> bool:
        """Is ``public_key`` the only authorized key, file 0600 in a 0700 dir, owned right?"""
        wanted = hashlib.sha256(f"{public_key}\n".encode()).hexdigest()
        access = f"{REMOTE_USER}:700 {REMOTE_USER}:600"
        return self.key_access == access and self.key_sha256 == wanted


def probe(name: str) -> Probe | None:
    """The container's answers, or None if it does not answer (stale, stopped, missing)."""
    try:
        completed = podman.exec_in(
            name, ["sh", "-c", _PROBE, "sh", REMOTE_USER], timeout=PROBE_TIMEOUT
        )
    except podman.PodmanError:
        return None
    if completed.returncode != 0:
        return None
    values = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    return Probe(
        systemd=values.get("systemd") or "unknown",
        host_key=values.get("host_key", ""),
        key_access=values.get("key_access", ""),
        key_sha256=values.get("key_sha256", ""),
    )


def _wait_for_boot(name: str, timeout: float) -> None:
    """Block until systemd finished booting (``is-system-running --wait``) or ``timeout``.

    One blocking exec instead of polling: on two cores, eight containers booting at
    once are slowed down noticeably by a podman exec every fraction of a second.
    """
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            completed = podman.exec_in(
                name, ["systemctl", "is-system-running", "--wait"], timeout=left
            )
        except podman.PodmanError:
            return  # timed out: the caller's probe reports the state
        if completed.stdout.strip():
            return  # a state, whichever: booting is over
        time.sleep(0.5)  # systemd not reachable yet (container just started)


def wait_until_ready(name: str, timeout: float = SYSTEMD_TIMEOUT) -> Probe | None:
    """Wait for systemd to finish booting, then probe; the probe (None: not answering)."""
    _wait_for_boot(name, timeout)
    return probe(name)


def failed_units(name: str) -> list[str]:
    completed = podman.exec_in(
        name, ["systemctl", "list-units", "--state=failed", "--plain", "--no-legend"]
    )
    return [line.split()[0] for line in completed.stdout.splitlines() if line.strip()]


def install_key(name: str, public_key: str) -> None:
    """Make ``public_key`` the remote user's only authorized key."""
    installed = podman.exec_in(
        name, ["sh", "-c", _KEY_INSTALL, "sh", REMOTE_USER], input_text=f"{public_key}\n"
    )
    if installed.returncode != 0:
        raise LabError(f"{name}: could not install the lab key: {installed.stderr.strip()}")
