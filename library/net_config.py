#!/usr/bin/python
"""Bring a network device to its intended configuration by pushing only the delta.

hier_config computes the remediation (the commands that turn the running configuration into
the intended one, with the platform's negation and ordering rules); netmiko pushes it, the
device saves, and the module re-reads to prove the remediation is now empty.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: net_config
short_description: Remediate a network device to its intended configuration with hier_config
description:
  - Logs into the device with netmiko, reads its running configuration and computes the
    remediation against I(intended) with hier_config's platform driver (C(cisco_ios),
    C(huawei_vrp)). Lines that change without a configuration change (timestamps, sizes,
    C(ntp clock-period)) are left out on both sides, and so is VRP's closing C(return) line
    (hier_config's VRP driver keeps it as a configuration line).
  - Pushes only the remediation lines in one configuration session (C(send_config_set)),
    failing on the platform's error marker (IOS C(% Invalid input...), VRP C(Error:)), saves
    (I(save)), re-reads and recomputes. The remediation must then be empty, or the task fails
    and returns the lines that remain. One more pass is made only for a documented VRP
    behaviour - C(undo rule N) also removes the rule's C(rule N description), so a changed ACL
    rule needs its description put back - and only when nothing else remains.
  - The per-platform facts (how each platform prints secrets, banners, VLAN lists, which
    lines form the management path) live in one home per platform, C(PLATFORMS) in
    C(module_utils/storeops_net.py).
  - B(Make before break.) The remediation is sent in three stages, in this order and
    returned as I(stages) - C(make) adds or updates the management path (the management
    VLAN, the ports that carry it, its VLAN interface and address, the default route or
    C(ip default-gateway), local users, AAA, C(ip ssh)/C(stelnet)/C(ssh user), the VTY lines,
    the ACLs the VTY lines or the management interface reference), in that dependency order;
    C(rest) is every other change, in hier_config's order; C(break) removes the old
    management path (C(no)/C(undo) of management lines, a port moved off the old management
    VLAN, a trunk list that drops it), in the reverse order. No removal of a management line
    comes before C(break). An IOS trunk that swaps the management VLAN gets
    C(switchport trunk allowed vlan add <new>) in C(make), its final list in C(break).
    The management path is learnt from I(management_vlans) and the management addresses
    (I(management_address), I(running_management_address), by default I(host) when it is
    an IP address) - the interfaces carrying those addresses and the VLAN interfaces of the
    management VLANs are management interfaces - and from the platform's own management lines.
    A line whose new value overwrites the old one (an interface's description or primary
    address, IOS C(ip default-gateway), a user's secret and privilege) is never negated; a
    user the intended configuration drops is removed by name in C(break) (C(no username NAME),
    C(undo local-user NAME)), and removing the user this run logs in as (I(username)) is
    refused before any line is sent.
  - B(Three logins, the device's own revert armed.) The first connection arms the device's
    revert for I(revert_minutes) (Cisco IOS C(configure terminal revert timer N) - the
    configuration archive is the checkpoint, its C(archive) section is sent first from
    I(intended) when the device has none; Huawei VRP C(schedule reboot delay N) after a
    C(save), so the reboot goes back to the configuration as found) and sends C(make) and
    C(rest). A B(new) login then proves the new management path (at I(management_address)
    when I(running_management_address) differs and I(host) is that old address) and sends
    C(break) over it; the remediation is re-read until empty. A third login confirms
    (C(configure confirm), C(undo schedule reboot)) and only then saves.
  - B(Faults are results.) Any failure after the first line (a refused line, netmiko's
    C(ReadTimeout), a dropped session, a failed new login) ends this device's task with
    I(sent), I(not_sent) and I(safety_net). When a new login still works, IOS rolls back
    at once (C(configure revert now)) and VRP's reboot is cancelled (the lines sent stay,
    unsaved); when it does not, nothing more is sent and the device reverts itself when the
    timer expires, so the next run reaches it again. Other hosts are not affected.
  - Known limit - IOS refuses two interfaces in one subnet, so renumbering the management
    VLAN while keeping its subnet cannot make the new VLAN interface before the old one is
    removed; the address then only takes after C(break).
  - VLAN lists VRP prints with ranges (C(vlan batch 30 230 to 231 233),
    C(port trunk allow-pass vlan 30 230 to 233)) are compared as sets (either form, and
    several lines of one section, read alike) and sent as the delta as VRP takes it
    (C(vlan batch 232), C(undo vlan batch 230), C(port trunk allow-pass vlan 232),
    C(undo port trunk allow-pass vlan 230)), consecutive VLANs as ranges again.
  - Banners (IOS C(banner motd|login|exec), VRP C(header login|shell information)) are
    replaced by the new text; a banner that goes is removed without its old text
    (C(no banner motd), C(undo header login)).
  - Secrets must be given as the device prints them (IOS C(secret 5|8|9 ...), VRP
    C(irreversible-cipher $1a$...) or C(cipher %^%#...%^%#)). The device hashes a clear-text
    secret with a fresh salt, so such a line would never match; intended lines with a
    clear-text secret are refused before the device is contacted (IOS C(secret 0)/C(secret x),
    C(password 0)/C(password x) under C(username) or a line, C(enable password),
    C(snmp-server community), C(tacacs-server key), C(server-key), C(key 0), C(key-string) in
    clear; VRP C(simple) forms, C(cipher)/C(irreversible-cipher) values that are not the
    device's hashed output, C(snmp-agent community read|write) without C(cipher)).
  - IOS type 7 (C(password 7 ...), C(key 7 ...)) is accepted; it is what the device prints
    with C(service password-encryption) and it is trivially reversible, so it protects
    nothing - prefer C(secret 9). Two type-7 strings of one password (IOS picks a random
    offset) compare equal - both sides are decoded and re-encoded with offset 0 before
    comparing. Type 0 is refused rather than compared, so a device re-printing it as type 7
    cannot make a change that never converges.
  - Every returned line (I(remediation), I(stages), I(remaining), the diff, messages) has
    its secret values masked, e.g. C(username admin secret 9 ********).
  - A second run with the same I(intended) pushes nothing (C(changed=false)).
  - An unreachable device or a failed login fails the task with a message naming
    I(host):I(port) and which of the two happened; the password never appears in it.
author:
  - storeops developers
version_added: "0.2.0"
extends_documentation_fragment:
  - storeops_net
options:
  intended:
    description: The device's complete intended configuration, in the platform's syntax (rendered by the caller).
    type: str
    required: true
  save:
    description: Save the running configuration (C(write memory) / C(save)) after a change.
    type: bool
    default: true
  management_vlans:
    description:
      - The management zone's VLAN id(s) in I(intended); their VLAN interfaces, VLANs and the
        ports that carry them are the management path.
    type: list
    elements: int
    default: []
  management_address:
    description:
      - The device's management address in I(intended) (the address the controller reaches it
        at after the change). Default I(host) when that is an IP address.
    type: str
    required: false
  running_management_address:
    description:
      - The device's management address in its running configuration, when it changes.
        Default I(management_address).
    type: str
    required: false
  revert_minutes:
    description:
      - Minutes the device waits for the confirmation before it reverts the change by itself
        (IOS 1-120; on VRP a reboot to the saved configuration). C(0) sends no revert
        commands (a device without the archive feature, a lab without timers).
    type: int
    default: 10
  previous_username:
    description:
      - The automation user the device has now, when this run replaces it with I(username)
        (the intended configuration holds the new user and drops this one). The first login
        falls back to it when I(username) is refused; every later login is as I(username),
        so the old user is removed in C(break) only after the new one has logged in.
    type: str
    required: false
  previous_password:
    description: The password of I(previous_username).
    type: str
    required: false
attributes:
  check_mode:
    support: full
    description: Reads the device and returns the remediation; sends no configuration command.
  diff_mode:
    support: full
    description: The running configuration before and after (in check mode, before and intended).
"""

