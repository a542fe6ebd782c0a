"""What a store's DMS host looks like after the ``dms`` role: checked on the host itself.

Where the hosts come from:

* molecule (``roles/dms/molecule/default``) passes ``--hosts`` and its own inventory;
* with no ``--hosts`` (``make test-lab``), the ``dms`` group of ``inventory/lab``, or of the
  inventory ``STOREOPS_INVENTORY`` names, so the same checks audit production::

      STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_dms.py

  Run it from the repository root, as ansible: the inventory's paths are relative to it.

What is expected comes from each host's own Ansible variables, templated by Ansible (so
``dms_version: "{{ store.dms_target_version }}"`` resolves), with the role defaults for
anything the inventory does not set. ``dms_db_password`` is never read: the tests check
that the configuration file has a password and who may read it, not its value.

The suite only reads, except where the inventory sets ``storeops_test_writes: true``
(molecule's throw-away host): there it also creates a work order through the API (and
deletes it) so that the journal check has a real customer ID number to look for.

On the lab inventory a DMS host without storedms is skipped with a reason (the rollout
installs it: ``make demo``); on any other inventory it fails.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path
from ansible.module_utils.parsing.convert_bool import boolean

from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
ON_LAB = LAB_INVENTORY.resolve() == INVENTORY
testinfra_hosts = [f"ansible://dms?ansible_inventory={INVENTORY}"]  # unless --hosts
pytestmark = [pytest.mark.lab] if ON_LAB else []
target = role_host.target  # fixture: the host to check

CONFIG_FILE = "/etc/storedms/storedms.conf"

# Every dms_* variable of the host but the password.
_DMS_VARS_RE = "^dms_(?!db_password$)"

# A made-up customer with a valid GB 11643 ID number and a VIN with a valid check digit.
TEST_ID_NUMBER = "310115199003071239"
TEST_WORK_ORDER = {
    "customer": {
        "family_name": "\u6d4b",
        "given_name": "\u8bd5",
        "phone": "13800000000",
        "id_number": TEST_ID_NUMBER,
    },
    "vehicle": {"vin": "LBVPA1109MZS12345", "model": "BMW 325Li"},
    "description": "storeops testinfra: journal check (deleted again)",
}
# An 18-character resident ID number anywhere in a line (17 digits and a check character).
ID_NUMBER_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")

# Runs on the host: one HTTP request to the service, answer printed as JSON.
_HTTP_CLIENT = """
import json, sys, urllib.error, urllib.request
method, url, body = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request(
    url, method=method, data=body.encode() if body else None,
    headers={"Content-Type": "application/json"} if body else {})
try:
    with urllib.request.urlopen(request, timeout=20) as answer:
        status, text = answer.status, answer.read().decode()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read().decode()
print(json.dumps({"status": status, "body": json.loads(text or "null")}))
"""


def _as_expression(template: str) -> str:
    """'{{ a }}/x' -> "(a) ~ '/x'": a template string as one Jinja expression."""
    parts = re.split(r"\{\{(.*?)\}\}", template)
    terms = [
        f"({part.strip()})" if odd else repr(part)
        for odd, part in ((index % 2 == 1, part) for index, part in enumerate(parts))
        if odd or part
    ]
    return " ~ ".join(terms)


@pytest.fixture(scope="module")
def dms(host: Any) -> dict[str, Any]:
    """The role's variables for this host: role defaults, overridden by the inventory."""
    expected: dict[str, Any] = role_host.role_defaults("dms")
    expected.pop("dms_db_password", None)
    expected["storeops_test_writes"] = False
    if host.backend.HAS_RUN_ANSIBLE:
        inventory = role_host.variables_matching(host, _DMS_VARS_RE)
        # Role defaults that are templates ("{{ store.dms_target_version }}") and that the
        # inventory does not override are rendered by Ansible with this host's variables,
        # as the role itself sees them. (Templates that use other role defaults, e.g.
        # dms_artifact, describe the controller, not the host: left out.)
        templated = {
            k: v
            for k, v in expected.items()
            if isinstance(v, str)
            and "{{" in v
            and k not in inventory
            and not re.search(r"(?<![\w.])dms_", v)
        }
        if templated:
            pairs = ", ".join(f"{k!r}: {_as_expression(v)}" for k, v in templated.items())
            defaults = role_host.rendered(host, f"{{{{ {{{pairs}}} }}}}")
            assert isinstance(defaults, dict), f"cannot render the role defaults: {defaults}"
            expected.update(defaults)
        expected.update(inventory)
        writes = host.ansible.get_variables().get("storeops_test_writes", False)
        expected["storeops_test_writes"] = boolean(writes)
    return expected


