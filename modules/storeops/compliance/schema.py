"""The compliance feature's inventory variables: ``hardening_waivers``.

Runs on the controller (the validator, ``storeops audit``). A waiver lets a control be off
(its toggle false) for a store (``group_vars/store_<code>/``) or a host (``host_vars/``),
for a reason, under an owner, until a date::

    hardening_waivers:
      - control: L2-7.1.4.2-d-umask
        justification: The DMS installer of release 4.2 needs umask 022; fixed in 4.3 (BMW-1234)
        owner: it.hz01@dealer.example
        expires: 2027-03-31
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from storeops.schema import Text, full_pattern

WAIVERS_VAR = "hardening_waivers"
# The day the validator judges expiry dates by: today, unless STOREOPS_TODAY (an ISO date)
# says otherwise (the tests, a rehearsal of next month's report).
TODAY_ENV = "STOREOPS_TODAY"
# Applied with fullmatch, as every pattern of storeops.schema.
# A control's ID: L2-<clause of 7.1.4>-<item letter>-<name>.
CONTROL_ID_RE = re.compile(r"L2-7\.1\.4\.[1-9]-[a-z]-[a-z0-9-]+")
# Who answers for a waiver: a person's or team's login name or mail address.
OWNER_RE = re.compile(r"[a-z][a-z0-9._-]{1,63}(@[a-z0-9-]+(\.[a-z0-9-]+)+)?")

ControlId = Annotated[str, full_pattern(CONTROL_ID_RE, "a control ID (L2-7.1.4.<n>-<x>-<name>)")]
Owner = Annotated[str, full_pattern(OWNER_RE, "a login name or a mail address")]


class Waiver(BaseModel):
    """One control off for a store or a host: why, who answers for it, until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    control: ControlId
    justification: Text
    owner: Owner
    expires: dt.date = Field(strict=False)

    def active_on(self, day: dt.date) -> bool:
        """A waiver holds up to and including its expiry day."""
        return day <= self.expires


def today() -> dt.date:
    """The validator's and the audit's today (``STOREOPS_TODAY`` for tests and rehearsals)."""
    forced = os.environ.get(TODAY_ENV, "").strip()
    return dt.date.fromisoformat(forced) if forced else dt.date.today()
