"""What a store's database server looks like after the ``mariadb`` role: checked on the host.

Where the hosts come from:

* molecule (``roles/mariadb/molecule/default``) passes ``--hosts`` and its own inventory;
* with no ``--hosts`` (``make test-lab``), the ``db`` group of ``inventory/lab``, or of the
  inventory ``STOREOPS_INVENTORY`` names, so the same checks audit production::

      STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_mariadb.py

  Run it from the repository root, as ansible: the inventory's paths are relative to it.

What is expected comes from each host's own Ansible variables, templated by Ansible (so
``password: "{{ vault_dms_db_password }}"`` resolves through the vault), with the role
defaults for anything the inventory does not set, or for everything when the connection is
not Ansible.

Passwords never leave the controller in plain text except for a real login: the password
check compares the server's ``mysql_native_password`` hash with the hash of the inventory's
password, computed here. A real login is made from the account's own address where that
address is one of the database server's (in molecule: two loopback addresses); an account
meant for another host (the DMS host) is instead shown to be refused from the server's own
address, and the login test says why it cannot log in from there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path
from ansible.module_utils.parsing.convert_bool import boolean

from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
testinfra_hosts = [f"ansible://db?ansible_inventory={INVENTORY}"]  # unless --hosts
pytestmark = [pytest.mark.lab] if LAB_INVENTORY.resolve() == INVENTORY else []
target = role_host.target  # fixture: the host to check

CONFIG_FILE = "/etc/mysql/mariadb.conf.d/60-storeops.cnf"
SOCKET_UNITS = ("mariadb.socket", "mariadb-extra.socket")

# Logs in with PyMySQL (python3-pymysql, installed by the role) from a given source
# address; the password comes from the environment, never from the command's arguments.
_LOGIN = """
import json, os, sys
import pymysql
try:
    conn = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3],
                           password=os.environ["STOREOPS_DB_PASSWORD"],
                           bind_address=sys.argv[4], connect_timeout=5)
    with conn.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        print(json.dumps({"user": cursor.fetchone()[0]}))
except pymysql.err.OperationalError as error:
    print(json.dumps({"error": error.args[0], "message": str(error.args[-1])}))
"""
ER_HOST_NOT_PRIVILEGED = 1130  # "Host ... is not allowed to connect to this MariaDB server"
ER_ACCESS_DENIED = 1045


@dataclass(frozen=True)
class Account:
    """One entry of mariadb_users; the password is kept out of every repr and message."""

    name: str
    host: str
    priv: str
    present: bool
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"'{self.name}'@'{self.host}'"


@pytest.fixture(scope="module")
def mariadb(host: Any) -> dict[str, Any]:
    """The role's variables for this host: role defaults, overridden by the inventory."""
    return cast(dict[str, Any], role_host.role_variables(host, "mariadb", "^mariadb_"))


@pytest.fixture(scope="module")
def server(mariadb: dict[str, Any]) -> dict[str, Any]:
    """The variables of a database server; other hosts are checked by the service tests."""
    if not boolean(mariadb["mariadb_service_enabled"]):
        pytest.skip(
            "mariadb_service_enabled is false: not a database server (that MariaDB is "
            "stopped and disabled here is checked by test_service_state and test_listeners)"
        )
    return mariadb


@pytest.fixture(scope="module")
def accounts(server: dict[str, Any]) -> list[Account]:
    return [
        Account(
            name=str(user["name"]),
            host=str(user["host"]),
            priv=str(user.get("priv") or ""),
            present=user.get("state", "present") != "absent",
            password=user.get("password"),
        )
        for user in server["mariadb_users"]
    ]


def _run(host: Any, command: str, *args: str) -> str:
    """Output of a command run as root; fails the test on a non-zero exit."""
    with host.sudo():
        return str(host.check_output(command, *args))


