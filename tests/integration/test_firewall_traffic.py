"""The lab's host firewalls, proven with real packets and a real lost connection.

``playbooks/firewall.yml`` converges every lab host (and a second run changes nothing);
the firewall then stays on for the rest of the suite, as it would in a store: every other
test reaches the hosts through it (the controller is in the mgmt zone).

The traffic matrix: for each store, every client (the controller, each lab host, test
equipment standing in for the zones the lab has no host in, other stores' hosts arriving
through the WAN; see :mod:`storeops_lab.traffic`) sends one probe to every lab host of the
store for every service any flow names. Each probed port has a listener (the real service,
or a stand-in), so a probe goes unanswered only because a firewall dropped it. What the
zone model allows must be answered; everything else must be silent, and each host's drop
counter must grow by exactly the number of probes it had to drop (one packet each).

The commit-confirm test pushes, over real SSH, a ruleset that no longer lets the controller
in: the confirmation over a new connection cannot succeed, the host puts its previous
table back by itself, and the next run reaches it again.
"""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from storeops.paths import LAB_INVENTORY
from storeops.roles import role_defaults
from storeops.validate import load_valid
from storeops_lab import podman, traffic
from storeops_lab.plan import NAME_PREFIX, runs_in_lab
from storeops_lab.probe import ANSWERED, SILENT
from tests.integration.ansible_run import PlaybookRun, changes_per_host, run_playbook

pytestmark = pytest.mark.lab

DEFAULTS = role_defaults("firewall")
TABLE = DEFAULTS["firewall_table"]
COUNTER = DEFAULTS["firewall_drop_counter"]
STORES = sorted(load_valid(LAB_INVENTORY).stores)
CUT_HOST = "sh01-backup"
CUT_CONFIRM_TIMEOUT = 10  # seconds; the revert must come well before the SSH timeout gives up


@pytest.fixture(scope="module")
def firewalled(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> list[PlaybookRun]:
    """The lab after two runs of the firewall playbook (both runs, for the assertions)."""
    tmp_path = tmp_path_factory.mktemp("firewall")
    return [run_playbook("playbooks/firewall.yml", tmp_path) for _ in range(2)]


def test_the_firewall_playbook_converges_the_lab_and_then_changes_nothing(
    lab: Inventory, firewalled: list[PlaybookRun]
) -> None:
    first, second = firewalled
    hosts = {name for name, host in lab.hosts.items() if runs_in_lab(host)}  # not the devices
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert set(changes_per_host(first)) == hosts, "every lab host is firewalled"
    assert second.returncode == 0, second.stdout[-3000:]
    assert changes_per_host(second) == dict.fromkeys(hosts, 0)


def _describe(probe: traffic.Probe, outcome: str) -> str:
    wanted = "allowed" if probe.allowed else "forbidden"
    return f"{probe.client.label:28} -> {probe.target:22} {wanted:9} got {outcome}"


def _counters(hosts: list[str]) -> dict[str, int]:
    return {host: traffic.drop_counter(NAME_PREFIX + host, TABLE, COUNTER) for host in hosts}


def _forbidden_examples(probes: list[traffic.Probe]) -> dict[str, list[traffic.Probe]]:
    """The cases the firewall exists for, each of which the matrix must contain."""

    def picked(client: str, role: str, service: str) -> list[traffic.Probe]:
        return [
            p
            for p in probes
            if client in p.client.label
            and role in {r.value for r in p.destination.roles} | {p.destination.zone}
            and str(p.service) == service
        ]

    return {
        "guest -> db 3306": picked("guest device", "db", "tcp/3306"),
        "workstation -> db 3306": picked("(office)", "db", "tcp/3306"),
        "workshop -> office": picked("workshop device", "office", "tcp/22"),
        "another store -> db 3306": picked("via the WAN", "db", "tcp/3306"),
    }


@pytest.mark.parametrize("store", STORES)
def test_allowed_flows_connect_and_everything_else_is_dropped_and_counted(
    lab: Inventory, firewalled: list[PlaybookRun], store: str
) -> None:
    assert firewalled[0].returncode == 0, "the firewall playbook failed: see the test above"
    with traffic.equipment_running(lab, store) as clients, traffic.listeners(lab, store):
        probes = traffic.matrix(lab, store, clients)
        destinations = sorted({p.destination.name for p in probes})
        before = _counters(destinations)
        outcomes = traffic.send(probes)
        after = _counters(destinations)

    report = [_describe(p, o) for p, o in zip(probes, outcomes, strict=True)]
    print(f"\n{store}: {len(probes)} probes from {len(clients)} clients", *report, sep="\n")
    wrong = [
        line
        for line, p, o in zip(report, probes, outcomes, strict=True)
        if o != (ANSWERED if p.allowed else SILENT)
    ]
    assert not wrong, "packets the zone model does not explain:\n" + "\n".join(wrong)

    examples = _forbidden_examples(probes)
    assert all(examples.values()), f"the matrix lacks a case: {examples}"
    assert not any(p.allowed for cases in examples.values() for p in cases)
    assert any(p.allowed for p in probes), "nothing allowed: the matrix proves nothing"

    dropped = collections.Counter(p.destination.name for p in probes if not p.allowed)
    grown = {host: after[host] - before[host] for host in destinations}
    assert grown == {host: dropped[host] for host in destinations}, (
        "each forbidden probe is one packet in the destination's drop counter"
    )


# ---------------------------------------------------------------------------- commit-confirm


def _live_table(lab: Inventory) -> str:
    table = traffic.live_table(lab.hosts[CUT_HOST], TABLE)
    assert table, f"{CUT_HOST} has no table inet {TABLE}"
    return table


def _boot_file(host: str) -> str:
    done = podman.exec_in(NAME_PREFIX + host, ["cat", DEFAULTS["firewall_persist_path"]])
    return done.stdout


def test_a_ruleset_that_locks_the_controller_out_is_reverted_by_the_host(
    lab: Inventory, firewalled: list[PlaybookRun], tmp_path: Path
) -> None:
    assert firewalled[0].returncode == 0, "the firewall playbook failed: see the first test"
    confirmed, booted = _live_table(lab), _boot_file(CUT_HOST)
    extra = json.dumps(traffic.lockout_vars(lab, lab.hosts[CUT_HOST], CUT_CONFIRM_TIMEOUT))

    started = time.monotonic()
    cut = run_playbook("playbooks/firewall.yml", tmp_path, "--limit", CUT_HOST, "-e", extra)
    took = time.monotonic() - started
    recap = cut.recap[CUT_HOST]
    assert cut.returncode != 0 and recap.failed + recap.unreachable == 1, cut.stdout[-3000:]
    assert "Confirm the ruleset over a new connection" in cut.stdout
    print(f"\nlocked-out run ended after {took:.1f} s (confirm timeout {CUT_CONFIRM_TIMEOUT} s)")

    deadline = started + CUT_CONFIRM_TIMEOUT + 60
    while _live_table(lab) != confirmed and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _live_table(lab) == confirmed, "the host did not put the confirmed table back"
    assert _boot_file(CUT_HOST) == booted, "an unconfirmed ruleset reached the boot file"

    # The next run reaches the host again. It reloads the table (nft_ruleset counts a table
    # put back by a revert as a change) and rewrites the candidate file the cut left.
    again = run_playbook("playbooks/firewall.yml", tmp_path, "--limit", CUT_HOST)
    assert again.returncode == 0, again.stdout[-3000:]
    assert _live_table(lab) == confirmed and _boot_file(CUT_HOST) == booted
