"""What `freq-offset-outlier` and `freq-offset-changed` share (not a rule: modules
starting with _ are skipped): a carrier's residual offset after the receiver's
common ppm (among the cells one dongle measured: two dongles have two clock
errors), the cell's residual over its recent looks, the measured noise of its
offset estimate, and what a licensed BTS seen from that receiver may show
without being anything else (the receiver's speed along its path:
`RuleContext.receiver_speed_m_s`).

The model: a carrier's measured offset is the dongle's error (common to every
carrier in proportion to its frequency) + the BTS's own error (licensed: within
+-0.05 ppm, TS 45.010 5.1, ~45 Hz at 900 MHz) + the Doppler of a moving receiver
(+-v/c f, its sign depending on the direction of the cell) + the estimate's own
noise. The residual against the median of the other cells' ppm can therefore
reach, for a licensed cell: its error plus the references' median error (2 x
0.05 ppm), its Doppler plus the references' median Doppler (2 v/c f), plus the
noise. Published field data put fake BTSs 229-719 Hz off.
"""

from __future__ import annotations

import bisect
import itertools
import math
from statistics import median

from fbsdetect.detect.context import RuleContext, Seen

C_M_S = 299_792_458.0
BTS_TOLERANCE_PPM = 0.05  # a licensed BTS's frequency accuracy (TS 45.010 5.1)
LOOK_WINDOW_S = 60.0  # the cell's looks around this one that make its residual
PAIR_MAX_S = 10.0  # two looks at one carrier this close apart measure the estimate's noise
DEFAULT_FREQ_HZ = 947e6


def receiver_of(s: Seen) -> str | None:
    """Which dongle of a multi-source scan measured `s` (None: the only one). Two dongles have two
    clock errors: offsets are compared only among one dongle's."""
    r = getattr(s.obs, "receiver", None)
    return None if r is None else str(r)


def residual_hz(cell: Seen, refs: list[Seen]) -> tuple[float, float, float, int] | None:
    """(residual, common ppm, reference spread, n) of `cell` against `refs`: the
    common ppm is the median of offset/frequency over the other cells (those of
    the same tuning when there are two), a second pass without the references
    that are far off themselves (another fake, a drifting BTS); the spread is the
    median absolute residual of the kept references."""
    o = cell.obs
    if o.freq_offset_hz is None or o.freq_hz is None:
        return None
    rx = receiver_of(cell)
    by_key: dict[object, Seen] = {}
    for s in refs:
        if s.obs.freq_offset_hz is not None and s.obs.freq_hz and s.key != cell.key \
                and s.obs.arfcn != o.arfcn and receiver_of(s) == rx:
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
    lim = max(75.0, 3 * median(abs(v) for v in res))
    keep = [x for x, r in zip(ratios, res, strict=True) if abs(r) <= lim]
    if 2 <= len(keep) < len(ratios):
        ppm = median(keep)
        res = [s.obs.freq_offset_hz - ppm * s.obs.freq_hz for s in use]  # type: ignore[operator]
    spread = median(sorted(abs(r) for r in res)[:max(2, len(keep))])
    return (o.freq_offset_hz - ppm * o.freq_hz, ppm * 1e6, spread, len(use))


def _looks(ctx: RuleContext) -> list[Seen]:
    """This cell's looks by the same sensor and run within LOOK_WINDOW_S of this one (this one
    first). The history is in time order: the window is cut by bisection (a fixed node's history
    of a cell grows for days)."""
    me = ctx.cell
    hist = ctx.history
    times = getattr(ctx.world, "_times", {}).get(me.key)  # World keeps each cell's times beside it, sorted
    if me.t_s is not None and times is not None and len(times) == len(hist):
        hist = hist[bisect.bisect_left(times, me.t_s - LOOK_WINDOW_S):
                    bisect.bisect_right(times, me.t_s + LOOK_WINDOW_S)]
    out = [me]
    rx = receiver_of(me)
    for s in hist:
        if s is me or s.obs.sensor != me.obs.sensor or s.run_id != me.run_id or receiver_of(s) != rx:
            continue
        if me.t_s is not None and (s.t_s is None or abs(s.t_s - me.t_s) > LOOK_WINDOW_S):
            continue
        out.append(s)
    return out


def cell_residual(ctx: RuleContext) -> tuple[float, tuple[float, float, float, int], int] | None:
    """(the median residual of this cell's looks around this one, each against the
    other cells of its own sweep; this look's own `residual_hz`; how many looks).
    None when this look has no references. The median: one look's estimate can be
    off (a burst hit by fading, the receiver turning), the carrier's offset is not."""
    mine = residual_hz(ctx.cell, ctx.sweep)
    if mine is None:
        return None
    vals = [mine[0]]
    for s in _looks(ctx)[1:]:
        r = residual_hz(s, RuleContext(s, ctx.world).sweep)
        if r is not None:
            vals.append(r[0])
    return median(vals), mine, len(vals)


def estimate_sigma_hz(ctx: RuleContext) -> float | None:
    """The measured noise (1 sigma) of this carrier's offset estimate: from the
    differences of its raw offsets between looks at most PAIR_MAX_S apart (the
    dongle's and the BTS's errors cancel, the Doppler barely moves), robustly
    (median absolute difference); None with fewer than three such pairs."""
    looks = sorted((s for s in _looks(ctx) if s.t_s is not None and s.obs.freq_offset_hz is not None),
                   key=lambda s: s.t_s or 0.0)
    diffs = [abs(b.obs.freq_offset_hz - a.obs.freq_offset_hz)  # type: ignore[operator]
             for a, b in itertools.pairwise(looks)
             if (b.t_s or 0.0) - (a.t_s or 0.0) <= PAIR_MAX_S]
    if len(diffs) < 3:
        return None
    return 1.4826 * median(diffs) / math.sqrt(2.0)


def doppler_hz(speed_m_s: float, freq_hz: float | None) -> float:
    """How far apart two carriers' Doppler shifts can be (cells on opposite sides): 2 v/c f."""
    return 2.0 * speed_m_s / C_M_S * (freq_hz or DEFAULT_FREQ_HZ)


def licensed_spread_hz(freq_hz: float | None) -> float:
    """How far a licensed BTS's error and the references' median error can put it apart: 2 x 0.05 ppm."""
    return 2.0 * BTS_TOLERANCE_PPM * 1e-6 * (freq_hz or DEFAULT_FREQ_HZ)