def _sql(host: Any, query: str) -> list[list[str]]:
    """Rows of a query run as root over the unix socket (unix_socket authentication)."""
    out = _run(host, "mariadb --batch --skip-column-names -e %s", query)
    return [line.split("\t") for line in out.splitlines()]


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _address(address: str, port: int | str) -> str:
    """``address:port`` as ss prints it."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _connect_address(server: dict[str, Any]) -> str:
    """Where a client on the server reaches it."""
    bind = str(server["mariadb_bind_address"])
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "*": "127.0.0.1"}.get(bind, bind)


def _bytes(size: str | int) -> int:
    """``64M`` -> 67108864, as MariaDB reads a size."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", str(size), re.IGNORECASE)
    assert match, f"not a size: {size!r}"
    return cast(int, int(match[1]) * 1024 ** " KMGT".index(match[2].upper() or " "))


def _native_hash(password: str) -> str:
    """The mysql_native_password hash (``PASSWORD()``), computed on the controller."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def _local_addresses(host: Any) -> set[str]:
    out = _run(host, "ip -o addr show")
    return {line.split()[3].split("/")[0] for line in out.splitlines() if " inet" in line}


def _is_local(address: str, local: set[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # '%', a name or a pattern: not an address to connect from
    return ip.is_loopback or str(ip) in local


def _login(host: Any, server: dict[str, Any], account: Account, source: str) -> dict[str, Any]:
    """Log in as the account from a source address of the server; the result, not raised."""
    assert account.password is not None, f"{account.label}: no password in the inventory"
    result = host.run(
        "STOREOPS_DB_PASSWORD=%s python3 -c %s %s %s %s %s",
        account.password,
        _LOGIN,
        _connect_address(server),
        str(server["mariadb_port"]),
        account.name,
        source,
    )
    if result.rc != 0:  # never show the command: it holds the password
        pytest.fail(f"login script failed on the host: {result.stderr.strip()}")
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


# ------------------------------------------------------------------ every host of the group


def test_service_state(target: Any, mariadb: dict[str, Any]) -> None:
    mariadb_service = target.service("mariadb")
    if boolean(mariadb["mariadb_service_enabled"]):
        assert mariadb_service.is_enabled
        assert mariadb_service.is_running
    elif target.run("systemctl cat mariadb.service").rc == 0:
        assert not mariadb_service.is_running
        assert not mariadb_service.is_enabled
    # mariadbd listens itself; the socket units would listen on every address.
    for unit in SOCKET_UNITS:
        if target.run("systemctl cat %s", unit).rc == 0:
            socket = target.service(unit)
            assert not socket.is_running, f"{unit} is active"
            assert not socket.is_enabled, f"{unit} is enabled"
    running = target.process.filter(comm="mariadbd")
    assert bool(running) is boolean(mariadb["mariadb_service_enabled"]), [p.args for p in running]


def test_listeners(target: Any, mariadb: dict[str, Any]) -> None:
    # Sockets are told apart by their owner: ss -p cannot name mariadbd's process where
    # root lacks CAP_SYS_PTRACE (containers), but ss -e shows the owner of every socket.
    lines = [line.split() for line in _run(target, "ss -H -ltne").splitlines()]
    mysql_uid = target.run("id -u mysql").stdout.strip() or "no mysql user"
    by_mysql = {line[3] for line in lines if f"uid:{mysql_uid}" in line}
    on_port = {line[3] for line in lines if line[3].endswith(f":{mariadb['mariadb_port']}")}
    if boolean(mariadb["mariadb_service_enabled"]):
        wanted = _address(str(mariadb["mariadb_bind_address"]), mariadb["mariadb_port"])
        assert by_mysql == {wanted}
        assert on_port == {wanted}, "something else listens on the MariaDB port"
    else:
        assert by_mysql == set()
        assert on_port == set()


# ------------------------------------------------------------------ database servers


def test_packages_are_installed(target: Any, server: dict[str, Any]) -> None:
    wanted = sorted(server["mariadb_packages"])
    query = "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n'" + " %s" * len(wanted)
    out = target.run(query, *wanted).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.split()[1:] == ["ii"]}
    assert sorted(set(wanted) - installed) == []


def test_config_file(target: Any, server: dict[str, Any]) -> None:
    stat = _run(target, "stat -c '%%U %%G %%a %%F' %s", CONFIG_FILE)
    assert stat == "root root 644 regular file"
    lines = [
        line.strip()
        for line in _run(target, "cat %s", CONFIG_FILE).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "[mysqld]"
    pairs = [line.split("=", 1) for line in lines[1:] if "=" in line]
    settings = {key.strip(): value.strip() for key, value in pairs}
    slow = 1 if boolean(server["mariadb_slow_query_log"]) else 0
    assert settings == {
        "bind-address": str(server["mariadb_bind_address"]),
        "port": str(server["mariadb_port"]),
        "character-set-server": server["mariadb_character_set"],
        "collation-server": server["mariadb_collation"],
        "innodb_buffer_pool_size": str(server["mariadb_innodb_buffer_pool_size"]),
        "max_connections": str(server["mariadb_max_connections"]),
        "slow_query_log": str(slow),
        "slow_query_log_file": server["mariadb_slow_query_log_file"],
        "long_query_time": str(server["mariadb_long_query_time"]),
    }
    assert ("skip-name-resolve" in lines) is boolean(server["mariadb_skip_name_resolve"])


def test_server_runs_with_the_configuration(target: Any, server: dict[str, Any]) -> None:
    """The running server's own values: proves the file is read and was applied."""
    names = [
        "bind_address",
        "port",
        "character_set_server",
        "collation_server",
        "innodb_buffer_pool_size",
        "max_connections",
        "skip_name_resolve",
        "slow_query_log",
        "slow_query_log_file",
        "long_query_time",
    ]
    (row,) = _sql(target, "SELECT " + ", ".join(f"@@global.{name}" for name in names))
    actual = dict(zip(names, row, strict=True))
    assert float(actual.pop("long_query_time")) == float(server["mariadb_long_query_time"])
    assert actual == {
        "bind_address": str(server["mariadb_bind_address"]),
        "port": str(server["mariadb_port"]),
        "character_set_server": server["mariadb_character_set"],
        "collation_server": server["mariadb_collation"],
        "innodb_buffer_pool_size": str(_bytes(server["mariadb_innodb_buffer_pool_size"])),
        "max_connections": str(server["mariadb_max_connections"]),
        "skip_name_resolve": "1" if boolean(server["mariadb_skip_name_resolve"]) else "0",
        "slow_query_log": "1" if boolean(server["mariadb_slow_query_log"]) else "0",
        "slow_query_log_file": server["mariadb_slow_query_log_file"],
    }
    if boolean(server["mariadb_slow_query_log"]):
        stat = _run(target, "stat -c '%%U %%F' %s", server["mariadb_slow_query_log_file"])
        assert stat == "mysql regular file"


