"""The cell's location area code is not one its operator uses.

Looks at: the registry's LACs of the operator (any cell, anywhere) and the
LACs of the cells in the baseline. A fake base station often picks a LAC no
real cell uses, so that phones which reselect to it must perform a location
update (and give their identity). Innocent causes: a new location area after
re-planning, or a registry with few cells of this operator.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen, fmt_list
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "lac-unknown"
title = "LAC unknown for the operator"
version = 1
default_enabled = True
weight = 0.30
family = "identity"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    o = cell.obs
    if o.lac is None or cell.plmn is None:
        return None
    known: set[int] = set()
    refs = []
    if ctx.has_registry:
        known |= ctx.registry_lacs
        refs.append("registry")
    b = ctx.baseline
    if b is not None and not b.empty:
        lacs = {c[2] for c in b.cells if (c[0], c[1]) == cell.plmn}
        if lacs:
            known |= lacs
            refs.append("baseline")
    if not refs or o.lac in known or len(known) < 2:
        return None
    lac = o.lac
    near = sorted(known, key=lambda x: abs(x - lac))[:5]
    names = {"registry": _("registry"), "baseline": _("baseline")}
    text = (
        _(
            "LAC {lac} is not used by any cell of {plmn} in the {refs} ({n} LACs known, nearest {nearest})."
        ).format(
            lac=o.lac,
            plmn=f"{o.mcc}-{o.mnc:02d}",
            refs=_(" or ").join(names[r] for r in refs),
            n=len(known),
            nearest=fmt_list(near),
        )
        + " "
        + innocent(_("a new location area after network re-planning"), _("registry coverage is thin here"))
    )
    return Finding(id, version, 1.0, text, {"lac": o.lac, "known_lacs": len(known), "nearest": near}, family)
