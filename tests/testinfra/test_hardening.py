"""The MLPS 2.0 level-2 audit: one test per control of ``roles/hardening/meta/controls.yml``,
marked ``@pytest.mark.control("<ID>")``, run on each Linux host, read-only.

Each test checks the state the host really has (``sshd -T`` for the users who log in,
``apt-config dump``, ``systemd-analyze cat-config``, the files PAM and sudo read), against the
level-2 requirements written here (the issue and the catalogue's titles), not against the
role's variables: an inventory that weakens a setting fails the audit.

Where the hosts come from (as the other testinfra suites, see test_common.py):

* ``storeops audit`` passes ``--hosts`` (the inventory's Linux hosts, ``--limit``);
* with no ``--hosts``, the ``linux`` group of ``inventory/lab`` or of ``STOREOPS_INVENTORY``.

Over testinfra's ansible backend every command goes over one SSH connection per host
(ansible.cfg's ControlMaster/ControlPersist). A container cannot hold some controls at
runtime (loading audit rules, writing /proc/sys, setting the clock): there the test first
checks the persisted configuration (a failure there fails the test), and only then skips
the runtime part with ``pytest.skip("not applicable: ...")``.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

from storeops.compliance.sudoers import single_user_rules
from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
testinfra_hosts = [f"ansible://linux?ansible_inventory={INVENTORY}"]  # unless --hosts
pytestmark = [pytest.mark.lab] if LAB_INVENTORY.resolve() == INVENTORY else []
target = role_host.target  # fixture: the host to check

AUTOMATION_USER = "storeops"
# --- the level-2 requirements (issue 18, the catalogue's titles, dev-sec baselines) --------
PWQUALITY_MINLEN = 12
PWQUALITY_MINCLASS = 3
PASS_MAX_DAYS = 60
PASS_MIN_DAYS = 7
PASS_WARN_AGE = 7
FAILLOCK_DENY = 5
FAILLOCK_UNLOCK_TIME = 900
IDLE_SECONDS = 900
SSH_MAX_AUTH_TRIES = 3
SSH_LOGIN_GRACE_TIME = 60
STRONG_CIPHERS = frozenset(
    {
        "chacha20-poly1305@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-gcm@openssh.com",
        "aes256-ctr",
        "aes192-ctr",
        "aes128-ctr",
    }
)
STRONG_MACS = frozenset(
    {
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
        "umac-128-etm@openssh.com",
        "hmac-sha2-512",
        "hmac-sha2-256",
    }
)
STRONG_KEX = frozenset(
    {
        "mlkem768x25519-sha256",
        "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group-exchange-sha256",
        "ecdh-sha2-nistp521",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp256",
    }
)
MODULI_MIN_SIZE = 2047  # the moduli file's size field is bits - 1
UMASK = 0o027
SYSTEM_UID_MAX = 999
SYSTEM_ACCOUNTS_WITH_SHELL = frozenset({"root", "sync", "shutdown", "halt"})
NOLOGIN_SHELLS = frozenset({"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"})
# dev-sec linux-baseline os-06's blacklist
SETUID_BLACKLIST = (
    "/usr/bin/rcp",
    "/usr/bin/rlogin",
    "/usr/bin/rsh",
    "/usr/libexec/openssh/ssh-keysign",
    "/usr/lib/openssh/ssh-keysign",
    "/sbin/netreport",
    "/usr/sbin/usernetctl",
    "/usr/sbin/userisdnctl",
    "/usr/sbin/pppd",
    "/usr/bin/lockfile",
    "/usr/bin/mail-lock",
    "/usr/bin/mail-unlock",
    "/usr/bin/mail-touchlock",
    "/usr/bin/dotlockfile",
    "/usr/bin/arping",
    "/usr/sbin/arping",
    "/usr/sbin/uuidd",
    "/usr/bin/mtr",
    "/usr/lib/evolution/camel-lock-helper-1.2",
    "/usr/lib/pt_chown",
    "/usr/lib/eject/dmcrypt-get-device",
    "/usr/lib/mc/cons.saver",
)
AUDITED_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers")
AUDITED_DIRS = ("/etc/sudoers.d",)
LEGACY_PACKAGES = (
    "telnetd",
    "inetutils-telnetd",
    "telnet",
    "inetutils-telnet",
    "rsh-server",
    "rsh-client",
    "rsh-redone-server",
    "rsh-redone-client",
    "inetutils-ftpd",
    "ftpd",
    "vsftpd",
    "tftpd-hpa",
    "atftpd",
    "tftpd",
    "nis",
    "openbsd-inetd",
    "inetutils-inetd",
    "xinetd",
    "talkd",
    "yp-tools",
)
LEGACY_PORTS = frozenset({21, 23, 69, 512, 513, 514})
NETWORK_SYSCTLS = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.forwarding": "0",
    "net.ipv6.conf.all.forwarding": "0",
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.default.rp_filter": "1",
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv4.conf.default.accept_redirects": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
    "net.ipv6.conf.default.accept_redirects": "0",
    "net.ipv4.conf.all.secure_redirects": "0",
    "net.ipv4.conf.default.secure_redirects": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv4.conf.default.accept_source_route": "0",
    "net.ipv6.conf.all.accept_source_route": "0",
    "net.ipv6.conf.default.accept_source_route": "0",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.conf.default.log_martians": "1",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv4.icmp_echo_ignore_broadcasts": "1",
    "net.ipv4.icmp_ignore_bogus_error_responses": "1",
    "net.ipv4.icmp_ratelimit": "100",
    "net.ipv4.icmp_ratemask": "88089",
    "net.ipv4.tcp_timestamps": "0",
    "net.ipv4.conf.all.arp_ignore": "1",
    "net.ipv4.conf.all.arp_announce": "2",
    "net.ipv4.tcp_rfc1337": "1",
    "net.ipv4.conf.all.shared_media": "1",
    "net.ipv4.conf.default.shared_media": "1",
    "net.ipv6.conf.all.accept_ra": "0",
    "net.ipv6.conf.default.accept_ra": "0",
    "net.ipv6.conf.default.router_solicitations": "0",
    "net.ipv6.conf.default.accept_ra_rtr_pref": "0",
    "net.ipv6.conf.default.accept_ra_pinfo": "0",
    "net.ipv6.conf.default.accept_ra_defrtr": "0",
    "net.ipv6.conf.default.autoconf": "0",
    "net.ipv6.conf.default.dad_transmits": "0",
    "net.ipv6.conf.default.max_addresses": "1",
}
KERNEL_SYSCTLS = {
    "kernel.sysrq": "0",
    "fs.protected_hardlinks": "1",
    "fs.protected_symlinks": "1",
    "fs.protected_fifos": "1",
    "fs.protected_regular": "2",
}
# dev-sec os-10 / CIS 1.1.1; vfat only where the host does not boot by EFI.
UNUSED_FILESYSTEMS = ("cramfs", "freevxfs", "jffs2", "hfs", "hfsplus", "squashfs", "udf", "vfat")
CORE_DUMP_SYSCTLS = {"fs.suid_dumpable": "0", "kernel.randomize_va_space": "2"}
JOURNAL_RETENTION_SECONDS = 180 * 86400
TIMESPAN_UNITS = {
    "us": 1e-6,
    "usec": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "M": 2629800,
    "month": 2629800,
    "months": 2629800,
    "y": 31557600,
    "year": 31557600,
    "years": 31557600,
}


# ---------------------------------------------------------------------------- helpers


def _run(host: Any, command: str, *args: str) -> str:
    """Output of a read-only command run as root; fails the test on a non-zero exit."""
    with host.sudo():
        return str(host.check_output(command, *args))


def _maybe(host: Any, command: str, *args: str) -> tuple[int, str]:
    """Exit status and output of a read-only command run as root."""
    with host.sudo():
        result = host.run(command, *args)
    return int(result.rc), str(result.stdout)


def _file(host: Any, path: str) -> str:
    """A file's text (as root), or '' when it does not exist."""
    status, text = _maybe(host, "cat %s 2>/dev/null", path)
    return text if status == 0 else ""


