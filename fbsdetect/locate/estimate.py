"""Estimates of a transmitter's position from power samples.

- `locate(samples)`: the Bayesian grid posterior (posterior.py) with its 50 %
  and 95 % regions; a moving transmitter (moving.py) adds a track.
- `lsq_fit(samples)`: the log-distance model by robust nonlinear least
  squares over (x, y, A, n), n bounded to 2.0..4.5, a covariance ellipse as
  its regions (Gaussian, so too small when the errors are not).
- `centroid(samples)`: the amplitude-weighted centroid of the fixes (the
  fallback; no region).
- `fixed_exponent_lsq(samples, 2.2)`: what earlier tools do (Crocodile
  Hunter: fixed exponent 2.2, plain least squares over the raw samples); for
  the bench's side-by-side columns.

Every estimator needs spatially distinct fixes (`MIN_FIXES` usable samples
spanning at least `MIN_SPAN_M`); with fewer it returns method "insufficient"
and says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fbsdetect.locate.polygons import ellipse_ring, multipolygon
from fbsdetect.locate.posterior import (
    ANTENNA_HEIGHT_M,
    MODELS,
    Posterior,
    fspl_1m_db,
    grid_posterior,
)
from fbsdetect.locate.samples import DB, Bins, LocalFrame, PowerSample, make_bins

MIN_FIXES = 3
MIN_SPAN_M = 50.0
CHI2_2DOF = {0.5: 1.386, 0.95: 5.991}


@dataclass(frozen=True)
class Estimate:
    lat: float | None
    lon: float | None
    error_m: float | None  # CEP: radius around (lat, lon) holding 50 % of the posterior
    region50: dict[str, Any] | None  # GeoJSON MultiPolygon (lon, lat), right-hand rule
    region95: dict[str, Any] | None
    method: str  # "grid" | "lsq" | "centroid" | "fixed-2.2-lsq" | "track" | "insufficient"
    n_fixes: int
    fit: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    moving: bool | None = None
    track: list[dict[str, Any]] | None = None
    posterior: Posterior | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.method != "insufficient" and self.lat is not None

    def to_json(self) -> dict[str, Any]:
        """contracts.md section 5's `position` (lat, lon, error_m) and the extras.
        A detection whose estimate is insufficient stores `position: null`
        (`position_json`)."""
        d: dict[str, Any] = {
            "lat": None if self.lat is None else round(self.lat, 6),
            "lon": None if self.lon is None else round(self.lon, 6),
            "error_m": None if self.error_m is None else round(self.error_m, 1),
            "method": self.method, "n_fixes": self.n_fixes,
        }
        if self.region50 is not None:
            d["region50"] = self.region50
        if self.region95 is not None:
            d["region95"] = self.region95
        if self.fit:
            d["fit"] = self.fit
        if self.reason:
            d["reason"] = self.reason
        if self.moving is not None:
            d["moving"] = self.moving
        if self.track is not None:
            d["track"] = self.track
        return d

    def position_json(self) -> dict[str, Any] | None:
        """`to_json()`, or None (contract: null until there is enough data)."""
        return self.to_json() if self.ok else None


def insufficient(n_fixes: int, reason: str) -> Estimate:
    return Estimate(None, None, None, None, None, "insufficient", n_fixes, reason=reason)


def check_fixes(bins: Bins, min_fixes: int = MIN_FIXES, min_span_m: float = MIN_SPAN_M) -> str | None:
    """Why these bins cannot locate anything, or None."""
    if bins.n_fixes < min_fixes:
        return f"{bins.n_fixes} usable fixes (GPS mode >= 2), need at least {min_fixes}"
    span = bins.span_m
    if span < min_span_m:
        return f"fixes span {span:.0f} m, need at least {min_span_m:.0f} m of spatially distinct positions"
    if len(bins) < 3:
        return f"{len(bins)} distinct positions, need at least 3"
    return None


def _latlon(frame: LocalFrame, x: float, y: float) -> tuple[float, float]:
    lat, lon = frame.to_latlon(x, y)
    return float(lat), float(lon)


# ------------------------------------------------------------------ centroid


def centroid(samples: Sequence[PowerSample], *, bin_m: float = 30.0) -> Estimate:
    """Weighted centroid of the fixes, weights 10^(P/20) (amplitude); error_m is
    the weighted RMS distance of the fixes from it (a size, not a confidence)."""
    use = [s for s in samples if s.usable]
    bins = make_bins(use, bin_m=bin_m)
    why = check_fixes(bins)
    if why:
        return insufficient(bins.n_fixes, why)
    frame = bins.frame
    x, y = frame.to_xy([s.lat for s in use], [s.lon for s in use])
    p = np.array([s.power_dbm for s in use])
    w = 10.0 ** ((p - p.max()) / 20.0)
    cx, cy = float((w * x).sum() / w.sum()), float((w * y).sum() / w.sum())
    rms = float(np.sqrt((w * ((x - cx) ** 2 + (y - cy) ** 2)).sum() / w.sum()))
    lat, lon = _latlon(frame, cx, cy)
    return Estimate(lat, lon, rms, None, None, "centroid", len(use))


# ------------------------------------------------------------------ least squares


def _model(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    px, py, a, n = params
    return np.asarray(a - n * 0.5 * DB * np.log((x - px) ** 2 + (y - py) ** 2 + ANTENNA_HEIGHT_M ** 2))


def _lsq(x: np.ndarray, y: np.ndarray, p: np.ndarray, sd: np.ndarray, *, exponent: float | None,
         loss: str, starts: list[tuple[float, float]], f_scale: float = 1.0) -> tuple[np.ndarray, Any]:
    from scipy.optimize import least_squares

    best = None
    for sx, sy in starts:
        a0 = float(np.max(p)) + 3.0 * DB * math.log(50.0)
        if exponent is None:
            x0 = np.array([sx, sy, a0, 3.0])
            lb = np.array([-np.inf, -np.inf, -np.inf, 2.0])
            ub = np.array([np.inf, np.inf, np.inf, 4.5])

            def fun(q: np.ndarray) -> np.ndarray:
                return np.asarray((p - _model(q, x, y)) / sd)
        else:
            x0 = np.array([sx, sy, a0])
            lb = np.array([-np.inf, -np.inf, -np.inf])
            ub = np.array([np.inf, np.inf, np.inf])

            def fun(q: np.ndarray) -> np.ndarray:
                return np.asarray((p - _model(np.array([q[0], q[1], q[2], exponent]), x, y)) / sd)
        try:
            r = least_squares(fun, x0, bounds=(lb, ub), loss=loss, f_scale=f_scale, max_nfev=400)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or r.cost < best.cost:
            best = r
    assert best is not None
    return best.x, best


def _starts(x: np.ndarray, y: np.ndarray, p: np.ndarray) -> list[tuple[float, float]]:
    k = int(np.argmax(p))
    w = 10.0 ** ((p - p.max()) / 20.0)
    cx, cy = float((w * x).sum() / w.sum()), float((w * y).sum() / w.sum())
    out = [(cx, cy), (float(x[k]), float(y[k]))]
    for ang in np.linspace(0, 2 * math.pi, 8, endpoint=False):
        out.append((cx + 300.0 * math.cos(ang), cy + 300.0 * math.sin(ang)))
    return out


def _ellipse_estimate(frame: LocalFrame, params: np.ndarray, res: Any, n_fixes: int, method: str,
                      fit: dict[str, Any], dof: int) -> Estimate:
    j = res.jac
    s2 = 2.0 * res.cost / max(dof, 1)
    try:
        cov = np.linalg.inv(j.T @ j)[:2, :2] * max(s2, 1e-6)
    except np.linalg.LinAlgError:
        cov = np.eye(2) * 1e8
    if not np.all(np.isfinite(cov)):
        cov = np.eye(2) * 1e8
    px, py = float(params[0]), float(params[1])
    lat, lon = _latlon(frame, px, py)
    regions = {lv: multipolygon([ellipse_ring(px, py, cov, c)], frame) for lv, c in CHI2_2DOF.items()}
    cep = float(math.sqrt(CHI2_2DOF[0.5] * math.sqrt(max(np.linalg.det(cov), 0.0))))
    return Estimate(lat, lon, cep, regions[0.5], regions[0.95], method, n_fixes, fit=fit,
                    posterior=None)


def ellipse_contains(est: Estimate, lat: float, lon: float) -> bool:
    """Whether (lat, lon) is inside the estimate's 95 % region (any method)."""
    if est.posterior is not None:
        return est.posterior.contains(lat, lon, 0.95)
    if est.region95 is None:
        return False
    from fbsdetect.locate.polygons import point_in_ring

    for poly in est.region95["coordinates"]:
        ring = [(float(a), float(b)) for a, b in poly[0]]
        if point_in_ring(lon, lat, ring):
            return True
    return False


