"""The pyinfra adapter: the storeops inventory as pyinfra groups and host data.

pyinfra reads the same inventory directory as Ansible, through Ansible's own inventory
API (:mod:`storeops.ansible_view`): same hosts, same groups (stores, store_<code>, the
role groups), same variables. Ansible's connection variables are translated into the
names pyinfra's SSH connector reads; every other variable is passed on unchanged.
"""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path
from typing import Any

from storeops.ansible_view import AnsibleHost, load
from storeops.yamlfiles import VaultPasswords

HostSpec = tuple[str, dict[str, Any]]


def _ssh_options(common_args: str) -> dict[str, str]:
    """'-o UserKnownHostsFile=x -o StrictHostKeyChecking=yes' -> {'UserKnownHostsFile': 'x'...}."""
    words = shlex.split(common_args)
    options = {}
    for flag, value in itertools.pairwise(words):
        if flag == "-o" and "=" in value:
            key, _, setting = value.partition("=")
            options[key] = setting
    return options


def connection_data(variables: dict[str, Any]) -> dict[str, Any]:
    """pyinfra's SSH connector settings from Ansible's connection variables."""
    data: dict[str, Any] = {"ssh_hostname": variables["ansible_host"]}
    if "ansible_user" in variables:
        data["ssh_user"] = variables["ansible_user"]
    if "ansible_port" in variables:
        data["ssh_port"] = int(variables["ansible_port"])
    if "ansible_ssh_private_key_file" in variables:
        data["ssh_key"] = variables["ansible_ssh_private_key_file"]
    options = _ssh_options(str(variables.get("ansible_ssh_common_args", "")))
    if "UserKnownHostsFile" in options:
        data["ssh_known_hosts_file"] = options["UserKnownHostsFile"]
    if "StrictHostKeyChecking" in options:
        data["ssh_strict_host_key_checking"] = options["StrictHostKeyChecking"]
    if variables.get("ansible_user") not in (None, "root"):
        data["_sudo"] = True
    return data


def host_spec(host: AnsibleHost) -> HostSpec:
    return host.name, {**host.variables, **connection_data(host.variables)}


def groups(root: Path | str, passwords: VaultPasswords | None = None) -> dict[str, list[HostSpec]]:
    """Every Ansible group of the inventory as a pyinfra group of (name, data) hosts."""
    hosts = load(root, passwords)
    result: dict[str, list[HostSpec]] = {}
    for host in sorted(hosts.values(), key=lambda h: h.name):
        spec = host_spec(host)
        for group in host.groups:
            result.setdefault(group, []).append(spec)
    return result