def test_anonymous_accounts_and_test_database_are_gone(target: Any, server: dict[str, Any]) -> None:
    assert _sql(target, "SELECT host FROM mysql.user WHERE user = ''") == []
    databases = {row[0] for row in _sql(target, "SHOW DATABASES")}
    assert "test" not in databases


def test_databases(target: Any, server: dict[str, Any]) -> None:
    rows = _sql(
        target,
        "SELECT schema_name, default_character_set_name, default_collation_name"
        " FROM information_schema.schemata",
    )
    actual = {name: (charset, collation) for name, charset, collation in rows}
    for database in server["mariadb_databases"]:
        name = database["name"]
        if database.get("state", "present") == "absent":
            assert name not in actual, f"database {name} should be gone"
            continue
        assert name in actual, f"database {name} is missing"
        assert actual[name] == (
            database.get("encoding") or server["mariadb_character_set"],
            database.get("collation") or server["mariadb_collation"],
        ), name


def test_accounts_exist_from_their_host_only(target: Any, accounts: list[Account]) -> None:
    for name in sorted({account.name for account in accounts}):
        wanted = {a.host for a in accounts if a.name == name and a.present}
        rows = _sql(target, f"SELECT host FROM mysql.user WHERE user = {_quote(name)}")
        actual = {row[0] for row in rows}
        # An account from a host the inventory does not list is a finding: list it
        # (state absent removes it) or drop it.
        assert actual == wanted, (
            f"{name}: accounts from {sorted(actual)}, inventory {sorted(wanted)}"
        )


