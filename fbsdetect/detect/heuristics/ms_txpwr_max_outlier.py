"""MS_TXPWR_MAX_CCH unlike the operator's cells.

Looks at: SI3/SI4 MS_TXPWR_MAX_CCH (power control level the phones may use
on the RACH) against the operator's other cells here and the profile's
`ms_txpwr_max_cch_range`. Fake base stations often leave their software's
default. Innocent causes: micro and indoor cells use other values.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, reference
from fbsdetect.i18n import _

id = "ms-txpwr-max-outlier"
title = "MS_TXPWR_MAX_CCH outlier"
version = 1
default_enabled = True
weight = 0.20
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    v = cell.param("ms_txpwr_max_cch")
    if not isinstance(v, int):
        return None
    ref = reference(ctx, "ms_txpwr_max_cch")
    if not ref.known or ref.lo is None or ref.hi is None or ref.lo <= v <= ref.hi:
        return None
    d = (ref.lo - v) if v < ref.lo else (v - ref.hi)
    text = (_("MS_TXPWR_MAX_CCH {value}; {reference}.").format(value=v, reference=ref.text()) + " "
            + innocent(_("micro and indoor cells use other values")))
    return Finding(id, version, ramp(d, 0, 4), text, {"value": v, "lo": ref.lo, "hi": ref.hi}, family)
