"""A registered cell heard far from where the registry puts it.

Looks at: the registry position and range of this CGI and the receiver's
GPS position. A fake base station cloning a real cell's identity is heard
where that cell is not. GSM cells reach up to 35 km and registry positions
of crowd-sourced data are averages of where phones heard the cell, so this
fires only beyond max(2 x range, 3 km), scaled by how far the entry can be
trusted (samples, age), and is a soft sign: stale or coarse registry
positions are the usual innocent cause.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen, distance_m
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, registry_updated, reliability
from fbsdetect.i18n import _
from fbsdetect.i18n.message import list_separator

id = "cell-far-from-registered"
title = "Known cell far from its registered place"
version = 1
default_enabled = True
weight = 0.60
family = "location"


def far_threshold_m(range_m: float | None) -> float:
    return max(2.0 * (range_m or 0.0), 3000.0)


def registered_distance(cell: Seen, ctx: RuleContext) -> tuple[float, float, object] | None:
    """(distance, threshold, record) to the nearest registry record of this CGI."""
    pos = cell.position
    if pos is None:
        return None
    best = None
    for c in ctx.registry_cgi:
        lat, lon = getattr(c, "lat", None), getattr(c, "lon", None)
        if lat is None or lon is None:
            continue
        d = distance_m(pos[0], pos[1], lat, lon)
        if best is None or d < best[0]:
            best = (d, far_threshold_m(getattr(c, "range_m", None)), c)
    return best


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    r = registered_distance(cell, ctx)
    if r is None or r[0] <= r[1]:
        return None
    d, thr, rec = r
    upd = registry_updated(ctx)
    rel = reliability(rec, cell.t_s)
    n = getattr(rec, "samples", None)
    details = [_("registry range {range:.0f} m").format(range=getattr(rec, "range_m", None) or 0)]
    if n is not None:
        details.append(_("{n} samples").format(n=n))
    details.append(_("threshold {km:.1f} km").format(km=thr / 1000))
    weak = _("; the entry is weak evidence (reliability {r:.1f})").format(r=rel) if rel < 0.8 else ""
    text = (_("Registered {km:.1f} km away ({details}{weak}).").format(
                km=d / 1000, details=list_separator().join(details), weak=weak) + " "
            + innocent(_("the registry position is stale or coarse") + (" (" + upd + ")" if upd else ""),
                       _("the site moved"), _("propagation over water or from a hill top")))
    return Finding(id, version, (ramp(d / thr, 1.0, 3.0) * 0.7 + 0.3) * rel, text,
                   {"distance_m": round(d), "threshold_m": round(thr), "reliability": round(rel, 2)},
                   family)