def _files(host: Any, pattern: str) -> dict[str, str]:
    """path -> text of every file a shell glob matches (as root), in one command."""
    _, out = _maybe(
        host, f'for f in {pattern}; do [ -f "$f" ] && printf \'\\0%s\\0\' "$f" && cat "$f"; done'
    )
    parts = out.split("\0")
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _lines(text: str) -> list[str]:
    """The lines that are not blank or comments, stripped."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def _key_values(text: str) -> dict[str, str]:
    """``key = value`` lines (pwquality.conf, faillock.conf, auditd.conf); the last wins."""
    values: dict[str, str] = {}
    for line in _lines(text):
        key, found, value = line.partition("=")
        values[key.strip()] = value.strip() if found else ""
    return values


def _login_defs(text: str) -> dict[str, str]:
    """``/etc/login.defs``: ``KEY<whitespace>value`` lines; the last wins."""
    values: dict[str, str] = {}
    for line in _lines(text):
        words = line.split(None, 1)
        values[words[0]] = words[1].strip() if len(words) > 1 else ""
    return values


def _pam_module(line: str) -> tuple[str, list[str]]:
    """A PAM line's module and its arguments (the control may be ``[a=b c=d]``)."""
    rest = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
    if rest.startswith("["):
        rest = rest.split("]", 1)[1] if "]" in rest else ""
    else:
        rest = rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
    words = rest.split()
    return (words[0], words[1:]) if words else ("", [])


def is_container(host: Any) -> bool:
    """The host is a container (systemd-detect-virt -c, or podman's /run/.containerenv)."""
    _, out = _maybe(
        host, "systemd-detect-virt -c 2>/dev/null; [ -e /run/.containerenv ] && echo podman"
    )
    return any(word not in ("", "none") for word in out.split())


