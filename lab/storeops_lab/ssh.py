"""The controller's SSH material for the lab, under ``lab/.state/ssh/`` (gitignored).

``id_ed25519`` is generated at the first ``lab up``; ``known_hosts`` holds each lab
host's own host key, read through podman (a trusted side channel), so that Ansible and
the checks here connect with ``StrictHostKeyChecking=yes``; ``config`` lets people type
``ssh -F lab/.state/ssh/config sh01-db``.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from storeops.paths import LAB_STATE_DIR

REMOTE_USER = "storeops"
KEY_COMMENT = "storeops-lab"


@dataclass(frozen=True)
class SshFiles:
    directory: Path

    @property
    def key(self) -> Path:
        return self.directory / "id_ed25519"

    @property
    def public_key(self) -> Path:
        return self.directory / "id_ed25519.pub"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def config(self) -> Path:
        return self.directory / "config"


def default_ssh_files() -> SshFiles:
    return SshFiles(LAB_STATE_DIR / "ssh")


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Atomically write ``text`` unless the file already holds it; True if it changed."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.chmod(mode)
    temporary.replace(path)
    return True


def ensure_key(files: SshFiles) -> list[str]:
    """The lab keypair (and its public half if that was lost); the actions taken."""
    files.directory.mkdir(parents=True, exist_ok=True)
    files.directory.chmod(0o700)
    if not files.key.exists():
        files.public_key.unlink(missing_ok=True)
        command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", KEY_COMMENT]
        subprocess.run([*command, "-f", str(files.key)], check=True, timeout=30)
        return [f"generated the lab SSH key {files.key}"]
    if not files.public_key.exists():
        public = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(files.key)],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        files.public_key.write_text(public)
        return [f"restored {files.public_key}"]
    return []


def ssh_command(files: SshFiles, address: ipaddress.IPv4Address, *remote: str) -> list[str]:
    """SSH as Ansible does it: the lab key, strict host key checking, never a prompt."""
    return [
        "ssh",
        "-F", "/dev/null",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={files.known_hosts}",
        "-o", "IdentitiesOnly=yes",
        "-o", "ConnectTimeout=5",
        "-o", "LogLevel=ERROR",
        "-i", str(files.key),
        f"{REMOTE_USER}@{address}",
        *remote,
    ]  # fmt: skip


def ssh_login(files: SshFiles, address: ipaddress.IPv4Address) -> tuple[bool, str]:
    """One real SSH login running ``true``: (succeeded, error text)."""
    try:
        completed = subprocess.run(
            ssh_command(files, address, "true"),
            capture_output=True,
            text=True,
            timeout=15,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, "ssh timed out"
    return completed.returncode == 0, completed.stderr.strip()


def wait_for_ssh(files: SshFiles, address: ipaddress.IPv4Address, timeout: float) -> str | None:
    """None once a login succeeds; the last error if none did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        ok, error = ssh_login(files, address)
        if ok:
            return None
        if time.monotonic() >= deadline:
            return error or "ssh failed"
        time.sleep(0.5)


def known_hosts_text(existing: str, entries: Mapping[str, str]) -> str:
    """``existing`` with every line for one of ``entries``' names replaced by ours.

    ``entries`` maps a name (an address or a host name) to ``<type> <key>``. Lines for
    other names (e.g. another inventory's lab) are kept as they are.
    """
    kept = [
        line
        for line in existing.splitlines()
        if line.strip() and set(line.split()[0].split(",")).isdisjoint(entries)
    ]
    ours = [f"{name} {key}" for name, key in entries.items()]
    return "\n".join([*kept, *ours]) + "\n"


def ssh_config_text(
    root: Path, hosts: Sequence[tuple[str, ipaddress.IPv4Address]], files: SshFiles
) -> str:
    """An ssh_config with one block per (host name, address)."""
    blocks = [f"# Written by `storeops lab up` for {root}. Do not edit.\n"]
    blocks += [
        f"Host {name} {address}\n"
        f"    HostName {address}\n"
        f"    User {REMOTE_USER}\n"
        f"    IdentityFile {files.key.resolve()}\n"
        f"    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {files.known_hosts.resolve()}\n"
        f"    StrictHostKeyChecking yes\n"
        for name, address in hosts
    ]
    return "\n".join(blocks)
