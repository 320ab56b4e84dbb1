"""A known cell's carrier frequency offset moved away from the learned one.

Looks at: the cell's residual offset (after the receiver's common ppm,
against the other cells of the same sweep, the median over its looks within
a minute, as `freq-offset-outlier` computes it) against the residual the
baseline learned for this cell (at least two observations). A BTS's
reference oscillator is stable to a few Hz over days; a clone that takes
over a cell's identity and carrier brings its own oscillator. Reported from
150 Hz, and beyond 3 sigma of the learned and the measured spread together,
plus the Doppler spread of the receiver's speed along its path and the
tolerance of the other cells' median (0.05 ppm). Innocent causes: a BTS
whose oscillator was replaced or recalibrated, Doppler.
"""

from __future__ import annotations

import math

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._freq import (
    BTS_TOLERANCE_PPM,
    DEFAULT_FREQ_HZ,
    cell_residual,
    doppler_hz,
    estimate_sigma_hz,
)
from fbsdetect.i18n import _

id = "freq-offset-changed"
title = "Carrier frequency offset changed against the baseline"
version = 2  # 2: as freq-offset-outlier 2 (median of looks, measured noise, path speed)
default_enabled = True
weight = 0.45
family = "frequency"

MIN_CHANGE_HZ = 150.0


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    b = ctx.baseline
    if b is None or cell.cgi is None:
        return None
    st = b.freq_stats(cell.cgi)
    if st is None or st[2] < 2:
        return None
    r = cell_residual(ctx)
    if r is None:
        return None
    res, (_now, _ppm, spread, _n), _looks = r
    mean, sd, n = st
    f = cell.obs.freq_hz or DEFAULT_FREQ_HZ
    sigma = estimate_sigma_hz(ctx)
    noise = math.hypot(sd, spread if sigma is None else sigma)
    # the references heard now and when it was learned need not be the same cells: their medians
    # may differ by a licensed BTS's tolerance
    doppler = doppler_hz(ctx.receiver_speed_m_s, f)
    thr = max(MIN_CHANGE_HZ, 3 * noise + doppler + BTS_TOLERANCE_PPM * 1e-6 * f)
    delta = res - mean
    if abs(delta) <= thr:
        return None
    text = (
        _(
            "Carrier {offset:+.0f} Hz from the receiver's common ppm, where the baseline learned {mean:+.0f} "
            "+- {sd:.0f} Hz for this cell ({n} observations): moved {delta:+.0f} Hz."
        ).format(offset=res, mean=mean, sd=sd, n=n, delta=delta)
        + " "
        + innocent(_("a BTS whose oscillator was replaced or recalibrated"), _("Doppler"))
    )
    return Finding(
        id,
        version,
        ramp(abs(delta), thr, thr + 200.0) * 0.6 + 0.4,
        text,
        {"residual_hz": round(res, 1), "learned_hz": round(mean, 1), "n": n, "threshold_hz": round(thr, 1)},
        family,
    )
