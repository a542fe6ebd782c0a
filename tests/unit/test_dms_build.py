"""The reference DMS release build: reproducible artifacts, signatures, catalog entries.

Builds the five releases into a temporary folder with a temporary signing key (the
machine's lab key in lab/.state is left alone) and checks what the rollout relies on.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

BUILD = REPO / "lab" / "dms" / "build.py"
VERIFY = REPO / "lab" / "dms" / "verify.py"
VERSIONS = ("3.1.0", "3.2.0", "3.2.1", "3.2.2", "4.0.0")

Built = tuple[Path, Path, str]  # the dist directory, the key directory, the printed catalog


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, check=False
    )


def build(dist: Path, keys: Path) -> subprocess.CompletedProcess[str]:
    result = run(
        BUILD,
        "--catalog",
        "--dist",
        dist,
        "--key-dir",
        keys / "private",
        "--pubkey",
        keys / "signing-key.pub",
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("dms")
    result = build(root / "dist", root / "keys")
    return root / "dist", root / "keys", result.stdout


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_release_has_artifact_digest_and_signature(built: Built) -> None:
    dist, _, _ = built
    for version in VERSIONS:
        artifact = dist / f"dms-{version}.tar.gz"
        assert (
            dist / f"{artifact.name}.sha256"
        ).read_text() == f"{sha256(artifact)}  {artifact.name}\n"
        assert len((dist / f"{artifact.name}.sig").read_bytes()) == 64


def test_rebuild_gives_the_same_sha256_even_with_another_key(built: Built, tmp_path: Path) -> None:
    dist, _, _ = built
    build(tmp_path / "dist", tmp_path / "other-keys")
    for version in VERSIONS:
        name = f"dms-{version}.tar.gz"
        assert sha256(tmp_path / "dist" / name) == sha256(dist / name)


def test_tarball_entries_are_normalised(built: Built) -> None:
    dist, _, _ = built
    with tarfile.open(dist / "dms-3.2.0.tar.gz") as tar:
        members = tar.getmembers()
        version = tar.extractfile("storedms/VERSION").read()  # type: ignore[union-attr]
    names = [member.name for member in members]
    assert names == sorted(names)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
        (0, 0, "root", "root", 1767225600)
    }
    assert {m.mode for m in members if m.isfile()} == {0o644}
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert version == b"3.2.0\n"
    assert "storedms/migrations/0002_split_customer_name.down.sql" in names
    assert "storedms/migrations/0003_work_order_status.up.sql" not in names  # 4.0.0's
    assert (dist / "dms-3.2.0.tar.gz").read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0


def test_signature_verifies(built: Built) -> None:
    dist, keys, _ = built
    artifact = dist / "dms-3.2.0.tar.gz"
    result = run(
        VERIFY, artifact, f"{artifact}.sig", keys / "signing-key.pub", "--sha256", sha256(artifact)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK dms-3.2.0.tar.gz")


def test_one_changed_byte_is_refused(built: Built, tmp_path: Path) -> None:
    dist, keys, _ = built
    data = bytearray((dist / "dms-3.2.0.tar.gz").read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "dms-3.2.0.tar.gz"
    tampered.write_bytes(bytes(data))
    result = run(VERIFY, tampered, dist / "dms-3.2.0.tar.gz.sig", keys / "signing-key.pub")
    assert result.returncode == 1
    assert "BAD SIGNATURE" in result.stderr and "refusing" in result.stderr


def test_catalog_digest_mismatch_is_refused(built: Built) -> None:
    dist, keys, _ = built
    artifact = dist / "dms-3.2.0.tar.gz"
    result = run(
        VERIFY, artifact, f"{artifact}.sig", keys / "signing-key.pub", "--sha256", "0" * 64
    )
    assert result.returncode == 1
    assert "does not match the catalog" in result.stderr


def test_unsigned_artifact_is_refused(built: Built, tmp_path: Path) -> None:
    dist, keys, _ = built
    result = run(
        VERIFY, dist / "dms-3.2.0.tar.gz", tmp_path / "missing.sig", keys / "signing-key.pub"
    )
    assert result.returncode == 2
    assert "UNSIGNED" in result.stderr


def test_another_key_is_refused(built: Built, tmp_path: Path) -> None:
    dist, _, _ = built
    build(tmp_path / "dist", tmp_path / "other-keys")
    artifact = dist / "dms-3.2.0.tar.gz"
    result = run(VERIFY, artifact, f"{artifact}.sig", tmp_path / "other-keys" / "signing-key.pub")
    assert result.returncode == 1


def test_private_key_is_private_and_reused(built: Built) -> None:
    dist, keys, _ = built
    key_files = list((keys / "private").iterdir())
    assert len(key_files) == 1 and key_files[0].stat().st_mode & 0o077 == 0
    assert (keys / "signing-key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    signature = (dist / "dms-3.1.0.tar.gz.sig").read_bytes()
    build(dist, keys)  # same key again: ed25519 is deterministic, the signature is unchanged
    assert (dist / "dms-3.1.0.tar.gz.sig").read_bytes() == signature


def test_catalog_lists_the_five_releases_and_their_upgrade_paths(built: Built) -> None:
    dist, _, stdout = built
    catalog = yaml.safe_load(io.StringIO(stdout))["dms_catalog"]
    assert [(r["version"], r["upgrade_from"], r["migrations"]) for r in catalog] == [
        ("3.1.0", [], ["0001_initial"]),
        ("3.2.0", ["3.1.0"], ["0002_split_customer_name"]),
        ("3.2.1", ["3.2.0"], []),
        ("3.2.2", ["3.2.0"], []),
        ("4.0.0", ["3.2.*"], ["0003_work_order_status"]),
    ]
    for release in catalog:
        assert release["artifact"] == f"dms-{release['version']}.tar.gz"
        assert release["signature"] == f"{release['artifact']}.sig"
        assert release["sha256"] == sha256(dist / release["artifact"])
    assert (dist / "catalog.yml").read_text() == stdout


def test_catalog_entries_pass_the_inventory_schema(built: Built) -> None:
    """The printed entries are valid catalog entries for storeops' own schema."""
    from storeops.schema import Release

    _, _, stdout = built
    for entry in yaml.safe_load(stdout)["dms_catalog"]:
        Release.model_validate(entry)


def test_lab_inventory_catalog_matches_the_build(built: Built) -> None:
    """inventory/lab's catalog is what lab/dms builds: a source change needs a catalog update."""
    _, _, stdout = built
    expected = yaml.safe_load(stdout)["dms_catalog"]
    inventory = REPO / "inventory" / "lab" / "group_vars" / "all" / "dms_catalog.yml"
    assert yaml.safe_load(inventory.read_text())["dms_catalog"] == expected, (
        "run `lab/dms/build.py --catalog` and copy its entries into " + str(inventory)
    )
