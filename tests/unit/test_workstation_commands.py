"""The shell side of the deploys: CUPS parsing, lpadmin, and the encrypted home archive.

The archive pipeline runs here for real (tar and openssl on a home made in a temporary
directory): it is the one piece of shell whose failure would lose an employee's data.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from storeops.workstation.commands import (
    archive_home_command,
    archive_name,
    lpadmin_queue,
    parse_lpstat,
    remove_account_commands,
    restore_command,
)

PASSWORD = "store-backup-secret"
needs_tools = pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("tar") is None, reason="needs tar and openssl"
)


def test_lpstat_output_is_parsed() -> None:
    lines = [
        "device for sh01-office: ipp://10.77.1.110/ipp/print",
        "device for pdf: cups-pdf:/",
        "system default destination: sh01-office",
    ]
    assert parse_lpstat(lines) == {
        "queues": {"sh01-office": "ipp://10.77.1.110/ipp/print", "pdf": "cups-pdf:/"},
        "default": "sh01-office",
    }
    assert parse_lpstat(["no system default destination"]) == {"queues": {}, "default": None}


def test_the_queue_is_enabled_and_not_shared() -> None:
    printer = {"name": "sh01-office", "uri": "ipp://10.77.1.110/ipp/print", "driver": "everywhere"}
    assert lpadmin_queue({**printer, "location": "1F", "description": None}) == [
        "lpadmin", "-p", "sh01-office", "-E", "-v", "ipp://10.77.1.110/ipp/print",
        "-m", "everywhere", "-L", "1F", "-o", "printer-is-shared=false",
    ]  # fmt: skip


def test_one_archive_name_per_assignment() -> None:
    assert (
        archive_name("wang.fang", "0101", dt.date(2026, 12, 1))
        == "wang.fang-0101-2026-12-01.tar.gz.enc"
    )


def test_the_account_removal_quotes_the_login() -> None:
    assert remove_account_commands("wang.fang")[1] == "userdel --remove wang.fang"
    assert "'a b'" in remove_account_commands("a b")[1]


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / "wang.fang"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "contract.txt").write_text(
        "VIN WBA00000000000001, ID 310101199001011234\n"
    )
    return home


def _archive(
    home: Path, archive: Path, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    command = archive_home_command(str(home), str(archive))
    return subprocess.run(
        ["sh", "-c", command], input=password + "\n", text=True, capture_output=True, check=False
    )


@needs_tools
def test_the_home_archive_is_encrypted_and_restores(tmp_path: Path) -> None:
    home = _home(tmp_path)
    archive = tmp_path / "state" / "archive" / "wang.fang-0101-2026-12-01.tar.gz.enc"
    assert _archive(home, archive).returncode == 0
    assert b"310101199001011234" not in archive.read_bytes()
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name]
    secret = tmp_path / "secret"
    secret.write_text(PASSWORD + "\n")
    target = tmp_path / "restore"
    target.mkdir()
    restored = subprocess.run(
        ["sh", "-c", restore_command(str(archive), str(secret), str(target))], check=False
    )
    assert restored.returncode == 0
    assert (target / "wang.fang" / "Documents" / "contract.txt").read_text().startswith("VIN WBA")


@needs_tools
def test_a_wrong_password_does_not_open_it(tmp_path: Path) -> None:
    archive = tmp_path / "archive.enc"
    assert _archive(_home(tmp_path), archive).returncode == 0
    secret = tmp_path / "secret"
    secret.write_text("not-the-secret\n")
    restore = restore_command(str(archive), str(secret), str(tmp_path))
    assert (
        subprocess.run(
            ["sh", "-c", f"set -e; {restore}"], capture_output=True, check=False
        ).returncode
        != 0
    )


@needs_tools
def test_a_home_tar_cannot_read_leaves_no_archive(tmp_path: Path) -> None:
    archive = tmp_path / "state" / "archive.enc"
    done = _archive(tmp_path / "home" / "nobody", archive)
    assert done.returncode != 0
    assert not archive.exists()
