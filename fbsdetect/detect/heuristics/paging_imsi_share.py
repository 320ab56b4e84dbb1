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
from fbsdetect.i18n import _

id = "paging-imsi-share"
title = "Share of IMSI pages"
version = 1
default_enabled = True
weight = 0.35
family = "behaviour"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    _req, imsi, tmsi, _dur = paging_of(ctx.history)
    if imsi + tmsi < 10:
        return None
    share = imsi / (imsi + tmsi)
    if share < 0.5:
        return None
    others = []
    for s in ctx.peers:
        _r, i, t, _d = paging_of(ctx.world.by_key.get(s.key, []))
        if i + t >= 10:
            others.append(i / (i + t))
    ref = median(others) if others else None
    if ref is not None and ref >= 0.2:
        return None
    others_text = (_("; the operator's other cells here page {share} by IMSI").format(share=f"{ref:.0%}")
                   if ref is not None else "")
    text = (
        _("{share} of {n} paged identities are IMSIs{others}.").format(
            share=f"{share:.0%}", n=imsi + tmsi, others=others_text
        )
        + " "
        + innocent(
            _("a core network that lost its TMSIs (restart)"), _("an operator paging by IMSI by policy")
        )
    )
    return Finding(
        id,
        version,
        ramp(share, 0.5, 0.9) * (1.0 if ref is not None else 0.6),
        text,
        {"imsi_share": round(share, 2), "others": None if ref is None else round(ref, 2)},
        family,
    )
