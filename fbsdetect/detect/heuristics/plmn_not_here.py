"""The cell's network (MCC-MNC) is not an operator of this profile's country.

Looks at: the profile's operators and, when the registry is consulted,
whether it holds any cell of this PLMN. A fake base station may use a test
or foreign PLMN. Innocent causes: a border area (foreign networks are heard
across borders), an operator the profile does not list yet, a private or
test network.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "plmn-not-here"
title = "PLMN not operating here"
version = 1
default_enabled = True
weight = 0.30
family = "identity"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    p = cell.plmn
    ops = ctx.profile_operators
    if p is None or not ops or ctx.operator is not None:
        return None
    if ctx.registry is not None and ctx.registry.has_operator_data(*p):
        return None
    names = ", ".join(f"{getattr(op, 'mcc', '?')}-{getattr(op, 'mnc', 0):02d}" for op in ops)
    text = (_("PLMN {plmn} is not one of the profile's operators ({names}) and the registry has no cell of "
              "it.").format(plmn=f"{p[0]}-{p[1]:02d}", names=names) + " "
            + innocent(_("a border area"), _("an operator the profile does not list"),
                       _("a private or test network")))
    return Finding(id, version, 1.0, text, {"plmn": list(p)}, family)
