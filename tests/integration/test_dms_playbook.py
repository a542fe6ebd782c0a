"""playbooks/dms.yml on the lab: each store's DMS at its target release, over the real network.

The DMS needs its database: the fixture converges playbooks/mariadb.yml first.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from storeops.schema import Role
from tests.integration.ansible_run import changes_per_host, run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/dms.yml"


def get_json(url: str, method: str = "GET") -> dict[str, object]:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, object] = json.load(response)
    return answer


@pytest.fixture(scope="module")
def converged(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    scratch = tmp_path_factory.mktemp("converge")
    database = run_playbook("playbooks/mariadb.yml", scratch)
    assert database.returncode == 0, database.stdout[-4000:]
    first = run_playbook(PLAYBOOK, scratch)
    assert first.returncode == 0, first.stdout[-4000:]
    return lab


def test_every_store_serves_its_target_release(converged: Inventory) -> None:
    for host in converged.hosts_with_role(Role.DMS):
        store = converged.stores[host.store]
        health = get_json(f"http://{host.address}:8080/health")
        assert health["version"] == store.dms_target_version, host.name
        assert health["db"] == "ok"
        assert get_json(f"http://{host.address}:8080/smoke", method="POST")["ok"] is True


def test_second_run_changes_nothing(converged: Inventory, tmp_path: Path) -> None:
    again = run_playbook(PLAYBOOK, tmp_path)
    assert again.returncode == 0, again.stdout[-4000:]
    dms_hosts = [h.name for h in converged.hosts_with_role(Role.DMS)]
    assert changes_per_host(again) == dict.fromkeys(dms_hosts, 0)


def test_check_mode_changes_nothing_on_a_converged_store(
    converged: Inventory, tmp_path: Path
) -> None:
    check = run_playbook(PLAYBOOK, tmp_path, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-4000:]
    assert set(changes_per_host(check).values()) == {0}
