"""Two different cells on the same ARFCN with the same BSIC, heard together.

Looks at: the cells of the same sweep (same sensor). Network planning never
gives two cells that a phone can hear the same carrier and BSIC (the phone
could not tell them apart); a fake base station that takes a carrier and
BSIC of a real cell while announcing another identity creates exactly that.
Innocent causes: distant co-channel reuse heard under unusual propagation
(one of the two is then much weaker), a decoding error of the identity.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "arfcn-bsic-collision"
title = "ARFCN/BSIC shared with another cell"
version = 1
default_enabled = True
weight = 0.35
family = "clone"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    if o.arfcn is None or o.bsic is None or cell.cgi is None:
        return None
    clash = [s for s in ctx.sweep if s.obs.arfcn == o.arfcn and s.obs.bsic == o.bsic
             and s.cgi is not None and s.cgi != cell.cgi]
    if not clash:
        return None
    s = clash[0]
    text = (
        _("ARFCN {arfcn} BSIC {bsic} is also heard in the same sweep as CGI {cgi}.").format(
            arfcn=o.arfcn, bsic=o.bsic, cgi=s.key.cgi()
        )
        + " "
        + innocent(_("distant co-channel reuse under unusual propagation"), _("an identity decoding error"))
    )
    return Finding(id, version, 1.0, text, {"other": s.key.cgi()}, family)
