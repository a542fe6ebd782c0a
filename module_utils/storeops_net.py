"""What the storeops network modules (net_backup, net_config) share: platforms, login, reads.

Self-contained on purpose (ansible + netmiko + hier_config only, never ``storeops``): the
modules run on the controller from ``library/`` with this file shipped as
``ansible.module_utils.storeops_net``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PLATFORM_CHOICES = ("cisco_ios", "huawei_vrp")


@dataclass(frozen=True)
class NetPlatform:
    """How storeops drives one network operating system."""

    name: str
    device_type: str  # netmiko's
    show_running: str
    save_command: str  # what netmiko's save_config() sends (documentation, and the error text)
    hier_platform: str  # hier_config's Platform member name
    enable: bool  # needs ``enable`` after login (privileged exec)
    error_pattern: str  # the platform's error markers in a configuration session
    volatile: tuple[re.Pattern[str], ...]  # lines that change without a configuration change


PLATFORMS: dict[str, NetPlatform] = {
    "cisco_ios": NetPlatform(
        name="cisco_ios",
        device_type="cisco_ios",
        show_running="show running-config",
        save_command="write memory",
        hier_platform="CISCO_IOS",
        enable=True,
        error_pattern=r"% (?:Invalid input|Incomplete command|Ambiguous command)",
        volatile=tuple(
            re.compile(pattern)
            for pattern in (
                r"^Building configuration\.\.\.\s*\Z",
                r"^Current configuration\s*:\s*\d+ bytes\s*\Z",
                r"^! Last configuration change at .*\Z",
                r"^! NVRAM config last updated at .*\Z",
                r"^! No configuration change since last restart\s*\Z",
                r"^ntp clock-period \d+\s*\Z",
            )
        ),
    ),
    "huawei_vrp": NetPlatform(
        name="huawei_vrp",
        device_type="huawei",
        show_running="display current-configuration",
        save_command="save",
        hier_platform="HUAWEI_VRP",
        enable=False,
        error_pattern=r"Error: ",
        volatile=tuple(
            re.compile(pattern)
            for pattern in (
                r"^!Software Version .*\Z",
                r"^!Last configuration was updated at .*\Z",
                r"^!Last configuration was saved at .*\Z",
                r"^!Time of .*\Z",
            )
        ),
    ),
}

# The options every storeops network module takes (its DOCUMENTATION repeats them).
COMMON_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 22},
    "platform": {"type": "str", "required": True, "choices": list(PLATFORM_CHOICES)},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "enable_secret": {"type": "str", "required": False, "no_log": True},
    "timeout": {"type": "int", "default": 30},
}


class NetError(Exception):
    """A device could not be reached, logged into, read or configured (message is safe to show)."""


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` without any of ``secrets`` (a device or library may echo what it was sent)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def where(params: dict[str, Any]) -> str:
    return f"{params['host']}:{params['port']}"


def connect(params: dict[str, Any]) -> Any:
    """A logged-in netmiko session (privileged on IOS), or NetError saying what went wrong.

    Unreachable (refused, no route, TCP or SSH timeout) and authentication failures are told
    apart; neither message contains the password or the enable secret.
    """
    from netmiko import ConnectHandler
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    platform = PLATFORMS[params["platform"]]
    timeout = int(params["timeout"])
    secrets = (params.get("password"), params.get("enable_secret"))
    try:
        conn = ConnectHandler(
            device_type=platform.device_type,
            host=params["host"],
            port=params["port"],
            username=params["username"],
            password=params["password"],
            secret=params.get("enable_secret") or "",
            conn_timeout=min(timeout, 15),
            auth_timeout=timeout,
            banner_timeout=timeout,
            timeout=timeout,
            read_timeout_override=timeout,
            use_keys=False,
            allow_agent=False,
        )
    except NetmikoAuthenticationException:
        raise NetError(
            f"{where(params)}: authentication failed for user {params['username']!r} "
            "(wrong username or password)"
        ) from None
    except NetmikoTimeoutException as error:
        first = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
        reason = scrub(first or "timeout", *secrets)
        raise NetError(f"{where(params)}: device unreachable ({reason})") from None
    except (OSError, EOFError) as error:
        reason = scrub(str(error) or type(error).__name__, *secrets)
        raise NetError(f"{where(params)}: device unreachable ({reason})") from None
    if platform.enable:
        try:
            conn.enable()
        except Exception as error:  # netmiko raises ValueError or ReadTimeout here
            disconnect(conn)
            raise NetError(
                f"{where(params)}: logged in but could not enter privileged mode "
                f"(enable secret wrong or missing: {type(error).__name__})"
            ) from None
    return conn


def disconnect(conn: Any) -> None:
    try:
        conn.disconnect()
    except Exception:  # closing a session that already broke is not an error
        return


def running_config(conn: Any, platform: str) -> str:
    """The device's running configuration as the platform prints it."""
    spec = PLATFORMS[platform]
    text = str(conn.send_command(spec.show_running, strip_prompt=True, strip_command=True))
    if re.search(spec.error_pattern, text) or not text.strip():
        first = text.strip().splitlines()[0] if text.strip() else "empty output"
        raise NetError(f"{spec.show_running!r} failed: {first}")
    return text


def strip_volatile(platform: str, text: str) -> str:
    """``text`` without the lines that change between two reads of an unchanged config.

    Leading blank lines left by the removed header are dropped; the result ends in one newline.
    """
    patterns = PLATFORMS[platform].volatile
    kept = [
        line.rstrip()
        for line in text.replace("\r\n", "\n").split("\n")
        if not any(pattern.match(line) for pattern in patterns)
    ]
    while kept and not kept[0]:
        kept.pop(0)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n" if kept else ""
