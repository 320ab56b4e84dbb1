"""The cell's carrier lies outside its operator's frequency allocation.

Looks at: the profile's ARFCN ranges of the operator per band
(`arfcns = {"E-GSM900" = [[lo, hi], ...]}`). A fake base station cloning an
operator's PLMN transmits on whatever carrier is free, often in another
operator's block. Innocent causes: refarming or a new licence the profile
does not list yet.
"""

from __future__ import annotations

from collections.abc import Mapping

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "arfcn-outside-allocation"
title = "ARFCN outside the operator's allocation"
version = 1
default_enabled = True
weight = 0.45
family = "allocation"


def ranges(alloc: object) -> list[tuple[int, int]]:
    out = []
    if isinstance(alloc, list | tuple):
        for r in alloc:
            if isinstance(r, list | tuple) and len(r) == 2:
                out.append((int(r[0]), int(r[1])))
            elif isinstance(r, int):
                out.append((r, r))
    return out


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    a = cell.obs.arfcn
    alloc = ctx.op_attr("arfcns")
    if a is None or not isinstance(alloc, Mapping) or not alloc:
        return None
    band = cell.obs.band
    use = {band: alloc[band]} if band in alloc else dict(alloc)
    rs = [r for v in use.values() for r in ranges(v)]
    if not rs or any(lo <= a <= hi for lo, hi in rs):
        return None
    from fbsdetect.i18n import operator_name

    op = operator_name(cell.obs.mcc, cell.obs.mnc, ctx.op_attr("name", None)) or _("the operator")
    text = (_("ARFCN {arfcn} is outside {operator}'s allocation {ranges}.").format(
                arfcn=a, operator=op, ranges=", ".join(f"{lo}-{hi}" for lo, hi in rs)) + " "
            + innocent(_("refarming or a new licence the profile does not list yet")))
    return Finding(id, version, 1.0, text, {"arfcn": a, "allocation": rs}, family)
