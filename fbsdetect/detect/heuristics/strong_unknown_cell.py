"""An unregistered cell much stronger than every registered cell of its operator.

Looks at: the power of a cell the registry does not know (when it holds the
operator's cells) against the strongest registered cell of the same
operator heard in the same sweep. Fake base stations are put close to
their targets and outshine the network. A corroborating sign only (its
score stays moderate): a new legitimate site close to the receiver is just
as strong, which is why it never decides on its own. Reported from 10 dB.
Innocent causes: a new site or a small cell near the receiver.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "strong-unknown-cell"
title = "Unregistered cell far stronger than the registered ones"
version = 1
default_enabled = True
weight = 0.45
family = "power"

MARGIN_DB = 10.0


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    p = cell.obs.power_dbm
    if p is None or not ctx.has_registry or ctx.registry_cgi or ctx.registry is None:
        return None
    best = None
    for s in ctx.sweep:
        c, q = s.cgi, s.obs.power_dbm
        if (c is None or q is None or s.plmn != cell.plmn or s.obs.power_ref != cell.obs.power_ref
                or not ctx.registry.by_cgi(*c)):
            continue
        if best is None or q > best[0]:
            best = (q, s)
    if best is None or p - best[0] < MARGIN_DB:
        return None
    d = p - best[0]
    text = (
        _(
            "{power:.0f} {unit}, {d:.0f} dB above the strongest registered cell of the operator in the same "
            "sweep (ARFCN {arfcn}, {best:.0f}), and not in the registry."
        ).format(power=p, unit=cell.obs.power_ref, d=d, arfcn=best[1].obs.arfcn, best=best[0])
        + " "
        + innocent(_("a new site or a small cell near the receiver"))
    )
    # at most 0.3: with an unknown cell in an unknown LAC (a new site in a new area) it stays below medium
    return Finding(
        id,
        version,
        0.15 + 0.15 * ramp(d, MARGIN_DB, 25.0),
        text,
        {"power": p, "strongest_registered": best[0], "margin_db": round(d, 1)},
        family,
    )
