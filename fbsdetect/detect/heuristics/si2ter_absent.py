"""No SI2ter where nearly all of the operator's cells here send it.

Looks at: the SI3 rest-octet SI2ter indicator against the operator's other
cells heard here (at least three, 80 % of them with SI2ter). SI2ter carries
the extended (multiband) BA list; a fake base station copying a cell's basic
SI often leaves it out. Innocent causes: single-band sites, BSC
configuration differences. A weak sign: many networks send SI2ter on few
cells.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import feature_absent, innocent
from fbsdetect.i18n import _

id = "si2ter-absent"
title = "SI2ter absent where the operator's cells have it"
version = 1
default_enabled = True
weight = 0.15
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    r = feature_absent(cell, ctx, "si2ter", "si2ter_expected", min_cells=3, min_share=0.8)
    if r is None:
        return None
    score, why, data = r
    text = (_("The cell sends no SI2ter (extended BA list); {why}.").format(why=why) + " "
            + innocent(_("a single-band site"), _("BSC configuration differences")))
    return Finding(id, version, score, text, data, family)
