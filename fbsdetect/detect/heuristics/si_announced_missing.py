"""SI messages the cell announces but never sends.

Looks at: SI3's rest octets (SI2ter and SI2quater indicators, the GPRS
indicator that implies SI13) against the SI types actually received during
a dwell that decoded every BCCH position (TC 0-7 of the 8-multiframe
cycle) at least twice, so that the message had two chances to be seen
(the decoded blocks' frame numbers tell; without them nothing is said). A real BSC sends what it announces; a
fake base station's hand-made SI often announces more than it sends.
Innocent causes: reception errors on the BCCH blocks that carry them, a
dwell cut short.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent, parse_si3
from fbsdetect.i18n import _

id = "si-announced-missing"
title = "Announced SI types never sent"
version = 1
default_enabled = True
weight = 0.35
family = "parameters"

MIN_PER_TC = 2


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    h = o.si.get("3")
    m = parse_si3(h) if isinstance(h, str) else None
    tc = cell.bcch_tc
    if m is None or tc is None or min(tc) < MIN_PER_TC or o.blocks_bad > o.blocks_ok // 2:
        return None
    missing = []
    if m.rest.si2ter and "2ter" not in o.si:
        missing.append("2ter")
    if m.rest.si2quater and "2quater" not in o.si:
        missing.append("2quater")
    if m.rest.gprs is not None and "13" not in o.si:
        missing.append("13")
    if not missing:
        return None
    text = (
        _(
            "SI3 announces {types} but {blocks} good BCCH blocks, every BCCH position at least {min} times, "
            "carried none."
        ).format(types=", ".join(f"SI{m}" for m in missing), blocks=sum(tc), min=min(tc))
        + " "
        + innocent(_("reception errors on the blocks that carry them"), _("a dwell cut short"))
    )
    return Finding(id, version, 1.0, text, {"missing": missing, "bcch_tc": list(tc)}, family)
