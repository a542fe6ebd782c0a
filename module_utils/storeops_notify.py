"""storeops-notify: tell a store's IT contact that something failed, once per incident.

The one implementation of storeops' notifications, used in three places:

* on the controller by ``storeops.notify`` (the health check, the DMS sampler, ``storeops
  notify test``), which loads this file from the project's module_utils/;
* on the controller by the ``storeops_notify`` module (library/), which the DMS rollout's
  report runs on localhost for a store whose rollout failed or was rolled back;
* on the store servers as ``/usr/local/sbin/storeops-notify`` (installed by the backup role
  into /usr/local/lib/storeops, like storeops_backup): the backup and check units'
  ``OnFailure=``/``OnSuccess=`` start ``storeops-notify@<unit>.service``, which reads the
  root-only /etc/storeops/notify.json the role renders from the vault.

Channels (one mapping each, secrets already resolved from the vault):

* ``wecom``: WeCom group robot, ``{"msgtype": "markdown", "markdown": {"content": ...}}``
  POSTed to its webhook URL (which carries the robot's key); content at most 4096 bytes;
  the robot answers ``{"errcode": 0, "errmsg": "ok"}``.
* ``dingtalk``: DingTalk custom robot, ``{"msgtype": "markdown", "markdown": {"title",
  "text"}}``; with ``secret`` (the robot's "sign" setting, SEC...) the URL gets
  ``&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret, "<ms>\\n<secret>")>``.
* ``webhook``: the event as plain JSON (store, key, state, title, text, host, time).
* ``smtp``: a plain-text mail over SMTP with STARTTLS (certificate verified; ``ca_file`` for
  a private CA), with login when ``username`` is given.

Once per incident: an incident is a (store, key) that is failing. The first failing event
opens it and notifies; repeats are suppressed; the first OK event closes it and sends one
recovery message. A send that fails leaves the incident un-notified, so the next failing
event (the next run) tries again. :func:`decide` is that rule; the controller keeps the state
in its database, the host in a JSON file.

The Python standard library only (it runs on the store servers).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

CONFIG = Path("/etc/storeops/notify.json")
STATE_DIR = Path("/var/lib/storeops/notify")
TIMEOUT_S = 10.0
WECOM_MAX_BYTES = 4096  # the WeCom robot's limit for markdown content
DINGTALK_MAX_BYTES = 4096  # kept alike: a notification is a few lines, never a log
JOURNAL_LINES = 15
CHANNEL_TYPES = ("wecom", "dingtalk", "webhook", "smtp")

# What decide() says to do with an event.
NOTIFY_FAILURE = "failure"
NOTIFY_RECOVERY = "recovery"
SUPPRESS = "suppress"


class NotifyError(Exception):
    """A channel did not take the message (the reason, never the secret URL)."""


@dataclass(frozen=True)
class Message:
    """What happened: ``failing`` or recovered, at a store, under a key (``dms``, ``backup
    sh01-db``, ``health:firewall:sh01-dms``)."""

    store: str
    key: str
    failing: bool
    title: str
    text: str
    host: str = ""
    test: bool = False

    @property
    def state(self) -> str:
        if self.test:
            return "TEST"
        return "FAILED" if self.failing else "RECOVERED"

    @property
    def subject(self) -> str:
        return f"[storeops {self.store}] {self.state}: {self.title}"


def decide(open_incident: bool, notified: bool, failing: bool) -> str:
    """The once-per-incident rule, given the (store, key)'s incident and this event.

    ``open_incident``: a failure of this key is open; ``notified``: its opening was sent.
    """
    if failing:
        return SUPPRESS if open_incident and notified else NOTIFY_FAILURE
    if open_incident and notified:
        return NOTIFY_RECOVERY
    return SUPPRESS  # OK and nothing open (or a failure nobody heard of: closed quietly)


# ---------------------------------------------------------------------------- formats


def _clip(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 4].decode("utf-8", errors="ignore") + "\n..."


def markdown(message: Message) -> str:
    """The message as the robots' markdown: a heading, the text quoted, the host."""
    colour = "comment" if message.test else ("warning" if message.failing else "info")
    lines = [
        f"### {message.subject}",
        f'<font color="{colour}">{message.state}</font> `{message.key}`'
        + (f" on `{message.host}`" if message.host else ""),
        "",
        *(f"> {line}" if line else ">" for line in message.text.splitlines()),
    ]
    return "\n".join(lines)