def lsq_fit(samples: Sequence[PowerSample], *, bin_m: float = 30.0, freq_hz: float = 947e6) -> Estimate:
    """Robust (soft-L1, 6 dB scale) least squares on the bins, exponent 2.0..4.5."""
    bins = make_bins(samples, bin_m=bin_m)
    why = check_fixes(bins)
    if why:
        return insufficient(bins.n_fixes, why)
    sd = np.sqrt(36.0 + bins.var_db2)
    params, res = _lsq(bins.x, bins.y, bins.power_db, sd, exponent=None, loss="soft_l1",
                       starts=_starts(bins.x, bins.y, bins.power_db))
    resid = bins.power_db - _model(params, bins.x, bins.y)
    fit = {"exponent": round(float(params[3]), 2),
           "eirp_dbm": round(float(params[2]) + fspl_1m_db(freq_hz), 1),
           "sigma_db": round(float(np.std(resid)), 1),
           "rms_db": round(float(np.sqrt(np.mean(resid ** 2))), 2),
           "bins": len(bins)}
    return _ellipse_estimate(bins.frame, params, res, bins.n_fixes, "lsq", fit, len(bins) - 4)


def fixed_exponent_lsq(samples: Sequence[PowerSample], exponent: float = 2.2) -> Estimate:
    """Plain least squares of every sample to A - 10 n log10(d), n fixed
    (Crocodile Hunter's 2.2), started at the strongest sample."""
    use = [s for s in samples if s.usable]
    bins = make_bins(use)
    why = check_fixes(bins)
    if why:
        return insufficient(bins.n_fixes, why)
    frame = bins.frame
    x, y = frame.to_xy([s.lat for s in use], [s.lon for s in use])
    p = np.array([s.power_dbm for s in use])
    k = int(np.argmax(p))
    params, res = _lsq(x, y, p, np.ones_like(p), exponent=exponent, loss="linear",
                       starts=[(float(x[k]) + 1.0, float(y[k]) + 1.0)])
    full = np.array([params[0], params[1], params[2], exponent])
    resid = p - _model(full, x, y)
    fit = {"exponent": exponent, "eirp_dbm": round(float(params[2]) + fspl_1m_db(947e6), 1),
           "rms_db": round(float(np.sqrt(np.mean(resid ** 2))), 2)}
    return _ellipse_estimate(frame, params, res, len(use), f"fixed-{exponent:g}-lsq", fit, len(use) - 3)


