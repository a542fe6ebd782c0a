"""The store servers' notifier on the lab: a failed restic check on sh01-db tells the store's
robots once, through the unit's OnFailure=, and its next success sends one recovery.

The receiver runs in this test on the controller at sh01's gateway (10.77.1.1:8789), where
the lab's vault points sh01's WeCom and DingTalk robots (group_vars/store_sh01/vault.yml):
the host reaches it through its own firewall (which filters no output) as it would reach the
robots through the store's egress. The DingTalk signature is checked with the vault's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeops.inventory import Inventory
from tests.ara_secrets import lab_secrets
from tests.integration.ansible_run import run_playbook
from tests.integration.test_backup import DB, backup_now, every_pack_damaged, sh
from tests.notify_receiver import Receiver, serving

pytestmark = pytest.mark.lab

GATEWAY, PORT = "10.77.1.1", 8789
UNIT = "storeops-backup-check.service"


@pytest.fixture(scope="module")
def installed(lab: Inventory, tmp_path_factory: pytest.TempPathFactory) -> None:
    """backup.yml on sh01: the notifier, its unit and its root-only configuration."""
    done = run_playbook(
        "playbooks/backup.yml", tmp_path_factory.mktemp("notify"), "--limit", "store_sh01"
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture
def receiver(installed: None) -> Iterator[Receiver]:
    sh(DB, f"rm -f /var/lib/storeops/notify/{UNIT}.json")  # no incident left from earlier tests
    with serving(GATEWAY, PORT) as state:
        yield state


def _wait_for(receiver: Receiver, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.5)


def test_the_notifier_is_installed_root_only(installed: None) -> None:
    mode = sh(DB, "stat -c '%a %U' /etc/storeops/notify.json").stdout.split()
    assert mode == ["600", "root"]
    config = json.loads(sh(DB, "cat /etc/storeops/notify.json").stdout)
    assert config["store"] == "sh01" and config["host"] == "sh01-db"
    assert [c["type"] for c in config["channels"]] == ["wecom", "dingtalk"]
    shown = sh(DB, f"systemctl show -p OnFailure -p OnSuccess --value {UNIT}").stdout
    assert shown.split() == ["storeops-notify@storeops-backup-check.service.service"] * 2


def test_a_failed_check_notifies_once_and_its_recovery_once(receiver: Receiver) -> None:
    secrets = lab_secrets()
    sign_secret = secrets["group_vars/store_sh01/vault.yml:vault_notify_dingtalk_secret"]
    backup_now(DB)
    with every_pack_damaged():
        for _ in range(2):  # two failed checks: one incident
            assert sh(DB, f"systemctl start {UNIT}").returncode != 0
        _wait_for(receiver, 2)
        time.sleep(3)  # a second message, if any, would have come by now
    paths = sorted(r.path for r in receiver.received)
    assert paths == ["/cgi-bin/webhook/send", "/robot/send"], receiver.received
    wecom = next(r for r in receiver.received if r.path == "/cgi-bin/webhook/send")
    assert wecom.body["msgtype"] == "markdown"
    content = wecom.body["markdown"]["content"]
    assert (
        "[storeops sh01] FAILED: backup repository check (restic check) of sh01-db failed"
        in content
    )
    dingtalk = next(r for r in receiver.received if r.path == "/robot/send")
    timestamp = dingtalk.query["timestamp"]
    expected = base64.b64encode(
        hmac.new(
            sign_secret.encode(), f"{timestamp}\n{sign_secret}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert dingtalk.query["sign"] == expected

    assert sh(DB, f"systemctl start {UNIT}").returncode == 0  # repaired: one recovery each
    _wait_for(receiver, 4)
    time.sleep(3)
    recoveries = receiver.received[2:]
    assert len(recoveries) == 2
    assert all("RECOVERED" in json.dumps(r.body, ensure_ascii=False) for r in recoveries)


def test_a_receiver_that_is_down_leaves_a_failed_notifier_the_morning_check_sees(
    installed: None, tmp_path: Path
) -> None:
    """Nothing delivered: the notifier's own unit fails (systemctl --failed, the health
    check's failed-units row) and the incident stays un-notified, so the next failure of the
    backup unit tries again."""
    sh(DB, f"rm -f /var/lib/storeops/notify/{UNIT}.json")
    backup_now(DB)
    with every_pack_damaged():
        assert sh(DB, f"systemctl start {UNIT}").returncode != 0
        time.sleep(5)
    state = sh(DB, f"cat /var/lib/storeops/notify/{UNIT}.json").stdout
    assert json.loads(state)["notified"] is False  # the next failure tries again
    failed = sh(DB, "systemctl --failed --no-legend --plain | grep storeops-notify || true").stdout
    assert f"storeops-notify@{UNIT}" in failed
    sh(DB, f"systemctl reset-failed 'storeops-notify@{UNIT}.service'")
    assert sh(DB, f"systemctl start {UNIT}").returncode == 0
