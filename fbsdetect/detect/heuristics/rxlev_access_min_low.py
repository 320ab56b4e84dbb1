"""RXLEV_ACCESS_MIN unlike the operator's cells (usually: far lower).

Looks at: SI3/SI4 RXLEV_ACCESS_MIN (0 = -110 dBm .. 63 = -48 dBm) against
the operator's other cells here and the profile's
`rxlev_access_min_range`. A fake base station sets it to the minimum so
that phones at any level may camp on it. Higher than usual values are
reported with a lower score (a cell shrinking its coverage is not how fakes
work). Innocent causes: rural cells stretched for coverage, micro cells
shrunk on purpose.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, reference
from fbsdetect.i18n import _

id = "rxlev-access-min-low"
title = "RXLEV_ACCESS_MIN outlier"
version = 1
default_enabled = True
weight = 0.40
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    v = cell.param("rxlev_access_min")
    if not isinstance(v, int):
        return None
    ref = reference(ctx, "rxlev_access_min")
    if not ref.known or ref.lo is None or ref.hi is None or ref.lo - 1 <= v <= ref.hi + 2:
        return None
    if v < ref.lo:
        score, side = ramp(ref.lo - v, 1, 6), _("below the operator's usual")
    else:
        score, side = 0.3 * ramp(v - ref.hi, 0, 10), _("above the operator's usual")
    text = (_("RXLEV_ACCESS_MIN {value} ({dbm} dBm), {side}; {reference}.").format(
                value=v, dbm=v - 110, side=side, reference=ref.text()) + " "
            + innocent(_("a rural cell stretched for coverage"), _("a micro cell shrunk on purpose")))
    return Finding(id, version, score, text, {"value": v, "lo": ref.lo, "hi": ref.hi}, family)
