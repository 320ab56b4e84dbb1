"""A CELL_RESELECT_HYSTERESIS unlike the operator's cells.

Looks at: SI3/SI4 cell selection parameters (2 dB steps, 0-14 dB) against
the operator's other cells here and the profile's
`cell_reselect_hysteresis_range`. A high hysteresis keeps phones from
leaving a cell of another location area once camped (a fake base station
keeps its victims). Innocent causes: location-area borders are often given
a larger hysteresis on purpose.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, reference
from fbsdetect.i18n import _

id = "reselect-hysteresis-outlier"
title = "Reselection hysteresis outlier"
version = 1
default_enabled = True
weight = 0.25
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    h = cell.param("cell_reselect_hysteresis")
    if not isinstance(h, int):
        return None
    ref = reference(ctx, "cell_reselect_hysteresis")
    if not ref.known or ref.lo is None or ref.hi is None or ref.lo <= h <= ref.hi:
        return None
    dist = (h - ref.hi) if h > ref.hi else (ref.lo - h)
    text = (_("CELL_RESELECT_HYSTERESIS {value} ({db} dB); {reference}.").format(
                value=h, db=2 * h, reference=ref.text()) + " "
            + innocent(_("a larger hysteresis at location-area borders")))
    return Finding(id, version, ramp(dist, 0, 3), text, {"value": h, "lo": ref.lo, "hi": ref.hi}, family)
