"""SI messages the cell announces but never sends.

Looks at: SI3's rest octets (SI2ter and SI2quater indicators, the GPRS
indicator that implies SI13) against the SI types actually received during
a dwell long enough to have seen every BCCH position at least twice (16
good BCCH blocks, few CRC failures). A real BSC sends what it announces; a
fake base station's hand-made SI often announces more than it sends.
Innocent causes: reception errors on the BCCH blocks that carry them, a
dwell cut short.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent, parse_si3

id = "si-announced-missing"
title = "Announced SI types never sent"
version = 1
default_enabled = True
weight = 0.35
family = "parameters"

MIN_BLOCKS = 16


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    h = o.si.get("3")
    m = parse_si3(h) if isinstance(h, str) else None
    if m is None or o.blocks_ok < MIN_BLOCKS or o.blocks_bad > o.blocks_ok // 2:
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
    text = (f"SI3 announces SI{', SI'.join(missing)} but {o.blocks_ok} good BCCH blocks carried none. "
            + innocent("reception errors on the blocks that carry them", "a dwell cut short"))
    return Finding(id, version, 1.0, text, {"missing": missing, "blocks_ok": o.blocks_ok}, family)
