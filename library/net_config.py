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
    All stages are sent in one session for now; I(remediation) is the full ordered list.
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
import re  # noqa: E402
from itertools import groupby  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_net import (  # noqa: E402
    COMMON_ARGUMENT_SPEC,
    PLATFORMS,
    Management,
    NetError,
    clear_text_secrets,
    connect,
    disconnect,
    mask,
    ordered,
    running_config,
    scrub,
    strip_volatile,
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
    )


def remediation(
    platform: str, running: str, intended: str, management: Management | None = None
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The lines to push in order (make, rest, break), the leaf commands, and the stages."""
    stages, leaves = staged_remediation(platform, running, intended, management)
    return ordered(stages), leaves, stages


def for_diff(platform: str, text: str) -> str:
    """``text`` as the diff shows it: no volatile lines, no separator lines (``!``, ``#``),
    no VRP ``return``, secrets masked: the lines hier_config compares."""
    kept = [
        line
        for line in strip_volatile(platform, text).splitlines()
        if line.strip() not in ("!", "#", "return")
    ]
    return mask(platform, "\n".join(kept) + "\n") if kept else ""


def shown(platform: str, lines: list[str]) -> list[str]:
    return [mask(platform, line) for line in lines]


def push(conn: Any, platform: str, lines: list[str], secrets: tuple[str | None, ...]) -> None:
    """Send ``lines`` in one configuration session, in order, each checked for errors.

    A banner is one line of hier_config's holding several device lines (IOS prints and takes
    ``banner motd ^C``, the text, ``^C``) and the device answers its first line with a
    question, not an echo: a banner is sent without waiting for echoes (netmiko then reads
    until the device is silent, ~2 s a line, so only the banner goes that way), every other
    run of lines with its echoes checked. The platform's error markers fail the push.
    """
    from netmiko.exceptions import ConfigInvalidException

    runs = [(banner, list(run)) for banner, run in groupby(lines, key=lambda line: "\n" in line)]
    try:
        for index, (banner, run) in enumerate(runs):
            conn.send_config_set(
                run,
                error_pattern=PLATFORMS[platform].error_pattern,
                cmd_verify=not banner,
                exit_config_mode=index == len(runs) - 1,
            )
    except ConfigInvalidException as error:
        raise NetError(f"the device refused a line: {scrub(str(error), *secrets)}") from None


def save(conn: Any, platform: str) -> None:
    output = str(conn.save_config())
    if re.search(PLATFORMS[platform].error_pattern, output):
        raise NetError(f"{PLATFORMS[platform].save_command!r} failed: {output.strip()}")


def converge(
    conn: Any, params: dict[str, Any], running: str, lines: list[str]
) -> tuple[str, list[str], int]:
    """Push ``lines`` (and a documented second pass if needed); the new running config,
    everything pushed, the passes, or NetError with the remaining lines."""
    platform, intended = params["platform"], params["intended"]
    management = management_of(params)
    secrets = (params["password"], params.get("enable_secret"))
    pushed: list[str] = []
    passes = 0
    while lines:
        push(conn, platform, lines, secrets)
        pushed += lines
        passes += 1
        running = running_config(conn, platform)
        lines, leaves, _ = remediation(platform, running, intended, management)
        second = PLATFORMS[platform].second_pass
        if lines and not (
            passes < MAX_PASSES and second and all(second.match(leaf) for leaf in leaves)
        ):
            raise RemainingError(lines, pushed, passes)
    if params["save"]:
        save(conn, platform)
    return running, pushed, passes


class RemainingError(Exception):
    """The remediation is not empty after the push (what was pushed, what remains)."""

    def __init__(self, remaining: list[str], pushed: list[str], passes: int) -> None:
        super().__init__(
            f"the remediation is not empty after {passes} pass(es) "
            f"({len(remaining)} line(s) remain: {'; '.join(line.strip() for line in remaining[:10])})"
        )
        self.remaining, self.pushed, self.passes = remaining, pushed, passes


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGUMENT_SPEC,
            "intended": {"type": "str", "required": True},
            "save": {"type": "bool", "default": True},
            "management_vlans": {"type": "list", "elements": "int", "default": []},
            "management_address": {"type": "str", "required": False},
            "running_management_address": {"type": "str", "required": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    platform = params["platform"]
    result: dict[str, Any] = {
        "changed": False,
        "remediation": [],
        "stages": {"make": [], "rest": [], "break": []},
        "passes": 0,
    }
    refused = clear_text_secrets(platform, params["intended"])
    if refused:
        module.fail_json(
            msg="intended has clear-text secrets on line(s) "
            f"{', '.join(map(str, refused))}: give them hashed, as the device prints them",
            **result,
        )
    try:
        conn = connect(params)
    except NetError as error:
        module.fail_json(msg=str(error), **result)
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
            module.exit_json(**result)
        running, pushed, passes = converge(conn, params, before, lines)
        result.update(changed=True, remediation=shown(platform, pushed), passes=passes)
        result["diff"] = {"before": shown_before, "after": for_diff(platform, running)}
    except RemainingError as error:
        result.update(changed=True, remediation=shown(platform, error.pushed), passes=error.passes)
        module.fail_json(
            msg=mask(platform, str(error)), remaining=shown(platform, error.remaining), **result
        )
    except NetError as error:
        module.fail_json(
            msg=f"{params['host']}:{params['port']}: {mask(platform, str(error))}", **result
        )
    finally:
        disconnect(conn)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
