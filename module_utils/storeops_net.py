"""What the storeops network modules (net_backup, net_config) share: platforms, login, reads.

Self-contained on purpose (ansible + netmiko + hier_config only, never ``storeops``): the
modules run on the controller from ``library/`` with this file shipped as
``ansible.module_utils.storeops_net``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


@dataclass(frozen=True)
class NetPlatform:
    """How storeops drives one network operating system: its one home.

    Everything net_config and net_backup know about a platform is here: how to log in, read
    and save, which lines are volatile, how the platform prints secrets (refused in clear,
    masked when shown), banners, VLAN lists printed as ranges, and which lines form the
    management path (the make-before-break ordering of net_config).
    """

    name: str
    device_type: str  # netmiko's
    show_running: str
    save_command: str  # what netmiko's save_config() sends (documentation, and the error text)
    hier_platform: str  # hier_config's Platform member name
    enable: bool  # needs ``enable`` after login (privileged exec)
    error_pattern: str  # the platform's error markers in a configuration session
    volatile: tuple[re.Pattern[str], ...]  # lines that change without a configuration change
    negation: str = "no "
    # The line the platform prints between sections (IOS ``!``, VRP ``#``): left out of diffs.
    separator: str = "!"
    # Lines the platform prints that are not configuration (VRP's closing ``return``).
    not_config: tuple[str, ...] = ()
    # A negation that turns something on (kept with the adds, not with the removals).
    enabling: tuple[str, ...] = ()
    # Clear-text secrets in an intended configuration (refused): matched on the stripped line.
    clear_secrets: tuple[re.Pattern[str], ...] = ()
    # Where a secret value sits in a line (group ``value``): masked in anything shown.
    secret_values: tuple[re.Pattern[str], ...] = ()
    # Reversible secrets canonicalised before comparing (IOS type 7): group ``value``.
    reversible: tuple[re.Pattern[str], ...] = ()
    # Banners: the line's start -> the line that removes the banner (without the text).
    banners: tuple[tuple[str, str], ...] = ()
    # Lines whose VLAN list the platform prints with ranges (``30 230 to 233``): compared
    # as sets (one line per VLAN for hier_config) and sent as the delta, ranges again.
    vlan_lists: tuple[str, ...] = ()
    # Lines a new value overwrites in place (no negation of the old one, which would delete
    # the new value when sent after it): hier_config idempotent-command rules, one regex per
    # lineage level; the groups of the last one are the command's key (a user's name...).
    overwrites: tuple[tuple[str, ...], ...] = ()
    # A user's lines (group 1: the name) and the one line that removes the whole user: the
    # platform removes the user whatever follows the name, so it is sent only for a user
    # the intended configuration no longer has, once, and never for the login user.
    users: re.Pattern[str] | None = None
    user_removal: str = ""
    # A pass hier_config cannot foresee (VRP: "undo rule N" also drops its description).
    second_pass: re.Pattern[str] | None = None
    # --- the management path (net_config's make-before-break stages) ---
    # Lines (at any depth) that are always part of the management path.
    management: tuple[re.Pattern[str], ...] = ()
    # The make stage's dependency order (a root line's rank, low first; unmatched last);
    # the break stage runs in the reverse order.
    make_order: tuple[tuple[re.Pattern[str], int], ...] = ()
    vlan_interface: re.Pattern[str] = re.compile(r"interface Vlan(\d+)\Z")
    vlan_section: re.Pattern[str] = re.compile(r"vlan (\d+)\Z")
    access_vlan: re.Pattern[str] = re.compile(r"switchport access vlan (\d+)\Z")
    trunk_vlans: re.Pattern[str] = re.compile(
        r"switchport trunk allowed vlan (?!add |remove )(\S+)\Z"
    )
    trunk_add: str = "switchport trunk allowed vlan add "
    interface: re.Pattern[str] = re.compile(r"interface (\S+)\Z")
    address: re.Pattern[str] = re.compile(r"ip address (\S+) \S+")
    # ACL references in a management section (VTY, management interface) and ACL sections.
    acl_references: tuple[re.Pattern[str], ...] = ()
    acl_sections: tuple[re.Pattern[str], ...] = ()
    # --- the device's own revert (net_config's safety net, like commit-confirm) ---
    revert_arm: str = ""  # armed before the change ({minutes})
    revert_confirm: str = ""  # sent over a new connection once the change is proven
    revert_now: str = ""  # rolls back at once ("": the platform can only wait for its timer)
    revert_what: str = ""  # what the device does when the timer expires (messages)
    # The arm's or confirm's answer when it did not take (no archive; nothing pending).
    revert_refused: re.Pattern[str] = re.compile(r"^%|Error:", re.MULTILINE)
    revert_gone: re.Pattern[str] = re.compile(r"No Rollback Confirmed Change|No schedule reboot")
    revert_to_saved: bool = False  # the revert goes to the saved configuration: save first
    revert_enters_config: bool = False  # the arm command leaves the session in config mode
    # A root section the arm needs in the running configuration (IOS: archive with a path),
    # sent from the intended configuration before arming when the device lacks it.
    revert_needs: str = ""
    revert_needs_line: re.Pattern[str] | None = None


_IOS_VALUE = r"(?P<value>\S+)"
_VRP_HASHED = r"(?:%\^%#.*%\^%#|%@%@.*%@%@|%\$%\$.*%\$%\$|\$1[a-z]\$\S+\$)"

PLATFORMS: dict[str, NetPlatform] = {
    "cisco_ios": NetPlatform(
        name="cisco_ios",
        device_type="cisco_ios",
        show_running="show running-config",
        save_command="write memory",
        hier_platform="CISCO_IOS",
        enable=True,
        error_pattern=r"% (?:Invalid input|Incomplete command|Ambiguous command)",
        volatile=_compile(
            r"^Building configuration\.\.\.\s*\Z",
            r"^Current configuration\s*:\s*\d+ bytes\s*\Z",
            r"^! Last configuration change at .*\Z",
            r"^! NVRAM config last updated at .*\Z",
            r"^! No configuration change since last restart\s*\Z",
            r"^ntp clock-period \d+\s*\Z",
        ),
        negation="no ",
        separator="!",
        enabling=("no shutdown",),
        clear_secrets=_compile(
            # username/enable/line: a secret or password typed in clear (type 0 or no type)
            r"(?:username \S+ .*\b|enable )secret (?:level \d+ )?(?:0 )?(?!(?:5|8|9) )\S+\Z",
            r"username \S+ .*\bpassword (?:0 )?(?!7 )\S+\Z",
            r"enable password\b.*\Z",
            r"password (?:0 )?(?!7 )\S+\Z",  # under line con/vty (and anywhere else)
            r"snmp-server community \S+.*\Z",
            r"(?:(?:tacacs|radius)-server key|server-key) (?:0 )?(?!(?:6|7) )\S+.*\Z",
            r"key (?:0 \S+|(?!\d+\Z)(?![67] )\S+)\Z",  # tacacs/radius server (key N: a key id)
            r"key-string (?:0 )?(?!7 )\S+\Z",
        ),
        secret_values=_compile(
            rf"\b(?:secret|password)(?: level \d+)?(?: \d)? {_IOS_VALUE}",
            rf"\bsnmp-server community {_IOS_VALUE}",
            rf"\b(?:(?:tacacs|radius)-server key|server-key)(?: [067])? {_IOS_VALUE}",
            rf"^\s*key (?:[067] )?(?!\d+\s*\Z){_IOS_VALUE}",
            rf"\bkey-string(?: \d)? {_IOS_VALUE}",
        ),
        reversible=_compile(rf"\b(?:password|key|key-string) 7 {_IOS_VALUE}"),
        # hier_config's IOS driver already overwrites an interface's description and
        # ip address; a user's line (secret, privilege) and the default gateway too.
        overwrites=(
            (r"^(username \S+) ",),
            (r"^(ip default-gateway) \S+\Z",),
        ),
        users=re.compile(r"username (\S+)(?: |\Z)"),
        user_removal="no username {}",
        banners=(
            ("banner motd ", "banner motd"),
            ("banner login ", "banner login"),
            ("banner exec ", "banner exec"),
        ),
        management=_compile(
            r"ip default-gateway \S+\Z",
            r"ip route (?:vrf \S+ )?0\.0\.0\.0 0\.0\.0\.0 .*\Z",
            r"username \S+.*\Z",
            r"aaa \S+.*\Z",
            r"(?:ip ssh|crypto key) .*\Z",
            r"line vty \d+(?: \d+)?\Z",
        ),
        make_order=(
            (re.compile(r"vlan \d+\Z"), 0),
            (re.compile(r"(?:ip access-list (?:standard|extended) |access-list )\S+"), 1),
            (re.compile(r"interface (?!Vlan)\S+\Z"), 2),
            (re.compile(r"interface Vlan\d+\Z"), 3),
            (re.compile(r"ip (?:default-gateway|route) .*\Z"), 4),
            (re.compile(r"username \S+"), 5),
            (re.compile(r"aaa new-model\Z"), 6),  # before (and removed after) other aaa lines
            (re.compile(r"aaa \S+"), 7),
            (re.compile(r"(?:ip ssh|crypto key) .*\Z"), 8),
            (re.compile(r"line vty .*\Z"), 9),
        ),
        acl_references=_compile(r"access-class (\S+) in", r"ip access-group (\S+) in\Z"),
        acl_sections=_compile(
            r"ip access-list (?:standard|extended) (\S+)\Z", r"access-list (\S+) .*\Z"
        ),
        # Configuration Rollback Confirmed Change: the archive is the checkpoint.
        revert_arm="configure terminal revert timer {minutes}",
        revert_confirm="configure confirm",
        revert_now="configure revert now",
        revert_what="rolls its running configuration back to the checkpoint of before the change",
        revert_enters_config=True,
        revert_needs="archive",
        revert_needs_line=re.compile(r"^[ \t]+path \S+", re.MULTILINE),
    ),
    "huawei_vrp": NetPlatform(
        name="huawei_vrp",
        device_type="huawei",
        show_running="display current-configuration",
        save_command="save",
        hier_platform="HUAWEI_VRP",
        enable=False,
        error_pattern=r"Error: ",
        volatile=_compile(
            r"^!Software Version .*\Z",
            r"^!Last configuration was updated at .*\Z",
            r"^!Last configuration was saved at .*\Z",
            r"^!Time of .*\Z",
        ),
        negation="undo ",
        separator="#",
        not_config=("return",),
        enabling=("undo shutdown",),
        clear_secrets=_compile(
            r".*\b(?:password|shared-key|authentication-key|key) simple .*\Z",
            rf".*\b(?:irreversible-cipher|cipher) (?!{_VRP_HASHED}(?:\s|\Z))\S+.*\Z",
            r"snmp-agent community (?:read|write) (?!cipher )\S+.*\Z",
        ),
        secret_values=_compile(
            r"\b(?:simple|irreversible-cipher|cipher) (?P<value>%\^%#.*?%\^%#|%@%@.*?%@%@|\S+)",
            r"\bsnmp-agent community (?:read|write) (?P<value>(?!cipher )\S+)",
        ),
        overwrites=(
            (r"^(?:interface|vlan) ", r"^(description) "),
            (r"^interface ", r"^(ip address) \S+ \S+\Z"),  # the primary address, not "sub"
            (r"^aaa\Z", r"^(local-user \S+ password) "),
            (r"^aaa\Z", r"^(local-user \S+ privilege level) "),
            (r"^aaa\Z", r"^(local-user \S+ service-type) "),
        ),
        users=re.compile(r"local-user (\S+) "),
        user_removal="undo local-user {}",
        banners=(
            ("header login information ", "header login"),
            ("header shell information ", "header shell"),
        ),
        # A port's "port trunk allow-pass vlan" is one VLAN set printed with ranges: the
        # command adds to it and "undo port trunk allow-pass vlan N" removes N only.
        vlan_lists=("vlan batch ", "port trunk allow-pass vlan "),
        second_pass=re.compile(r"^rule \d+ description "),
        management=_compile(
            r"ip route-static (?:vpn-instance \S+ )?0\.0\.0\.0 0(?:\.0\.0\.0)? .*\Z",
            r"aaa\Z",
            r"(?:stelnet server enable|ssh (?:user|server|authentication-type)\b.*)\Z",
            r"user-interface vty \d+(?: \d+)?\Z",
        ),
        make_order=(
            (re.compile(r"vlan (?:batch )?\d+.*\Z"), 0),
            (re.compile(r"acl .*\Z"), 1),
            (re.compile(r"interface (?!Vlanif)\S+\Z"), 2),
            (re.compile(r"interface Vlanif\d+\Z"), 3),
            (re.compile(r"ip route-static .*\Z"), 4),
            (re.compile(r"aaa\Z"), 5),
            (re.compile(r"(?:stelnet|ssh) .*\Z"), 7),
            (re.compile(r"user-interface vty .*\Z"), 8),
        ),
        vlan_interface=re.compile(r"interface Vlanif(\d+)\Z"),
        vlan_section=re.compile(r"vlan (?:batch )?(\d+)\Z"),
        access_vlan=re.compile(r"port default vlan (\d+)\Z"),
        trunk_vlans=re.compile(r"port trunk allow-pass vlan (\d+(?: (?:to )?\d+)*)\Z"),
        trunk_add="",
        acl_references=_compile(
            r"acl (?:name )?(\S+) inbound\Z", r"traffic-filter inbound acl (?:name )?(\S+)\Z"
        ),
        acl_sections=_compile(r"acl name (\S+)(?: \d+)?\Z", r"acl (?:number )?(\d+)\Z"),
        # VRP5 (S5700-class) has no two-stage commit: the classic scheduled reboot to the
        # saved configuration, cancelled once the change is proven.
        revert_arm="schedule reboot delay {minutes}",
        revert_confirm="undo schedule reboot",
        revert_what="reboots to its saved configuration (the one from before the change)",
        revert_to_saved=True,
    ),
}

# The options every storeops network module takes (its DOCUMENTATION repeats them).
COMMON_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 22},
    "platform": {"type": "str", "required": True, "choices": list(PLATFORMS)},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "enable_secret": {"type": "str", "required": False, "no_log": True},
    "timeout": {"type": "int", "default": 30},
}


class UnknownPlatform(ValueError):
    """A platform storeops has no ``PLATFORMS`` entry for (the message names the known ones)."""


def platform_spec(name: str) -> NetPlatform:
    """The platform ``name``'s facts, or UnknownPlatform naming it and the supported ones."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise UnknownPlatform(
            f"unknown network platform {name!r}: storeops supports {', '.join(PLATFORMS)} "
            "(PLATFORMS in module_utils/storeops_net.py)"
        ) from None