EXAMPLES = r"""
- name: Remediate the store core switch to its rendered configuration
  net_config:
    host: "{{ net_host }}"
    port: "{{ net_port }}"
    platform: "{{ net_platform }}"
    username: "{{ net_username }}"
    password: "{{ net_password }}"
    intended: "{{ lookup('ansible.builtin.template', net_platform + '.cfg.j2') }}"
  delegate_to: localhost
"""

RETURN = r"""
remediation:
  description: The lines pushed (or, in check mode, that would be pushed), in order, as sent (stages make, rest, break), secrets masked.
sent:
  description: The lines the device acknowledged, in order, secrets masked (on failure, where it stopped).
  returned: always
  type: list
  elements: str
not_sent:
  description: On failure, the lines of the change the device did not acknowledge (the first run of them may be partly applied).
  returned: always
  type: list
  elements: str
safety_net:
  description:
    - The device's revert - C(off) (I(revert_minutes) 0, or nothing to change), C(confirmed),
      C(armed) (the change failed and the device reverts it when the timer expires),
      C(reverted) (the timer expired before the confirmation, so the device took it back),
      C(rolled back) (taken at once) or C(cancelled) (VRP, the lines sent stay unsaved).
  returned: always
  type: str
  sample: confirmed
  returned: always
  type: list
  elements: str
  sample: ["ntp server 192.0.2.11", "no ntp server 192.0.2.10"]
stages:
  description: The first pass's lines by stage (C(make), C(rest), C(break)), secrets masked.
  returned: always
  type: dict
  sample: {"make": ["vlan 11", "  name MGMT", "  exit"], "rest": [], "break": ["no vlan 10"]}
passes:
  description: Remediation passes pushed (0 when nothing was needed or in check mode).
  returned: always
  type: int
remaining:
  description: The remediation still needed after the push (the task fails when not empty).
  returned: on failure after a push
  type: list
  elements: str
diff:
  description: The running configuration before and after (check mode, before and intended).
  returned: always
  type: dict
"""

