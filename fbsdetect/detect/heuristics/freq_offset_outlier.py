"""A carrier frequency offset far from the other cells', after the dongle's own error.

Looks at: the cell's measured offset from its nominal downlink and those of
the other cells of the same sweep (same tuning when possible) of the same
receiver. The dongle's ppm error shifts every carrier in proportion to its
frequency, so the common ppm is estimated as the median of offset/frequency
over the other cells (a second pass without the references that are far
off themselves) and removed; what is left is the base station's own error.
Licensed BTSs hold about +-0.05 ppm (within ~45 Hz at 900 MHz);
published field data put fake base stations 229-719 Hz off. Reported from
150 Hz of residual (and 3 x the other cells' spread, and the Doppler
spread the receiver's own speed allows: 2 v/c f + 60 Hz). Innocent causes:
Doppler from a fast-moving receiver (~60 Hz at 70 km/h), a legitimate BTS
with a drifting oscillator, a receiver retuned between the cells compared.
"""

from __future__ import annotations

from statistics import median

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _

id = "freq-offset-outlier"
title = "Carrier frequency offset unlike the other cells"
version = 1
default_enabled = True
weight = 0.45
family = "frequency"

MIN_RESIDUAL_HZ = 150.0


def residual_hz(cell: Seen, refs: list[Seen]) -> tuple[float, float, float, int] | None:
    """(residual, common ppm, reference spread, n) of `cell` against `refs`."""
    o = cell.obs
    if o.freq_offset_hz is None or o.freq_hz is None:
        return None
    by_key: dict[object, Seen] = {}
    for s in refs:
        if s.obs.freq_offset_hz is not None and s.obs.freq_hz and s.key != cell.key \
                and s.obs.arfcn != o.arfcn:
            by_key.setdefault(s.key, s)
    use = list(by_key.values())
    if cell.tuning_id is not None:
        same = [s for s in use if s.tuning_id == cell.tuning_id]
        if len(same) >= 2:
            use = same
    if len(use) < 2:
        return None
    ratios = [s.obs.freq_offset_hz / s.obs.freq_hz for s in use]  # type: ignore[operator]
    ppm = median(ratios)
    res = [s.obs.freq_offset_hz - ppm * s.obs.freq_hz for s in use]  # type: ignore[operator]
    # a second pass without the references that are outliers themselves (another fake, a drifting BTS)
    keep = [x for x, r in zip(ratios, res, strict=True) if abs(r) <= max(MIN_RESIDUAL_HZ / 2, 3 * median(
        abs(v) for v in res))]
    if 2 <= len(keep) < len(ratios):
        ppm = median(keep)
        res = [s.obs.freq_offset_hz - ppm * s.obs.freq_hz for s in use]  # type: ignore[operator]
    spread = median(sorted(abs(r) for r in res)[:max(2, len(keep))])
    return (o.freq_offset_hz - ppm * o.freq_hz, ppm * 1e6, spread, len(use))


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    r = residual_hz(cell, ctx.sweep)
    if r is None:
        return None
    res, ppm, spread, n = r
    v = ctx.receiver_speed_m_s
    doppler = 2 * v / 299_792_458.0 * (cell.obs.freq_hz or 947e6)  # between two cells on opposite sides
    thr = max(MIN_RESIDUAL_HZ, 3 * spread + 60.0, doppler + 60.0)
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
            "speed_m_s": round(v, 1),
        },
        family,
    )
