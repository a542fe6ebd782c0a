"""What a store host's own firewall looks like after the ``firewall`` role: read on the host.

Where the hosts come from:

* molecule (``roles/firewall/molecule/default``) passes ``--hosts`` and its own inventory;
* with no ``--hosts`` (``make test-lab``), the ``stores`` group of ``inventory/lab``, or of
  the inventory ``STOREOPS_INVENTORY`` names, so the same checks audit production::

      STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_firewall.py

  Run it from the repository root, as ansible: the inventory's paths are relative to it.

What is expected comes from each host's own Ansible variables (``firewall_*``), with the
role defaults for anything the inventory does not set; the inbound rules, unless the host
sets ``firewall_inbound_rules`` itself (molecule does), from the zone model of the host's
storeops inventory (``storeops.zones.inbound_rules``, what playbooks/firewall.yml loads).
The live table is read as nft's JSON (``nft -j list table inet <table>``), never as rule
text. These checks say what the kernel holds; that the rules let the right packets
through is proven by packets, elsewhere (tests/integration/test_firewall_traffic.py).

On the lab inventory a host without the table is skipped with a reason (the firewall
playbook puts it there); on any other inventory it fails.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any, cast

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid
from storeops.zones import inbound_rules

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
ON_LAB = LAB_INVENTORY.resolve() == INVENTORY
testinfra_hosts = [f"ansible://linux?ansible_inventory={INVENTORY}"]  # unless --hosts
pytestmark = [pytest.mark.lab] if ON_LAB else []
target = role_host.target  # fixture: the host to check

DROPIN = "/etc/systemd/system/nftables.service.d/storeops.conf"
LOG_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day|week)\s*$")


@pytest.fixture(scope="module")
def firewall(host: Any) -> dict[str, Any]:
    """The role's variables for this host: role defaults, overridden by the inventory."""
    return cast(dict[str, Any], role_host.role_variables(host, "firewall", "^firewall_"))


def _run(host: Any, command: str, *args: str) -> Any:
    with host.sudo():
        return host.run(command, *args)


@pytest.fixture(scope="module", autouse=True)
def table(target: Any, firewall: dict[str, Any]) -> dict[str, Any]:
    """The live table: its chains, their rules in order, and its named counters."""
    name = firewall["firewall_table"]
    listed = _run(target, "nft -j list table inet %s", name)
    if listed.rc != 0:
        if ON_LAB:
            pytest.skip(f"no table inet {name} on this lab host yet (the firewall role adds it)")
        pytest.fail(f"no table inet {name}: {listed.stderr.strip()}")
    objects = json.loads(listed.stdout)["nftables"]
    chains = {o["chain"]["name"]: o["chain"] for o in objects if "chain" in o}
    rules: dict[str, list[dict[str, Any]]] = {chain: [] for chain in chains}
    for rule in (o["rule"] for o in objects if "rule" in o):
        rules[rule["chain"]].append(rule)
    counters = {o["counter"]["name"]: o["counter"] for o in objects if "counter" in o}
    return {"chains": chains, "rules": rules, "counters": counters}


def _matches(rule: dict[str, Any]) -> dict[str, Any]:
    """``{"ct state": ..., "tcp dport": ..., "ip saddr": ...}``: what the rule matches on."""
    found = {}
    for expression in rule["expr"]:
        match = expression.get("match")
        if not match:
            continue
        left = match["left"]
        if "payload" in left:
            key = f"{left['payload']['protocol']} {left['payload']['field']}"
        else:
            key = " ".join(f"{kind} {value['key']}" for kind, value in left.items())
        found[key] = match["right"]
    return found


def _statements(rule: dict[str, Any]) -> list[str]:
    """The rule's statements and verdict by kind: ``["counter", "accept"]``."""
    return [kind for expression in rule["expr"] for kind in expression if kind != "match"]


def _networks(right: Any) -> set[ipaddress.IPv4Network]:
    """An ``ip saddr`` right-hand side (an address, a prefix or a set of them) as networks."""
    items = right["set"] if isinstance(right, dict) and "set" in right else [right]
    return {
        ipaddress.IPv4Network(
            f"{item['prefix']['addr']}/{item['prefix']['len']}" if isinstance(item, dict) else item,
            strict=False,
        )
        for item in items
    }


def _ports(right: Any) -> str:
    """A ``dport`` right-hand side as the contract spells it: ``"22"`` or ``"8000-8010"``."""
    if isinstance(right, dict) and "range" in right:
        return f"{right['range'][0]}-{right['range'][1]}"
    return str(right)


def _flow_rules(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in table["rules"]["input"] if r.get("comment", "").startswith("flow ")]


def test_input_drops_by_default(table: dict[str, Any]) -> None:
    chain = table["chains"]["input"]
    assert (chain["type"], chain["hook"], chain["policy"]) == ("filter", "input", "drop"), chain