class NetError(Exception):
    """A device could not be reached, logged into, read or configured (message is safe to show)."""


class AuthError(NetError):
    """The device answered but refused the username or password."""


class RevertGone(NetError):
    """Nothing to confirm any more: the device's timer expired and it took the change back."""


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

    platform = platform_spec(params["platform"])
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
        raise AuthError(
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
    spec = platform_spec(platform)
    text = str(conn.send_command(spec.show_running, strip_prompt=True, strip_command=True))
    if re.search(spec.error_pattern, text) or not text.strip():
        first = text.strip().splitlines()[0] if text.strip() else "empty output"
        raise NetError(f"{spec.show_running!r} failed: {first}")
    return text


def save(conn: Any, platform: str) -> None:
    """Save the running configuration (``write memory`` / ``save``), or NetError."""
    spec = platform_spec(platform)
    output = str(conn.save_config())
    if re.search(spec.error_pattern, output):
        raise NetError(f"{spec.save_command!r} failed: {output.strip()}")


def answered(conn: Any, command: str) -> str:
    """Send an exec command, answering the platform's ``[Y/N]`` question with yes; read
    until the prompt or the question (never waiting for silence: ~2 s a command)."""
    prompt = rf"{re.escape(conn.base_prompt)}[^\n]*[#>\]]"
    options = {"strip_prompt": False, "strip_command": False}
    output = str(conn.send_command(command, expect_string=rf"\[Y/N\]|{prompt}", **options))
    if re.search(r"\[Y/N\]", output):
        output += str(conn.send_command("Y", expect_string=prompt, cmd_verify=False, **options))
    return output


def revert_prerequisite(platform: str, running: str, intended: str) -> list[str]:
    """The section the device's revert needs and lacks (sent before arming), from
    ``intended``; NetError when the intended configuration has none either."""
    spec = platform_spec(platform)
    if not spec.revert_needs or spec.revert_needs_line is None:
        return []
    if spec.revert_needs_line.search("\n".join(_section(running, spec.revert_needs))):
        return []
    wanted = _section(intended, spec.revert_needs)
    if not spec.revert_needs_line.search("\n".join(wanted)):
        raise NetError(
            f"the device's revert timer needs a {spec.revert_needs!r} section with a path; "
            "the intended configuration has none (add it, or set revert_minutes to 0)"
        )
    return wanted


def _section(text: str, root: str) -> list[str]:
    """The root line ``root`` and its indented children, as written in ``text``."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.rstrip() == root:
            children = itertools.takewhile(
                lambda child: child[:1] in (" ", "\t"), lines[index + 1 :]
            )
            return [root, *(child.rstrip() for child in children)]
    return []


def arm_revert(conn: Any, platform: str, minutes: int) -> None:
    """Arm the device's own revert for ``minutes`` (NetError when it does not take)."""
    spec = platform_spec(platform)
    if spec.revert_to_saved:
        save(conn, platform)  # the reboot goes back to the configuration as found
    output = answered(conn, spec.revert_arm.format(minutes=minutes))
    if spec.revert_enters_config:
        conn.exit_config_mode()
    if spec.revert_refused.search(output):
        raise NetError(f"the device's revert timer did not arm: {output.strip().splitlines()[-1]}")


def confirm_revert(conn: Any, platform: str) -> None:
    """Confirm the change (the timer cancelled), or NetError when nothing was pending any
    more: the device already reverted it."""
    spec = platform_spec(platform)
    output = answered(conn, spec.revert_confirm)
    if spec.revert_gone.search(output) or spec.revert_refused.search(output):
        raise RevertGone(
            f"{spec.revert_confirm!r} found nothing pending: the device's revert already ran "
            "and the change is gone"
        )


def revert_now(conn: Any, platform: str) -> bool:
    """Roll the change back at once where the platform can; whether it did."""
    spec = platform_spec(platform)
    if not spec.revert_now:
        return False
    output = answered(conn, spec.revert_now)
    return not (spec.revert_gone.search(output) or spec.revert_refused.search(output))


def strip_volatile(platform: str, text: str) -> str:
    """``text`` without the lines that change between two reads of an unchanged config.

    Leading blank lines left by the removed header are dropped; the result ends in one newline.
    """
    patterns = platform_spec(platform).volatile
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


def for_diff(platform: str, text: str, masked: bool = True) -> str:
    """``text`` as a diff shows it (net_config's diff, the health check's drift against
    the last backup): no volatile lines, no separator lines (IOS ``!``, VRP
    ``#``), no VRP ``return``, secrets masked: the lines hier_config compares.

    ``masked=False``: secrets left in, for comparing (a changed hash is a change); mask
    each line before showing it."""
    spec = platform_spec(platform)
    left_out = (spec.separator, *spec.not_config)
    kept = [
        line for line in strip_volatile(platform, text).splitlines() if line.strip() not in left_out
    ]
    if not kept:
        return ""
    joined = "\n".join(kept) + "\n"
    return mask(platform, joined) if masked else joined


# ---------------------------------------------------------------------------- secrets

MASK = "********"
# Cisco's type 7 is a Vigenere-like XOR with this public key (trivially reversible).
_TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def clear_text_secrets(platform: str, text: str) -> list[int]:
    """The line numbers of ``text`` holding a secret typed in clear (refused in intended)."""
    patterns = platform_spec(platform).clear_secrets
    return [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if any(pattern.match(line.strip()) for pattern in patterns)
    ]


def mask(platform: str, text: str) -> str:
    """``text`` with every secret value the platform prints replaced by ``********``."""
    patterns = platform_spec(platform).secret_values
    lines = []
    for line in text.split("\n"):
        masked = line
        for pattern in patterns:
            masked = pattern.sub(
                lambda m: m.group(0)[: m.start("value") - m.start(0)] + MASK, masked
            )
        lines.append(masked)
    return "\n".join(lines)


def type7_decode(value: str) -> str | None:
    """The clear text of a Cisco type 7 string, or None when it is not one."""
    if not re.fullmatch(r"\d\d(?:[0-9A-Fa-f]{2})*", value) or int(value[:2]) > 15:
        return None
    offset = int(value[:2])
    pairs = [int(value[i : i + 2], 16) for i in range(2, len(value), 2)]
    return "".join(
        chr(byte ^ ord(_TYPE7_KEY[(offset + i) % len(_TYPE7_KEY)])) for i, byte in enumerate(pairs)
    )


def type7_encode(clear: str, offset: int = 0) -> str:
    return f"{offset:02d}" + "".join(
        f"{ord(char) ^ ord(_TYPE7_KEY[(offset + i) % len(_TYPE7_KEY)]):02X}"
        for i, char in enumerate(clear)
    )


def _canonical_reversible(platform: str, line: str) -> str:
    """A reversible secret re-encoded with a fixed salt: two encodings of one password are
    one line (IOS prints type 7 with a random offset)."""
    for pattern in platform_spec(platform).reversible:
        found = pattern.search(line)
        clear = type7_decode(found.group("value")) if found else None
        if found and clear is not None:
            line = line[: found.start("value")] + type7_encode(clear) + line[found.end("value") :]
    return line


# ---------------------------------------------------------------------------- VLAN lists


def expand_vlans(words: list[str]) -> list[int] | None:
    """``30 230 to 233`` -> [30, 230, 231, 232, 233]; None when not a VLAN list."""
    vlans: list[int] = []
    index = 0
    while index < len(words):
        if not words[index].isdigit():
            return None
        if index + 2 < len(words) and words[index + 1] == "to" and words[index + 2].isdigit():
            vlans.extend(range(int(words[index]), int(words[index + 2]) + 1))
            index += 3
        else:
            vlans.append(int(words[index]))
            index += 1
    return vlans


def vlan_ranges(vlans: list[int]) -> str:
    """[30, 230, 231, 233] -> ``30 230 to 231 233`` (as VRP prints and takes it)."""
    parts: list[str] = []
    ordered = sorted(set(vlans))
    start = previous = ordered[0]
    for vlan in [*ordered[1:], -1]:
        if vlan == previous + 1:
            previous = vlan
            continue
        parts.append(str(start) if start == previous else f"{start} to {previous}")
        start = previous = vlan
    return " ".join(parts)


def _expand_lists(platform: str, lines: list[str]) -> list[str]:
    """One line per VLAN for every VLAN list line; several list lines of one section merged."""
    prefixes = platform_spec(platform).vlan_lists
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for line in lines:
        body = line.lstrip()
        indent = line[: len(line) - len(body)]
        prefix = next((p for p in prefixes if body.startswith(p)), None)
        vlans = expand_vlans(body[len(prefix) :].split()) if prefix else None
        if prefix is None or not vlans:
            if not indent:
                seen = set()
            out.append(line)
            continue
        for vlan in vlans:
            if (prefix, str(vlan)) not in seen:
                seen.add((prefix, str(vlan)))
                out.append(f"{indent}{prefix}{vlan}")
    return out


# ---------------------------------------------------------------------------- text for hier_config


def prepare(platform: str, text: str) -> str:
    """The configuration as hier_config should compare it: no volatile lines, no lines
    that are not configuration (VRP ``return``), VLAN lists one VLAN a line, reversible
    secrets in one canonical encoding."""
    spec = platform_spec(platform)
    lines = [
        _canonical_reversible(platform, line) if spec.reversible else line
        for line in strip_volatile(platform, text).splitlines()
        if line.strip() not in spec.not_config
    ]
    if spec.vlan_lists:
        lines = _expand_lists(platform, lines)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- remediation


@dataclass(frozen=True)
class Management:
    """The management path: the management zone's VLAN(s) in the intended configuration,
    the device's management address there, and its address in the running configuration."""

    vlans: tuple[int, ...] = ()
    address: str | None = None
    running_address: str | None = None
    user: str | None = None  # the user this run logs in as: never removed


STAGES = ("make", "rest", "break")


def driver_for(platform: str) -> Any:
    from hier_config import Platform, get_hconfig_driver
    from hier_config.models import IdempotentCommandsRule, MatchRule

    spec = platform_spec(platform)
    driver = get_hconfig_driver(Platform[spec.hier_platform])
    # A changed banner replaces the old one: never "no banner" with the old text as commands.
    for start, _ in spec.banners:
        driver.rules.idempotent_commands.append(
            IdempotentCommandsRule(match_rules=(MatchRule(startswith=start),))
        )
    for lineage in spec.overwrites:
        driver.rules.idempotent_commands.append(
            IdempotentCommandsRule(match_rules=tuple(MatchRule(re_search=r) for r in lineage))
        )
    return driver


def _parse(platform: str, text: str) -> Any:
    from hier_config import get_hconfig

    return get_hconfig(driver_for(platform), prepare(platform, text))


def _addresses(config: Any, spec: NetPlatform) -> dict[str, set[str]]:
    """Interface name -> the addresses configured on it."""
    found: dict[str, set[str]] = {}
    for child in config.children:
        name = spec.interface.match(child.text)
        if name:
            found[name.group(1)] = {
                m.group(1) for c in child.children if (m := spec.address.match(c.text))
            }
    return found


def _vlan_of(spec: NetPlatform, interface: str) -> int | None:
    found = spec.vlan_interface.match(f"interface {interface}")
    return int(found.group(1)) if found else None


def _ios_vlan_list(text: str) -> set[int]:
    """``10,20,30-33`` (IOS) or ``10 20 30 to 33`` (VRP) -> the VLANs."""
    if " " in text or text.isdigit():
        return set(expand_vlans(text.split()) or ())
    vlans: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            vlans.update(range(int(low), int(high or low) + 1))
    return vlans


class _Path:
    """What the management path is in one remediation (running and intended side)."""

    def __init__(
        self, spec: NetPlatform, running: Any, intended: Any, management: Management
    ) -> None:
        self.spec = spec
        addresses = {a for a in (management.address, management.running_address) if a}
        old_ifs, new_ifs = _addresses(running, spec), _addresses(intended, spec)
        self.new_vlans = set(management.vlans)
        self.old_vlans: set[int] = set()
        self.interfaces: set[str] = set()
        for side, vlans in ((old_ifs, self.old_vlans), (new_ifs, self.new_vlans)):
            for name, configured in side.items():
                if configured & addresses:
                    self.interfaces.add(name)
                    if (vlan := _vlan_of(spec, name)) is not None:
                        vlans.add(vlan)
        self.old_vlans |= {v for v in self.new_vlans if v in self._svi_vlans(old_ifs)}
        self.vlans = self.old_vlans | self.new_vlans
        self.interfaces |= {n for n in (*old_ifs, *new_ifs) if _vlan_of(spec, n) in self.vlans}
        self.acls = {
            found.group(1)
            for config in (running, intended)
            for section in config.children
            if self._root_is_management(section.text)
            for child in section.children
            for pattern in spec.acl_references
            if (found := pattern.match(child.text))
        }

    def _svi_vlans(self, interfaces: dict[str, set[str]]) -> set[int]:
        return {v for n in interfaces if (v := _vlan_of(self.spec, n)) is not None}

    def _root_is_management(self, text: str) -> bool:
        spec = self.spec
        if any(pattern.match(text) for pattern in spec.management):
            return True
        found = spec.interface.match(text)
        return bool(found and found.group(1) in self.interfaces)

    def touches(self, text: str) -> bool:
        """Whether the line (negation stripped) is part of the management path."""
        spec = self.spec
        if self._root_is_management(text):
            return True
        for pattern in (spec.vlan_section, spec.access_vlan):
            if (found := pattern.match(text)) and int(found.group(1)) in self.vlans:
                return True
        if found := spec.trunk_vlans.match(text):
            return bool(_ios_vlan_list(found.group(1)) & self.vlans)
        for pattern in spec.acl_sections:
            if (found := pattern.match(text)) and found.group(1) in self.acls:
                return True
        return False


def _rank(spec: NetPlatform, text: str) -> int:
    return next((rank for pattern, rank in spec.make_order if pattern.match(text)), 99)


def _classify(spec: NetPlatform, path: _Path, leaf: Any, running: Any) -> list[tuple[str, str]]:
    """The stage(s) of one remediation leaf, with the text to send in each."""
    lineage = list(leaf.lineage())
    text = leaf.text
    plain = text.removeprefix(spec.negation)
    removal = text.startswith(spec.negation) and text not in spec.enabling
    ancestors = [c.text.removeprefix(spec.negation) for c in lineage[:-1]]
    management = any(path.touches(t) for t in [*ancestors, plain])
    rules = tuple(_exact(c.text) for c in lineage[:-1])
    before = running.get_child_deep(rules) if rules else None
    old_lines = [c.text for c in before.children] if before is not None else []
    if not removal and (found := spec.access_vlan.match(text)):
        access = [int(m.group(1)) for t in old_lines if (m := spec.access_vlan.match(t))]
        if any(v in path.old_vlans and v != int(found.group(1)) for v in access):
            return [("break", text)]  # moves a port off the old management VLAN
    if not removal and spec.trunk_add and (found := spec.trunk_vlans.match(text)):
        new = _ios_vlan_list(found.group(1))
        old: set[int] = set().union(
            *(_ios_vlan_list(m.group(1)) for t in old_lines if (m := spec.trunk_vlans.match(t)))
        )
        if (old - new) & path.old_vlans:  # the full list would drop the old management VLAN
            added = sorted((new - old) & path.new_vlans)
            make = [("make", spec.trunk_add + ",".join(map(str, added)))] if added else []
            return [*make, ("break", text)]
    if removal:
        return [("break" if management else "rest", text)]
    return [("make" if management else "rest", text)]


def _user_removal(
    spec: NetPlatform,
    leaf: Any,
    text: str,
    *,
    intended: Any,
    management: Management | None,
    removed: set[tuple[str, ...]],
) -> str | None:
    """``text``, or for a removal of a user the intended configuration no longer has the
    platform's one line that removes the whole user (None once it is sent: one per user).

    A user that stays is changed by its new lines alone (``overwrites``): the platform
    removes the whole user on ``no username NAME ...``/``undo local-user NAME``. Removing the
    user this run logs in as is refused (NetError): the controller must log in as the new one.
    """
    if spec.users is None or not text.startswith(spec.negation):
        return text
    found = spec.users.match(text.removeprefix(spec.negation))
    if not found:
        return text
    name = found.group(1)
    parents = tuple(c.text for c in list(leaf.lineage())[:-1])
    section = intended.get_child_deep(tuple(map(_exact, parents))) if parents else intended
    kept = section is not None and any(
        (m := spec.users.match(c.text)) and m.group(1) == name for c in section.children
    )
    if kept:
        return text  # one attribute of a user that stays (VRP: undo local-user NAME service-type)
    if management is not None and management.user == name:
        raise NetError(
            f"the intended configuration removes user {name!r}, the user this run logs in "
            "as: log in as the user that replaces it (keep both for one run first)"
        )
    if (*parents, name) in removed:
        return None
    removed.add((*parents, name))
    return spec.user_removal.format(name)


def _exact(text: str) -> Any:
    from hier_config.models import MatchRule

    return MatchRule(equals=text)


def _render(platform: str, items: list[tuple[Any, str]]) -> list[str]:
    """Leaves (with the text to send) as sent: section lines opened and closed as
    hier_config dumps them (``exit``/``quit``); adjacent VLAN list lines merged."""
    spec = platform_spec(platform)
    items = _merge_lists(spec, items)
    lines: list[str] = []
    opened: list[Any] = []

    def close(section: Any) -> None:
        if exit_text := section.sectional_exit:
            depth = (
                section.depth() - 1 if section.sectional_exit_text_parent_level else section.depth()
            )
            lines.append(" " * section.driver.rules.indentation * depth + exit_text)

    for leaf, text in items:
        ancestors = list(leaf.lineage())[:-1]
        common = 0
        while common < min(len(opened), len(ancestors)) and opened[common] is ancestors[common]:
            common += 1
        while len(opened) > common:
            close(opened.pop())
        for section in ancestors[common:]:
            lines.append(section.indentation + section.text)
            opened.append(section)
        lines.append(leaf.indentation + _banner_removal(spec, text))
    while opened:
        close(opened.pop())
    return lines


def _banner_removal(spec: NetPlatform, text: str) -> str:
    """A banner's removal without its text (``no banner motd``, ``undo header login``)."""
    for start, removal in spec.banners:
        if text.startswith(spec.negation + start):
            return spec.negation + removal
    return text


def _merge_lists(spec: NetPlatform, items: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
    merged: list[tuple[Any, str]] = []
    for leaf, text in items:
        kind = _list_kind(spec, text)
        if merged and kind and merged[-1][0].parent is leaf.parent:
            last_leaf, last_text = merged[-1]
            if _list_kind(spec, last_text) == kind:
                vlans = (expand_vlans(last_text[len(kind) :].split()) or []) + [
                    int(text[len(kind) :])
                ]
                merged[-1] = (last_leaf, kind + vlan_ranges(vlans))
                continue
        merged.append((leaf, text))
    return merged


def _list_kind(spec: NetPlatform, text: str) -> str | None:
    for prefix in spec.vlan_lists:
        for kind in (prefix, spec.negation + prefix):
            if text.startswith(kind) and expand_vlans(text[len(kind) :].split()):
                return kind
    return None


def remediation(
    platform: str, running: str, intended: str, management: Management | None = None
) -> tuple[dict[str, list[str]], list[str]]:
    """The lines to push by stage (``make``, ``rest``, ``break``; sectional, as sent) and
    the leaf commands the remediation holds.

    ``make`` adds or updates the management path (in dependency order), ``rest`` is every
    other change in hier_config's order, ``break`` removes the old management path (in the
    reverse order). No removal of a management line comes before ``break``.
    """
    from hier_config import WorkflowRemediation

    spec = platform_spec(platform)
    before, after = _parse(platform, running), _parse(platform, intended)
    config = WorkflowRemediation(before, after).remediation_config
    path = _Path(spec, before, after, management or Management())
    staged: dict[str, list[tuple[Any, str]]] = {stage: [] for stage in STAGES}
    leaves = [child for child in config.all_children_sorted() if not child.children]
    removed_users: set[tuple[str, ...]] = set()
    for leaf in leaves:
        for stage, classified in _classify(spec, path, leaf, before):
            text = _user_removal(
                spec, leaf, classified, intended=after, management=management, removed=removed_users
            )
            if text:
                staged[stage].append((leaf, text))

    def root_rank(item: tuple[Any, str]) -> int:
        return _rank(spec, next(iter(item[0].lineage())).text.removeprefix(spec.negation))

    staged["make"].sort(key=root_rank)
    staged["break"].sort(key=root_rank, reverse=True)
    stages = {stage: _render(platform, staged[stage]) for stage in STAGES}
    return stages, [leaf.text for leaf in leaves]


def ordered(stages: dict[str, list[str]]) -> list[str]:
    """Every line of the stages, in the order they are sent."""
    return [line for stage in STAGES for line in stages[stage]]
