"""The controller's database: where it is, and URLs that would leak a password refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from storeops.statedb import DatabaseUrlError, database_url, open_engine


def test_default_is_sqlite_in_the_state_dir(tmp_path: Path) -> None:
    url = database_url(environ={"STOREOPS_STATE_DIR": str(tmp_path)})
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "storeops.sqlite")


def test_environment_url_gets_the_password_from_its_own_variable() -> None:
    env = {
        "STOREOPS_DATABASE_URL": "mysql+pymysql://storeops@db.hq.example/storeops",
        "STOREOPS_DATABASE_PASSWORD": "s3cret",
    }
    url = database_url(environ=env)
    assert (url.host, url.username, url.password) == ("db.hq.example", "storeops", "s3cret")


def test_explicit_url_wins_over_the_environment(tmp_path: Path) -> None:
    env = {"STOREOPS_DATABASE_URL": "mysql+pymysql://storeops@db.hq.example/storeops"}
    url = database_url(f"sqlite:///{tmp_path}/h.sqlite", environ=env)
    assert url.get_backend_name() == "sqlite"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("mysql+pymysql://storeops:hunter2@db/storeops", "STOREOPS_DATABASE_PASSWORD"),
        ("not a url", "not a database URL"),
    ],
)
def test_unusable_urls_are_refused_without_echoing_a_password(given: str, says: str) -> None:
    with pytest.raises(DatabaseUrlError, match=says) as raised:
        database_url(given, environ={})
    assert "hunter2" not in str(raised.value)


def test_sqlite_file_opens_in_a_private_directory_with_wal(tmp_path: Path) -> None:
    url = database_url(f"sqlite:///{tmp_path}/state/h.sqlite", environ={})
    engine = open_engine(url)
    with engine.connect() as connection:
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()
    assert mode == "wal"
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
