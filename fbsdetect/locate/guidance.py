"""Drive guidance: where to go next so that the 95 % region shrinks most.

From the current posterior, hypotheses (particles) are drawn with their own
intercept and exponent (the posterior's best for their cell). Each
candidate move (16 bearings x 100/200/300 m from the current position) is
scored by the expected spread of the posterior after readings every 25 m
along it: for each of a subset of hypotheses taken as the truth, the
readings it predicts reweight all hypotheses by the model's likelihood
(shadowing sigma, tempered as the posterior is; a reading within 50 m of
earlier ones counts in proportion to its distance from them, as its
shadowing is mostly the one already seen); the score is the mean,
over those truths, of the reweighted hypotheses' entropy (nats: the log of
the number of positions still plausible, i.e. of the region's area), so a
move that separates the hypotheses (one that crosses the region, or comes
close to its near edge) wins. A hunt also has to arrive: `approach` nats
are added per 100 m of expected distance from the waypoint to the
transmitter (2 by default: a move 100 m closer is worth as much as
shrinking the region by a factor e^2). When the estimate is far compared
with its 50 % radius (radius < half the distance), the move is straight
towards it; once the 95 % region is small, or the searcher is inside it,
the waypoint is the estimate itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fbsdetect.locate.posterior import ANTENNA_HEIGHT_M, TEMPERING, Posterior
from fbsdetect.locate.samples import DB

CLOSE_AREA_M2 = math.pi * 60.0 ** 2
APPROACH_M = 100.0
TOWARD_CEP_FRACTION = 0.5
NOVELTY_M = 50.0


@dataclass(frozen=True)
class Guidance:
    bearing_deg: float  # clockwise from true north
    lat: float  # next waypoint
    lon: float
    distance_m: float
    expected_entropy: float  # nats, of the hypotheses after the move (plus the approach term)
    current_spread_m: float  # RMS radius of the posterior now
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"bearing_deg": round(self.bearing_deg, 0), "lat": round(self.lat, 6),
                "lon": round(self.lon, 6), "distance_m": round(self.distance_m, 0),
                "expected_entropy": round(self.expected_entropy, 2),
                "current_spread_m": round(self.current_spread_m, 0), "reason": self.reason}


def bearing_of(dx: float, dy: float) -> float:
    return (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0


def suggest(post: Posterior, lat: float, lon: float, *,
            distances_m: tuple[float, ...] = (100.0, 200.0, 300.0),
            bearings: int = 16, particles: int = 300, truths: int = 60, spacing_m: float = 25.0,
            approach: float = 2.0, seed: int = 0) -> Guidance:
    """The next waypoint from (lat, lon), the searcher's position (module docstring)."""
    frame = post.frame
    cx, cy = (float(v) for v in frame.to_xy(lat, lon))
    ex, ey = post.point()
    rng = np.random.default_rng(seed)
    prob = post.prob.ravel()
    cells = rng.choice(prob.size, size=particles, p=prob / prob.sum())
    gx, gy = post.grid.points()
    px = gx[cells] + rng.uniform(-0.5, 0.5, particles) * post.grid.dx
    py = gy[cells] + rng.uniform(-0.5, 0.5, particles) * post.grid.dx
    ll = post.terms.ll[cells]  # (P, K, J)
    flat = ll.reshape(particles, -1).argmax(axis=1)
    k_i, j_i = np.unravel_index(flat, ll.shape[1:])
    a_i = post.terms.a[cells, k_i, j_i]
    n_i = post.exponents[k_i]
    _, _, jm = post.mode_index()
    s2 = float(post.sigmas[jm] ** 2 + np.median(post.bins.var_db2))
    cur_var = float(np.var(px) + np.var(py))
    dist_est = math.hypot(ex - cx, ey - cy)
    area95 = post.area_m2(0.95)
    cep = post.cep_m(0.5)
    if area95 <= CLOSE_AREA_M2 or (dist_est <= 1.5 * cep and area95 <= 4 * CLOSE_AREA_M2):
        return _toward(post, cx, cy, ex, ey, dist_est, math.sqrt(cur_var),
                       "the 95 % region is small: go to the estimate")
    if cep <= TOWARD_CEP_FRACTION * dist_est:
        return _toward(post, cx, cy, ex, ey, dist_est, math.sqrt(cur_var),
                       "the estimate is far compared with its uncertainty: head for it")
    bx, by = post.bins.x, post.bins.y
    best: tuple[float, float, float] | None = None
    t_idx = np.arange(min(truths, particles))
    for b in np.arange(bearings) * (360.0 / bearings):
        ux, uy = math.sin(math.radians(b)), math.cos(math.radians(b))
        for dist in distances_m:
            steps = np.arange(spacing_m, dist + 1e-6, spacing_m)
            mx, my = cx + ux * steps, cy + uy * steps  # (M,)
            dd = (px[:, None] - mx[None, :]) ** 2 + (py[:, None] - my[None, :]) ** 2
            mu = a_i[:, None] - n_i[:, None] * 0.5 * DB * np.log(dd + ANTENNA_HEIGHT_M ** 2)  # (P, M)
            # a reading where there are readings already tells little new: its
            # shadowing is the one already seen (decorrelation ~50 m)
            nn = np.sqrt(np.min((bx[None, :] - mx[:, None]) ** 2 + (by[None, :] - my[:, None]) ** 2,
                                axis=1))
            novelty = np.clip(nn / NOVELTY_M, 0.0, 1.0)  # (M,)
            diff = mu[t_idx][:, None, :] - mu[None, :, :]  # (T, P, M)
            lw = -0.5 * TEMPERING * np.sum(diff * diff * novelty, axis=2) / s2  # (T, P)
            lw -= lw.max(axis=1, keepdims=True)
            w = np.exp(lw)
            w /= w.sum(axis=1, keepdims=True)
            ent = -np.sum(w * np.log(np.maximum(w, 1e-300)), axis=1)  # (T,)
            # expected distance from the waypoint to the transmitter, per 100 m
            reach = float(np.mean(np.hypot(px - mx[-1], py - my[-1]))) / APPROACH_M
            score = float(np.mean(ent)) + approach * reach
            if best is None or score < best[0]:
                best = (score, float(b), float(dist))
    assert best is not None
    score, b, dist = best
    wx, wy = cx + math.sin(math.radians(b)) * dist, cy + math.cos(math.radians(b)) * dist
    wlat, wlon = frame.to_latlon(wx, wy)
    return Guidance(b, float(wlat), float(wlon), dist, score, math.sqrt(cur_var),
                    "the move that is expected to shrink the region most")


def _toward(post: Posterior, cx: float, cy: float, ex: float, ey: float, dist: float,
            cur: float, reason: str) -> Guidance:
    lat, lon = post.frame.to_latlon(ex, ey)
    return Guidance(bearing_of(ex - cx, ey - cy), float(lat), float(lon), dist, 0.0, cur, reason)
