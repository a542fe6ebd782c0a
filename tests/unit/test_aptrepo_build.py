"""The lab apt repository build (lab/aptrepo/build.py): packages, reproducibility, signatures.

Builds into a temporary folder with a temporary signing key (the machine's lab key in
lab/.state/aptrepo is left alone) and checks what lab hosts and the patching role rely on.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BUILD = REPO / "lab" / "aptrepo" / "build.py"
ARCH = subprocess.run(
    ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
).stdout.strip()
# package, version, distribution, architecture
PACKAGES = [
    ("storeops-lab-agent", "1.0", "lab", ARCH),
    ("storeops-lab-agent", "1.1", "lab-security", ARCH),
    ("storeops-lab-kernel", "1.0", "lab", "all"),
    ("storeops-lab-kernel", "1.1", "lab-security", "all"),
    ("storedms-runtime", "1.0", "lab", "all"),
    ("storedms-runtime", "2.0", "lab-updates", "all"),
]
DISTRIBUTIONS = {"lab": "storeops-lab", "lab-security": "storeops-lab-security"}
DISTRIBUTIONS["lab-updates"] = "storeops-lab-updates"

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("reprepro", "gpg", "gpgv", "dpkg-deb")),
    reason="needs reprepro, gpg, gpgv and dpkg-deb (lab/host-setup.sh installs them)",
)


def build(state: Path, *options: str) -> str:
    result = subprocess.run(
        [sys.executable, BUILD, "--state", state, "--pubkey", state / "key.asc", *options],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("apt")
    assert build(state).startswith(f"built {state / 'debian'}: 6 packages")
    return state


def deb(state: Path, name: str, version: str, arch: str) -> Path:
    return state / "debian" / "pool" / "main" / name[0] / name / f"{name}_{version}_{arch}.deb"


def dpkg_deb(*args: object) -> str:
    return subprocess.run(
        ["dpkg-deb", *map(str, args)], capture_output=True, text=True, check=True
    ).stdout


def contents(path: Path) -> dict[str, str]:
    """Path in the package -> its tar listing's mode and owner columns."""
    listing = {}
    for line in dpkg_deb("-c", path).splitlines():
        mode, owner, *_, name = line.split()
        listing[name.removeprefix(".")] = f"{mode} {owner}"
    return listing


