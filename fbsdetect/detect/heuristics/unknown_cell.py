"""A cell whose CGI neither the known-cell registry nor the learned baseline knows.

Looks at: the registry (only when it holds data for the cell's operator)
and the baseline (only when it learned this area). A fake base station
usually invents a cell identity, so it is unknown; but registries are
incomplete (OpenCellID is crowd-sourced, licensed-site lists lag behind new
sites), so this rule alone is never more than low severity, and it says
nothing when neither reference covers the operator or the area. Innocent
causes: a new cell, a registry that lacks it.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent, registry_updated
from fbsdetect.i18n import _

id = "unknown-cell"
title = "Cell not in the registry or the baseline"
version = 1
default_enabled = True
weight = 0.30
family = "identity"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    if cell.cgi is None:
        return None
    checked, unknown = [], []
    if ctx.has_registry:
        checked.append("registry")
        if not ctx.registry_cgi:
            unknown.append("registry")
    b = ctx.baseline
    if b is not None and not b.empty and b.covers(cell.position):
        checked.append("baseline")
        if not b.knows(cell.cgi):
            unknown.append("baseline")
    if not checked or len(unknown) < len(checked):
        return None
    o = cell.obs
    ids = {"cid": o.cid, "lac": o.lac, "plmn": f"{o.mcc}-{o.mnc:02d}"}
    if "baseline" in unknown and "registry" in unknown:
        head = _("CID {cid} in LAC {lac} ({plmn}) is not in the registry nor in the baseline learned here.")
    elif unknown == ["baseline"]:
        head = _("CID {cid} in LAC {lac} ({plmn}) is not in the baseline learned here (the registry is not "
                 "consulted for this operator).")
    else:
        head = _("CID {cid} in LAC {lac} ({plmn}) is not in the registry.")
    upd = registry_updated(ctx)
    text = (head.format(**ids) + " "
            + innocent(_("the cell may be new") + (" (" + upd + ")" if upd else ""),
                       _("the registry may simply lack it (crowd-sourced data is incomplete)")))
    return Finding(id, version, 1.0 if len(unknown) == 2 else 0.8, text,
                   {"checked": checked, "unknown_in": unknown}, family)
