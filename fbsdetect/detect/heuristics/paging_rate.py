"""Far more paging than the operator's other cells.

Looks at: paging requests per second on this cell's CCCH during its
observations, against the operator's other cells heard here (at least two).
Cells of one location area carry the same pages, and neighbouring areas
similar loads; a fake base station that pages to provoke responses, or
relays a burst of pages, stands out. Reported from three times the others'
median and at least 2 pages/s more. Innocent causes: a busy location area
(stadium, station), a paging storm after a core-network event.
"""

from __future__ import annotations

from statistics import median

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, paging_of
from fbsdetect.i18n import _

id = "paging-rate"
title = "Paging rate anomaly"
version = 1
default_enabled = True
weight = 0.35
family = "behaviour"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    req, _i, _t, dur = paging_of(ctx.history)
    if dur < 2.0:
        return None
    rate = req / dur
    others = []
    for s in ctx.peers:
        r, _i2, _t2, d = paging_of(ctx.world.by_key.get(s.key, []))
        if d >= 2.0:
            others.append(r / d)
    if len(others) < 2:
        return None
    ref = median(others)
    if rate < 3 * ref or rate < ref + 2.0:
        return None
    text = (_("{rate:.1f} paging requests/s over {duration:.0f} s; the operator's {n} other cells here carry "
              "{ref:.1f}/s (median).").format(rate=rate, duration=dur, n=len(others), ref=ref) + " "
            + innocent(_("a busy location area"), _("a paging storm after a core-network event")))
    return Finding(id, version, ramp(rate / max(ref, 0.5), 3, 8) * 0.6 + 0.4, text,
                   {"rate_hz": round(rate, 2), "others_hz": round(ref, 2)}, family)
