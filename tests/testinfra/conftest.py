"""Every testinfra check of a host over one SSH connection per host.

testinfra's ansible backend multiplexes only when it is told a ControlPath, and one under
``~/.ansible/cp`` is too long for some tests' paths; the audit's own SSH client
configuration (``storeops.compliance.audit.ssh_multiplexing``: a short socket path, the
user's configuration included) is given to the session unless ``--ssh-config`` was, and its
SSH masters are closed when the session ends.
"""

from __future__ import annotations

import contextlib

import pytest

from storeops.compliance.audit import ssh_multiplexing

_SESSION = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "ssh_config", "unset") is None:
        ssh_config = _SESSION.enter_context(ssh_multiplexing())
        config.option.ssh_config = str(ssh_config) if ssh_config else None


def pytest_unconfigure(config: pytest.Config) -> None:
    _SESSION.close()