def gpgv(state: Path, signed: Path, *detached: Path) -> subprocess.CompletedProcess[str]:
    keyring = state / "keyring.gpg"
    if not keyring.exists():
        armored = (state / "key.asc").read_bytes()
        dearmored = subprocess.run(
            ["gpg", "--dearmor"], input=armored, capture_output=True, check=True
        )
        keyring.write_bytes(dearmored.stdout)
    return subprocess.run(
        ["gpgv", "--keyring", str(keyring), *map(str, detached), str(signed)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("name", "version", "distribution", "arch"), PACKAGES)
def test_each_package_has_its_control_fields(
    state: Path, name: str, version: str, distribution: str, arch: str
) -> None:
    path = deb(state, name, version, arch)
    fields = dpkg_deb("-f", path, "Package", "Version", "Architecture", "Maintainer")
    assert fields.splitlines() == [
        f"Package: {name}",
        f"Version: {version}",
        f"Architecture: {arch}",
        "Maintainer: storeops lab <lab@storeops.invalid>",
    ]
    assert int(dpkg_deb("-f", path, "Installed-Size")) >= 1
    packages = state / "debian" / "dists" / distribution / "main" / f"binary-{ARCH}" / "Packages"
    assert f"Package: {name}\nVersion: {version}\n" in packages.read_text()


def test_the_agent_ships_the_sleep_binary_its_unit_and_version(state: Path) -> None:
    path = deb(state, "storeops-lab-agent", "1.1", ARCH)
    listing = contents(path)
    assert listing["/usr/lib/storeops-lab-agent/storeops-lab-agent"] == "-rwxr-xr-x root/root"
    assert listing["/lib/systemd/system/storeops-lab-agent.service"] == "-rw-r--r-- root/root"
    assert listing["/usr/share/storeops-lab-agent/version"] == "-rw-r--r-- root/root"
    tree = state / "agent"
    subprocess.run(["dpkg-deb", "-R", str(path), str(tree)], check=True)
    binary = tree / "usr/lib/storeops-lab-agent/storeops-lab-agent"
    assert binary.read_bytes() == Path("/usr/bin/sleep").read_bytes()
    assert (tree / "usr/share/storeops-lab-agent/version").read_text() == "1.1\n"
    unit = (tree / "lib/systemd/system/storeops-lab-agent.service").read_text()
    assert "ExecStart=/usr/lib/storeops-lab-agent/storeops-lab-agent infinity" in unit
    postinst = (tree / "DEBIAN/postinst").read_text()
    assert "deb-systemd-helper enable" in postinst and "deb-systemd-invoke start" in postinst
    assert "invoke restart" not in postinst and "try-restart" not in postinst  # not on upgrade
    assert (tree / "DEBIAN/postinst").stat().st_mode & 0o777 == 0o755


def test_the_kernel_stand_in_flags_a_reboot_and_the_runtime_its_abi(state: Path) -> None:
    tree = state / "kernel"
    subprocess.run(
        ["dpkg-deb", "-R", str(deb(state, "storeops-lab-kernel", "1.1", "all")), str(tree)],
        check=True,
    )
    postinst = (tree / "DEBIAN/postinst").read_text()
    assert "/run/reboot-required\n" in postinst
    assert '"${DPKG_MAINTSCRIPT_PACKAGE:-storeops-lab-kernel}" >>/run/reboot-required.pkgs' in (
        postinst
    )
    for version, abi in (("1.0", "1"), ("2.0", "2")):
        runtime = state / f"runtime-{version}"
        path = deb(state, "storedms-runtime", version, "all")
        subprocess.run(["dpkg-deb", "-x", str(path), str(runtime)], check=True)
        assert (runtime / "usr/share/storedms-runtime/abi").read_text() == f"{abi}\n"


def test_every_entry_has_the_fixed_mtime_and_root_owner(state: Path) -> None:
    for name, version, _, arch in PACKAGES:
        for line in dpkg_deb("-c", deb(state, name, version, arch)).splitlines():
            assert " root/root " in line and " 2026-01-01 00:00 " in line, line


def test_a_rebuild_gives_byte_identical_packages(state: Path, tmp_path: Path) -> None:
    build(tmp_path)  # another key, another folder
    for name, version, _, arch in PACKAGES:
        first = hashlib.sha256(deb(state, name, version, arch).read_bytes()).hexdigest()
        again = hashlib.sha256(deb(tmp_path, name, version, arch).read_bytes()).hexdigest()
        assert first == again, name


def test_an_up_to_date_repository_is_left_alone(state: Path) -> None:
    release = state / "debian" / "dists" / "lab" / "InRelease"
    before = release.read_bytes()
    assert build(state).startswith("up to date")
    assert release.read_bytes() == before


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_each_release_is_signed_by_the_exported_key(state: Path, distribution: str) -> None:
    dists = state / "debian" / "dists" / distribution
    assert gpgv(state, dists / "InRelease").returncode == 0
    assert gpgv(state, dists / "Release", dists / "Release.gpg").returncode == 0
    release = (dists / "Release").read_text()
    assert "Origin: storeops-lab\n" in release
    assert f"Label: {DISTRIBUTIONS[distribution]}\n" in release
    assert f"Codename: {distribution}\n" in release


def test_a_tampered_release_fails_verification(state: Path, tmp_path: Path) -> None:
    dists = state / "debian" / "dists" / "lab-security"
    release = tmp_path / "Release"
    release.write_text((dists / "Release").read_text().replace("storeops-lab", "storeops-evil"))
    assert gpgv(state, release, dists / "Release.gpg").returncode != 0
    inrelease = tmp_path / "InRelease"
    inrelease.write_text((dists / "InRelease").read_text().replace("Codename: lab", "Codename: x"))
    assert gpgv(state, inrelease).returncode != 0


def test_the_private_key_stays_in_the_state_folder(state: Path) -> None:
    gnupghome = state / "gnupg"
    assert gnupghome.stat().st_mode & 0o777 == 0o700
    assert "PRIVATE" not in (state / "key.asc").read_text()
    assert (state / "key.asc").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
