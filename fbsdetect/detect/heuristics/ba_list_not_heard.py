"""The cell's neighbour list names carriers that are not heard here.

Looks at: the cell's BA list against the carriers of every cell heard in
this area, compared with the operator's other cells. A cell lists the
cells around it, which the receiver mostly hears too; a fake base station
that copies the SI of a distant cell brings that cell's neighbours along.
Reported when at most 20 % of at least three listed carriers are heard
while the operator's other cells have at least half of theirs heard.
Innocent causes: neighbours beyond the receiver's reach (hills, indoor
reception), carriers outside the swept bands.
"""

from __future__ import annotations

from statistics import median

from fbsdetect.detect.context import RuleContext, Seen, fmt_list
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "ba-list-not-heard"
title = "Neighbour list of carriers not heard here"
version = 1
default_enabled = True
weight = 0.45
family = "topology"


def _heard_share(ba: list[int], heard: set[int], own: int | None) -> float | None:
    listed = [a for a in ba if a != own]
    if len(listed) < 3:
        return None
    return sum(1 for a in listed if a in heard) / len(listed)


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    ba = cell.param("neighbours")
    if not isinstance(ba, list | tuple):
        return None
    heard = {s.obs.arfcn for s in ctx.area if s.obs.arfcn is not None}
    if len(heard) < 3:
        return None
    mine = _heard_share(list(ba), heard, cell.obs.arfcn)
    if mine is None or mine > 0.2:
        return None
    others = []
    for s in ctx.peers:
        n = s.param("neighbours")
        if isinstance(n, list | tuple):
            sh = _heard_share(list(n), heard | {cell.obs.arfcn or -1}, s.obs.arfcn)
            if sh is not None:
                others.append(sh)
    if len(others) < 2 or median(others) < 0.5:
        return None
    text = (_("Of the {n} carriers in its BA list ({arfcns}), {share} are heard here, against a median "
              "{median} for the operator's {others} other cells.").format(
                n=len([a for a in ba if a != cell.obs.arfcn]), arfcns=fmt_list(list(ba)), share=f"{mine:.0%}",
                median=f"{median(others):.0%}", others=len(others)) + " "
            + innocent(_("neighbours beyond the receiver's reach"), _("carriers outside the swept bands")))
    return Finding(id, version, ramp(median(others) - mine, 0.3, 0.7) * 0.6 + 0.4, text,
                   {"heard_share": round(mine, 2), "others_median": round(median(others), 2)}, family)
