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
  - On VRP, C(vlan batch) is treated as one idempotent line (a changed list is pushed as the
    new C(vlan batch) line, which adds VLANs) instead of hier_config's default
    C(undo vlan batch <old list>) first, which would delete every VLAN and its C(vlan N)
    section. Removing a VLAN on VRP therefore needs an explicit C(undo vlan batch N) line from
    the caller; until then the verification fails and names the C(vlan batch) line.
  - Secrets must be given as the device prints them (IOS C(secret 9 $9$...), VRP
    C(irreversible-cipher $1a$...)). The device hashes a clear-text secret with a fresh salt,
    so such a line would never match; it is refused before the device is contacted.
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
  description: The lines pushed (or, in check mode, that would be pushed), in order, as sent.
  returned: always
  type: list
  elements: str
  sample: ["ntp server 192.0.2.11", "no ntp server 192.0.2.10"]
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

import re  # noqa: E402
from itertools import groupby  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_net import (  # noqa: E402
    COMMON_ARGUMENT_SPEC,
    PLATFORMS,
    NetError,
    connect,
    disconnect,
    running_config,
    scrub,
    strip_volatile,
)

# Secrets typed in clear text: the device stores them hashed with a fresh salt each time.
CLEAR_TEXT_SECRETS = {
    "cisco_ios": re.compile(
        r"^\s*(?:username \S+ .*\bsecret|enable secret)"
        r"(?: level \d+)? (?:0 )?(?!(?:5|8|9) )\S+\s*\Z"
    ),
    "huawei_vrp": re.compile(
        r"^\s*local-user \S+ password (?:irreversible-cipher|cipher) (?!\$1[a-z]\$)\S+\s*\Z"
    ),
}
# VRP's documented second pass: "undo rule N" also removes "rule N description ...".
SECOND_PASS_LINES = {"huawei_vrp": re.compile(r"^rule \d+ description ")}
MAX_PASSES = 2


def driver_for(platform: str) -> Any:
    from hier_config import Platform, get_hconfig_driver
    from hier_config.models import IdempotentCommandsRule, MatchRule

    driver = get_hconfig_driver(Platform[PLATFORMS[platform].hier_platform])
    if platform == "huawei_vrp":
        # "vlan batch" lists the VLANs: replace the line, never "undo" the old list first.
        driver.rules.idempotent_commands.append(
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="vlan batch "),))
        )
    return driver


def prepare(platform: str, text: str) -> str:
    """The configuration as hier_config should see it (no volatile lines, no VRP ``return``)."""
    lines = strip_volatile(platform, text).splitlines()
    if platform == "huawei_vrp":
        lines = [line for line in lines if line.strip() != "return"]
    return "\n".join(lines) + "\n"


def remediation(platform: str, running: str, intended: str) -> tuple[list[str], list[str]]:
    """The lines to push (sectional, as sent) and the leaf commands they hold."""
    from hier_config import WorkflowRemediation, get_hconfig

    driver = driver_for(platform)
    workflow = WorkflowRemediation(
        get_hconfig(driver, prepare(platform, running)),
        get_hconfig(driver, prepare(platform, intended)),
    )
    config = workflow.remediation_config
    lines = list(config.dump_simple(sectional_exiting=True))
    leaves = [child.text for child in config.all_children_sorted() if not child.children]
    return lines, leaves


def for_diff(platform: str, text: str) -> str:
    """``text`` as the diff shows it: no volatile lines, no separator lines (``!``, ``#``),
    no VRP ``return``: the lines hier_config compares."""
    kept = [
        line
        for line in strip_volatile(platform, text).splitlines()
        if line.strip() not in ("!", "#", "return")
    ]
    return "\n".join(kept) + "\n" if kept else ""


def clear_text_secrets(platform: str, intended: str) -> list[int]:
    pattern = CLEAR_TEXT_SECRETS[platform]
    return [n for n, line in enumerate(intended.splitlines(), 1) if pattern.match(line)]


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
    secrets = (params["password"], params.get("enable_secret"))
    pushed: list[str] = []
    passes = 0
    while lines:
        push(conn, platform, lines, secrets)
        pushed += lines
        passes += 1
        running = running_config(conn, platform)
        lines, leaves = remediation(platform, running, intended)
        second = SECOND_PASS_LINES.get(platform)
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
        },
        supports_check_mode=True,
    )
    params = module.params
    platform = params["platform"]
    result: dict[str, Any] = {"changed": False, "remediation": [], "passes": 0}
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
        lines, _ = remediation(platform, before, params["intended"])
        result["remediation"] = lines
        shown_before = for_diff(platform, before)
        if module.check_mode or not lines:
            after = for_diff(platform, params["intended"]) if lines else shown_before
            result["changed"] = bool(lines)
            result["diff"] = {"before": shown_before, "after": after}
            module.exit_json(**result)
        running, pushed, passes = converge(conn, params, before, lines)
        result.update(changed=True, remediation=pushed, passes=passes)
        result["diff"] = {"before": shown_before, "after": for_diff(platform, running)}
    except RemainingError as error:
        result.update(changed=True, remediation=error.pushed, passes=error.passes)
        module.fail_json(msg=str(error), remaining=error.remaining, **result)
    except NetError as error:
        module.fail_json(msg=f"{params['host']}:{params['port']}: {error}", **result)
    finally:
        disconnect(conn)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
