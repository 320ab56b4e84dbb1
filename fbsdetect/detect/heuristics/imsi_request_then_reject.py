"""Identity Request for the IMSI followed by a Location Updating Reject.

Looks at: the followed dedicated channels of this cell (`fbsdetect.traffic`):
conversations in which the network asked the phone for its IMSI (MM Identity
Request, TS 24.008 9.2.10) and then rejected its Location Updating (9.2.14,
with the cause). This is an IMSI catcher's signature: it makes phones come
(a strong signal, an unknown LAC), takes their permanent identity in clear,
and sends them away so that they return to the real network (or keeps them
with cause 13/15). Counted per conversation. Innocent causes: a real network
that lost a phone's TMSI asks for the IMSI, and may reject a roaming phone
(cause 11/13) - but it authenticates and ciphers; a single case.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._traffic import observations
from fbsdetect.i18n import _
from fbsdetect.i18n.message import list_separator

id = "imsi-request-then-reject"
title = "IMSI asked, then Location Updating rejected"
version = 1
default_enabled = True
weight = 0.7
family = "traffic"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    n = rejects = 0
    causes: dict[str, int] = {}
    for s in observations(cell, ctx):
        t = s.traffic or {}
        n += int(t.get("imsi_request_then_reject", 0))
        rejects += int(t.get("lu_rejects", 0))
        for k, v in (t.get("lu_reject_causes") or {}).items():
            causes[str(k)] = causes.get(str(k), 0) + int(v)
    if n < 1:
        return None
    cs = list_separator().join(_("cause {cause} x{n}").format(cause=k, n=v)
                               for k, v in sorted(causes.items()))
    evidence = (
        _("{n} conversations asked the phone's IMSI and then rejected its location update{causes}.").format(
            n=n, causes=" (" + cs + ")" if cs else ""
        )
        + " "
        + innocent(
            _(
                "a network that lost a phone's TMSI and rejects roaming phones (it would also "
                "authenticate and cipher)"
            ),
            _("a single case"),
        )
    )
    return Finding(
        id,
        version,
        ramp(n, 0, 3),
        evidence,
        {"conversations": n, "lu_rejects": rejects, "causes": causes},
        family,
    )