def is_workstation(host: Any) -> bool:
    """The host is a store workstation (its inventory's roles): employees log in at the desk
    with a password, so only servers must refuse passwords over SSH for every user."""
    if not host.backend.HAS_RUN_ANSIBLE:
        return False  # no inventory: hold it to the servers' rule
    variables = host.ansible.get_variables()
    return "workstation" in variables.get("group_names", []) or "workstation" in [
        str(role) for role in variables.get("storeops_roles", [])
    ]


def real_users(host: Any) -> list[str]:
    """Every account that can log in (a shell that is not nologin), and the automation
    account; plus a name no account has, to catch ``Match User *`` blocks."""
    users = {AUTOMATION_USER, "root", "storeops-audit-nobody"}
    for line in _run(host, "getent passwd").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[6] not in NOLOGIN_SHELLS:
            users.add(fields[0])
    return sorted(users)


def _client_address(host: Any) -> str:
    out = host.run("echo ${SSH_CLIENT%% *}").stdout.strip()
    return out if re.fullmatch(r"[0-9a-fA-F.:]+", out) else "127.0.0.1"


def sshd_effective(host: Any, users: list[str]) -> dict[str, dict[str, str]]:
    """user -> sshd's effective settings for that user's connection from the controller's
    address (``sshd -T -C``, Match blocks applied), all users in one command."""
    address = _client_address(host)
    hostname = host.run("hostname").stdout.strip() or "localhost"
    script = "; ".join(
        f"echo '== {user}'; sshd -T -C {shlex.quote(f'user={user},host={hostname},addr={address}')}"
        for user in users
    )
    out = _run(host, f"sh -c {shlex.quote(script)}")
    effective: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("== "):
            current = effective.setdefault(line[3:].strip(), {})
        elif line.strip():
            key, _, value = line.strip().partition(" ")
            current.setdefault(key.lower(), value.strip())  # the first of repeated keys
    return effective


@pytest.fixture(scope="module")
def sshd(target: Any) -> dict[str, dict[str, str]]:
    """sshd's effective settings for every user who can log in (read once per host)."""
    return sshd_effective(target, real_users(target))


def timespan_seconds(text: str) -> float:
    """A systemd time span (``180d``, ``6month``, ``1y 2d``, ``15552000``) in seconds."""
    text = text.strip()
    if not text:
        return 0.0
    if re.fullmatch(r"\d+", text):
        return float(text)
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)", text):
        factor = TIMESPAN_UNITS.get(unit) or TIMESPAN_UNITS.get(unit.lower())
        assert factor is not None, f"unknown time unit {unit!r} in {text!r}"
        total += float(number) * factor
    return total


def persisted_sysctls(host: Any) -> dict[str, str]:
    """The values systemd-sysctl applies at boot: sysctl.d files of /usr/lib, /run, /etc
    (a file in /etc hides one of the same name), in file-name order, then /etc/sysctl.conf."""
    files = _files(host, "/usr/lib/sysctl.d/*.conf /run/sysctl.d/*.conf /etc/sysctl.d/*.conf")
    by_name: dict[str, str] = {}
    for path in sorted(files, key=lambda p: ("/etc/" in p, "/run/" in p)):
        by_name[Path(path).name] = files[path]
    texts = [by_name[name] for name in sorted(by_name)]
    conf = _file(host, "/etc/sysctl.conf")
    if "99-sysctl.conf" not in by_name:
        texts.append(conf)
    values: dict[str, str] = {}
    for text in texts:
        for line in _lines(text):
            if line.startswith(";"):
                continue
            key, found, value = line.lstrip("-").partition("=")
            if found:
                values[key.strip().replace("/", ".")] = value.strip()
    return values


def _check_sysctls(host: Any, expected: dict[str, str], file_hint: str) -> None:
    """Persisted values first (fail), then live values where /proc/sys is writable."""
    persisted = persisted_sysctls(host)
    wrong = {k: persisted.get(k) for k, v in expected.items() if persisted.get(k) != v}
    assert wrong == {}, f"sysctl.d ({file_hint}) does not set: {wrong} (expected {expected})"
    if is_container(host):
        pytest.skip("not applicable: /proc/sys is read-only in a container (sysctl.d checked)")
    script = "; ".join(f"echo {k}=$(sysctl -n {k} 2>/dev/null)" for k in expected)
    live = _key_values(_run(host, f"sh -c {shlex.quote(script)}"))
    wrong_live = {k: live.get(k) for k, v in expected.items() if live.get(k) not in (v, "")}
    assert wrong_live == {}, f"running kernel differs from sysctl.d: {wrong_live}"


# ---------------------------------------------------------------------------- 7.1.4.1