def test_replies_and_loopback_pass_and_invalid_is_dropped(
    table: dict[str, Any], firewall: dict[str, Any]
) -> None:
    established, invalid, loopback = table["rules"]["input"][:3]
    assert _matches(established) == {"ct state": ["established", "related"]}
    assert _statements(established) == ["accept"]
    assert _matches(invalid) == {"ct state": "invalid"}
    assert invalid["expr"][1:] == [{"counter": firewall["firewall_drop_counter"]}, {"drop": None}]
    assert _matches(loopback) == {"meta iif": "lo"} and _statements(loopback) == ["accept"]


def _zone_model_rules(host: Any) -> list[dict[str, Any]] | None:
    """The host's inbound rules from the zone model, if it is a host of a storeops inventory."""
    if not host.backend.HAS_RUN_ANSIBLE:
        return None
    inventory = _storeops_inventory()
    found = inventory.hosts.get(host.backend.host)
    return None if found is None else [rule.as_vars() for rule in inbound_rules(inventory, found)]


@functools.cache
def _storeops_inventory() -> Inventory:
    return load_valid(INVENTORY)


def test_one_counted_accept_per_inbound_rule(
    host: Any, table: dict[str, Any], firewall: dict[str, Any]
) -> None:
    wanted = firewall.get("firewall_inbound_rules") or _zone_model_rules(host)
    if wanted is None:
        pytest.skip("no firewall_inbound_rules and not a host of a storeops inventory")
    found = _flow_rules(table)
    assert [rule["comment"] for rule in found] == [f"flow {rule['flow']}" for rule in wanted]
    for rule, expected in zip(found, wanted, strict=True):
        matches = _matches(rule)
        assert _networks(matches.pop("ip saddr")) == {
            ipaddress.IPv4Network(source, strict=False) for source in expected["sources"]
        }, rule["comment"]
        if expected["protocol"] == "icmp":
            assert matches == {"icmp type": "echo-request"}, rule["comment"]
        else:
            (key, right), *others = matches.items()
            assert (key, _ports(right), others) == (
                f"{expected['protocol']} dport",
                str(expected["ports"]),
                [],
            ), rule["comment"]
        assert _statements(rule) == ["counter", "accept"], rule["comment"]
    # Nothing else is accepted: replies and loopback above, the flows, and no other accept.
    accepting = [r for r in table["rules"]["input"] if "accept" in _statements(r)]
    assert len(accepting) == 2 + len(wanted)


def test_drops_are_logged_rate_limited_and_counted(
    table: dict[str, Any], firewall: dict[str, Any]
) -> None:
    logged, counted = table["rules"]["input"][-2:]
    rate = LOG_RATE_RE.match(firewall["firewall_log_rate"])
    assert rate, firewall["firewall_log_rate"]
    limit = logged["expr"][0]["limit"]
    assert (limit["rate"], limit["per"]) == (int(rate[1]), rate[2])
    assert logged["expr"][1:] == [{"log": {"prefix": firewall["firewall_log_prefix"]}}]
    name = firewall["firewall_drop_counter"]
    assert counted["expr"] == [{"counter": name}, {"drop": None}]
    assert {"packets", "bytes"} <= set(table["counters"][name]), table["counters"]


def test_nothing_is_forwarded_and_outbound_is_not_filtered(table: dict[str, Any]) -> None:
    forward = table["chains"]["forward"]
    assert (forward["hook"], forward["policy"]) == ("forward", "drop")
    assert table["rules"]["forward"] == []
    assert "output" not in table["chains"]


def test_the_boot_file_loads_our_table_only(target: Any, firewall: dict[str, Any]) -> None:
    path, name = firewall["firewall_persist_path"], firewall["firewall_table"]
    text = _run(target, "cat %s", path).stdout
    assert not re.search(r"^\s*flush\s+ruleset", text, re.MULTILINE), f"{path} flushes the ruleset"
    tables = set(re.findall(r"^\s*table\s+(\S+\s+\S+)\s*\{", text, re.MULTILINE))
    assert tables == {f"inet {name}"}, tables
    checked = _run(target, "nft -c -f %s", path)
    assert checked.rc == 0, checked.stderr
    service = target.service("nftables.service")
    assert service.is_enabled
    # Stopping the service removes our table, not every table (Debian's ExecStop flushes all).
    stop = _run(target, "systemctl show -p ExecStop --value nftables.service").stdout
    assert f"delete table inet {name}" in stop and "flush" not in stop, stop
    assert _run(target, "test -f %s", DROPIN).rc == 0


def test_no_revert_is_left_armed(target: Any, firewall: dict[str, Any]) -> None:
    unit = f"nft-revert-{firewall['firewall_table']}.timer"
    assert _run(target, "systemctl is-active %s", unit).stdout.strip() != "active"
    armed = f"{firewall['firewall_state_dir']}/armed.json"
    assert _run(target, "test -e %s", armed).rc != 0, f"{armed}: a ruleset is still unconfirmed"
