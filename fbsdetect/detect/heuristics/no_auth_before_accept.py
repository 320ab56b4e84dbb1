"""Location Updating Accept without an Authentication Request before it.

Looks at: the followed dedicated channels of this cell (`fbsdetect.traffic`):
conversations that ended in a Location Updating Accept (TS 24.008 9.2.13)
with no Authentication Request (9.2.2) before it. A licensed network
authenticates a phone on (nearly) every location update and then ciphers; a
fake cell has no keys and cannot authenticate, so it accepts (to keep the
phone) without asking. Innocent causes: a network that skips authentication
on some periodic updates (policy, counted per conversation: a few are normal
when others authenticate).
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._traffic import observations
from fbsdetect.i18n import _

id = "no-auth-before-accept"
title = "Location update accepted without authentication"
version = 1
default_enabled = True
weight = 0.6
family = "traffic"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    n = accepts = auth = 0
    for s in observations(cell, ctx):
        t = s.traffic or {}
        n += int(t.get("lu_accept_without_auth", 0))
        accepts += int(t.get("lu_accepts", 0))
        auth += int(t.get("auth_requests", 0))
    if n < 1 or (auth > 0 and n < 0.5 * accepts):
        return None
    evidence = (
        _("{n} of {accepts} location updates accepted without an Authentication Request{seen}.").format(
            n=n,
            accepts=accepts,
            seen=_(" ({n} authentications seen on the cell)").format(n=auth) if auth else "",
        )
        + " "
        + innocent(_("a network skipping authentication on some periodic updates by policy"))
    )
    return Finding(
        id,
        version,
        ramp(n / max(accepts, 1), 0.3, 1.0) * ramp(n, 0, 2),
        evidence,
        {"accepts": accepts, "without_auth": n, "auth_requests": auth},
        family,
    )
