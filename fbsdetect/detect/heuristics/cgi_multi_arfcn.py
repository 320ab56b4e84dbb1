"""One cell identity (CGI) heard on two carriers at once.

Looks at: the other cells heard in this area and time window with the same
MCC, MNC, LAC and CID but another ARFCN or BSIC; the registry's ARFCN of the
CGI when it has one; which of the two was heard first. A cell has one BCCH
carrier; a second one with the same identity is a clone (fake base stations
copy a real cell so that phones trust them). Which one is the original:
the carrier the registry or the baseline names, else the one the
operator's other cells list in their BA lists (the network names its own
cells, not the copy), else the one heard first. The original gets nothing
reported; when nothing tells them apart, both get a half score. Innocent causes:
a carrier change between two sweeps (the old carrier is not heard again),
a registry that lists two sectors under one CID.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen, fmt_list
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "cgi-multi-arfcn"
title = "Same CGI on two ARFCNs"
version = 1
default_enabled = True
weight = 0.55
family = "clone"


def _reference_arfcns(cell: Seen, ctx: RuleContext) -> set[int]:
    ref = {int(a) for a in (getattr(c, "arfcn", None) for c in ctx.registry_cgi) if a is not None}
    st = ctx.baseline.cell(cell.cgi) if ctx.baseline is not None else None
    if st is not None:
        ref |= st.arfcns
    return ref


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    others = [s for s in ctx.same_cgi_elsewhere() if s.obs.arfcn != cell.obs.arfcn]
    if not others:
        return None
    o = cell.obs
    ref = _reference_arfcns(cell, ctx)
    arfcns = sorted({s.obs.arfcn for s in others if s.obs.arfcn is not None})
    if o.arfcn in ref:
        return None
    score, why = 0.5, _("neither carrier is known from the registry or the baseline")
    lists = [n for n in (s.param("neighbours") for s in ctx.peers if s.cgi != cell.cgi)
             if isinstance(n, list | tuple) and n]
    named_me = sum(1 for n in lists if o.arfcn in n)
    named_other = sum(1 for n in lists if any(a in n for a in arfcns))
    if ref & set(arfcns):
        score, why = 1.0, _("the registry/baseline knows this CGI on ARFCN {arfcns}").format(
            arfcns=fmt_list(sorted(ref)))
    elif named_me > named_other:
        return None  # the network's cells list this carrier: this is the original
    elif named_other > named_me:
        score, why = 1.0, _("{named_other} of the operator's {n} other cells here list ARFCN {arfcns} as "
                            "neighbour, {named_me} list ARFCN {arfcn}").format(
            named_other=named_other, n=len(lists), arfcns=fmt_list(arfcns), named_me=named_me, arfcn=o.arfcn)
    else:
        mine = ctx.history[0].t_s if ctx.history else cell.t_s
        firsts = [t for t in (ctx.world.by_key[s.key][0].t_s for s in others if ctx.world.by_key.get(s.key))
                  if t is not None]
        theirs = min(firsts) if firsts else None
        if mine is not None and theirs is not None:
            if mine + 1.0 < theirs:
                return None  # this carrier was there first: the other one is the suspect
            if theirs + 1.0 < mine:
                score, why = 0.8, _("the other carrier was heard first")
    text = (_("CGI {cgi} is also heard on ARFCN {arfcns}; {why}.").format(
                cgi=f"{o.mcc}-{o.mnc:02d}-{o.lac}-{o.cid}", arfcns=fmt_list(arfcns), why=why) + " "
            + innocent(_("a carrier change between sweeps"), _("two sectors listed under one CID")))
    return Finding(id, version, score, text, {"other_arfcns": arfcns, "reference_arfcns": sorted(ref)},
                   family)