@pytest.mark.control("L2-7.1.4.1-a-pwquality")
def test_pwquality(target: Any) -> None:
    stack = [
        line
        for line in _lines(_file(target, "/etc/pam.d/common-password"))
        if line.startswith("password")
    ]
    modules = [_pam_module(line)[0] for line in stack]
    assert "pam_pwquality.so" in modules, f"pam_pwquality not in common-password: {modules}"
    assert modules.index("pam_pwquality.so") < modules.index("pam_unix.so"), (
        "pam_pwquality after pam_unix"
    )
    settings: dict[str, str] = {}
    for _path, text in sorted(
        _files(target, "/etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf").items()
    ):
        settings.update(_key_values(text))
    line = next(line for line in stack if _pam_module(line)[0] == "pam_pwquality.so")
    settings.update(_key_values("\n".join(_pam_module(line)[1])))  # the PAM line's arguments win
    assert int(settings.get("minlen", "0")) >= PWQUALITY_MINLEN, f"minlen {settings.get('minlen')}"
    assert int(settings.get("minclass", "0")) >= PWQUALITY_MINCLASS, (
        f"minclass {settings.get('minclass')}"
    )
    if settings.get("dictcheck", "1") != "0":  # without its dictionary, every password fails
        dictionary = _maybe(target, "test -s /var/cache/cracklib/cracklib_dict.pwd")[0]
        assert dictionary == 0, "pwquality's dictionary check has no dictionary (cracklib-runtime)"


@pytest.mark.control("L2-7.1.4.1-a-password-ageing")
def test_password_ageing(target: Any) -> None:
    defs = _login_defs(_file(target, "/etc/login.defs"))
    assert 0 < int(defs.get("PASS_MAX_DAYS", "99999")) <= PASS_MAX_DAYS, defs.get("PASS_MAX_DAYS")
    assert int(defs.get("PASS_MIN_DAYS", "0")) >= PASS_MIN_DAYS, defs.get("PASS_MIN_DAYS")
    assert int(defs.get("PASS_WARN_AGE", "0")) >= PASS_WARN_AGE, defs.get("PASS_WARN_AGE")
    wrong = []
    for line in _run(target, "cat /etc/shadow").splitlines():
        fields = line.split(":")
        if len(fields) < 6 or not fields[1] or fields[1][0] in "!*":
            continue  # no password: nothing ages
        if (
            not fields[4]
            or int(fields[4]) > PASS_MAX_DAYS
            or not fields[3]
            or int(fields[3]) < PASS_MIN_DAYS
        ):
            wrong.append(f"{fields[0]} (min {fields[3] or '-'}, max {fields[4] or '-'})")
    assert wrong == [], f"accounts with a password that does not age: {wrong}"


@pytest.mark.control("L2-7.1.4.1-a-unique-accounts")
def test_unique_accounts(target: Any) -> None:
    def duplicates(text: str, column: int) -> list[str]:
        values = [line.split(":")[column] for line in text.splitlines() if line.count(":") > column]
        return sorted({v for v in values if values.count(v) > 1})

    passwd, group = _file(target, "/etc/passwd"), _file(target, "/etc/group")
    assert duplicates(passwd, 0) == [] and duplicates(passwd, 2) == [], "duplicate user name or UID"
    assert duplicates(group, 0) == [] and duplicates(group, 2) == [], "duplicate group name or GID"
    empty = [
        line.split(":")[0]
        for line in _run(target, "cat /etc/shadow").splitlines()
        if line.split(":")[1:2] == [""]
    ]
    assert empty == [], f"accounts with an empty password: {empty}"


@pytest.mark.control("L2-7.1.4.1-b-faillock")
def test_faillock(target: Any, sshd: dict[str, dict[str, str]]) -> None:
    auth = _lines(_file(target, "/etc/pam.d/common-auth"))
    account = _lines(_file(target, "/etc/pam.d/common-account"))
    faillock_auth = [line for line in auth if "pam_faillock.so" in line]
    assert any("preauth" in line for line in faillock_auth), (
        "no pam_faillock preauth in common-auth"
    )
    assert any("authfail" in line for line in faillock_auth), (
        "no pam_faillock authfail in common-auth"
    )
    assert any("pam_faillock.so" in line for line in account), "no pam_faillock in common-account"
    sshd_pam = _lines(_file(target, "/etc/pam.d/sshd"))
    assert "@include common-auth" in sshd_pam and "@include common-account" in sshd_pam
    assert sshd[AUTOMATION_USER].get("usepam") == "yes", "sshd does not use PAM"
    settings = _key_values(_file(target, "/etc/security/faillock.conf"))
    for line in faillock_auth:
        settings.update(_key_values("\n".join(_pam_module(line)[1])))
    assert 0 < int(settings.get("deny", "0")) <= FAILLOCK_DENY, f"deny {settings.get('deny')}"
    unlock = int(settings.get("unlock_time", "600"))
    assert unlock == 0 or unlock >= FAILLOCK_UNLOCK_TIME, f"unlock_time {unlock}"


@pytest.mark.control("L2-7.1.4.1-b-idle-timeout")
def test_idle_timeout(target: Any, sshd: dict[str, dict[str, str]]) -> None:
    out = _run(target, "env -i bash -l -c 'echo \"TMOUT=$TMOUT\"; readonly -p' </dev/null")
    tmout = re.search(r"^TMOUT=(\d*)$", out, re.MULTILINE)
    assert tmout and tmout.group(1), "login shells have no TMOUT"
    assert 0 < int(tmout.group(1)) <= IDLE_SECONDS, f"TMOUT {tmout.group(1)}"
    assert re.search(r"^declare -[a-zA-Z]*r[a-zA-Z]* TMOUT", out, re.MULTILINE), (
        "TMOUT not read-only"
    )
    automation = sshd[AUTOMATION_USER]
    interval = int(automation["clientaliveinterval"])
    count = int(automation["clientalivecountmax"])
    assert interval > 0 and 0 < interval * max(count, 1) <= IDLE_SECONDS, (
        f"ClientAlive {interval} x {count}"
    )
    # dev-sec sshd-35: the encrypted ClientAlive probes, not spoofable TCP keepalives
    assert automation["tcpkeepalive"] == "no", "TCPKeepAlive yes"


