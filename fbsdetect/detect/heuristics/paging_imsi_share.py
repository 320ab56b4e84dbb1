"""Pages by IMSI where the operator's cells page by TMSI.

Looks at: the share of IMSI identities among the paging requests of this
cell (at least 10 identities) against the operator's other cells here.
Networks page by TMSI (the temporary identity) nearly always; paging by
IMSI reveals who is paged and is what a catcher that does not know the
TMSIs does. Reported from a 50 % IMSI share when the others stay under
20 %. Innocent causes: a core network that lost its TMSI tables (restart),
an operator that pages by IMSI by policy (then its other cells do too).
"""

from __future__ import annotations

from statistics import median

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, paging_of

id = "paging-imsi-share"
title = "Share of IMSI pages"
version = 1
default_enabled = True
weight = 0.35
family = "behaviour"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    _, imsi, tmsi, _ = paging_of(ctx.history)
    if imsi + tmsi < 10:
        return None
    share = imsi / (imsi + tmsi)
    if share < 0.5:
        return None
    others = []
    for s in ctx.peers:
        _, i, t, _ = paging_of(ctx.world.by_key.get(s.key, []))
        if i + t >= 10:
            others.append(i / (i + t))
    ref = median(others) if others else None
    if ref is not None and ref >= 0.2:
        return None
    text = (f"{share:.0%} of {imsi + tmsi} paged identities are IMSIs"
            + (f"; the operator's other cells here page {ref:.0%} by IMSI" if ref is not None else "") + ". "
            + innocent("a core network that lost its TMSIs (restart)",
                       "an operator paging by IMSI by policy"))
    return Finding(id, version, ramp(share, 0.5, 0.9) * (1.0 if ref is not None else 0.6), text,
                   {"imsi_share": round(share, 2), "others": None if ref is None else round(ref, 2)}, family)
