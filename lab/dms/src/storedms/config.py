"""The service's configuration file (INI), shared by the HTTP service and the tools.

The rollout writes ``/etc/storedms/storedms.conf`` from the vault; tests and tools point
elsewhere with ``STOREDMS_CONFIG`` or ``--config``. The password never leaves this object
except into the database driver: ``Config.__repr__`` hides it so a traceback cannot log it.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path("/etc/storedms/storedms.conf")
ENV_VAR = "STOREDMS_CONFIG"


class ConfigError(Exception):
    """The configuration file is missing or incomplete (the message names file and key)."""


@dataclass(frozen=True)
class DbConfig:
    host: str
    port: int
    name: str
    user: str
    password: str = field(repr=False)
    unix_socket: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    db: DbConfig
    http_port: int = 8080
    http_bind: str = "0.0.0.0"


def config_path(explicit: str | None = None) -> Path:
    """``--config`` wins, then ``$STOREDMS_CONFIG``, then the system path."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load(explicit: str | None = None) -> Config:
    """Read and check the file; every missing key is an error that names it."""
    path = config_path(explicit)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    except configparser.Error as error:
        raise ConfigError(f"{path}: not a valid INI file: {error}") from error
    missing = [
        f"[db] {key}" for key in ("name", "user", "password") if not parser.has_option("db", key)
    ]
    if missing:
        raise ConfigError(f"{path}: missing {', '.join(missing)}")
    try:
        db = DbConfig(
            host=parser.get("db", "host", fallback="127.0.0.1"),
            port=parser.getint("db", "port", fallback=3306),
            name=parser.get("db", "name"),
            user=parser.get("db", "user"),
            password=parser.get("db", "password"),
            unix_socket=parser.get("db", "unix_socket", fallback=None) or None,
        )
        return Config(
            path=path,
            db=db,
            http_port=parser.getint("http", "port", fallback=8080),
            http_bind=parser.get("http", "bind", fallback="0.0.0.0"),
        )
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from error
