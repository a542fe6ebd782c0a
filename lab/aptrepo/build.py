#!/usr/bin/env python3
"""Build the lab's signed apt repository: ``lab/.state/aptrepo/debian`` (dists/, pool/).

What it holds (``lab/aptrepo/README.md``): a few small packages in three distributions,
``lab`` (what a store host starts with), ``lab-security`` (security updates) and
``lab-updates`` (a feature update that security patching must not install), so that the
patching playbook installs real packages from a real, signed repository.

Why it is built this way:

* **Reproducible packages**: each package is staged from ``packages/<name>/common/`` and
  ``packages/<name>/<version>/`` with normalised modes (0755 directories, maintainer
  scripts and binaries, 0644 the rest) and every mtime at ``SOURCE_DATE_EPOCH``, then
  ``dpkg-deb --build --root-owner-group`` (sorted entries, single-threaded xz). Two
  builds on one machine give byte-identical .debs. The agent ships a copy of the
  controller's ``/usr/bin/sleep`` (so it is ``Architecture: any``, built for
  ``dpkg --print-architecture``).
* **Signed**: ``reprepro`` signs each distribution's Release (InRelease, Release.gpg) with
  a lab-only OpenPGP key generated on first use, without passphrase, into
  ``lab/.state/aptrepo/gnupg`` (gitignored, per machine). The armored public key goes to
  ``lab/aptrepo/signing-key.asc``, which lab hosts trust (``signed-by``).
* **Rebuilt only when an input changed**: a digest of every input (this script, conf/,
  packages/, the shipped binaries, the key) is kept beside the repository; when it
  matches and the repository is complete, nothing is done.

Usage: ``build.py`` (prints ``built ...`` or ``up to date ...`` on stdout), ``--force``,
``--state DIR`` (repository, database, key), ``--pubkey FILE``. Stdlib only; needs
``dpkg-deb``, ``reprepro`` and ``gpg`` (``lab/host-setup.sh`` installs them).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "packages"
INDEX = PACKAGES / "distributions.txt"
CONF = HERE / "conf"
DEFAULT_STATE = HERE.parent / ".state" / "aptrepo"
DEFAULT_PUBKEY = HERE / "signing-key.asc"
REPOSITORY = "debian"  # under the state directory: what the lab serves
STAMP = "inputs.sha256"
KEY_UID = "storeops lab apt repository (lab only, per machine) <aptrepo@storeops-lab.invalid>"
# 2026-01-01T00:00:00Z, as lab/dms/build.py: every file's mtime in every package.
SOURCE_DATE_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
MAINTAINER_SCRIPTS = frozenset({"preinst", "postinst", "prerm", "postrm", "config"})
# Files a package ships that are not in packages/: copied from the controller at build time.
BINARIES: dict[str, dict[str, Path]] = {
    "storeops-lab-agent": {"usr/lib/storeops-lab-agent/storeops-lab-agent": Path("/usr/bin/sleep")},
}
COMMAND_TIMEOUT = 120


@dataclass(frozen=True)
class PackageFile:
    content: bytes
    mode: int


@dataclass(frozen=True)
class PackageSource:
    """One version of one package, in one distribution."""

    name: str
    version: str
    distribution: str

    def trees(self) -> list[Path]:
        return [PACKAGES / self.name / "common", PACKAGES / self.name / self.version]

    def files(self) -> dict[str, PackageFile]:
        """Package path -> content and normalised mode (the version's files win)."""
        files: dict[str, PackageFile] = {}
        for tree in self.trees():
            for path in sorted(tree.rglob("*")) if tree.is_dir() else []:
                if path.is_file():
                    relative = path.relative_to(tree).as_posix()
                    files[relative] = PackageFile(path.read_bytes(), _mode(relative))
        for relative, source in BINARIES.get(self.name, {}).items():
            files[relative] = PackageFile(source.read_bytes(), 0o755)
        if "DEBIAN/control" not in files:
            raise SystemExit(f"{self.name} {self.version}: no DEBIAN/control in {self.trees()}")
        return files


def _mode(relative: str) -> int:
    parts = relative.split("/")
    if parts[0] == "DEBIAN" and parts[-1] in MAINTAINER_SCRIPTS:
        return 0o755
    return 0o644


def load_index(index: Path = INDEX) -> list[PackageSource]:
    sources = []
    for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 3:
            raise SystemExit(f"{index}:{number}: want 'package version distribution'")
        sources.append(PackageSource(*words))
    return sources


def run(argv: list[str], env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` failed: {completed.stderr.strip()}")
    return completed.stdout


def native_architecture() -> str:
    return run(["dpkg", "--print-architecture"]).strip()


def control_text(control: bytes, files: dict[str, PackageFile], architecture: str) -> bytes:
    """The control file as shipped: ``Architecture: any`` becomes the build machine's (as
    dpkg-gencontrol does) and ``Installed-Size`` is added (KiB, as dpkg counts it)."""
    lines = control.decode().rstrip("\n").split("\n")
    lines = [
        f"Architecture: {architecture}" if line == "Architecture: any" else line for line in lines
    ]
    size = sum(
        -(-len(f.content) // 1024) for path, f in files.items() if not path.startswith("DEBIAN/")
    )
    description = next(i for i, line in enumerate(lines) if line.startswith("Description:"))
    lines.insert(description, f"Installed-Size: {max(size, 1)}")
    return ("\n".join(lines) + "\n").encode()


def stage(files: dict[str, PackageFile], root: Path, architecture: str) -> None:
    """Write the package tree with fixed modes and mtimes (directories 0755)."""
    for relative, item in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        content = item.content
        if relative == "DEBIAN/control":
            content = control_text(content, files, architecture)
        path.write_bytes(content)
        path.chmod(item.mode)
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        os.utime(path, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH))


def build_deb(source: PackageSource, out: Path, architecture: str) -> Path:
    files = source.files()
    arch = "all" if b"\nArchitecture: all\n" in files["DEBIAN/control"].content else architecture
    deb = out / f"{source.name}_{source.version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="aptrepo-stage-") as tmp:
        root = Path(tmp) / "root"
        stage(files, root, architecture)
        run(
            [
                "dpkg-deb",
                "--build",
                "--root-owner-group",
                "-Zxz",
                "--threads-max=1",
                str(root),
                str(deb),
            ],
            env={"SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)},
        )
    return deb


# ---------------------------------------------------------------------------- signing key


def _gpg(gnupghome: Path, *args: str) -> str:
    return run(["gpg", "--homedir", str(gnupghome), "--batch", "--no-tty", *args])


def key_fingerprint(gnupghome: Path) -> str | None:
    if not gnupghome.is_dir():
        return None
    listing = subprocess.run(
        ["gpg", "--homedir", str(gnupghome), "--batch", "--with-colons", "--list-secret-keys"],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    ).stdout
    fingerprints = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")]
    return fingerprints[0] if fingerprints else None


def ensure_key(gnupghome: Path, pubkey: Path) -> str:
    """The lab signing key (generated on first use); its armored public key in ``pubkey``."""
    fingerprint = key_fingerprint(gnupghome)
    if fingerprint is None:
        gnupghome.mkdir(parents=True, exist_ok=True, mode=0o700)
        gnupghome.chmod(0o700)
        _gpg(gnupghome, "--passphrase", "", "--quick-gen-key", KEY_UID, "ed25519", "sign", "never")
        fingerprint = key_fingerprint(gnupghome)
        if fingerprint is None:
            raise SystemExit(f"gpg made no key in {gnupghome}")
        print(f"generated the lab apt signing key {fingerprint} in {gnupghome}", file=sys.stderr)
    public = _gpg(gnupghome, "--armor", "--export", fingerprint).encode()
    if not pubkey.is_file() or pubkey.read_bytes() != public:
        pubkey.write_bytes(public)
    return fingerprint


def stop_agent(gnupghome: Path) -> None:
    """gpg leaves a gpg-agent running per GNUPGHOME: stop it (nothing to cache here)."""
    subprocess.run(
        ["gpgconf", "--homedir", str(gnupghome), "--kill", "gpg-agent"],
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


# ---------------------------------------------------------------------------- repository


def inputs_digest(sources: list[PackageSource], fingerprint: str, architecture: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{fingerprint} {architecture} {SOURCE_DATE_EPOCH}\n".encode())
    inputs = [Path(__file__).resolve(), INDEX, *sorted(CONF.rglob("*"))]
    for path in inputs:
        if path.is_file():
            digest.update(f"{path.relative_to(HERE)}\n".encode() + path.read_bytes())
    for source in sources:
        digest.update(f"{source.name} {source.version} {source.distribution}\n".encode())
        for relative, item in source.files().items():
            digest.update(f"{relative} {item.mode:o}\n".encode() + item.content)
    return digest.hexdigest()


def distributions(sources: list[PackageSource]) -> list[str]:
    return sorted({source.distribution for source in sources})


def complete(repository: Path, sources: list[PackageSource]) -> bool:
    return all(
        (repository / "dists" / name / signed).is_file()
        for name in distributions(sources)
        for signed in ("InRelease", "Release.gpg")
    )


def _stamped(stamp: Path) -> str | None:
    return stamp.read_text().strip() if stamp.is_file() else None


def reprepro(state: Path, gnupghome: Path, *args: str) -> None:
    run(
        [
            "reprepro",
            "--silent",
            "--confdir",
            str(CONF),
            "--dbdir",
            str(state / "db"),
            "--outdir",
            str(state / REPOSITORY),
            *args,
        ],
        env={"GNUPGHOME": str(gnupghome)},
    )


def build_repository(state: Path, pubkey: Path, force: bool = False) -> str | None:
    """Build the repository if an input changed; return what was built, or None."""
    state.mkdir(parents=True, exist_ok=True)
    gnupghome = state / "gnupg"
    sources = load_index()
    architecture = native_architecture()
    try:
        fingerprint = ensure_key(gnupghome, pubkey)
        digest = inputs_digest(sources, fingerprint, architecture)
        stamp = state / STAMP
        repository = state / REPOSITORY
        if not force and complete(repository, sources) and _stamped(stamp) == digest:
            return None
        stamp.unlink(missing_ok=True)
        for old in (repository, state / "db"):
            shutil.rmtree(old, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="aptrepo-debs-") as debs:
            for source in sources:
                deb = build_deb(source, Path(debs), architecture)
                reprepro(
                    state, gnupghome, "--export=never", "includedeb", source.distribution, str(deb)
                )
        reprepro(state, gnupghome, "export")  # once, every distribution signed
        stamp.write_text(f"{digest}\n")
    finally:
        stop_agent(gnupghome)
    return (
        f"{len(sources)} packages in {', '.join(distributions(sources))}, signed by {fingerprint}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--pubkey", type=Path, default=DEFAULT_PUBKEY)
    args = parser.parse_args(argv)
    started = time.monotonic()
    built = build_repository(args.state, args.pubkey, force=args.force)
    repository = args.state / REPOSITORY
    if built is None:
        print(f"up to date: {repository}")
    else:
        print(f"built {repository}: {built} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
