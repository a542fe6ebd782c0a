"""Quoting a value for the file it is rendered into, or refusing it with the reason.

The schema (:mod:`storeops.schema`) constrains every inventory value it knows. These
functions are the second line, where a value is written: a host_vars value the schema does
not cover, an ``-e`` extra variable or a future field still cannot add a line to a
configuration file or a device's configuration. Each function knows one syntax: it
returns the value escaped or quoted for it, or raises :class:`QuotingError` naming the
value's purpose (never the value: it may be a password).

One implementation for both renderers: the Ansible roles (``filter_plugins/
storeops_quoting.py``), the pyinfra deploys (Ansible's templating too, through
:mod:`storeops.role_templates`) and the network ACL templates (:mod:`storeops.acl`, plain
Jinja2) register ``FILTERS``. Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

# Line and paragraph separators that are not C0/C1 controls, but split lines for some readers.
_LINE_SEPARATORS = frozenset("\u2028\u2029")
# One word of a sudoers user or group specification (a login name; '$' ends machine accounts).
_SUDOERS_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?")
# nftables identifiers as storeops names its tables, chains and counters.
_NFT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_PEM_CERTIFICATES_RE = re.compile(
    r"(?:-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,76}\n)+-----END CERTIFICATE-----\n?)+"
)
# Characters the Desktop Entry specification reserves in an Exec argument (quoted if present).
_DESKTOP_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_WHITESPACE_RE = re.compile(r"\s")
_DECIMAL_RE = re.compile(r"[0-9]{1,18}")
# A umask or file mode as octal digits ("027", "0750").
_OCTAL_MODE_RE = re.compile(r"[0-7]{3,4}")
# One algorithm of an sshd_config list (Ciphers, MACs, KexAlgorithms): no ',' (the list
# separator), no leading '+', '-' or '^' (they edit sshd's default list), no wildcard.
_SSH_ALGORITHM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]{0,63}")
# A sysctl key of a sysctl.d file, dotted or slashed (net.ipv4.ip_forward,
# net/ipv4/conf/eth0.10/rp_filter): no '-' prefix (it would ignore a failure), no glob.
_SYSCTL_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}")
_KERNEL_MODULE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,55}")
# A sudoers '#' that starts a comment (not '#<digits>', a user or group ID).
_SUDOERS_COMMENT_RE = re.compile(r"#(?![0-9])")


class QuotingError(ValueError):
    """A value that cannot be written safely where a template puts it."""


def _control(text: str) -> tuple[int, str] | None:
    """The first control character of ``text`` (position, name), if any."""
    for position, char in enumerate(text):
        if unicodedata.category(char) == "Cc" or char in _LINE_SEPARATORS:
            return position, f"U+{ord(char):04X}"
    return None


def _text(value: Any, purpose: str) -> str:
    if value is None:
        raise QuotingError(f"{purpose}: no value (None) where text is written")
    return str(value)


def one_line(value: Any, purpose: str = "a value") -> str:
    """Text that stays on its line: no control character (newline, CR, tab, ESC...)."""
    text = _text(value, purpose)
    found = _control(text)
    if found is not None:
        position, char = found
        raise QuotingError(
            f"{purpose}: control character {char} at position {position}; it would end the "
            "line of the configuration it is written into (a newline becomes a line of its own)"
        )
    return text


def _refuse(text: str, characters: str, purpose: str, why: str) -> str:
    bad = sorted({char for char in text if char in characters})
    if bad:
        raise QuotingError(f"{purpose}: {', '.join(map(repr, bad))} not allowed ({why})")
    return text


def conf_word(value: Any, purpose: str = "a value") -> str:
    """One word of a configuration line (a name, path, address): no space, quote or '#'."""
    text = one_line(value, purpose)
    if not text or _WHITESPACE_RE.search(text):
        raise QuotingError(f"{purpose}: must be one word (no spaces, not empty)")
    return _refuse(text, "\"'#;", purpose, "quotes and comment characters of the file")


def decimal(value: Any, purpose: str = "a number") -> str:
    """A whole number written as digits (a timeout, a count): anything else is refused."""
    text = one_line(value, purpose)
    if isinstance(value, bool) or not _DECIMAL_RE.fullmatch(text):
        raise QuotingError(f"{purpose}: not a whole number")
    return text


def sudoers_command(value: Any, purpose: str = "a sudo command") -> str:
    """A Cmnd_Spec of a sudoers rule: one line, sudoers' own characters escaped.

    ``,`` ``:`` ``=`` and ``\\`` end or change a command specification unless escaped with
    a backslash (sudoers(5), "Other special characters"); ``#`` may start a comment and
    ``@`` an ``@include`` directive: refused.
    """
    text = one_line(value, purpose)
    _refuse(text, "#@", purpose, "sudoers comment and include characters")
    return re.sub(r"([\\,:=])", r"\\\1", text)


def sudoers_name(value: Any, purpose: str = "a sudoers user or group") -> str:
    """A user or group name of a sudoers rule, refused unless it is a plain login name."""
    text = one_line(value, purpose)
    if not _SUDOERS_NAME_RE.fullmatch(text):
        raise QuotingError(
            f"{purpose}: not a plain login name (letters, digits, '_', '.', '-'; at most 32)"
        )
    return text


def sudoers_rule(value: Any, purpose: str = "a sudoers rule") -> str:
    """What follows the user or %group of a sudoers line (``ALL=(ALL) NOPASSWD:ALL``).

    Refused: an empty rule, a '#' that starts a comment (it would cut the rule short;
    ``#<digits>``, an ID, stays) and a trailing backslash (it joins the next line).
    """
    text = one_line(value, purpose)
    if not text.strip():
        raise QuotingError(f"{purpose}: empty sudoers rule")
    if _SUDOERS_COMMENT_RE.search(text):
        raise QuotingError(f"{purpose}: '#' not allowed (a sudoers comment), except '#<ID>'")
    if text.rstrip().endswith("\\"):
        raise QuotingError(f"{purpose}: trailing '\\' not allowed (it continues the line)")
    return text


def octal_mode(value: Any, purpose: str = "a umask") -> str:
    """A umask or file mode as 3 or 4 octal digits, from a string (YAML reads an unquoted
    027 as the number 23)."""
    text = one_line(value, purpose)
    if isinstance(value, bool | int) or not _OCTAL_MODE_RE.fullmatch(text):
        raise QuotingError(f"{purpose}: not an octal mode (3 or 4 digits 0-7, quoted in YAML)")
    return text


def ssh_algorithm(value: Any, purpose: str = "an SSH algorithm") -> str:
    """One name of an sshd_config algorithm list (join them with ','): letters, digits,
    '@', '.', '_', '-'; no list syntax (',', a '+'/'-'/'^' prefix, wildcards)."""
    text = one_line(value, purpose)
    if not _SSH_ALGORITHM_RE.fullmatch(text):
        raise QuotingError(
            f"{purpose}: not an SSH algorithm name (letters, digits, '@', '.', '_', '-')"
        )
    return text


def sysctl_name(value: Any, purpose: str = "a sysctl key") -> str:
    """The key of a sysctl.d line (before '='): letters, digits, '_', '.', '/', '-'."""
    text = one_line(value, purpose)
    if not _SYSCTL_NAME_RE.fullmatch(text):
        raise QuotingError(
            f"{purpose}: not a sysctl key (letters, digits, '_', '.', '/', '-'; no '-' "
            "prefix, no '=' or space)"
        )
    return text


def sysctl_value(value: Any, purpose: str = "a sysctl value") -> str:
    """The value of a sysctl.d line (after '='): one line, not empty, no whitespace at
    either end (sysctl.d strips it); a number is written as digits."""
    text = one_line(value, purpose)
    if isinstance(value, bool) or not text or text != text.strip():
        raise QuotingError(
            f"{purpose}: not a sysctl value (not empty, no whitespace at either end)"
        )
    return text


def kernel_module(value: Any, purpose: str = "a kernel module name") -> str:
    """A kernel module's name in a modprobe.d line: lower-case letters, digits, '_', '-'."""
    text = one_line(value, purpose)
    if not _KERNEL_MODULE_RE.fullmatch(text):
        raise QuotingError(f"{purpose}: not a kernel module name (a-z, 0-9, '_', '-')")
    return text


def audit_path(value: Any, purpose: str = "an audit rule path") -> str:
    """The path of an audit rule (``-w PATH``, ``-F path=PATH``): absolute, one word
    (auditctl splits a rule at whitespace and has no quoting)."""
    text = one_line(value, purpose)
    if not text.startswith("/") or _WHITESPACE_RE.search(text) or len(text) > 4095:
        raise QuotingError(f"{purpose}: not an absolute path without spaces")
    return text


def apt_string(value: Any, purpose: str = "an apt.conf string") -> str:
    """The inside of an apt.conf "..." string: apt has no escape for '"' or a newline."""
    text = one_line(value, purpose)
    return _refuse(text, '"\\', purpose, "apt.conf strings cannot escape them")


def systemd_value(value: Any, purpose: str = "a systemd unit setting") -> str:
    """A unit file setting's value: one line, '%' doubled (specifiers), no backslash
    (a trailing one continues the line)."""
    text = one_line(value, purpose)
    _refuse(text, "\\", purpose, "systemd escapes and line continuations")
    return text.replace("%", "%%")


def systemd_word(value: Any, purpose: str = "a systemd unit setting") -> str:
    """One word of a unit file setting (a user, a path, a port): no space or quote either."""
    return conf_word(systemd_value(value, purpose), purpose)


def systemd_exec_word(value: Any, purpose: str = "a systemd command argument") -> str:
    """One argument of ExecStart=: a word of :func:`systemd_word`, '$' doubled (ExecStart
    expands ``$NAME`` from the environment)."""
    return systemd_word(value, purpose).replace("$", "$$")


def systemd_env_value(value: Any, purpose: str = "an environment file value") -> str:
    """The value of a ``NAME=value`` line of an EnvironmentFile (a password): one line, in
    double quotes, the four characters systemd unescapes there (double quote, backslash,
    backquote, dollar) escaped, so that it is read back exactly."""
    text = one_line(value, purpose)
    return '"' + re.sub(r'(["\\`$])', r"\\\1", text) + '"'


def desktop_string(value: Any, purpose: str = "a desktop entry string") -> str:
    """A Desktop Entry string value (Name, Comment): escapes of the spec for \\\\ \\n \\t \\r."""
    text = _text(value, purpose).replace("\\", "\\\\")
    text = text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return one_line(text, purpose)


def desktop_exec_arg(value: Any, purpose: str = "a desktop entry Exec argument") -> str:
    """One argument of a Desktop Entry Exec key: quoted when it has a reserved character,
    '%' doubled (field codes), then escaped as the string value Exec is."""
    text = one_line(value, purpose)
    if not text or any(char in _DESKTOP_EXEC_RESERVED for char in text):
        text = '"' + re.sub(r'(["`$\\])', r"\\\1", text) + '"'
    return text.replace("%", "%%").replace("\\", "\\\\")


def device_line(value: Any, purpose: str = "a device configuration value") -> str:
    """A value on a line of a Cisco IOS or Huawei VRP configuration: one line, and no
    '^C' (control-C, or the two characters IOS prints for the banner delimiter)."""
    text = one_line(value, purpose)
    if "^C" in text:
        raise QuotingError(f"{purpose}: '^C' not allowed (the banner delimiter of the devices)")
    return text


def ios_banner(value: Any, purpose: str = "the IOS banner") -> str:
    """The text between ``banner motd ^C`` and ``^C``: one line without '^'."""
    return _refuse(device_line(value, purpose), "^", purpose, "the IOS banner delimiter")


def vrp_quoted(value: Any, purpose: str = "a VRP quoted text") -> str:
    """The inside of a Huawei VRP "..." text (header login information): no '"'."""
    return _refuse(device_line(value, purpose), '"', purpose, "it would end the quoted text")


def nft_name(value: Any, purpose: str = "an nftables name") -> str:
    """A table, chain or counter name of an nftables ruleset."""
    text = one_line(value, purpose)
    if not _NFT_NAME_RE.fullmatch(text):
        raise QuotingError(f"{purpose}: not an nftables name (a letter, then letters, digits, '_')")
    return text


def nft_string(value: Any, purpose: str = "an nftables string") -> str:
    """The inside of an nftables "..." string (comment, log prefix): nft cannot escape '"'."""
    return _refuse(one_line(value, purpose), '"\\', purpose, "nftables strings cannot escape it")


def pem_certificates(value: Any, purpose: str = "a PEM certificate") -> str:
    """One or more PEM certificates, nothing else (the only multi-line value written)."""
    text = _text(value, purpose).strip() + "\n"
    if not _PEM_CERTIFICATES_RE.fullmatch(text):
        raise QuotingError(f"{purpose}: not PEM certificates (-----BEGIN CERTIFICATE----- ...)")
    return text.rstrip("\n")


FILTERS: dict[str, Callable[..., str]] = {
    "one_line": one_line,
    "conf_word": conf_word,
    "decimal": decimal,
    "sudoers_command": sudoers_command,
    "sudoers_name": sudoers_name,
    "sudoers_rule": sudoers_rule,
    "octal_mode": octal_mode,
    "ssh_algorithm": ssh_algorithm,
    "sysctl_name": sysctl_name,
    "sysctl_value": sysctl_value,
    "kernel_module": kernel_module,
    "audit_path": audit_path,
    "apt_string": apt_string,
    "systemd_value": systemd_value,
    "systemd_word": systemd_word,
    "systemd_exec_word": systemd_exec_word,
    "systemd_env_value": systemd_env_value,
    "desktop_string": desktop_string,
    "desktop_exec_arg": desktop_exec_arg,
    "device_line": device_line,
    "ios_banner": ios_banner,
    "vrp_quoted": vrp_quoted,
    "nft_name": nft_name,
    "nft_string": nft_string,
    "pem_certificates": pem_certificates,
}
