"""A periodic location-update timer (T3212) much shorter than the operator's.

Looks at: SI3 T3212 (decihours; 0 = no periodic update) against the
operator's other cells here and the profile's `t3212_range`; without any
reference, T3212 <= 2 (12 minutes) is reported. Fake base stations set a
short T3212 so that camped phones register (and show their identity) again
and again. Innocent causes: an operator tuning a location area for fast
reachability.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent, reference
from fbsdetect.i18n import _

id = "t3212-low"
title = "Low T3212 (periodic location update)"
version = 1
default_enabled = True
weight = 0.40
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    t = cell.param("t3212")
    if not isinstance(t, int) or t <= 0:
        return None
    ref = reference(ctx, "t3212")
    lo = ref.lo if ref.lo is not None else 3
    if t > lo / 2:  # a little below the operator's lowest is tuning, not a lure
        return None
    score = 1.0 if t <= lo / 4 else 0.6
    text = (_("T3212 {t} ({minutes} min between periodic location updates); {reference}.").format(
                t=t, minutes=6 * t, reference=ref.text()) + " "
            + innocent(_("an operator tuning a location area for fast reachability")))
    return Finding(id, version, score, text, {"t3212": t, "reference_min": lo}, family)
