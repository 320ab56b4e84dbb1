"""No SI2quater (no 3G/4G neighbours) where the operator's cells have it.

Looks at: the cell's SI3 rest octets / SI2quater, against the operator's
other cells heard here (and the baseline), or the profile's
`si2quater_expected` when none is known. SI2quater tells phones which LTE
and UMTS cells to measure; without it a phone stays on 2G, where a fake
base station can catch it: the 2G-downgrade lure. Innocent causes: a 2G-only
operator or site (then its other cells lack it too, and nothing is
reported), an old BSC configuration.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import feature_absent, innocent
from fbsdetect.i18n import _

id = "si2quater-absent"
title = "SI2quater absent where the operator's cells have it"
version = 1
default_enabled = True
weight = 0.45
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    r = feature_absent(cell, ctx, "si2quater", "si2quater_expected")
    if r is None:
        return None
    score, why, data = r
    text = (
        _("The cell sends no SI2quater (no LTE/UMTS neighbours, phones stay on 2G); {why}.").format(why=why)
        + " "
        + innocent(_("a 2G-only site"), _("an old BSC configuration"))
    )
    return Finding(id, version, score, text, data, family)
