"""The lab apt repository served as ``lab up`` serves it, and apt using it with signatures.

The repository is built into tmp_path (a temporary key), served by the lab's own
StaticServer on a free 127.0.0.1 port, and read by the controller's apt-get with a private
configuration (its own lists, cache, status and sources; no system keyring): it must
verify the signatures and offer the right candidate versions.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeops_lab import aptrepo
from storeops_lab.httpserver import StaticServer
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("reprepro", "gpg", "apt-get")),
    reason="needs reprepro, gpg and apt-get (lab/host-setup.sh installs them)",
)
PACKAGES = ("storeops-lab-agent", "storeops-lab-kernel", "storedms-runtime")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StaticServer, Path]]:
    state = tmp_path_factory.mktemp("apt")
    key = state / "signing-key.asc"
    subprocess.run(
        [sys.executable, REPO / "lab/aptrepo/build.py", "--state", state, "--pubkey", key],
        check=True,
        capture_output=True,
    )
    server = StaticServer(
        what="apt repository",
        host="127.0.0.1",
        port=free_port(),
        directory=state / "debian",
        pid_file=state / "server.pid",
        log_file=state / "server.log",
        probe="dists/lab/InRelease",
    )
    server.start()
    try:
        yield server, key
    finally:
        server.stop()


def apt(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """apt-get/apt-cache with everything under ``root`` (never the machine's own state)."""
    options = {
        "Dir::State": root / "state",
        "Dir::State::status": root / "status",
        "Dir::Cache": root / "cache",
        "Dir::Etc::SourceList": root / "sources.list",
        "Dir::Etc::SourceParts": root / "empty",
        "Dir::Etc::Parts": root / "empty",
        "Dir::Etc::Preferences": root / "preferences",
        "Dir::Etc::PreferencesParts": root / "empty",
        "Dir::Etc::Trusted": root / "trusted.gpg",
        "Dir::Etc::TrustedParts": root / "empty",
        "APT::Sandbox::User": "root",
        "Debug::NoLocking": "1",
        "Acquire::Retries": "0",
    }
    command = [args[0], *(f"-o{key}={value}" for key, value in options.items()), *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def apt_root(tmp_path: Path, url: str, key: Path, distributions: list[str]) -> Path:
    for folder in ("state/lists/partial", "cache/archives/partial", "empty"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "status").touch()
    (tmp_path / "sources.list").write_text(
        "".join(f"deb [signed-by={key}] {url} {name} main\n" for name in distributions)
    )
    return tmp_path


def candidates(root: Path) -> dict[str, str]:
    policy = apt(root, "apt-cache", "policy", *PACKAGES)
    assert policy.returncode == 0, policy.stderr
    found, package = {}, ""
    for line in policy.stdout.splitlines():
        if not line.startswith(" "):
            package = line.rstrip(":")
        elif line.strip().startswith("Candidate:"):
            found[package] = line.split(":", 1)[1].strip()
    return found


def test_the_lab_url_of_a_store_is_its_gateway_on_port_8809() -> None:
    assert aptrepo.url(ipaddress.IPv4Address("10.77.1.1")) == "http://10.77.1.1:8809/"


def test_apt_verifies_the_repository_and_security_patching_sees_its_updates(
    served: tuple[StaticServer, Path], tmp_path: Path
) -> None:
    server, key = served
    root = apt_root(tmp_path, f"{server.url}/", key, ["lab", "lab-security"])
    update = apt(root, "apt-get", "update")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "W:" not in update.stderr and "NO_PUBKEY" not in update.stderr, update.stderr
    assert candidates(root) == {
        "storeops-lab-agent": "1.1",
        "storeops-lab-kernel": "1.1",
        "storedms-runtime": "1.0",  # 2.0 is in lab-updates, not a security update
    }


def test_the_feature_update_is_only_in_lab_updates(
    served: tuple[StaticServer, Path], tmp_path: Path
) -> None:
    server, key = served
    root = apt_root(tmp_path, f"{server.url}/", key, ["lab", "lab-updates"])
    assert apt(root, "apt-get", "update").returncode == 0
    assert candidates(root) == {
        "storeops-lab-agent": "1.0",
        "storeops-lab-kernel": "1.0",
        "storedms-runtime": "2.0",
    }


def test_apt_refuses_the_repository_with_another_key(
    served: tuple[StaticServer, Path], tmp_path: Path
) -> None:
    server, _ = served
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(
        [
            sys.executable,
            REPO / "lab/aptrepo/build.py",
            "--state",
            other,
            "--pubkey",
            other / "k.asc",
        ],
        check=True,
        capture_output=True,
    )
    root = apt_root(tmp_path / "apt", f"{server.url}/", other / "k.asc", ["lab"])
    update = apt(root, "apt-get", "update")
    assert "NO_PUBKEY" in update.stderr or "is not signed" in update.stderr, update.stderr
    assert candidates(root) == {}  # apt keeps no list of a repository it cannot verify
