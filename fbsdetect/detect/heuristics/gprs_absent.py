"""No GPRS where the operator's cells offer it.

Looks at: the GPRS indicator (SI3/SI4 rest octets, SI13) against the
operator's other cells heard here, or the profile's `gprs_expected`. Fake
base stations without a packet core do not offer GPRS. Innocent causes: a
site without packet service (rare today), a PCU outage.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import feature_absent, innocent
from fbsdetect.i18n import _

id = "gprs-absent"
title = "GPRS absent where the operator has it"
version = 1
default_enabled = True
weight = 0.30
family = "parameters"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    r = feature_absent(cell, ctx, "gprs", "gprs_expected")
    if r is None:
        return None
    score, why, data = r
    text = (_("The cell offers no GPRS; {why}.").format(why=why) + " "
            + innocent(_("a site without packet service"), _("a PCU outage")))
    return Finding(id, version, score, text, data, family)
