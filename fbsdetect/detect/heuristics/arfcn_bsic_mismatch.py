"""A known cell on another carrier or with another BSIC than recorded.

Looks at: the registry's ARFCN/BSIC of this CGI (licensed-site lists carry
them) and the ARFCNs/BSICs the baseline learned for it. A clone of a real
cell usually transmits on a free carrier, not the real one's. Innocent
causes: frequency or BSIC re-planning since the list was made.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen, fmt_list
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "arfcn-bsic-mismatch"
title = "ARFCN/BSIC differs from the registered one"
version = 1
default_enabled = True
weight = 0.45
family = "clone"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    if cell.cgi is None:
        return None
    ra = {int(v) for v in (getattr(c, "arfcn", None) for c in ctx.registry_cgi) if v is not None}
    rb = {int(v) for v in (getattr(c, "bsic", None) for c in ctx.registry_cgi) if v is not None}
    st = ctx.baseline.cell(cell.cgi) if ctx.baseline is not None else None
    if st is not None and st.n >= 2:
        ra |= st.arfcns
        rb |= st.bsics
    bad = []
    if ra and o.arfcn is not None and o.arfcn not in ra:
        bad.append(
            _("ARFCN {arfcn} (recorded {recorded})").format(arfcn=o.arfcn, recorded=fmt_list(sorted(ra)))
        )
    if rb and o.bsic is not None and o.bsic not in rb:
        bad.append(_("BSIC {bsic} (recorded {recorded})").format(bsic=o.bsic, recorded=fmt_list(sorted(rb))))
    if not bad:
        return None
    text = (
        _("Known cell heard with {what}.").format(what=_(" and ").join(bad))
        + " "
        + innocent(_("frequency or BSIC re-planning since the record was made"))
    )
    return Finding(
        id,
        version,
        1.0 if len(bad) == 2 else 0.8,
        text,
        {"arfcn": o.arfcn, "bsic": o.bsic, "recorded_arfcns": sorted(ra), "recorded_bsics": sorted(rb)},
        family,
    )
