"""The whole SI parameter set differs from every cell of the operator here.

Looks at: T3212, CRO, temporary offset, penalty time, hysteresis,
RXLEV_ACCESS_MIN, MS_TXPWR_MAX_CCH, CBQ, ATT, GPRS, SI2quater against the
values the operator's other cells here use (heard and baseline, at least
three cells). A network's cells share a configuration template; a parameter
no other cell of the operator uses counts once, and the rule fires from
three such parameters. An operator-typical unusual value (used by its other
cells) never counts. Innocent causes: a cell of another vendor or a special
site (tunnel, indoor, event).
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, sep
from fbsdetect.i18n import _

id = "param-vector-outlier"
title = "Parameter set unlike the operator's cells"
version = 1
default_enabled = True
weight = 0.40
family = "parameters"

PARAMS = ("t3212", "cro", "temporary_offset", "penalty_time", "cell_reselect_hysteresis",
          "rxlev_access_min", "ms_txpwr_max_cch", "cbq", "att", "gprs", "si2quater")
MIN_CELLS = 3


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    odd: list[str] = []
    compared = 0
    for p in PARAMS:
        v = cell.param(p)
        if v is None:
            continue
        vals = ctx.operator_values(p)
        if len(vals) < MIN_CELLS:
            continue
        compared += 1
        if v not in vals:
            odd.append(_("{param} {value} (others: {others})").format(
                param=p, value=v, others=", ".join(str(x) for x in sorted(set(vals), key=str)[:4])))
    if compared < 4 or len(odd) < 3:
        return None
    text = (
        _("{n} of {compared} parameters take values no other cell of the operator here uses: {odd}.").format(
            n=len(odd), compared=compared, odd=sep().join(odd)
        )
        + " "
        + innocent(_("a cell of another vendor"), _("a special site (tunnel, indoor, event)"))
    )
    return Finding(id, version, ramp(len(odd), 2, 5), text, {"odd": len(odd), "compared": compared}, family)
