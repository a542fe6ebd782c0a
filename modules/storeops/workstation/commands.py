"""The shell side of the workstation deploys, as pure functions: what is run, what is parsed.

Kept apart from :mod:`.deploy` (which imports pyinfra) so that the unit tests can check the
exact commands and parsers without pyinfra in their process.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Mapping
from typing import Any

from storeops.schema import FIREWALL_TABLE_RE

# A password field an account gets from useradd (none set yet): the first-login password
# goes there. A locked real password ("!$y$...") is someone's decision and is left alone.
UNSET_PASSWORDS = frozenset({"", "!", "!!", "*", "!*"})
STATE_DIR = "/var/lib/storeops/workstation"
ARCHIVE_CIPHER = ("-aes-256-cbc", "-pbkdf2", "-iter", "600000", "-salt")
_DEVICE_RE = re.compile(r"device for ([^:\s]+): (\S+)")
_DEFAULT_RE = re.compile(r"system default destination: (\S+)")
# The firewall's commit-confirm on the host (module_utils/storeops_nft.py, copied there).
NFT_HELPER = "/usr/local/lib/storeops/storeops_nft.py"
# The CUPS queues and the default printer, for parse_lpstat; nothing (no error) without CUPS.
LPSTAT_COMMAND = "LC_ALL=C lpstat -v 2>/dev/null; LC_ALL=C lpstat -d 2>/dev/null; true"


def parse_lpstat(lines: list[str]) -> dict[str, Any]:
    """``lpstat -v; lpstat -d`` -> {"queues": {name: device URI}, "default": name or None}."""
    queues: dict[str, str] = {}
    default = None
    for line in lines:
        device = _DEVICE_RE.fullmatch(line.strip())
        if device:
            queues[device.group(1)] = device.group(2)
        chosen = _DEFAULT_RE.fullmatch(line.strip())
        if chosen:
            default = chosen.group(1)
    return {"queues": queues, "default": default}


def lpadmin_queue(printer: Mapping[str, Any]) -> list[str]:
    """The lpadmin arguments that (re)create the store's queue, enabled and not shared."""
    command = [
        "lpadmin",
        "-p",
        printer["name"],
        "-E",
        "-v",
        printer["uri"],
        "-m",
        printer["driver"],
    ]
    if printer.get("location"):
        command += ["-L", printer["location"]]
    if printer.get("description"):
        command += ["-D", printer["description"]]
    return [*command, "-o", "printer-is-shared=false"]


def printer_commands(current: Mapping[str, Any], printer: Mapping[str, Any]) -> list[list[str]]:
    """What makes the store's printer a queue with its device URI and the default, given what
    :func:`parse_lpstat` read: the missing lpadmin commands (none when it already is)."""
    name = printer["name"]
    commands = []
    if current["queues"].get(name) != printer["uri"]:
        commands.append(lpadmin_queue(printer))
    if current["default"] != name:
        commands.append(["lpadmin", "-d", name])
    return commands


def archive_name(owner: str, asset_tag: str, provisioned: dt.date) -> str:
    """One archive per assignment: ``<owner>-<asset tag>-<provisioning date>.tar.gz.enc``."""
    return f"{owner}-{asset_tag}-{provisioned.isoformat()}.tar.gz.enc"


def archive_home_command(home: str, archive: str) -> str:
    """tar of the home, encrypted with the password read from stdin, then renamed into place.

    The password never appears in a command line: it is the command's standard input,
    which openssl reads through file descriptor 3 while tar writes to its standard output.
    tar's own exit status is kept (fd 4) and must be 0: ``sh`` has no ``pipefail``, and an
    archive tar could not finish must not pass for a whole one. A run cut short leaves only
    ``<archive>.part``, which the next run overwrites.
    """
    part, status = f"{archive}.part", f"{archive}.tar-status"
    parent, name = home.rsplit("/", 1)
    tar = ["tar", "--create", "--gzip", "--file", "-", "--directory", parent or "/", name]
    openssl = ["openssl", "enc", *ARCHIVE_CIPHER, "-pass", "fd:3", "-out", part]
    q = shlex.quote
    return (
        f"install -d -m 0700 {q(archive.rsplit('/', 1)[0])} && "
        f"{{ {{ {shlex.join(tar)}; echo $? >&4; }} | {shlex.join(openssl)}; }} 3<&0 4>{q(status)}"
        f' && test "$(cat {q(status)})" = 0 && rm -f {q(status)} && mv {q(part)} {q(archive)}'
    )


def restore_command(archive: str, password_file: str, target: str) -> str:
    """How to open an archive again: the store's backup secret in a file, a target directory."""
    q = shlex.quote
    return (
        f"openssl enc -d {' '.join(ARCHIVE_CIPHER)} -in {q(archive)} -pass file:{q(password_file)}"
        f" | tar --extract --gzip --file - --directory {q(target)}"
    )


def remove_account_commands(owner: str) -> list[str]:
    """Stop the employee's processes, delete the account, its home and its crontab."""
    user = shlex.quote(owner)
    return [
        f"pkill --signal KILL --uid {user} || true",
        f"userdel --remove {user}",
        f"rm -f /var/spool/cron/crontabs/{user}",
    ]


def nft_helper_command(action: str, table: str, state_dir: str, *options: str) -> str:
    """``python3 storeops_nft.py <action> --table T --state-dir D [options]``, every word
    quoted for the root shell it runs in; a table that is not a plain name is refused."""
    if not FIREWALL_TABLE_RE.fullmatch(table):
        raise ValueError(f"firewall_table {table!r} is not an nftables table name")
    words = ["python3", NFT_HELPER, action, "--table", table, "--state-dir", state_dir]
    return shlex.join([*words, *options])
