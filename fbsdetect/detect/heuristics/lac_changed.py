"""A known cell identity (CID) appears with another LAC.

Looks at: the registry's cells of the operator with this CID near the
receiver (20 km), the baseline, and the cells heard earlier, when none of
them knows this CID in this LAC. A fake base station that clones a real cell
but announces another location area makes phones register with it. Unlike
AIMSICD's "changing LAC" alarm this compares the same CID, not the serving
cell while driving. Innocent causes: location-area re-planning; the same
CID reused in a distant location area.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen, distance_m, fmt_list
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "lac-changed"
title = "Known CID with another LAC"
version = 1
default_enabled = True
weight = 0.35
family = "identity"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    if cell.cgi is None:
        return None
    pos = cell.position
    other: set[int] = set()
    same = False
    for c in ctx.registry_cid:
        lac = getattr(c, "lac", None)
        if lac == o.lac:
            same = True
        elif lac is not None:
            lat, lon = getattr(c, "lat", None), getattr(c, "lon", None)
            if pos is None or lat is None or lon is None or distance_m(pos[0], pos[1], lat, lon) < 20_000:
                other.add(int(lac))
    b = ctx.baseline
    if b is not None:
        for c in b.cells:
            if (c[0], c[1], c[3]) == (o.mcc, o.mnc, o.cid):
                if c[2] == o.lac:
                    same = True
                else:
                    other.add(c[2])
    heard = ctx.same_cid_other_lac()
    first_t = ctx.history[0].t_s if ctx.history else cell.t_s
    for s in heard:  # heard before this identity first appeared: it was there first
        if s.t_s is not None and first_t is not None and s.t_s < first_t and s.obs.lac is not None:
            other.add(s.obs.lac)
    if same or not other:
        return None
    text = (_("CID {cid} of {plmn} is known with LAC {known}, here it announces LAC {lac}.").format(
                cid=o.cid, plmn=f"{o.mcc}-{o.mnc:02d}", known=fmt_list(sorted(other)), lac=o.lac) + " "
            + innocent(_("location-area re-planning"), _("the CID reused in another location area")))
    return Finding(id, version, 1.0, text, {"lac": o.lac, "known_lacs": sorted(other)}, family)
