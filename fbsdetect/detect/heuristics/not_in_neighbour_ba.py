"""The cell's carrier is in none of its operator's heard neighbours' BA lists.

Looks at: the SI2 neighbour (BA) lists of the operator's other cells heard
in this area. A planned cell is listed by the cells around it, so that
phones measure it; a fake base station is not in the network's lists (it
lists the real cells so that phones come to it, but they do not list it).
Innocent causes: a new site whose neighbours were not updated yet, a cell
whose neighbours heard here face the other way.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "not-in-neighbour-ba"
title = "Cell in no heard neighbour's BA list"
version = 1
default_enabled = True
weight = 0.50
family = "topology"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    a = cell.obs.arfcn
    if a is None:
        return None
    lists = [(s, s.param("neighbours")) for s in ctx.peers]
    lists = [(s, n) for s, n in lists if isinstance(n, list | tuple) and n and s.obs.arfcn != a]
    if len(lists) < 2 or any(a in n for _s, n in lists):
        return None
    text = (
        _(
            "ARFCN {arfcn} is in none of the BA lists of the operator's {n} other cells heard here (ARFCN "
            "{arfcns})."
        ).format(arfcn=a, n=len(lists), arfcns=", ".join(str(s.obs.arfcn) for s, _n in lists[:8]))
        + " "
        + innocent(
            _("a new site whose neighbours were not updated yet"),
            _("the heard neighbours face away from this cell"),
        )
    )
    return Finding(id, version, ramp(len(lists), 1, 4), text, {"arfcn": a, "lists": len(lists)}, family)
