"""The cell's LAC is used by none of the operator's other cells heard around it.

Looks at: the LACs of the other cells of the same operator heard in this
area and time window, and (when it has the operator's cells) whether the
registry lists other cells of the LAC within 5 km. Location
areas span many cells; a LAC heard on exactly one cell, while several cells
of the same operator in other LACs are heard, is how fake base stations
force location updates. Innocent causes: the receiver is at the edge of a
location area, or the registry and the heard cells cover the area thinly;
a drive through many LACs hears such edges often, which is why this is a
soft sign.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen, fmt_list
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "lac-single-cell"
title = "LAC used by this cell only"
version = 1
default_enabled = True
weight = 0.25
family = "identity"


def _registered_here(cell: Seen, ctx: RuleContext) -> bool:
    """The registry has other cells of this LAC near the receiver (5 km), or
    no position to tell (then the LAC being registered at all is enough)."""
    if cell.position is None:
        return True
    o = cell.obs
    return any((getattr(c, "mcc", None), getattr(c, "mnc", None), getattr(c, "lac", None))
               == (o.mcc, o.mnc, o.lac) and getattr(c, "cid", None) != o.cid
               for c in ctx.registry_near(5_000.0))


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    if o.lac is None:
        return None
    peers = [s for s in ctx.peers if s.obs.lac is not None]
    if len(peers) < 2 or any(s.obs.lac == o.lac for s in peers):
        return None
    if ctx.has_registry and o.lac in ctx.registry_lacs and _registered_here(cell, ctx):
        return None  # a location area registered around here: the receiver hears its edge
    lacs = sorted({s.obs.lac for s in peers if s.obs.lac is not None})
    text = (
        _(
            "LAC {lac} is heard on this cell only; the operator's {n} other cells heard here use LAC "
            "{lacs}{registry}."
        ).format(
            lac=o.lac,
            n=len(peers),
            lacs=fmt_list(lacs),
            registry=_(", and the registry lists no cell in it") if ctx.has_registry else "",
        )
        + " "
        + innocent(_("the receiver is at a location-area border"), _("few of the operator's cells are heard"))
    )
    return Finding(
        id,
        version,
        ramp(len(peers), 1, 4),
        text,
        {"lac": o.lac, "peer_lacs": lacs, "peers": len(peers)},
        family,
    )
