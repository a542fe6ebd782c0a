"""Filters: a value quoted for the file it is rendered into, or refused (storeops.quoting).

    username {{ network_username | device_line('network_username') }} privilege 15 ...
    password = {{ dms_db_password | one_line('dms_db_password') }}

Each filter knows one syntax (sudoers, apt.conf, systemd units, desktop entries, device
configurations, nftables, sshd algorithm lists, sysctl.d, audit rules, umasks, INI-like
files); the argument names the value in the error, so a refused value fails
the task with the variable's name instead of adding a line to the file.
The pyinfra deploys and the ACL templates use the same functions (storeops.quoting.FILTERS).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from storeops.quoting import FILTERS, QuotingError


def _as_filter(function: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(function)
    def wrapper(value: Any, *args: Any) -> str:
        try:
            return function(value, *args)
        except QuotingError as error:
            raise AnsibleFilterError(f"{function.__name__}: {error}") from None

    return wrapper


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {name: _as_filter(function) for name, function in FILTERS.items()}
