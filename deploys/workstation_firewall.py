"""Confirm a workstation's new firewall over a new connection, and keep it for boot (pyinfra).

The second step of ``storeops workstation provision HOST`` (the CLI runs it right after
``deploys/workstation.py``): that deploy loaded the firewall role's ruleset with a revert
armed; this run is a new SSH connection, so reaching the machine proves the new ruleset
lets the controller in. It disarms the revert, writes the ruleset to the boot file and
makes sure nftables.service is on. If the machine cannot be reached, nothing is confirmed
and the previous table comes back after ``firewall_confirm_timeout`` seconds; the CLI then
registers nothing, and a re-run after fixing the flows repairs it. With nothing to confirm
(the boot file is already this ruleset) it changes nothing.
"""

from __future__ import annotations

from storeops.workstation.deploy import confirmed_ruleset, firewall_at_boot, provisioning_context

context = provisioning_context()
confirmed_ruleset(
    name="Confirm the host firewall over this new connection and keep it for boot",
    firewall=context.firewall(),
)
firewall_at_boot()
