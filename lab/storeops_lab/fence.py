"""Keep lab traffic on the lab: an ``unreachable`` fallback route per store network.

While a store's podman network exists, its bridge route (metric 0) carries the traffic.
When it does not (lab down, a fresh machine, a half-built lab), the kernel would send
packets for a lab address out through the default route, to a real network. The fallback
route (same prefix, a high metric) answers "No route to host" locally instead, so no
packet for a lab address ever leaves this machine. It stays until reboot; ``lab up``
puts it back.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable

FALLBACK_METRIC = "4242"


def _has_fallback(subnet: ipaddress.IPv4Network) -> bool:
    shown = subprocess.run(
        ["ip", "-4", "route", "show", "type", "unreachable", "exact", str(subnet)],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    return bool(shown.strip())


def fence(subnets: Iterable[ipaddress.IPv4Network]) -> list[str]:
    """Add the fallback route for every subnet that lacks one; return what was done."""
    actions = []
    for subnet in subnets:
        if _has_fallback(subnet):
            continue
        subprocess.run(
            ["ip", "-4", "route", "add", "unreachable", str(subnet), "metric", FALLBACK_METRIC],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        actions.append(f"route {subnet}: unreachable fallback added (never via the default route)")
    return actions
