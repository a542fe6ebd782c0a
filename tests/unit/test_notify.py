"""Notifications against local receivers: the WeCom and DingTalk robots' JSON (and DingTalk's
signature, recomputed here from its documented recipe), the plain webhook, SMTP with
STARTTLS (aiosmtpd), once per incident over a sequence of events, a receiver that is down,
the host-side notifier's state, ``storeops notify test`` and the lab inventory's vault
references. Every receiver listens on 127.0.0.1 in this process."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import storeops_notify as host_side
import yaml
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import create_engine

from storeops.notify import Event, Notifier, NotifyConfigError
from storeops.notify.incidents import IncidentStore
from storeops.notify.notifier import resolve_channels, store_channels
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO
from tests.notify_receiver import Receiver, closed_port, serving

LAB = REPO / "inventory" / "lab"
LAB_PASSWORD = REPO / "lab" / "vault-password.txt"


# ---------------------------------------------------------------------------- receivers


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


def _notifier(tmp_path: Path, channels: list[dict[str, Any]]) -> Notifier:
    tmp_path.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{tmp_path / 'storeops.sqlite'}")
    return Notifier({"sh01": channels}, engine)


# ---------------------------------------------------------------------------- formats


def test_the_wecom_robot_gets_its_markdown_message(tmp_path: Path, receiver: Receiver) -> None:
    url = receiver.url("/cgi-bin/webhook/send?key=693a91f6-lab")
    notifier = _notifier(tmp_path, [{"type": "wecom", "url": url}])
    sent = notifier.update(
        [Event("sh01", "dms", True, "DMS down", "GET /health: timeout", "sh01-dms")]
    )
    assert [s.delivered for s in sent] == [True]
    (got,) = receiver.received
    assert got.path == "/cgi-bin/webhook/send"
    assert got.query == {"key": "693a91f6-lab"}
    assert set(got.body) == {"msgtype", "markdown"}
    assert got.body["msgtype"] == "markdown"
    content = got.body["markdown"]["content"]
    assert content.startswith("### [storeops sh01] FAILED: DMS down\n")
    assert "`dms` on `sh01-dms`" in content
    assert "> GET /health: timeout" in content


def test_the_wecom_message_stays_within_the_robots_4096_bytes(
    tmp_path: Path, receiver: Receiver
) -> None:
    notifier = _notifier(tmp_path, [{"type": "wecom", "url": receiver.url("/send?key=k")}])
    notifier.update([Event("sh01", "dms", True, "DMS down", "数据库连接失败 " * 2000)])
    content = receiver.received[0].body["markdown"]["content"]
    assert 4000 < len(content.encode("utf-8")) <= 4096


def test_the_dingtalk_robot_gets_markdown_signed_as_dingtalk_documents(
    tmp_path: Path, receiver: Receiver
) -> None:
    secret = "SECexample0123456789"
    url = receiver.url("/robot/send?access_token=tok")
    notifier = _notifier(tmp_path, [{"type": "dingtalk", "url": url, "secret": secret}])
    before = dt.datetime.now(dt.UTC).timestamp() * 1000
    notifier.update([Event("sh01", "backup sh01-db", True, "nightly backup failed", "exit 1")])
    (got,) = receiver.received
    assert got.body["msgtype"] == "markdown"
    assert got.body["markdown"]["title"] == "[storeops sh01] FAILED: nightly backup failed"
    assert "> exit 1" in got.body["markdown"]["text"]
    assert got.query["access_token"] == "tok"
    timestamp = got.query["timestamp"]
    assert abs(int(timestamp) - before) < 60_000  # milliseconds, now
    # The documented recipe: base64(HmacSHA256(key=secret, "<timestamp>\n<secret>")), then
    # urlencoded in the URL (parse_qsl above decoded it).
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert got.query["sign"] == expected


def test_an_unsigned_dingtalk_robot_gets_no_signature(tmp_path: Path, receiver: Receiver) -> None:
    notifier = _notifier(
        tmp_path, [{"type": "dingtalk", "url": receiver.url("/robot/send?access_token=t")}]
    )
    notifier.update([Event("sh01", "dms", True, "DMS down")])
    assert receiver.received[0].query == {"access_token": "t"}


def test_the_plain_webhook_gets_the_event_as_json(tmp_path: Path, receiver: Receiver) -> None:
    notifier = _notifier(tmp_path, [{"type": "webhook", "url": receiver.url("/hook")}])
    notifier.update(
        [Event("sh01", "health:firewall:sh01-dms", True, "table missing", "", "sh01-dms")]
    )
    body = receiver.received[0].body
    assert {k: body[k] for k in ("store", "key", "state", "failing", "host")} == {
        "store": "sh01",
        "key": "health:firewall:sh01-dms",
        "state": "failed",
        "failing": True,
        "host": "sh01-dms",
    }
    assert dt.datetime.fromisoformat(body["time"]).tzinfo is not None


def test_a_robot_that_refuses_the_message_is_a_failed_send(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.answer = {"errcode": 310000, "errmsg": "sign not match"}
    notifier = _notifier(
        tmp_path,
        [{"type": "dingtalk", "url": receiver.url("/robot/send?access_token=secret-token")}],
    )
    (sent,) = notifier.update([Event("sh01", "dms", True, "DMS down")])
    assert not sent.delivered
    assert sent.error is not None and "310000 sign not match" in sent.error
    assert "secret-token" not in sent.error  # the URL's key never shows in errors


# ---------------------------------------------------------------------------- once per incident


def test_once_per_incident_over_a_sequence_of_samples(tmp_path: Path, receiver: Receiver) -> None:
    notifier = _notifier(tmp_path, [{"type": "webhook", "url": receiver.url("/hook")}])
    samples = [True, True, True, False, False, True, True, False]
    kinds: list[str] = []
    for failing in samples:
        sent = notifier.update([Event("sh01", "dms", failing, "DMS down" if failing else "DMS up")])
        kinds.extend(s.kind for s in sent)
    assert kinds == ["failure", "recovery", "failure", "recovery"]
    assert [r.body["state"] for r in receiver.received] == ["failed", "recovered"] * 2


def test_incidents_are_per_store_and_key(tmp_path: Path, receiver: Receiver) -> None:
    channel = {"type": "webhook", "url": receiver.url("/hook")}
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    notifier = Notifier({"sh01": [channel], "hz01": [channel]}, engine)
    events = [
        Event("sh01", "dms", True, "down"),
        Event("hz01", "dms", True, "down"),
        Event("sh01", "backup sh01-db", True, "failed"),
        Event("sh01", "dms", True, "down"),
    ]
    sent = notifier.update(events)
    assert [(s.event.store, s.event.key) for s in sent] == [
        ("sh01", "dms"),
        ("hz01", "dms"),
        ("sh01", "backup sh01-db"),
    ]
    # the state is in the database: a new notifier (the next sampler run) remembers it
    again = Notifier({"sh01": [channel], "hz01": [channel]}, engine)
    assert again.update([Event("sh01", "dms", True, "down")]) == []
    assert [(i.store, i.key) for i in IncidentStore(engine).open_all()] == [
        ("hz01", "dms"),
        ("sh01", "backup sh01-db"),
        ("sh01", "dms"),
    ]


def test_a_receiver_that_is_down_is_reported_and_retried_next_run(tmp_path: Path) -> None:
    port = closed_port()
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    down = Notifier(
        {"sh01": [{"type": "wecom", "url": f"http://127.0.0.1:{port}/send?key=k"}]}, engine
    )
    (sent,) = down.update([Event("sh01", "dms", True, "DMS down")])
    assert not sent.delivered and sent.error is not None
    assert f"http://127.0.0.1:{port}" in sent.error and "key=k" not in sent.error
    (incident,) = IncidentStore(engine).open_all()
    assert not incident.notified and incident.last_error == sent.error
    # still down: the next failing sample tries again (it is not suppressed)
    assert [s.kind for s in down.update([Event("sh01", "dms", True, "DMS down")])] == ["failure"]

    # the receiver is back: the next failing sample is sent, then suppressed
    with serving(port=port) as back:
        (sent,) = down.update([Event("sh01", "dms", True, "DMS down")])
        assert sent.delivered and len(back.received) == 1
        assert down.update([Event("sh01", "dms", True, "DMS down")]) == []
        assert IncidentStore(engine).open_all()[0].notified


def test_a_failure_nobody_heard_of_closes_quietly(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    notifier = Notifier({"sh01": []}, engine)
    (sent,) = notifier.update([Event("sh01", "dms", True, "DMS down")])
    assert sent.error == "no notification channel configured for the store (storeops_notify)"
    assert notifier.update([Event("sh01", "dms", False, "DMS up")]) == []
    assert IncidentStore(engine).open_all() == []


# ---------------------------------------------------------------------------- SMTP


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_smtp_sends_the_mail_over_starttls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert_path, key_path = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    mailbox = Mailbox()
    port = closed_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        channel = {
            "type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "sender": "storeops@example.cn",
            "to": ["it-sh01@example.cn", "it-ops@example.cn"],
            "ca_file": str(cert_path),
        }
        notifier = _notifier(tmp_path, [channel])
        (sent,) = notifier.update(
            [
                Event(
                    "sh01",
                    "backup sh01-db",
                    True,
                    "nightly backup failed",
                    "restic: exit 1",
                    "sh01-db",
                )
            ]
        )
        assert sent.delivered, sent.error
        (mail_from, rcpt, content) = mailbox.messages[0]
        assert mail_from == "storeops@example.cn"
        assert rcpt == ["it-sh01@example.cn", "it-ops@example.cn"]
        text = content.decode()
        assert "Subject: [storeops sh01] FAILED: nightly backup failed" in text
        assert "restic: exit 1" in text

        # a server whose certificate is not trusted is refused (no ca_file: the system CAs)
        (refused,) = _notifier(tmp_path / "x", [{**channel, "ca_file": None}]).update(
            [Event("sh01", "dms", True, "DMS down")]
        )
        assert not refused.delivered and "CERTIFICATE_VERIFY_FAILED" in (refused.error or "")
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1


# ---------------------------------------------------------------------------- the inventory


def test_the_lab_stores_channels_resolve_from_their_vaults() -> None:
    channels = store_channels(LAB, VaultPasswords.from_files([LAB_PASSWORD], vault_id="lab"))
    assert set(channels) == {"sh01", "hz01"}
    for store, subnet in (("sh01", "10.77.1.1"), ("hz01", "10.77.2.1")):
        wecom, dingtalk = channels[store]
        assert wecom["type"] == "wecom" and wecom["name"] == "store-it-wecom"
        assert wecom["url"].startswith(f"http://{subnet}:8789/cgi-bin/webhook/send?key=")
        assert dingtalk["url"].startswith(f"http://{subnet}:8789/robot/send?access_token=")
        assert dingtalk["secret"].startswith("SEC")
    assert channels["sh01"][0]["url"] != channels["hz01"][0]["url"]


def test_a_vault_value_that_is_not_a_safe_url_is_refused_without_showing_it() -> None:
    settings = {"channels": [{"type": "wecom", "url": "{{ vault_notify_wecom_url }}"}]}
    secret_url = "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY"
    with pytest.raises(NotifyConfigError) as raised:
        resolve_channels(settings, {"vault_notify_wecom_url": secret_url}, "sh01")
    assert "channels[0].url" in str(raised.value) and "a notification URL is https" in str(
        raised.value
    )
    assert "SECRET-KEY" not in str(raised.value)
    with pytest.raises(NotifyConfigError, match="vault_notify_wecom_url is not defined"):
        resolve_channels(settings, {}, "sh01")


def test_storeops_notify_test_sends_through_each_channel(
    tmp_path: Path, receiver: Receiver
) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(LAB, inventory)
    (inventory / "group_vars" / "all" / "notify.yml").write_text(
        yaml.safe_dump(
            {
                "storeops_notify": {
                    "channels": [
                        {"name": "it-hook", "type": "webhook", "url": receiver.url("/hook")},
                        {
                            "name": "dead",
                            "type": "webhook",
                            "url": f"http://127.0.0.1:{closed_port()}/x",
                        },
                    ]
                }
            }
        )
    )
    run = subprocess.run(
        [
            "storeops",
            "notify",
            "test",
            "-i",
            str(inventory),
            "--store",
            "hz01",
            "--json",
            "--vault-password-file",
            str(LAB_PASSWORD),
            "--database",
            f"sqlite:///{tmp_path}/db.sqlite",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr  # one channel failed: CRITICAL
    result = json.loads(run.stdout)
    assert result["channels"]["it-hook"] is None
    assert "Connection refused" in result["channels"]["dead"]
    (got,) = receiver.received
    assert got.body["store"] == "hz01" and got.body["state"] == "test"


# ---------------------------------------------------------------------------- on a host


def test_the_host_side_notifier_tells_once_per_incident(tmp_path: Path, receiver: Receiver) -> None:
    config = {
        "store": "sh01",
        "host": "sh01-db",
        "channels": [{"type": "webhook", "url": receiver.url("/hook")}],
    }
    state = tmp_path / "state"
    unit = "storeops-backup.service"
    outcomes = [
        host_side.notify_unit(config, unit, result, "restic: repository locked", state)[0]
        for result in ("exit-code", "exit-code", "success", "success", "timeout")
    ]
    assert outcomes == ["failure", "suppress", "recovery", "suppress", "failure"]
    keys = [(r.body["key"], r.body["state"]) for r in receiver.received]
    assert keys == [
        ("backup sh01-db", "failed"),
        ("backup sh01-db", "recovered"),
        ("backup sh01-db", "failed"),
    ]
    assert "restic: repository locked" in receiver.received[0].body["text"]
    assert (state / f"{unit}.json").stat().st_mode & 0o777 == 0o600


def test_the_host_side_notifier_retries_when_the_receiver_was_down(tmp_path: Path) -> None:
    config = {
        "store": "sh01",
        "host": "sh01-db",
        "channels": [{"type": "webhook", "url": f"http://127.0.0.1:{closed_port()}/hook"}],
    }
    state = tmp_path / "state"
    unit = "storeops-backup-check.service"
    action, results = host_side.notify_unit(config, unit, "exit-code", "", state)
    assert action == "failure" and not host_side.delivered(results)
    action, _ = host_side.notify_unit(config, unit, "exit-code", "", state)
    assert action == "failure"  # not suppressed: nobody was told yet


def test_the_role_installs_the_notifier_and_wires_the_units() -> None:
    """What the backup role ships: the entry point, the module beside storeops_backup, the
    template unit, and OnFailure=/OnSuccess= on the backup and the check."""
    role = REPO / "roles" / "backup"
    library = yaml.safe_load((role / "tasks" / "library.yml").read_text())
    assert "storeops_notify.py" in library[1]["loop"]
    for unit in ("storeops-backup.service.j2", "storeops-backup-check.service.j2"):
        text = (role / "templates" / "etc" / "systemd" / "system" / unit).read_text()
        unit_section = text.split("[Service]")[0]
        assert "OnFailure=storeops-notify@%n.service" in unit_section
        assert "OnSuccess=storeops-notify@%n.service" in unit_section
    template = (role / "templates/etc/systemd/system/storeops-notify@.service.j2").read_text()
    assert "ExecStart=/usr/local/sbin/storeops-notify unit %i" in template
    config = yaml.safe_load((role / "tasks" / "config.yml").read_text())
    (rendered,) = [
        task
        for task in config
        if task.get("ansible.builtin.copy", {}).get("dest") == "/etc/storeops/notify.json"
    ]
    assert rendered["no_log"] is True and rendered["ansible.builtin.copy"]["mode"] == "0600"