@pytest.mark.control("L2-7.1.4.1-c-ssh-crypto")
def test_ssh_crypto(target: Any, sshd: dict[str, dict[str, str]]) -> None:
    for user, effective in sshd.items():
        weak = {
            "ciphers": set(effective["ciphers"].split(",")) - STRONG_CIPHERS,
            "macs": set(effective["macs"].split(",")) - STRONG_MACS,
            "kexalgorithms": set(effective["kexalgorithms"].split(",")) - STRONG_KEX,
        }
        assert not any(weak.values()), f"weak algorithms for {user}: {weak}"
    small = [
        line
        for line in _lines(_file(target, "/etc/ssh/moduli"))
        if len(line.split()) >= 5 and int(line.split()[4]) < MODULI_MIN_SIZE
    ]
    assert small == [], f"{len(small)} moduli under 2048 bits in /etc/ssh/moduli"


@pytest.mark.control("L2-7.1.4.1-c-ssh-login")
def test_ssh_login(host: Any, sshd: dict[str, dict[str, str]]) -> None:
    server = not is_workstation(host)
    for user, effective in sshd.items():
        assert effective["permitrootlogin"] == "no", (
            f"{user}: PermitRootLogin {effective['permitrootlogin']}"
        )
        assert effective["permitemptypasswords"] == "no", f"{user}: PermitEmptyPasswords"
        assert int(effective["maxauthtries"]) <= SSH_MAX_AUTH_TRIES, (
            f"{user}: MaxAuthTries {effective['maxauthtries']}"
        )
        grace = timespan_seconds(effective["logingracetime"])
        assert 0 < grace <= SSH_LOGIN_GRACE_TIME, (
            f"{user}: LoginGraceTime {effective['logingracetime']}"
        )
        if server or user in (AUTOMATION_USER, "root"):
            assert effective["passwordauthentication"] == "no", (
                f"{user}: PasswordAuthentication yes"
            )
            assert effective["kbdinteractiveauthentication"] == "no", (
                f"{user}: KbdInteractiveAuthentication yes"
            )
    assert sshd[AUTOMATION_USER]["pubkeyauthentication"] == "yes", (
        "the automation account needs keys"
    )


# ---------------------------------------------------------------------------- 7.1.4.2


@pytest.mark.control("L2-7.1.4.2-a-ssh-forwarding")
def test_ssh_forwarding(sshd: dict[str, dict[str, str]]) -> None:
    expected = {
        "allowtcpforwarding": "no",
        "allowagentforwarding": "no",
        "allowstreamlocalforwarding": "no",
        "x11forwarding": "no",
        "permittunnel": "no",
        "gatewayports": "no",
    }
    for user, effective in sshd.items():
        wrong = {k: effective.get(k) for k, v in expected.items() if effective.get(k) != v}
        assert wrong == {}, f"{user} may forward: {wrong}"


@pytest.mark.control("L2-7.1.4.2-a-sudo-groups")
def test_sudo_groups(target: Any) -> None:
    status, out = _maybe(target, "visudo -c 2>&1")
    assert status == 0, f"visudo -c fails: {out}"
    # sudo reads /etc/sudoers.d files whose names have no '.' and do not end in '~'
    files = _files(target, "/etc/sudoers /etc/sudoers.d/*")
    read = {
        p: t
        for p, t in files.items()
        if p == "/etc/sudoers" or ("." not in Path(p).name and not p.endswith("~"))
    }
    wrong = {path: single_user_rules(text) for path, text in read.items()}
    wrong = {path: rules for path, rules in wrong.items() if rules}
    assert wrong == {}, f"sudo rules for single users (grant through a group): {wrong}"


@pytest.mark.control("L2-7.1.4.2-b-system-accounts")
def test_system_accounts(target: Any) -> None:
    wrong = []
    for line in _file(target, "/etc/passwd").splitlines():
        fields = line.split(":")
        if len(fields) < 7 or fields[0] in SYSTEM_ACCOUNTS_WITH_SHELL:
            continue
        uid = int(fields[2])
        if (uid <= SYSTEM_UID_MAX or uid == 65534) and fields[6] not in NOLOGIN_SHELLS:
            wrong.append(f"{fields[0]} ({fields[6]})")
    assert wrong == [], f"system accounts with a login shell: {wrong}"


