"""Power far above what the baseline learned at this place.

Looks at: the baseline's power of this cell in this ~250 m square (at
least 3 observations: mean + max(12 dB, 3 sigma)); for a cell the baseline
does not know, the strongest power it ever heard in the square + 12 dB (a
weaker sign). A fake base station close to the receiver, or one cloning a
cell that is normally far, is much stronger than usual. Innocent causes: a
new site, an antenna re-orientation, a sensor whose gain changed.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "power-jump-baseline"
title = "Power jump against the baseline"
version = 1
default_enabled = True
weight = 0.45
family = "power"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    b, pos, p = ctx.baseline, cell.position, cell.power_dbm
    if b is None or pos is None or p is None or cell.cgi is None:
        return None
    st = b.power_stats(cell.cgi, pos)
    if st is not None and st[2] >= 3:
        mean, sd, n = st
        thr = mean + max(12.0, 3 * sd)
        if p <= thr:
            return None
        text = (_("{power:.0f} dBm where the baseline heard this cell at {mean:.0f} +- {sd:.0f} dB ({n} "
                  "times).").format(power=p, mean=mean, sd=sd, n=n) + " "
                + innocent(_("an antenna re-orientation"), _("a change of the sensor's gain")))
        return Finding(id, version, ramp(p - thr, 0, 10) * 0.5 + 0.5, text,
                       {"power_dbm": p, "baseline_mean_dbm": round(mean, 1), "n": n}, family)
    if b.knows(cell.cgi):
        return None
    top = b.strongest_at(pos)
    if top is None or p <= top + 12.0:
        return None
    text = (
        _(
            "{power:.0f} dBm, {above:.0f} dB above the strongest cell the baseline ever heard here, and the "
            "baseline does not know this cell."
        ).format(power=p, above=p - top)
        + " "
        + innocent(_("a new site close by"))
    )
    return Finding(id, version, 0.35, text, {"power_dbm": p, "baseline_max_dbm": round(top, 1)}, family)
