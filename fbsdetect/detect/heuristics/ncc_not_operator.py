"""The cell's network colour code (NCC, the high 3 bits of the BSIC) is not
one its operator uses.

Looks at: the profile's NCC set of the operator (`ncc = [...]`). Operators
of a country agree NCCs (and neighbouring countries different ones); a fake
base station picks its BSIC freely. Innocent causes: a profile that is out
of date, a cell of a neighbouring country's operator near a border.
"""

from __future__ import annotations

from collections.abc import Sequence

from fbsdetect.detect.context import RuleContext, Seen, fmt_list
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "ncc-not-operator"
title = "NCC outside the operator's set"
version = 1
default_enabled = True
weight = 0.35
family = "allocation"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    bsic = cell.obs.bsic
    nccs = ctx.op_attr("ncc")
    if bsic is None or not isinstance(nccs, Sequence) or not nccs:
        return None
    ncc = bsic >> 3
    if ncc in {int(x) for x in nccs}:
        return None
    text = (_("BSIC {bsic} has NCC {ncc}; the profile gives this operator NCC {nccs}.").format(
                bsic=bsic, ncc=ncc, nccs=fmt_list(sorted(nccs))) + " "
            + innocent(_("the profile is out of date"), _("a neighbouring country's cell near a border")))
    return Finding(id, version, 1.0, text, {"ncc": ncc, "operator_ncc": sorted(nccs)}, family)