def _stat(host: Any, paths: list[str]) -> dict[str, tuple[str, str, int]]:
    quoted = " ".join(shlex.quote(p) for p in paths)
    out = _run(host, f"stat -c '%n %U %G %a' {quoted}")
    result = {}
    for line in out.splitlines():
        name, user, group, mode = line.rsplit(" ", 3)
        result[name] = (user, group, int(mode, 8))
    return result


@pytest.mark.control("L2-7.1.4.2-d-file-permissions")
def test_file_permissions(target: Any) -> None:
    dropins = sorted(_files(target, "/etc/ssh/sshd_config.d/*.conf"))
    stats = _stat(
        target,
        [
            "/etc/shadow",
            "/etc/gshadow",
            "/etc/passwd",
            "/etc/group",
            "/etc/ssh",
            "/etc/ssh/sshd_config",
            *dropins,
        ],
    )
    problems = []
    for path in ("/etc/shadow", "/etc/gshadow"):
        user, group, mode = stats[path]
        if user != "root" or group not in ("root", "shadow") or mode & 0o137:
            problems.append(f"{path} {user}:{group} {mode:o} (want root:shadow 640 or stricter)")
    for path in ("/etc/passwd", "/etc/group", "/etc/ssh"):
        user, group, mode = stats[path]
        if user != "root" or group != "root" or mode & 0o022:
            problems.append(
                f"{path} {user}:{group} {mode:o} (want root:root, not group/other writable)"
            )
    for path in ("/etc/ssh/sshd_config", *dropins):
        user, group, mode = stats[path]
        if user != "root" or mode & 0o077:
            problems.append(f"{path} {user}:{group} {mode:o} (want root, 600 or stricter)")
    assert problems == []


@pytest.mark.control("L2-7.1.4.2-d-umask")
def test_umask(target: Any) -> None:
    defs = _login_defs(_file(target, "/etc/login.defs"))
    assert int(defs.get("UMASK", "022"), 8) & UMASK == UMASK, (
        f"login.defs UMASK {defs.get('UMASK')}"
    )
    shell = _run(target, "env -i bash -l -c umask </dev/null").strip()
    assert int(shell, 8) & UMASK == UMASK, f"login shells' umask {shell}"


@pytest.mark.control("L2-7.1.4.2-d-no-trust-files")
def test_no_trust_files(target: Any, sshd: dict[str, dict[str, str]]) -> None:
    homes = {
        line.split(":")[5]
        for line in _file(target, "/etc/passwd").splitlines()
        if line.count(":") >= 6
    }
    candidates = ["/etc/hosts.equiv", "/etc/ssh/shosts.equiv"] + [
        f"{home}/{name}"
        for home in sorted(homes)
        if home.startswith("/")
        for name in (".rhosts", ".shosts", ".netrc")
    ]
    script = "; ".join(f"[ -e {shlex.quote(p)} ] && echo {shlex.quote(p)}" for p in candidates)
    _, out = _maybe(target, f"sh -c {shlex.quote(script + '; true')}")
    assert out.split() == [], f"trust files: {out.split()}"
    for user, effective in sshd.items():
        assert effective["ignorerhosts"] == "yes", f"{user}: IgnoreRhosts no"
        assert effective["hostbasedauthentication"] == "no", f"{user}: HostbasedAuthentication"


@pytest.mark.control("L2-7.1.4.2-d-setuid")
def test_setuid(target: Any) -> None:
    """No blacklisted binary has a setuid/setgid bit, and dpkg holds an override without
    them, so the next upgrade of its package does not set them again."""
    paths = " ".join(shlex.quote(p) for p in SETUID_BLACKLIST)
    script = f'for f in {paths}; do [ -f "$f" ] && find "$f" -printf "%m %p\\n"; done; true'
    _, present = _maybe(target, f"sh -c {shlex.quote(script)}")
    _, listing = _maybe(target, "dpkg-statoverride --list")
    overrides = {}
    for line in listing.splitlines():
        fields = line.split(maxsplit=3)
        if len(fields) == 4:
            overrides[fields[3]] = int(fields[2], 8)
    problems = []
    for line in present.splitlines():
        mode_text, path = line.split(" ", 1)
        if int(mode_text, 8) & 0o6000:
            problems.append(f"{path}: mode {mode_text}")
        override = overrides.get(path)
        if override is None or override & 0o6000:
            problems.append(f"{path}: no dpkg stat override without setuid/setgid")
    assert problems == [], f"setuid/setgid where none is needed: {problems}"


# ---------------------------------------------------------------------------- 7.1.4.3


def _audit_rules_persisted(host: Any) -> str:
    return (
        "\n".join(_files(host, "/etc/audit/rules.d/*.rules").values())
        + "\n"
        + _file(host, "/etc/audit/audit.rules")
    )


def _watched(rules: str, path: str) -> bool:
    return bool(
        re.search(rf"^-w {re.escape(path)}/? .*-p [rwxa]*w", rules, re.MULTILINE)
        or re.search(
            rf"^-a (always,exit|exit,always) .*-F (path|dir)={re.escape(path)}/? "
            r".*-F perm=[rwxa]*w",
            rules,
            re.MULTILINE,
        )
    )


