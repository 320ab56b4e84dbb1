"""A known cell's carrier frequency offset moved away from the learned one.

Looks at: the cell's residual offset (after the receiver's common ppm,
against the other cells of the same sweep, as `freq-offset-outlier`
computes it) against the residual the baseline learned for this cell (at
least two observations). A BTS's reference oscillator is stable to a few
Hz over days; a clone that takes over a cell's identity and carrier brings
its own oscillator. Reported from 150 Hz (and 3 sigma + 40 Hz of the
learned spread, and the Doppler the receiver's speed allows). Innocent
causes: a BTS whose oscillator was replaced or recalibrated, Doppler.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics.freq_offset_outlier import residual_hz
from fbsdetect.i18n import _

id = "freq-offset-changed"
title = "Carrier frequency offset changed against the baseline"
version = 1
default_enabled = True
weight = 0.45
family = "frequency"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    b = ctx.baseline
    if b is None or cell.cgi is None:
        return None
    st = b.freq_stats(cell.cgi)
    if st is None or st[2] < 2:
        return None
    r = residual_hz(cell, ctx.sweep)
    if r is None:
        return None
    mean, sd, n = st
    doppler = 2 * ctx.receiver_speed_m_s / 299_792_458.0 * (cell.obs.freq_hz or 947e6)
    thr = max(150.0, 3 * sd + 40.0, doppler + 40.0)
    delta = r[0] - mean
    if abs(delta) <= thr:
        return None
    text = (
        _(
            "Carrier {offset:+.0f} Hz from the receiver's common ppm, where the baseline learned {mean:+.0f} "
            "+- {sd:.0f} Hz for this cell ({n} observations): moved {delta:+.0f} Hz."
        ).format(offset=r[0], mean=mean, sd=sd, n=n, delta=delta)
        + " "
        + innocent(_("a BTS whose oscillator was replaced or recalibrated"), _("Doppler"))
    )
    return Finding(
        id,
        version,
        ramp(abs(delta), thr, thr + 200.0) * 0.6 + 0.4,
        text,
        {"residual_hz": round(r[0], 1), "learned_hz": round(mean, 1), "n": n},
        family,
    )