import ipaddress  # noqa: E402
import time  # noqa: E402
from itertools import groupby  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_net import (  # noqa: E402
    COMMON_ARGUMENT_SPEC,
    AuthError,
    Management,
    NetError,
    RevertGone,
    arm_revert,
    clear_text_secrets,
    confirm_revert,
    connect,
    disconnect,
    for_diff,
    mask,
    ordered,
    platform_spec,
    revert_now,
    revert_prerequisite,
    running_config,
    save,
    scrub,
)
from ansible.module_utils.storeops_net import remediation as staged_remediation  # noqa: E402

MAX_PASSES = 2


def management_of(params: dict[str, Any]) -> Management:
    """The management path from the options (the address defaults to I(host) when it is an
    IP address: the address the controller connects to)."""
    host = params["host"]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        host = None
    address = params.get("management_address") or host
    return Management(
        vlans=tuple(params.get("management_vlans") or ()),
        address=address,
        running_address=params.get("running_management_address") or address,
        user=params["username"],
    )


def remediation(
    platform: str, running: str, intended: str, management: Management | None = None
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The lines to push in order (make, rest, break), the leaf commands, and the stages."""
    stages, leaves = staged_remediation(platform, running, intended, management)
    return ordered(stages), leaves, stages


def shown(platform: str, lines: list[str]) -> list[str]:
    return [mask(platform, line) for line in lines]


class Pushing:
    """The lines of one change as they go out: what the device acknowledged, what it did
    not get (a failure mid-run may have applied part of the first run not acknowledged)."""

    def __init__(self, platform: str, secrets: tuple[str | None, ...]) -> None:
        self.platform, self.secrets = platform, secrets
        self.sent: list[str] = []
        self.planned: list[str] = []
        self.passes = 0

    @property
    def not_sent(self) -> list[str]:
        return self.planned[len(self.sent) :]

    def plan(self, lines: list[str]) -> None:
        self.planned = [*self.sent, *lines]

    def push(self, conn: Any, lines: list[str]) -> None:
        """Send ``lines`` in one configuration session, in order, each checked for errors.

        A banner is one line of hier_config's holding several device lines (IOS prints and
        takes ``banner motd ^C``, the text, ``^C``) and the device answers its first line
        with a question, not an echo: a banner is sent without waiting for echoes (netmiko
        then reads until the device is silent, ~2 s a line, so only the banner goes that
        way), every other run of lines with its echoes checked. The platform's error markers
        fail the push.
        """
        from netmiko.exceptions import ConfigInvalidException

        runs = [
            (banner, list(run)) for banner, run in groupby(lines, key=lambda line: "\n" in line)
        ]
        try:
            for index, (banner, run) in enumerate(runs):
                conn.send_config_set(
                    run,
                    error_pattern=platform_spec(self.platform).error_pattern,
                    cmd_verify=not banner,
                    exit_config_mode=index == len(runs) - 1,
                )
                self.sent += run
        except ConfigInvalidException as error:
            raise NetError(
                f"the device refused a line: {scrub(str(error), *self.secrets)}"
            ) from None


class RemainingError(NetError):
    """The remediation is not empty after the push (what remains)."""

    def __init__(self, remaining: list[str], passes: int) -> None:
        super().__init__(
            f"the remediation is not empty after {passes} pass(es) "
            f"({len(remaining)} line(s) remain: {'; '.join(line.strip() for line in remaining[:10])})"
        )
        self.remaining = remaining


OUTCOMES = {
    "rolled back": "The device's revert was taken at once: the configuration is as before.",
    "reverted": "The device's timer expired first: it has taken the change back.",
    "cancelled": "The revert was cancelled (a new login still works): the lines sent stay in "
    "the running configuration, unsaved; the saved one is as before; a re-run repairs.",
}


class LockedOut(NetError):
    """A new login failed after lines were sent: the change cut the controller off."""


class Change:
    """One device's change, make before break, under the device's own revert timer.

    1. First connection (I(username), else I(previous_username)): arm the revert
       (I(revert_minutes)), send C(make) and C(rest).
    2. A new login, at the new address when it changes: proves the new management path;
       C(break) goes over it, then the remediation is re-read until empty.
    3. A new login again: C(configure confirm) / C(undo schedule reboot), then save.
    Anything that fails before the confirmation leaves the revert to the device, or takes
    it at once when a new login still works (see I(safety_net) in RETURN).
    """

    def __init__(self, params: dict[str, Any], first: Any) -> None:
        self.params, self.platform = params, params["platform"]
        self.management = management_of(params)
        self.pushing = Pushing(self.platform, (params["password"], params.get("enable_secret")))
        self.connections = [first]
        self.safety_net = "off"
        self.armed_at = 0.0

    def login(self, why: str) -> Any:
        """A new connection as I(username), at the address the device has after the change."""
        where = {**self.params, "host": confirm_host(self.params)}
        try:
            conn = connect(where)
        except NetError as error:
            raise LockedOut(f"a new login {why} failed: {error}") from None
        self.connections.append(conn)
        return conn

    def run(self, running: str, stages: dict[str, list[str]]) -> str:
        """Apply ``stages`` (computed from ``running``); the running configuration after."""
        first, minutes = self.connections[0], int(self.params["revert_minutes"])
        if minutes:
            prerequisite = revert_prerequisite(self.platform, running, self.params["intended"])
            if prerequisite:  # the archive the IOS checkpoint needs; harmless on its own
                self.pushing.plan(prerequisite)
                self.pushing.push(first, prerequisite)
                running = running_config(first, self.platform)
                stages = remediation(
                    self.platform, running, self.params["intended"], self.management
                )[2]
            arm_revert(first, self.platform, minutes)
            self.safety_net, self.armed_at = "armed", time.time()
        self.pushing.plan(ordered(stages))
        self.pushing.push(first, stages["make"] + stages["rest"])
        last = first
        if stages["break"]:
            last = self.login("through the new management path (before the break stage)")
            self.pushing.push(last, stages["break"])
        self.pushing.passes = 1
        running = self.converged(last)
        confirming = self.login("after the change")
        if self.safety_net == "armed":
            confirm_revert(confirming, self.platform)
            self.safety_net = "confirmed"
        if self.params["save"]:
            save(confirming, self.platform)
        return running

    def converged(self, conn: Any) -> str:
        """Re-read until the remediation is empty (one documented extra pass at most)."""
        second = platform_spec(self.platform).second_pass
        while True:
            running: str = running_config(conn, self.platform)
            lines, leaves, _ = remediation(
                self.platform, running, self.params["intended"], self.management
            )
            if not lines:
                return running
            if not (
                self.pushing.passes < MAX_PASSES
                and second
                and all(second.match(leaf) for leaf in leaves)
            ):
                raise RemainingError(lines, self.pushing.passes)
            self.pushing.plan(lines)
            self.pushing.push(conn, lines)
            self.pushing.passes += 1

    def recover(self, error: Exception) -> str:
        """After ``error`` before the confirmation: what happened to the safety net (the
        outcome in I(safety_net), the sentence for the message)."""
        if self.safety_net != "armed":
            return ""
        spec = platform_spec(self.platform)
        deadline = time.strftime(
            "%H:%M:%S", time.localtime(self.armed_at + 60 * int(self.params["revert_minutes"]))
        )
        waiting = f"the device {spec.revert_what} at about {deadline} (controller time)"
        if isinstance(error, LockedOut):
            return f"The confirmation was not sent: {waiting}; the next run reaches it again."
        try:
            if isinstance(error, RevertGone):
                raise error
            self.safety_net = self.take_back(self.login("to take the change back"))
        except RevertGone:
            self.safety_net = "reverted"
        except NetError:
            return f"The confirmation was not sent: {waiting}."
        return OUTCOMES[self.safety_net]

    def take_back(self, conn: Any) -> str:
        """Over a new login: roll back at once where the platform can, else cancel the
        timer (the lines sent stay, unsaved). The outcome."""
        if revert_now(conn, self.platform):
            return "rolled back"
        confirm_revert(conn, self.platform)
        return "cancelled"

    def close(self) -> None:
        for conn in self.connections:
            disconnect(conn)


def confirm_host(params: dict[str, Any]) -> str:
    """Where the logins after the first go: the new management address when this run moves
    it and the controller reached the device at the old one, else I(host)."""
    management = management_of(params)
    moves = management.address and management.running_address != management.address
    if moves and params["host"] == management.running_address:
        return str(management.address)
    return str(params["host"])


def first_login(params: dict[str, Any]) -> Any:
    """Log in as I(username); as I(previous_username) when the device refuses it."""
    try:
        return connect(params)
    except AuthError:
        if not params.get("previous_username"):
            raise
    return connect(
        {**params, "username": params["previous_username"], "password": params["previous_password"]}
    )


ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    **COMMON_ARGUMENT_SPEC,
    "intended": {"type": "str", "required": True},
    "save": {"type": "bool", "default": True},
    "management_vlans": {"type": "list", "elements": "int", "default": []},
    "management_address": {"type": "str", "required": False},
    "running_management_address": {"type": "str", "required": False},
    "revert_minutes": {"type": "int", "default": 10},
    "previous_username": {"type": "str", "required": False},
    "previous_password": {"type": "str", "required": False, "no_log": True},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_together=[("previous_username", "previous_password")],
    )
    params = module.params
    platform = params["platform"]
    result: dict[str, Any] = {
        "changed": False,
        "remediation": [],
        "stages": {"make": [], "rest": [], "break": []},
        "passes": 0,
        "sent": [],
        "not_sent": [],
        "safety_net": "off",
    }
    if not 0 <= params["revert_minutes"] <= 120:
        module.fail_json(msg="revert_minutes must be 0 (off) to 120", **result)
    refused = clear_text_secrets(platform, params["intended"])
    if refused:
        module.fail_json(
            msg="intended has clear-text secrets on line(s) "
            f"{', '.join(map(str, refused))}: give them hashed, as the device prints them",
            **result,
        )
    try:
        conn = first_login(params)
    except NetError as error:
        module.fail_json(msg=str(error), **result)
    change = Change(params, conn)
    try:
        before = running_config(conn, platform)
        lines, _, stages = remediation(platform, before, params["intended"], management_of(params))
        result["remediation"] = shown(platform, lines)
        result["stages"] = {stage: shown(platform, s) for stage, s in stages.items()}
        shown_before = for_diff(platform, before)
        if module.check_mode or not lines:
            after = for_diff(platform, params["intended"]) if lines else shown_before
            result["changed"] = bool(lines)
            result["diff"] = {"before": shown_before, "after": after}
            change.close()
            module.exit_json(**result)
        running = change.run(before, stages)
        result["diff"] = {"before": shown_before, "after": for_diff(platform, running)}
    except Exception as error:  # a fault mid-change is a result, never a traceback
        fault = (
            error if isinstance(error, NetError) else NetError(f"{type(error).__name__}: {error}")
        )
        outcome = change.recover(fault)
        change.close()
        pushing = change.pushing
        result.update(
            changed=bool(pushing.sent),
            remediation=shown(platform, pushing.sent),
            passes=pushing.passes,
            sent=shown(platform, pushing.sent),
            not_sent=shown(platform, pushing.not_sent),
            safety_net=change.safety_net,
        )
        if isinstance(fault, RemainingError):
            result["remaining"] = shown(platform, fault.remaining)
        message = scrub(mask(platform, str(fault)), *pushing.secrets)
        module.fail_json(
            msg=f"{params['host']}:{params['port']}: {message}"
            + (f" {outcome}" if outcome else ""),
            **result,
        )
    change.close()
    pushing = change.pushing
    result.update(
        changed=True,
        remediation=shown(platform, pushing.sent),
        passes=pushing.passes,
        sent=shown(platform, pushing.sent),
        safety_net=change.safety_net,
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