@pytest.mark.control("L2-7.1.4.3-a-auditd")
def test_auditd(target: Any) -> None:
    assert target.package("auditd").is_installed, "auditd is not installed"
    assert target.service("auditd").is_enabled, "auditd is not enabled"
    rules = _audit_rules_persisted(target)
    unwatched = [p for p in (*AUDITED_FILES, *AUDITED_DIRS) if not _watched(rules, p)]
    assert unwatched == [], f"no persisted audit rule for writes to {unwatched}"
    privileged = _run(target, "find /usr -xdev -type f -perm /6000").split()
    unaudited = [
        p for p in privileged if not re.search(rf"-F path={re.escape(p)} .*-F perm=[rwa]*x", rules)
    ]
    assert unaudited == [], f"privileged commands without an audit rule: {unaudited}"
    if is_container(target):
        pytest.skip(
            "not applicable: the kernel refuses audit rules from a container (rules files checked)"
        )
    assert target.service("auditd").is_running, "auditd is not running"
    loaded = _run(target, "auditctl -l")
    not_loaded = [p for p in (*AUDITED_FILES, *AUDITED_DIRS) if not _watched(loaded, p)]
    assert not_loaded == [], f"audit rules not loaded for {not_loaded}"


@pytest.mark.control("L2-7.1.4.3-c-audit-log-protection")
def test_audit_log_protection(target: Any) -> None:
    conf = {
        k.lower(): v.lower()
        for k, v in _key_values(_file(target, "/etc/audit/auditd.conf")).items()
    }
    assert conf, "no /etc/audit/auditd.conf"
    assert conf.get("max_log_file_action") in ("keep_logs", "rotate"), conf.get(
        "max_log_file_action"
    )
    if conf.get("max_log_file_action") == "rotate":
        assert int(conf.get("num_logs", "0")) >= 2, "rotate keeps fewer than 2 logs"
    for key in (
        "space_left_action",
        "admin_space_left_action",
        "disk_full_action",
        "disk_error_action",
    ):
        assert conf.get(key, "suspend") not in ("ignore", "rotate"), f"{key} {conf.get(key)}"
    assert conf.get("admin_space_left_action", "suspend") in ("suspend", "single", "halt")
    assert conf.get("disk_full_action", "suspend") in ("suspend", "single", "halt")
    log_file = conf.get("log_file", "/var/log/audit/audit.log")
    log_dir = str(Path(log_file).parent)
    if target.file(log_dir).exists:
        paths = [log_dir, *_run(target, f"find {shlex.quote(log_dir)} -maxdepth 1 -type f").split()]
        exposed = [
            f"{path} {user}:{group} {mode:o}"
            for path, (user, group, mode) in _stat(target, paths).items()
            if user != "root" or mode & 0o027 or (mode & 0o040 and group != "root")
        ]
        assert exposed == [], f"audit logs readable beyond root: {exposed}"


@pytest.mark.control("L2-7.1.4.3-c-journal-retention")
def test_journal_retention(target: Any) -> None:
    config = _key_values(_run(target, "systemd-analyze cat-config systemd/journald.conf"))
    assert config.get("Storage") == "persistent", f"Storage={config.get('Storage', 'auto')}"
    retention = timespan_seconds(config.get("MaxRetentionSec", ""))
    assert retention >= JOURNAL_RETENTION_SECONDS, (
        f"MaxRetentionSec={config.get('MaxRetentionSec')}"
    )
    assert target.file("/var/log/journal").is_directory, "no /var/log/journal"


@pytest.mark.control("L2-7.1.4.3-b-time-sync")
def test_time_sync(target: Any) -> None:
    assert target.package("chrony").is_installed, "chrony is not installed"
    sources = _files(
        target, "/etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf /etc/chrony/sources.d/*.sources"
    )
    servers = [
        line
        for text in sources.values()
        for line in _lines(text)
        if line.split()[0] in ("server", "pool", "peer")
    ]
    assert servers, "chrony has no server or pool"
    service = target.service("chrony")
    assert service.is_enabled and service.is_running, "chrony is not enabled and running"
    if is_container(target):
        pytest.skip(
            "not applicable: a container cannot set the clock (configuration and service checked)"
        )
    tracking = _run(target, "chronyc -n tracking")
    assert "Leap status     : Normal" in tracking, tracking


@pytest.mark.control("L2-7.1.4.3-a-ssh-logging")
def test_ssh_logging(sshd: dict[str, dict[str, str]]) -> None:
    levels = {user: effective["loglevel"] for user, effective in sshd.items()}
    assert {level.upper() for level in levels.values()} <= {"VERBOSE", "DEBUG", "DEBUG1"}, levels


# ---------------------------------------------------------------------------- 7.1.4.4