def wecom_payload(message: Message) -> dict[str, Any]:
    """The WeCom group robot's markdown message."""
    return {
        "msgtype": "markdown",
        "markdown": {"content": _clip(markdown(message), WECOM_MAX_BYTES)},
    }


def dingtalk_payload(message: Message) -> dict[str, Any]:
    """The DingTalk custom robot's markdown message."""
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": message.subject,
            "text": _clip(markdown(message), DINGTALK_MAX_BYTES),
        },
    }


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), not encoded."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    """The robot's URL, signed when the robot has a secret."""
    if not secret:
        return url
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    query = urllib.parse.urlencode({"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def webhook_payload(message: Message, when: dt.datetime | None = None) -> dict[str, Any]:
    """The event as plain JSON, for a receiver of the group's own."""
    moment = when or dt.datetime.now(dt.UTC)
    return {
        "store": message.store,
        "key": message.key,
        "state": message.state.lower(),
        "failing": message.failing,
        "title": message.title,
        "text": message.text,
        "host": message.host,
        "time": moment.isoformat(timespec="seconds"),
    }


def email(message: Message, sender: str, recipients: list[str]) -> EmailMessage:
    """The message as a plain-text mail."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = message.subject
    host = f" on {message.host}" if message.host else ""
    mail.set_content(f"{message.state}: {message.key}{host}\n\n{message.text}\n")
    return mail


# ---------------------------------------------------------------------------- sending


def _post_json(url: str, payload: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    where = _where(url)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return bytes(response.read(65536))
    except urllib.error.HTTPError as error:
        raise NotifyError(f"{where}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise NotifyError(f"{where}: {reason}") from None


def _where(url: str) -> str:
    """scheme://host:port of a URL: what errors show (the path and query carry the key)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _robot_answer(url: str, body: bytes) -> None:
    """WeCom and DingTalk answer HTTP 200 with errcode 0, or another errcode and errmsg."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise NotifyError(f"{_where(url)}: not a robot's answer: {body[:80]!r}") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        errmsg = answer.get("errmsg") if isinstance(answer, dict) else answer
        code = answer.get("errcode") if isinstance(answer, dict) else None
        raise NotifyError(f"{_where(url)}: the robot refused the message: {code} {errmsg}")


def send_smtp(channel: dict[str, Any], message: Message) -> None:
    """One mail through the channel's server, STARTTLS always (certificate verified)."""
    context = ssl.create_default_context(cafile=channel.get("ca_file") or None)
    host, port = channel["host"], int(channel.get("port", 587))
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as server:
            server.starttls(context=context)
            if channel.get("username"):
                server.login(channel["username"], channel.get("password", ""))
            server.send_message(email(message, channel["sender"], list(channel["to"])))
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        raise NotifyError(f"smtp://{host}:{port}: {error}") from None


def send(channel: dict[str, Any], message: Message) -> None:
    """Send ``message`` through one channel; NotifyError says why it did not go."""
    kind = channel.get("type")
    if kind == "wecom":
        _robot_answer(channel["url"], _post_json(channel["url"], wecom_payload(message)))
    elif kind == "dingtalk":
        url = dingtalk_url(channel["url"], channel.get("secret"))
        _robot_answer(url, _post_json(url, dingtalk_payload(message)))
    elif kind == "webhook":
        _post_json(channel["url"], webhook_payload(message))
    elif kind == "smtp":
        send_smtp(channel, message)
    else:
        raise NotifyError(f"unknown channel type {kind!r} (one of {', '.join(CHANNEL_TYPES)})")


def channel_name(channel: dict[str, Any], index: int) -> str:
    """How reports name a channel: its name, else its type and position."""
    return str(channel.get("name") or f"{channel.get('type')}#{index + 1}")


def send_all(channels: list[dict[str, Any]], message: Message) -> dict[str, str | None]:
    """Send through every channel: {channel name: None when sent, else the error}."""
    results: dict[str, str | None] = {}
    for index, channel in enumerate(channels):
        try:
            send(channel, message)
            results[channel_name(channel, index)] = None
        except NotifyError as error:
            results[channel_name(channel, index)] = str(error)
    return results


def delivered(results: dict[str, str | None]) -> bool:
    """At least one channel took the message (the incident then counts as notified)."""
    return any(error is None for error in results.values())


# ---------------------------------------------------------------------------- on a host


def _unit_result(unit: str) -> str:
    shown = subprocess.run(
        ["systemctl", "show", "--property=Result", "--value", unit],
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout.strip() or "unknown"


def _journal_tail(unit: str) -> str:
    shown = subprocess.run(
        [
            "journalctl",
            "--unit",
            unit,
            "--lines",
            str(JOURNAL_LINES),
            "--output",
            "cat",
            "--no-pager",
            "--boot",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout.strip()


UNIT_TITLES = {
    "storeops-backup.service": "nightly backup",
    "storeops-backup-check.service": "backup repository check (restic check)",
}


def unit_message(config: dict[str, Any], unit: str, result: str, journal: str) -> Message:
    """The message of a host unit's outcome (``result``: systemd's Result, success or not)."""
    host = str(config.get("host", socket.gethostname()))
    what = UNIT_TITLES.get(unit, unit)
    failing = result != "success"
    key_word = unit.removeprefix("storeops-").removesuffix(".service")
    text = f"{unit} on {host}: {result}\n{journal}" if failing else f"{unit} on {host} succeeded"
    title = f"{what} of {host} {'failed' if failing else 'succeeded again'}"
    return Message(str(config["store"]), f"{key_word} {host}", failing, title, text, host)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, sort_keys=True)
    temporary.replace(path)


def notify_unit(
    config: dict[str, Any], unit: str, result: str, journal: str, state_dir: Path
) -> tuple[str, dict[str, str | None]]:
    """A host unit ended: notify once per incident (state in ``state_dir``/<unit>.json)."""
    message = unit_message(config, unit, result, journal)
    state_file = state_dir / f"{unit}.json"
    state = _read_json(state_file)
    action = decide(bool(state.get("open")), bool(state.get("notified")), message.failing)
    if action == SUPPRESS:
        if not message.failing and state:
            state_file.unlink(missing_ok=True)
        return action, {}
    results = send_all(list(config.get("channels", [])), message)
    sent = delivered(results)
    if action == NOTIFY_FAILURE:
        _write_private(state_file, {"open": True, "notified": sent, "since": message.title})
    elif sent:
        state_file.unlink(missing_ok=True)
    return action, results


def main(argv: list[str] | None = None) -> int:
    """storeops-notify unit UNIT: report how UNIT ended (from its OnFailure/OnSuccess unit).

    Exits 0 when nothing was due or a channel took the message, 1 when every channel failed
    (the unit's journal then says why; the next run of UNIT tries again).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "unit":
        print(main.__doc__, file=sys.stderr)
        return 2
    unit = args[1]
    config = _read_json(CONFIG)
    if not config.get("channels"):
        print(f"{CONFIG}: no channels, nothing sent", file=sys.stderr)
        return 0
    result = _unit_result(unit)
    action, results = notify_unit(config, unit, result, _journal_tail(unit), STATE_DIR)
    for name, error in results.items():
        print(f"{unit}: {action} via {name}: {error or 'sent'}", file=sys.stderr)
    return 0 if not results or delivered(results) else 1
