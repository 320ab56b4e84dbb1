"""The cell announces no neighbours, or only itself.

Looks at: the SI2 BA list (with SI2bis/SI2ter). A cell without neighbours
leaves a phone nowhere to go (it stays camped); simple fake base stations
send an empty or self-only list. Innocent causes: an isolated rural site, a
temporary or test cell.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "ba-list-empty"
title = "Empty or self-only BA list"
version = 1
default_enabled = True
weight = 0.50
family = "topology"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    n = cell.param("neighbours")
    if n is None:
        return None
    others = [x for x in n if x != cell.obs.arfcn]
    if others:
        return None
    text = (_("The cell announces no neighbours.") if not n else
            _("The cell announces only its own carrier as neighbour.")) + " " + innocent(
        _("an isolated rural site"), _("a temporary or test cell"))
    return Finding(id, version, 1.0, text, {"neighbours": list(n)}, family)