def _grants(target: Any, account: Account) -> dict[str, set[str]]:
    """``{db.table: {privileges}}`` from SHOW GRANTS, backquotes and USAGE left out."""
    rows = _sql(target, f"SHOW GRANTS FOR {_quote(account.name)}@{_quote(account.host)}")
    grants: dict[str, set[str]] = {}
    for (line,) in rows:
        match = re.match(r"GRANT (.+?) ON (\S+) TO ", line)
        assert match, line
        privileges = {p.strip().upper() for p in match[1].split(",")} - {"USAGE"}
        if privileges:
            grants.setdefault(match[2].replace("`", ""), set()).update(privileges)
    return grants


def _wanted_grants(priv: str) -> dict[str, set[str]]:
    """community.mysql's ``db.table:PRIV,PRIV/db2.*:PRIV`` as ``{db.table: {privileges}}``."""
    wanted: dict[str, set[str]] = {}
    for part in filter(None, priv.split("/")):
        obj, _, privileges = part.rpartition(":")
        names = {p.strip().upper() for p in privileges.split(",")} - {"USAGE"}
        names = {"ALL PRIVILEGES" if p == "ALL" else p for p in names}
        if names:
            wanted[obj.replace("`", "")] = names
    return wanted


def test_account_privileges(target: Any, accounts: list[Account]) -> None:
    present = [account for account in accounts if account.present]
    if not present:
        pytest.skip("mariadb_users lists no account to check")
    for account in present:
        assert _grants(target, account) == _wanted_grants(account.priv), account.label


def test_account_passwords_match_the_inventory(target: Any, accounts: list[Account]) -> None:
    present = [account for account in accounts if account.present]
    if not present:
        pytest.skip("mariadb_users lists no account to check")
    for account in present:
        assert account.password is not None, f"{account.label}: no password in the inventory"
        rows = _sql(
            target,
            "SELECT plugin, authentication_string FROM mysql.user"
            f" WHERE user = {_quote(account.name)} AND host = {_quote(account.host)}",
        )
        assert len(rows) == 1, f"{account.label} is missing"
        plugin, stored = rows[0]
        assert plugin == "mysql_native_password", f"{account.label}: {plugin}"
        if stored != _native_hash(account.password):  # compare hashes, print neither
            pytest.fail(f"{account.label}: the password differs from the inventory's")


def test_accounts_log_in_from_their_host(
    target: Any, server: dict[str, Any], accounts: list[Account]
) -> None:
    """A real login, from the account's own address, where it is one of the server's."""
    local = _local_addresses(target)
    tested, untestable = [], []
    for account in (a for a in accounts if a.present):
        source = account.host if account.host != "%" else _connect_address(server)
        if not _is_local(source, local):
            untestable.append(account.label)
            continue
        outcome = _login(target, server, account, source)
        assert outcome.get("user") == f"{account.name}@{account.host}", (account.label, outcome)
        tested.append(account.label)
    if untestable and not tested:
        pytest.skip(
            f"{', '.join(untestable)}: their address is not one of this server's, so no "
            "login can come from it here (checked instead: the account exists from that "
            "host only, its password hash matches the inventory's, and it is refused "
            "from the server's own address)"
        )
    if not tested:
        pytest.skip("mariadb_users lists no account to log in with")


def test_accounts_are_refused_from_other_addresses(
    target: Any, server: dict[str, Any], accounts: list[Account]
) -> None:
    """With the right password, from the server's own address, an account for another host
    is refused: the host part of the account is enforced, not just present."""
    source = _connect_address(server)
    checked = []
    for account in (a for a in accounts if a.present and a.host not in {source, "%"}):
        outcome = _login(target, server, account, source)
        assert outcome.get("error") in {ER_HOST_NOT_PRIVILEGED, ER_ACCESS_DENIED}, (
            account.label,
            outcome,
        )
        checked.append(account.label)
    if not checked:
        pytest.skip(
            f"every account is for this server's own address ({source}) or for any host: "
            "there is no other address of the server to be refused from"
        )
