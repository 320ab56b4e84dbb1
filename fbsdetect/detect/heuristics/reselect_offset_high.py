"""Aggressive reselection: a cell reselect offset (CRO, with temporary offset
and penalty time) that makes phones prefer this cell over the real ones.

Looks at: SI3/SI4 rest-octet CELL_RESELECT_OFFSET (2 dB steps), against the
operator's other cells here and the profile's `cro_range`. The C2
reselection criterion adds CRO to the cell's level (minus TEMPORARY_OFFSET
for PENALTY_TIME); a high CRO draws every phone in range. Without any
reference only CRO >= 20 dB is reported. Innocent causes: traffic
engineering (an operator steering phones to a capacity layer or an indoor
cell; then its other cells tend to use it too).
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, reference
from fbsdetect.i18n import _

id = "reselect-offset-high"
title = "Aggressive reselection offset (CRO)"
version = 1
default_enabled = True
weight = 0.50
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    cro = cell.param("cro")
    if not isinstance(cro, int) or cro <= 0:
        return None
    to, pt = cell.param("temporary_offset") or 0, cell.param("penalty_time") or 0
    # the C2 bias during and after the penalty time (PENALTY_TIME 31: CRO is subtracted)
    bias_db = -2 * cro if pt == 31 else 2 * cro
    if bias_db <= 0:
        return None
    ref = reference(ctx, "cro")
    hi_db = 2 * ref.hi if ref.hi is not None else 18.0
    excess = bias_db - hi_db
    if excess <= 0:
        return None
    text = (
        _(
            "CELL_RESELECT_OFFSET {cro} (+{bias} dB to the C2 criterion, temporary offset {to}, penalty time "
            "{pt}); {reference}."
        ).format(cro=cro, bias=bias_db, to=to, pt=pt, reference=ref.text())
        + " "
        + innocent(_("traffic steering to a capacity or indoor layer"))
    )
    return Finding(
        id,
        version,
        ramp(excess, 0, 16) * 0.7 + 0.3,
        text,
        {"cro": cro, "bias_db": bias_db, "reference_max_db": hi_db},
        family,
    )