@pytest.fixture(scope="module", autouse=True)
def installed(target: Any, dms: dict[str, Any]) -> None:
    """A lab DMS host gets storedms from the rollout; until then there is nothing to audit."""
    if ON_LAB and target.run("test -e %s/current", dms["dms_root"]).rc != 0:
        pytest.skip("storedms is not installed on this lab host yet (the rollout installs it)")


def _run(host: Any, command: str, *args: str) -> str:
    """Output of a command run as root; fails the test on a non-zero exit."""
    with host.sudo():
        return str(host.check_output(command, *args))


def _stat(host: Any, path: str) -> str:
    """``owner group octal-mode file-type`` of a path, in one command."""
    return _run(host, "stat -c '%%U %%G %%a %%F' %s", path)


def _http(host: Any, dms: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    """``{"status": ..., "body": ...}`` of one request to the service, made on the host."""
    url = f"http://127.0.0.1:{dms['dms_http_port']}{path}"
    payload = json.dumps(body) if body is not None else ""
    out = host.check_output("python3 -c %s %s %s %s", _HTTP_CLIENT, method, url, payload)
    return json.loads(out)


def test_socket_and_service_are_enabled_and_active(target: Any, dms: dict[str, Any]) -> None:
    for unit in ("storedms.socket", "storedms.service"):
        service = target.service(unit)
        assert service.is_enabled, unit
        assert service.is_running, unit
    # systemd owns the port (the service takes it over): restarts queue clients.
    listen = _run(target, "systemctl show -p Listen --value storedms.socket").strip()
    assert listen.endswith(f":{dms['dms_http_port']} (Stream)"), listen


def test_service_runs_as_its_own_user(target: Any, dms: dict[str, Any]) -> None:
    pid = _run(target, "systemctl show -p MainPID --value storedms.service").strip()
    assert pid not in {"", "0"}, "storedms.service has no main process"
    assert _run(target, "ps -o user= -p %s", pid).strip() == dms["dms_user"]
    environment = _run(target, "systemctl show -p Environment --value storedms.service")
    assert f"PYTHONPATH={dms['dms_root']}/current" in environment.split()


def test_current_points_at_the_release(target: Any, dms: dict[str, Any]) -> None:
    root, version = dms["dms_root"], dms["dms_version"]
    assert _run(target, "readlink %s/current", root).strip() == f"releases/{version}"
    assert _stat(target, f"{root}/releases/{version}") == "root root 755 directory"
    shipped = _run(target, "cat %s/releases/%s/storedms/VERSION", root, version).strip()
    assert shipped == version
    # No half-unpacked release left behind (install.yml stages under a hidden name).
    leftovers = _run(target, "ls -A %s/releases", root).split()
    assert [name for name in leftovers if name.startswith(".")] == []


def test_health_reports_the_version_and_its_schema(target: Any, dms: dict[str, Any]) -> None:
    answer = _http(target, dms, "GET", "/health")
    assert answer["status"] == 200, answer
    health = answer["body"]
    assert health["version"] == dms["dms_version"], health
    assert health["db"] == "ok", health
    assert health["schema_version"] == health["expected_schema_version"], health
    # ... and that is the schema the installed release was built for.
    release = _run(
        target,
        "cat %s/releases/%s/storedms/release.py",
        dms["dms_root"],
        dms["dms_version"],
    )
    assert f'SCHEMA_VERSION = "{health["schema_version"]}"' in release


def test_config_file_is_readable_by_the_service_only(target: Any, dms: dict[str, Any]) -> None:
    assert _stat(target, "/etc/storedms") == f"root {dms['dms_group']} 750 directory"
    assert _stat(target, CONFIG_FILE) == f"root {dms['dms_group']} 640 regular file"
    # Really not readable by others, and readable by the service's user.
    denied = target.run("sudo -n -u nobody cat %s", CONFIG_FILE)
    assert denied.rc == 1 and "Permission denied" in denied.stderr, denied.stderr
    assert target.run("sudo -n -u %s test -r %s", dms["dms_user"], CONFIG_FILE).rc == 0

    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(_run(target, "cat %s", CONFIG_FILE))
    db = parser["db"]
    assert (db.get("host"), db.get("port"), db.get("name"), db.get("user")) == (
        str(dms["dms_db_host"]),
        str(dms["dms_db_port"]),
        dms["dms_db_name"],
        dms["dms_db_user"],
    )
    assert db.get("password"), "no database password in the configuration file"


def test_log_directory_exists_and_is_roots(target: Any, dms: dict[str, Any]) -> None:
    # The host's backup_paths name it: a backup fails on a path that is missing.
    assert _stat(target, dms["dms_log_dir"]) == "root root 750 directory"


def test_journal_has_no_customer_id_numbers(target: Any, dms: dict[str, Any]) -> None:
    if dms["storeops_test_writes"]:
        created = _http(target, dms, "POST", "/work-orders", TEST_WORK_ORDER)
        assert created["status"] == 201, created
        work_order = created["body"]["id"]
        shown = _http(target, dms, "GET", f"/work-orders/{work_order}")
        assert shown["status"] == 200, shown
        assert TEST_ID_NUMBER not in json.dumps(shown["body"]), "the API shows the ID number"
        assert _http(target, dms, "DELETE", f"/work-orders/{work_order}")["status"] == 200
    journal = _run(target, "journalctl -u storedms.service -u storedms.socket -o cat --no-pager")
    assert TEST_ID_NUMBER not in journal
    leaked = [line for line in journal.splitlines() if ID_NUMBER_RE.search(line)]
    assert leaked == [], f"{len(leaked)} journal line(s) with an ID number"


# --- what the rollout (role dms_rollout) leaves on the host -----------------------------

ROLLOUT = role_host.role_defaults("dms_rollout")
AUDIT_KEYS = {"run_id", "user", "store", "from", "to", "result", "started", "finished"}


def _exists(host: Any, path: str) -> bool:
    """Whether a path exists, seen as root (the rollout's directories are root's only)."""
    with host.sudo():
        return bool(host.file(path).exists)


def test_no_rollout_is_left_unfinished(target: Any) -> None:
    journal = ROLLOUT["dms_rollout_journal"]
    assert not _exists(target, journal), (
        f"{journal}: an interrupted rollout ({_run(target, 'cat %s', journal).strip()}):"
        " run playbooks/upgrade-dms.yml again to finish or roll it back"
    )


def test_rollout_audit_log_is_private_and_well_formed(target: Any) -> None:
    log = ROLLOUT["dms_rollout_audit_log"]
    if not _exists(target, log):
        pytest.skip(f"{log}: no rollout has run on this host yet")
    assert _stat(target, log) == "root root 640 regular file"
    lines = _run(target, "cat %s", log).splitlines()
    assert lines, f"{log} is empty"
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        missing = AUDIT_KEYS - set(record)
        assert not missing, f"{log}:{number}: no {sorted(missing)}"
        assert not ID_NUMBER_RE.search(line), f"{log}:{number}: a customer ID number"