@pytest.mark.control("L2-7.1.4.4-a-no-legacy-servers")
def test_no_legacy_servers(target: Any) -> None:
    names = " ".join(LEGACY_PACKAGES)
    _, out = _maybe(
        target, f"dpkg-query -W -f '${{Package}} ${{db:Status-Abbrev}}\\n' {names} 2>/dev/null"
    )
    installed = [
        line.split()[0]
        for line in out.splitlines()
        if len(line.split()) > 1 and line.split()[1].startswith(("ii", "hi", "iU", "iF"))
    ]
    assert installed == [], f"legacy packages installed: {installed}"
    status, listening = _maybe(target, "ss -Htlnu")
    assert status == 0, "ss -Htlnu failed: cannot list the listening ports"
    ports = {int(m) for m in re.findall(r"\S+:(\d+)\s+\S+:\*", listening)}
    assert ports & LEGACY_PORTS == set(), f"legacy ports listening: {sorted(ports & LEGACY_PORTS)}"


@pytest.mark.control("L2-7.1.4.4-b-network-sysctls")
def test_network_sysctls(target: Any) -> None:
    _check_sysctls(target, NETWORK_SYSCTLS, "network")


@pytest.mark.control("L2-7.1.4.4-b-kernel-sysctls")
def test_kernel_sysctls(target: Any) -> None:
    _check_sysctls(target, KERNEL_SYSCTLS, "kernel")


@pytest.mark.control("L2-7.1.4.4-d-unused-filesystems")
def test_unused_filesystems(target: Any) -> None:
    """modprobe runs /bin/true (or false) for each unused file system, and none is loaded."""
    config = "\n".join(
        _files(
            target, "/etc/modprobe.d/*.conf /run/modprobe.d/*.conf /usr/lib/modprobe.d/*.conf"
        ).values()
    )
    disabled = set(
        re.findall(r"^\s*install\s+(\S+)\s+(?:/usr)?/bin/(?:true|false)\s*$", config, re.MULTILINE)
    )
    efi = _maybe(target, "test -d /sys/firmware/efi")[0] == 0
    wanted = [fs for fs in UNUSED_FILESYSTEMS if not (efi and fs == "vfat")]
    missing = [fs for fs in wanted if fs not in disabled]
    assert missing == [], f"modprobe may load: {missing}"
    if is_container(target):
        pytest.skip("not applicable: a container shares the host's kernel (modprobe.d checked)")
    loaded = {line.split()[0] for line in _file(target, "/proc/modules").splitlines() if line}
    assert loaded.isdisjoint(wanted), f"loaded: {sorted(loaded & set(wanted))}"


@pytest.mark.control("L2-7.1.4.4-c-ssh-version")
def test_ssh_version(target: Any, sshd: dict[str, dict[str, str]]) -> None:
    automation = sshd[AUTOMATION_USER]
    assert automation.get("debianbanner", "no") == "no", "DebianBanner yes"
    port = automation.get("port", "22").split()[0]
    status, banner = _maybe(
        target,
        'python3 -c "import socket,sys; '
        "s=socket.create_connection(('127.0.0.1', int(sys.argv[1])), 3); "
        f"print(s.recv(255).decode(errors='replace').strip())\" {shlex.quote(port)}",
    )
    if status == 0:  # sshd may listen on another address only; the setting was checked
        assert banner.startswith("SSH-2.0-"), banner
        assert not re.search(r"(Debian|Ubuntu)-\S+|deb\d+u\d+", banner), (
            f"version string {banner!r}"
        )


@pytest.mark.control("L2-7.1.4.4-e-security-updates")
def test_security_updates(target: Any) -> None:
    assert target.package("unattended-upgrades").is_installed, "unattended-upgrades not installed"
    dump = target.check_output("apt-config dump")
    periodic = dict(re.findall(r'^APT::Periodic::([\w-]+) "([^"]*)";', dump, re.MULTILINE))
    assert periodic.get("Update-Package-Lists") not in (None, "0"), "package lists not updated"
    assert periodic.get("Unattended-Upgrade") not in (None, "0"), "unattended upgrades off"
    origins = re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "([^"]*)";', dump, re.MULTILINE)
    origins += re.findall(r'^Unattended-Upgrade::Allowed-Origins:: "([^"]*)";', dump, re.MULTILINE)
    assert any("security" in o.lower() for o in origins), f"no security origin: {origins}"
    assert all("security" in o.lower() for o in origins), f"origins beyond security: {origins}"


# ---------------------------------------------------------------------------- 7.1.4.8


@pytest.mark.control("L2-7.1.4.8-a-core-dumps")
def test_core_dumps(target: Any) -> None:
    limits = "\n".join(
        _files(target, "/etc/security/limits.conf /etc/security/limits.d/*.conf").values()
    )
    hard = [
        line.split()
        for line in _lines(limits)
        if len(line.split()) == 4 and line.split()[1:3] == ["hard", "core"]
    ]
    assert any(entry[0] == "*" and entry[3] == "0" for entry in hard), "no '* hard core 0' limit"
    coredump = _key_values(
        _maybe(target, "systemd-analyze cat-config systemd/coredump.conf 2>/dev/null")[1]
    )
    if target.package("systemd-coredump").is_installed:
        assert coredump.get("Storage") == "none" and coredump.get("ProcessSizeMax") == "0", coredump
    _check_sysctls(target, CORE_DUMP_SYSCTLS, "core dumps")
