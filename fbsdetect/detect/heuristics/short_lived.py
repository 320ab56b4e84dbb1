"""A cell heard only briefly while the cells around it are heard throughout.

Looks at: the sweeps of this receiver's run: in how many of the sweeps that
decoded carriers near this one (+-3 ARFCN) this cell was heard, against the
other cells of the run. Fake base stations are switched on for an operation
and off again, or drive past. Needs at least four sweeps; reported when the
cell is in at most 40 % of them while the median other cell is in at least
75 %. A drive (every cell comes and goes) never trips it. Innocent causes:
a cell at the edge of reception, a cell switched off for maintenance or
energy saving.
"""

from __future__ import annotations

from statistics import median

from fbsdetect.detect.context import CellKey, RuleContext, Seen
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "short-lived"
title = "Short-lived cell"
version = 1
default_enabled = True
weight = 0.60
family = "lifetime"

MIN_SWEEPS = 4


def presence(ctx: RuleContext, key: CellKey, run_id: int | None, sensor: str | None) -> tuple[int, int]:
    """(sweeps heard, sweeps that decoded carriers near its ARFCN)."""
    sweeps = ctx.world.sweeps.get((run_id, sensor), [])
    mine = {s.sweep for s in ctx.world.by_key.get(key, []) if s.run_id == run_id and s.sweep is not None}
    a = key.arfcn
    covered = [i for i, arfcns in enumerate(sweeps)
               if a is None or any(abs(x - a) <= 3 for x in arfcns) or i in mine]
    return len(mine & set(covered)), len(covered)


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    run, sensor = cell.run_id, cell.obs.sensor
    if ctx.world.sweep_count(run, sensor) < MIN_SWEEPS:
        return None
    heard, covered = presence(ctx, cell.key, run, sensor)
    if covered < MIN_SWEEPS or heard / covered > 0.4:
        return None
    others = []
    for k, lst in ctx.world.by_key.items():
        if k == cell.key or not any(s.run_id == run and s.obs.sensor == sensor for s in lst[-1:]):
            continue
        h, c = presence(ctx, k, run, sensor)
        if c >= MIN_SWEEPS:
            others.append(h / c)
    if len(others) < 2 or median(others) < 0.75:
        return None
    text = (
        _(
            "Heard in {heard} of {covered} sweeps that covered its carrier, while the median other cell was "
            "heard in {share} of them."
        ).format(heard=heard, covered=covered, share=f"{median(others):.0%}")
        + " "
        + innocent(
            _("a cell at the edge of reception"), _("a cell switched off for maintenance or energy saving")
        )
    )
    return Finding(
        id,
        version,
        1.0,
        text,
        {"heard": heard, "covered": covered, "others_median": round(median(others), 2)},
        family,
    )
