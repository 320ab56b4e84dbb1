"""A carrier frequency offset far from the other cells', after the dongle's own error.

Looks at: the cell's measured offset from its nominal downlink and those of
the other cells of the same sweep (same tuning when possible) of the same
receiver. The dongle's ppm error shifts every carrier in proportion to its
frequency, so the common ppm is estimated as the median of offset/frequency
over the other cells (a second pass without the references that are far
off themselves) and removed; what is left is the base station's own error,
taken as the median over the cell's looks within a minute (one look can be
off). Licensed BTSs hold about +-0.05 ppm (within ~45 Hz at 900 MHz);
published field data put fake base stations 229-719 Hz off. Reported from
150 Hz of residual, and beyond what a licensed cell can show from this
receiver: its and the other cells' tolerance (2 x 0.05 ppm), the Doppler
spread of the receiver's speed along its path (2 v/c f) and 3 x the noise of
the cell's offset estimate, measured between its close looks (else the other
cells' spread). Innocent causes: Doppler from a fast-moving receiver (~60 Hz
at 70 km/h), a legitimate BTS with a drifting oscillator, a receiver retuned
between the cells compared.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._freq import (
    cell_residual,
    doppler_hz,
    estimate_sigma_hz,
    licensed_spread_hz,
    residual_hz,
)
from fbsdetect.i18n import _

id = "freq-offset-outlier"
title = "Carrier frequency offset unlike the other cells"
version = 2  # 2: the median of the cell's looks, a threshold from the measured noise and path speed
default_enabled = True
weight = 0.45
family = "frequency"

MIN_RESIDUAL_HZ = 150.0


__all__ = ["check", "residual_hz"]  # residual_hz: detect.baseline learns with it


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    r = cell_residual(ctx)
    if r is None:
        return None
    res, (_now, ppm, spread, n), looks = r
    v = ctx.receiver_speed_m_s
    f = cell.obs.freq_hz
    doppler = doppler_hz(v, f)  # between two cells on opposite sides
    sigma = estimate_sigma_hz(ctx)
    noise = spread if sigma is None else sigma
    thr = max(MIN_RESIDUAL_HZ, licensed_spread_hz(f) + doppler + 3 * noise)
    if abs(res) <= thr:
        return None
    moving = (_("; the receiver moves at {v:.0f} m/s, Doppler up to +-{doppler:.0f} Hz").format(
        v=v, doppler=doppler / 2) if v > 1 else "")
    text = (
        _(
            "Carrier {offset:+.0f} Hz off after removing the receiver's common {ppm:+.2f} ppm (estimated "
            "on {n} other cells, which sit within {spread:.0f} Hz{moving}); licensed BTSs hold ~45 Hz, fake "
            "ones were measured 229-719 Hz off."
        ).format(offset=res, ppm=ppm, n=n, spread=spread, moving=moving)
        + " "
        + innocent(_("Doppler from a fast-moving receiver"), _("a BTS with a drifting oscillator"))
    )
    return Finding(
        id,
        version,
        ramp(abs(res), thr, thr + 250.0) * 0.6 + 0.4,
        text,
        {
            "residual_hz": round(res, 1),
            "ppm": round(ppm, 3),
            "spread_hz": round(spread, 1),
            "n": n,
            "looks": looks,
            "sigma_hz": None if sigma is None else round(sigma, 1),
            "threshold_hz": round(thr, 1),
            "speed_m_s": round(v, 1),
        },
        family,
    )
