"""Release download and verification against a real HTTP portal on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from storeops.artifacts import EXIT_BAD, EXIT_MISSING, VerifyError, fetch_verified
from storeops.schema import Release
from tests.conftest import REPO

Built = tuple[Path, Path, list[Release]]  # the dist directory, the public key, the catalog
Portal = tuple[str, Path]  # the portal's URL, the directory it serves


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("dms")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "lab/dms/build.py"),
            "--catalog",
            "--dist",
            str(root / "dist"),
            "--key-dir",
            str(root / "keys"),
            "--pubkey",
            str(root / "signing.pub"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    catalog = [Release.model_validate(e) for e in yaml.safe_load(done.stdout)["dms_catalog"]]
    return root / "dist", root / "signing.pub", catalog


@pytest.fixture
def portal(built: Built, tmp_path: Path) -> Iterator[Portal]:
    """An HTTP server on 127.0.0.1 serving a copy of the built releases."""
    served = tmp_path / "portal"
    shutil.copytree(built[0], served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def release(built: Built, version: str) -> Release:
    return next(r for r in built[2] if r.version == version)


def test_download_verify_then_cached(built: Built, portal: Portal, tmp_path: Path) -> None:
    url, _ = portal
    first = fetch_verified(url, release(built, "3.2.0"), built[1], tmp_path / "cache")
    assert first.downloaded
    assert first.sha256 == release(built, "3.2.0").sha256
    again = fetch_verified(url, release(built, "3.2.0"), built[1], tmp_path / "cache")
    assert not again.downloaded


def test_tampered_artifact_on_the_portal_is_refused(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    url, served = portal
    artifact = served / "dms-3.2.0.tar.gz"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(VerifyError, match="does not match the catalog") as refused:
        fetch_verified(url, release(built, "3.2.0"), built[1], tmp_path / "cache")
    assert refused.value.exit_code == EXIT_BAD


def test_tampered_artifact_in_the_cache_is_fetched_again_and_verified(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    url, _ = portal
    cache = tmp_path / "cache"
    fetch_verified(url, release(built, "3.1.0"), built[1], cache)
    (cache / "dms-3.1.0.tar.gz").write_bytes(b"not the release")
    again = fetch_verified(url, release(built, "3.1.0"), built[1], cache)
    assert again.downloaded


def test_cached_signature_from_another_key_is_replaced_by_the_portals(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    """A cache left by another checkout (its own lab key) must not poison this one."""
    url, _ = portal
    cache = tmp_path / "cache"
    fetch_verified(url, release(built, "3.1.0"), built[1], cache)
    (cache / "dms-3.1.0.tar.gz.sig").write_bytes(bytes(64))
    again = fetch_verified(url, release(built, "3.1.0"), built[1], cache)
    assert not again.downloaded
    assert again.sha256 == release(built, "3.1.0").sha256


def test_resigned_artifact_with_a_matching_catalog_entry_is_refused(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    """A re-signed artifact (someone else's key) fails the signature, even if digests match."""
    url, served = portal
    (served / "dms-3.2.0.tar.gz.sig").write_bytes(bytes(64))
    with pytest.raises(VerifyError, match="BAD SIGNATURE"):
        fetch_verified(url, release(built, "3.2.0"), built[1], tmp_path / "cache")


def test_unsigned_release_is_refused(built: Built, portal: Portal, tmp_path: Path) -> None:
    url, served = portal
    (served / "dms-4.0.0.tar.gz.sig").unlink()
    with pytest.raises(VerifyError, match="cannot download") as refused:
        fetch_verified(url, release(built, "4.0.0"), built[1], tmp_path / "cache")
    assert refused.value.exit_code == EXIT_MISSING
    unsigned = release(built, "4.0.0").model_copy(update={"signature": None})
    with pytest.raises(VerifyError, match="UNSIGNED"):
        fetch_verified(url, unsigned, built[1], tmp_path / "cache")


def test_portal_down_is_a_clear_error(built: Built, tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match=r"cannot download http://127\.0\.0\.1:9/"):
        fetch_verified("http://127.0.0.1:9", release(built, "3.1.0"), built[1], tmp_path / "cache")


def test_a_name_outside_the_cache_is_refused_before_anything_is_written(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    """The controller holds on its own, even for a catalog entry the schema never checked."""
    url, _ = portal
    hostile = release(built, "3.2.0").model_construct(
        **{**release(built, "3.2.0").model_dump(), "artifact": "../../escaped.tar.gz"}
    )
    with pytest.raises(VerifyError, match="not a plain file name") as refused:
        fetch_verified(url, hostile, built[1], tmp_path / "a" / "b" / "cache")
    assert refused.value.exit_code == EXIT_BAD
    assert not (tmp_path / "a" / "escaped.tar.gz").exists()


def test_a_symlink_in_the_cache_pointing_outside_is_refused(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    url, _ = portal
    cache, outside = tmp_path / "cache", tmp_path / "outside.txt"
    cache.mkdir()
    outside.write_text("keep me\n")
    (cache / "dms-3.2.0.tar.gz").symlink_to(outside)
    with pytest.raises(VerifyError, match="outside the cache"):
        fetch_verified(url, release(built, "3.2.0"), built[1], cache)
    assert outside.read_text() == "keep me\n"


def test_a_refused_download_never_lands_under_its_name(
    built: Built, portal: Portal, tmp_path: Path
) -> None:
    url, served = portal
    artifact = served / "dms-3.2.0.tar.gz"
    artifact.write_bytes(artifact.read_bytes() + b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(VerifyError):
        fetch_verified(url, release(built, "3.2.0"), built[1], cache)
    assert sorted(p.name for p in cache.iterdir()) == []
