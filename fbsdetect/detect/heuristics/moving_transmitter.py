"""A power pattern no fixed site can produce: a transmitter that moves.

Looks at: this cell's own history in the same run (power and receiver
position over time).
With a fixed receiver: a power swing of at least 12 dB and 8 dB more than
the other cells' swings (fading and shadowing hit them alike). With a moving
receiver: the best fixed-site fit (grid search of the site within 3 km of
the track, log-distance exponent 3, site power bounded by 62 dBm EIRP when
power is in dBm) leaves an RMS error of at least 6 dB and twice the other
cells'. Vehicle-mounted fake base stations move with their operator.
Innocent causes: deep shadowing by buildings or terrain along a route, a
cell that changes its power (power saving at night), too few observations.
"""

from __future__ import annotations

import math
from statistics import median

from fbsdetect.detect.context import RuleContext, Seen, distance_m
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import EIRP_MAX_DBM, fspl_db, innocent
from fbsdetect.i18n import _

id = "moving-transmitter"
title = "Power inconsistent with a fixed site"
version = 1
default_enabled = True
weight = 0.55
family = "power"

MIN_OBS = 4
STATIC_M = 60.0
EXPONENT = 3.0


def _points(hist: list[Seen]) -> list[tuple[float, float, float]]:
    return [(s.position[0], s.position[1], float(s.obs.power_dbm))
            for s in hist if s.position is not None and s.obs.power_dbm is not None][-60:]


def _spread_m(pts: list[tuple[float, float, float]]) -> float:
    la, lo = median(p[0] for p in pts), median(p[1] for p in pts)
    return max(distance_m(la, lo, p[0], p[1]) for p in pts)


def fixed_site_rms(pts: list[tuple[float, float, float]], dbm: bool, freq_hz: float | None) -> float:
    """RMS (dB) of the best fixed-site log-distance fit to (lat, lon, power) points."""
    import numpy as np

    la0, lo0 = median(p[0] for p in pts), median(p[1] for p in pts)
    kx = 111_320.0 * math.cos(math.radians(la0))
    arr = np.array(pts, dtype=np.float64)
    x, y, pw = (arr[:, 1] - lo0) * kx, (arr[:, 0] - la0) * 110_540.0, arr[:, 2]
    g1 = np.arange(-3000.0, 3000.1, 150.0)
    sx, sy = np.meshgrid(g1, g1)
    sx, sy = sx.ravel()[:, None], sy.ravel()[:, None]
    g = 10 * EXPONENT * np.log10(np.maximum(np.hypot(x[None, :] - sx, y[None, :] - sy), 30.0) / 100.0)
    a = (pw[None, :] + g).mean(axis=1, keepdims=True)
    if dbm:
        a = np.minimum(a, EIRP_MAX_DBM - fspl_db(100.0, freq_hz or 947e6))
    r = np.sqrt(((pw[None, :] - (a - g)) ** 2).mean(axis=1))
    return float(r.min())


def _cached_rms(ctx: RuleContext, s: Seen) -> float | None:
    hist = _run(ctx.world.by_key.get(s.key, []), s)
    cache = ctx.world.__dict__.setdefault("_fixed_site_rms", {})
    n = len(hist)  # refit when the history grew by a quarter (a fit costs ~0.4 ms)
    k = (s.key, s.run_id, s.obs.sensor, n if n < 8 else int(math.log(n) / math.log(1.25)))
    if k not in cache:
        pts = _points(hist)
        dbm = s.obs.power_ref == "dBm"
        cache[k] = None if len(pts) < MIN_OBS else fixed_site_rms(pts, dbm, s.obs.freq_hz)
    return cache[k]


def _run(hist: list[Seen], cell: Seen) -> list[Seen]:
    """The history within the same run and sensor (another day is a baseline question)."""
    return [s for s in hist if s.run_id == cell.run_id and s.obs.sensor == cell.obs.sensor]


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    hist = _run(ctx.history, cell)
    pts = _points(hist)
    if len(pts) < MIN_OBS:
        return None
    ts = [s.t_s for s in hist if s.t_s is not None]
    if ts and max(ts) - min(ts) < 15.0:
        return None
    if _spread_m(pts) <= STATIC_M:
        swing = max(p[2] for p in pts) - min(p[2] for p in pts)
        others = []
        for s in ctx.area:
            op = _points(_run(ctx.world.by_key.get(s.key, []), cell))
            if len(op) >= MIN_OBS:
                others.append(max(p[2] for p in op) - min(p[2] for p in op))
        ref = median(others) if others else 0.0
        if swing < 12.0 or swing < ref + 8.0:
            return None
        text = (
            _(
                "The receiver stood still, yet this cell's power swung {swing:.0f} dB over {n} observations "
                "(other cells: {ref:.0f} dB)."
            ).format(swing=swing, n=len(pts), ref=ref)
            + " "
            + innocent(
                _("a cell changing its transmit power"), _("something moving between cell and receiver")
            )
        )
        return Finding(
            id,
            version,
            ramp(swing - ref, 8, 20) * 0.6 + 0.4,
            text,
            {"swing_db": round(swing, 1), "others_swing_db": round(ref, 1), "n": len(pts)},
            family,
        )
    rms = _cached_rms(ctx, cell)
    if rms is None:
        return None
    peers = [r for r in (_cached_rms(ctx, s) for s in ctx.area[:12]) if r is not None]
    pref: float | None = median(peers) if peers else None
    thr = max(6.0, 2 * pref) if pref is not None else 8.0
    if rms < thr:
        return None
    text = (
        _(
            "No fixed site explains this cell's power along the route: best fit leaves {rms:.1f} dB RMS over "
            "{n} observations{others}."
        ).format(
            rms=rms,
            n=len(pts),
            others=_(" (other cells {ref:.1f} dB)").format(ref=pref) if pref is not None else "",
        )
        + " "
        + innocent(_("deep shadowing along the route"), _("a cell changing its power"))
    )
    return Finding(
        id,
        version,
        ramp(rms - thr, 0, 6) * 0.6 + 0.4,
        text,
        {"rms_db": round(rms, 1), "others_rms_db": None if pref is None else round(pref, 1), "n": len(pts)},
        family,
    )