# ------------------------------------------------------------------ the posterior


def from_posterior(post: Posterior, *, freq_hz: float = 947e6) -> Estimate:
    px, py = post.point()
    lat, lon = _latlon(post.frame, px, py)
    fit = post.fit(freq_hz)
    fit["area95_m2"] = round(post.area_m2(0.95), 0)
    return Estimate(lat, lon, post.cep_m(0.5), post.region(0.5), post.region(0.95), "grid",
                    post.bins.n_fixes, fit=fit, posterior=post)


def locate(samples: Sequence[PowerSample], *, bin_m: float = 30.0, cells: int = 64,
           moving: str = "auto", freq_hz: float = 947e6, window_s: float = 60.0,
           antenna: bool = True) -> Estimate:
    """The position estimate of one transmitter from its power samples.

    `moving`: "auto" (test the fixed-site fit, moving.fixed_site_fit_quality,
    and add a track when it fails), "never", or "always". `antenna`: also
    consider a direction-dependent gain (posterior.azimuth_loglik: a sector
    antenna, an obstruction's shadow; a few times the work: a live hunt
    re-estimating every step may leave it off and assume an omnidirectional
    transmitter, as a fake BTS mostly is)."""
    bins = make_bins(samples, bin_m=bin_m)
    why = check_fixes(bins)
    if why:
        return insufficient(bins.n_fixes, why)
    post = grid_posterior(bins, cells=cells, patterns=MODELS if antenna else (None,))
    est = from_posterior(post, freq_hz=freq_hz)
    if moving == "never":
        return est
    from fbsdetect.locate.moving import fixed_site_fit_quality, track

    q = fixed_site_fit_quality(samples, bin_m=bin_m, window_s=window_s)
    is_moving = q.moving if moving == "auto" else True
    fit = dict(est.fit) | {"fixed_site": q.to_json()}
    if not is_moving:
        return Estimate(est.lat, est.lon, est.error_m, est.region50, est.region95, est.method,
                        est.n_fixes, fit=fit, moving=False, posterior=post)
    tr = track(samples, bin_m=bin_m, window_s=window_s)
    last = tr.points[-1] if tr.points else None
    if last is None:
        return est
    return Estimate(last.lat, last.lon, last.error_m, last.region50, last.region95, "track",
                    est.n_fixes, fit=fit, moving=True, track=tr.to_json(), posterior=None)
