"""A paging-group configuration unlike the operator's cells.

Looks at: SI3's control channel description: BS_PA_MFRMS (multiframes
between a paging group's repeats), BS_AG_BLKS_RES (CCCH blocks reserved for
access grants) and CCCH_CONF, against the operator's other cells heard
here when they all agree. A network configures these per BSC, so its cells
agree; a fake base station brings its own software's defaults. Innocent
causes: cells of another BSC or vendor, combined CCCH on small sites (so
CCCH_CONF alone is not reported).
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent, parse_si3, sep
from fbsdetect.i18n import _

id = "paging-group-outlier"
title = "Paging-group configuration outlier"
version = 1
default_enabled = True
weight = 0.20
family = "parameters"

FIELDS = ("bs_pa_mfrms", "bs_ag_blks_res")


def _control(s: Seen) -> dict[str, int] | None:
    h = s.obs.si.get("3")
    m = parse_si3(h) if isinstance(h, str) else None
    if m is None:
        return None
    return {f: int(getattr(m.control, f)) for f in FIELDS}


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    mine = _control(cell)
    if mine is None:
        return None
    theirs = [c for c in (_control(s) for s in ctx.peers) if c is not None]
    if len(theirs) < 2:
        return None
    odd = []
    for f in FIELDS:
        vals = {c[f] for c in theirs}
        if len(vals) == 1 and mine[f] not in vals:
            odd.append((f, mine[f], next(iter(vals))))
    if not odd:
        return None
    shown = {"bs_pa_mfrms": 2}  # raw 0..7 = 2..9 multiframes
    desc = sep().join(
        _("{field} {value} where the operator's {n} other cells here all use {theirs}").format(
            field=f.upper(), value=v + shown.get(f, 0), n=len(theirs), theirs=w + shown.get(f, 0)
        )
        for f, v, w in odd
    )
    text = desc + ". " + innocent(_("a cell of another BSC or vendor"))
    return Finding(
        id,
        version,
        min(1.0, 0.6 * len(odd)),
        text,
        {"fields": [f for f, _v, _w in odd], "cells": len(theirs)},
        family,
    )
