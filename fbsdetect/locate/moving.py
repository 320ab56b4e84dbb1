"""Moving transmitters: is the fixed-site model good enough, and if not, a
track with its own uncertainty.

`fixed_site_fit_quality`: the samples are cut into time windows; with the
intercept, sensor offsets, exponent and sigma of the fixed-site fit held, two
models are compared by their evidence over the same grid (uniform prior on
the position): one position for every window (fixed site) against an
independent position per window (moving). The log Bayes factor is large when
windows want different positions; every extra position pays its Occam
factor, so a fixed site's windows, each weakly placed but compatible, give a
negative factor. With fixed sensors there is a sharper test: a fixed link to
a fixed transmitter keeps its power (its fading does not change), so window
means of a fixed sensor that spread by more than `MOVING_NODE_DB` mean the
transmitter moves. `moving` is either test: a factor above `MOVING_LOG_BF`
with the windows' own estimates more than `MOVING_SPREAD_M` apart. The moving-
transmitter rule can use `FitQuality` directly.

`track`: a grid hidden-Markov filter and smoother over the windows. The
transition is a Gaussian random walk whose step per window is `speed_m_s`
times the window spacing (a vehicle in town by default). One intercept,
sensor offsets (a fixed node's shadowing is its own constant) and exponent
hold for every window, so that a window with few bins still constrains the
position: they start at the fixed-site fit's and are refitted to the bins at
the track's points, `passes` times (an EM-like alternation; it settles on
offsets biased towards the first track: with the true ones the tracks are
2-3x better), then fitted jointly with the track's points (`_joint_refine`:
a MAP smoother, robust least squares over the points, the intercept, the
sensor offsets with their prior and the exponent, a random-walk penalty
between points), and the grid smoother runs once more with them. (A fixed
node's shadowing, constant for its link, is exactly such an offset.) On
calibration scenes (bench_locate's vehicle generator, seeds 1000-1007, not
the bench's 0-3) the joint fit took the median track error from 207 to
141 m, 95 % coverage 90 -> 96 %. (Soft EM, the expected statistics under
the tempered marginals, was tried: it biases the exponent, 282-351 m.)
As they are held fixed, their uncertainty ignored, the windows'
likelihoods are tempered twice as much as the fixed-site posterior's
(`TRACK_TEMPERING`; the bench's tracks kept 86 % of the truth inside their
95 % regions at the fixed-site value, 98 % at this one).
Each point has its 50 % radius and 95 % region from the smoothed marginal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.locate.posterior import (
    ANTENNA_HEIGHT_M,
    EXPONENTS,
    SENSOR_OFFSET_SD_DB,
    SIGMAS_DB,
    Grid,
    GridDensity,
    grid_posterior,
    log_prior_kj,
    loglik,
)
from fbsdetect.locate.samples import DB, Bins, PowerSample, is_stationary, make_bins

MOVING_LOG_BF = 10.0
MOVING_NODE_DB = 3.0
MOVING_SPREAD_M = 150.0
MIN_WINDOW_BINS = 2
TRACK_TEMPERING = 0.15  # half the fixed-site one: the track holds A, offsets and n fixed
JOINT_REFINE = True


@dataclass(frozen=True)
class FitQuality:
    moving: bool
    log_bayes_factor: float  # moving (a position per window) over fixed; > 0 favours moving
    windows: int
    spread_m: float  # RMS distance of the windows' own estimates from their mean
    rms_db: float  # residual RMS of the fixed-site fit
    sigma_db: float
    reason: str
    node_variation_db: float | None = None  # fixed sensors' spread between windows

    def to_json(self) -> dict[str, Any]:
        return {"node_variation_db": None if self.node_variation_db is None
                else round(self.node_variation_db, 1),
                "moving": self.moving, "log_bayes_factor": round(self.log_bayes_factor, 1),
                "windows": self.windows, "spread_m": round(self.spread_m, 0),
                "rms_db": round(self.rms_db, 2), "sigma_db": round(self.sigma_db, 1),
                "reason": self.reason}


def _windows(bins: Bins, window_s: float) -> list[npt.NDArray[np.intp]]:
    w = np.floor(bins.time / window_s).astype(np.int64)
    out = []
    for v in np.unique(w):
        idx = np.nonzero(w == v)[0]
        if idx.size >= MIN_WINDOW_BINS:
            out.append(idx)
    return out


def _logsumexp(a: npt.NDArray[np.float64], axis: int | None = None) -> Any:
    mx = np.max(a, axis=axis, keepdims=True)
    r = mx + np.log(np.sum(np.exp(a - mx), axis=axis, keepdims=True))
    return np.squeeze(r, axis=axis) if axis is not None else float(r.ravel()[0])


def fixed_site_fit_quality(samples: Sequence[PowerSample], *, bin_m: float = 30.0,
                           window_s: float = 60.0, cells: int = 48) -> FitQuality:
    """How well one fixed position explains the samples (module docstring)."""
    bins = make_bins(samples, bin_m=bin_m)
    wbins = make_bins(samples, bin_m=bin_m, frame=bins.frame, window_s=window_s)
    wins = _windows(wbins, window_s)
    if len(bins) < 3 or len(wins) < 2:
        return FitQuality(False, 0.0, len(wins), 0.0, 0.0, 0.0,
                          "too few time windows to test for motion")
    post = grid_posterior(bins, cells=cells, refine=False, patterns=(None,))
    g, k, j = post.mode_index()
    res = post.residuals(g, k, j)
    a = float(post.terms.a[g, k, j])
    offs = post.terms.offsets[g, k, j]
    n = np.array([post.exponents[k]])
    sig = np.array([post.sigmas[j]])
    gx, gy = post.grid.points()
    lls = []
    pts = []
    for idx in wins:
        t = loglik(wbins.subset(_mask(len(wbins), idx)), gx, gy, exponents=n, sigmas=sig,
                   fixed_a=a, fixed_offsets=offs)
        ll = t.ll[:, 0, 0]
        lls.append(ll)
        p = np.exp(ll - ll.max())
        p /= p.sum()
        pts.append((float(p @ gx), float(p @ gy)))
    stack = np.array(lls)
    log_g = math.log(gx.size)
    z_fixed = _logsumexp(stack.sum(axis=0)) - log_g
    z_moving = float(sum(_logsumexp(ll) - log_g for ll in lls))
    lbf = z_moving - z_fixed
    pa = np.array(pts)
    spread = float(np.sqrt(np.mean(np.sum((pa - pa.mean(axis=0)) ** 2, axis=1))))
    node_var = _node_variation_db(samples, window_s)
    by_nodes = node_var is not None and node_var > MOVING_NODE_DB
    by_windows = lbf > MOVING_LOG_BF and spread > MOVING_SPREAD_M
    moving = by_nodes or by_windows
    if by_nodes:
        why = f"fixed sensors' power changes by {node_var:.1f} dB (RMS) between windows"
    elif by_windows:
        why = f"windows prefer different positions (log Bayes factor {lbf:.1f}, spread {spread:.0f} m)"
    else:
        why = f"one position fits every window (log Bayes factor {lbf:.1f}"
        why += f", fixed sensors steady within {node_var:.1f} dB)" if node_var is not None else ")"
    return FitQuality(moving, lbf, len(wins), spread, float(np.sqrt(np.mean(res ** 2))),
                      float(post.sigmas[j]), why, node_var)


def _node_variation_db(samples: Sequence[PowerSample], window_s: float) -> float | None:
    """Median over stationary sensors of the RMS spread of their window-mean
    powers (dB): a fixed link to a fixed transmitter holds its power (its
    fading does not change), a moving transmitter's does not."""
    by: dict[str, list[PowerSample]] = {}
    for smp in samples:
        if smp.usable:
            by.setdefault(smp.sensor, []).append(smp)
    out = []
    for ss in by.values():
        lat = np.array([q.lat for q in ss])
        lon = np.array([q.lon for q in ss])
        x = (lon - lon.mean()) * 111_195.0 * math.cos(math.radians(float(lat.mean())))
        y = (lat - lat.mean()) * 111_195.0
        err = np.array([5.0 if q.gps_error_m is None else q.gps_error_m for q in ss])
        if not is_stationary(x, y, err):
            continue
        t = np.array([q.time for q in ss])
        p = np.array([q.power_dbm for q in ss])
        w = np.floor(t / window_s)
        means = [float(p[w == v].mean()) for v in np.unique(w)]
        if len(means) >= 2:
            out.append(float(np.std(means)))
    return float(np.median(out)) if out else None


def _mask(n: int, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m


@dataclass(frozen=True)
class TrackPoint:
    time_s: float
    lat: float
    lon: float
    error_m: float  # 50 % radius
    region50: dict[str, Any] | None
    region95: dict[str, Any] | None
    bins: int
    density: GridDensity | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        t: Any = self.time_s
        if self.time_s > 1e8:  # POSIX seconds
            t = datetime.fromtimestamp(self.time_s, UTC).isoformat(timespec="milliseconds")
            t = t.replace("+00:00", "Z")
        d: dict[str, Any] = {"time": t, "lat": round(self.lat, 6), "lon": round(self.lon, 6),
                             "error_m": round(self.error_m, 1), "bins": self.bins}
        if self.region95 is not None:
            d["region95"] = self.region95
        return d


@dataclass(frozen=True)
class Track:
    points: list[TrackPoint]
    speed_m_s: float
    fit: dict[str, Any]

    def to_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.points]


def _blur(p: npt.NDArray[np.float64], sigma_cells: float) -> npt.NDArray[np.float64]:
    from scipy import ndimage

    out = ndimage.gaussian_filter(p, sigma=max(sigma_cells, 0.3), mode="constant", truncate=3.0)
    s = float(out.sum())
    return np.asarray(out / s) if s > 0 else np.full(p.shape, 1.0 / p.size)


def _smooth(lik: list[npt.NDArray[np.float64]], steps: list[float]) -> list[npt.NDArray[np.float64]]:
    """Forward-backward on the grid: lik[w] are likelihoods (normalised to max
    1), steps[w] the random-walk sigma (cells) from window w-1 to w."""
    n = len(lik)
    alpha = []
    prev = None
    for w in range(n):
        prior = np.full(lik[w].shape, 1.0 / lik[w].size) if prev is None else _blur(prev, steps[w])
        a = prior * lik[w]
        a /= a.sum()
        alpha.append(a)
        prev = a
    beta = [np.ones_like(lik[-1])] * n
    for w in range(n - 2, -1, -1):
        b = _blur(lik[w + 1] * beta[w + 1], steps[w + 1])
        beta[w] = b / b.max()
    out = []
    for w in range(n):
        gm = alpha[w] * beta[w]
        out.append(gm / gm.sum())
    return out


def track(samples: Sequence[PowerSample], *, bin_m: float = 30.0, window_s: float = 60.0,
          speed_m_s: float = 10.0, cells: int = 80, passes: int = 6) -> Track:
    """A moving transmitter's track, one point per time window (module docstring)."""
    bins = make_bins(samples, bin_m=bin_m)
    wbins = make_bins(samples, bin_m=bin_m, frame=bins.frame, window_s=window_s)
    wins = _windows(wbins, window_s)
    if not wins:
        return Track([], speed_m_s, {})
    span = bins.span_m
    margin = max(500.0, 0.3 * span)
    grid = Grid.around(float(bins.x.min()) - margin, float(bins.x.max()) + margin,
                       float(bins.y.min()) - margin, float(bins.y.max()) + margin, cells)
    gx, gy = grid.points()
    times = [float(wbins.time[idx].mean()) for idx in wins]
    steps = [0.0] + [speed_m_s * (times[w] - times[w - 1]) / grid.dx for w in range(1, len(wins))]
    lp = log_prior_kj()
    lp_sig = log_prior_kj(np.array([3.0]))[0]
    subsets = [wbins.subset(_mask(len(wbins), idx)) for idx in wins]

    def window_lik(fixed: tuple[float, npt.NDArray[np.float64], float, float] | None
                   ) -> list[npt.NDArray[np.float64]]:
        out = []
        for b in subsets:
            if fixed is None:
                t = loglik(b, gx, gy)
                ll = _logsumexp((t.ll + lp[None]).reshape(gx.size, -1), axis=1)
            else:
                a, offs, n, _sig = fixed
                t = loglik(b, gx, gy, exponents=np.array([n]), fixed_a=a, fixed_offsets=offs,
                           tempering=TRACK_TEMPERING)
                ll = _logsumexp(t.ll[:, 0, :] + lp_sig[None, :], axis=1)
            ll = np.asarray(ll, dtype=np.float64).reshape(grid.ny, grid.nx)
            out.append(np.exp(ll - ll.max()))
        return out

    # start from the fixed-site fit's intercept, offsets and exponent
    p0 = grid_posterior(bins, cells=48, refine=False, patterns=(None,))
    g0, k0, j0 = p0.mode_index()
    fixed: tuple[float, npt.NDArray[np.float64], float, float] | None = (
        float(p0.terms.a[g0, k0, j0]), p0.terms.offsets[g0, k0, j0], float(p0.exponents[k0]),
        float(p0.sigmas[j0]))
    post2 = _smooth(window_lik(fixed), steps)
    used = np.concatenate(wins)
    for _ in range(passes):
        # one intercept, offsets, exponent and sigma for every window, at the last track
        px = np.zeros(len(wbins))
        py = np.zeros(len(wbins))
        for idx, p in zip(wins, post2, strict=True):
            px[idx], py[idx] = GridDensity(bins.frame, grid, p).point()
        fixed = _fit_at_positions(wbins, used, px, py)
        post2 = _smooth(window_lik(fixed), steps)
    assert fixed is not None
    if JOINT_REFINE:
        pts0 = np.array([GridDensity(bins.frame, grid, p).point() for p in post2])
        fixed = _joint_refine(subsets, pts0, fixed, times, speed_m_s)
        post2 = _smooth(window_lik(fixed), steps)
    points = []
    for w, (idx, p) in enumerate(zip(wins, post2, strict=True)):
        d = GridDensity(bins.frame, grid, p)
        lat, lon = d.latlon()
        points.append(TrackPoint(times[w], lat, lon, d.cep_m(0.5), d.region(0.5), d.region(0.95),
                                 int(idx.size), d))
    fit = {"exponent": round(fixed[2], 2), "sigma_db": round(fixed[3], 1), "windows": len(wins),
           "speed_m_s": speed_m_s}
    return Track(points, speed_m_s, fit)


def _joint_refine(subsets: list[Bins], pts0: npt.NDArray[np.float64],
                  fixed: tuple[float, npt.NDArray[np.float64], float, float], times: list[float],
                  speed_m_s: float) -> tuple[float, npt.NDArray[np.float64], float, float]:
    """The shared parameters (intercept, sensor offsets, exponent) and the
    track's points fitted jointly (a MAP smoother: robust least squares of
    every window's bins to its point, a random-walk penalty between
    consecutive points, the offsets' N(0, SENSOR_OFFSET_SD_DB^2) prior),
    started at the alternating fit's; alternating (points given the
    parameters, parameters given points) settles on offsets biased towards
    the first track. Returns the refined parameters (the smoother then gives
    the track and its regions with them)."""
    from scipy.optimize import least_squares

    a0, offs0, n0, sig = fixed
    n_s = offs0.size
    present = sorted({int(s) for b in subsets for s in b.sensor})
    ref = present[0]
    others = [s for s in present if s != ref]
    w = len(subsets)
    ys = [b.power_db for b in subsets]
    sds = [np.sqrt(sig * sig + b.var_db2) for b in subsets]
    dt = np.maximum(np.diff(np.asarray(times)), 1.0)

    def unpack(q: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
        pts = q[:2 * w].reshape(w, 2)
        a_s = np.zeros(n_s)
        a_s[ref] = q[2 * w]
        a_s[others] = q[2 * w + 1:2 * w + 1 + len(others)]
        return pts, a_s, float(q[-1])

    def fun(q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        pts, a_s, n = unpack(q)
        out = []
        for i, b in enumerate(subsets):
            d2 = (b.x - pts[i, 0]) ** 2 + (b.y - pts[i, 1]) ** 2 + ANTENNA_HEIGHT_M ** 2
            out.append((ys[i] - a_s[b.sensor] + n * 0.5 * DB * np.log(d2)) / sds[i])
        step = np.diff(pts, axis=0) / (speed_m_s * dt[:, None])
        out.append(step.ravel())
        ap = a_s[present]
        out.append((ap - ap.mean()) / SENSOR_OFFSET_SD_DB)
        return np.concatenate(out)

    q0 = np.concatenate([pts0.ravel(), [a0], a0 + offs0[others], [n0]])
    lo = np.full(q0.size, -np.inf)
    hi = np.full(q0.size, np.inf)
    lo[-1], hi[-1] = float(EXPONENTS[0]), float(EXPONENTS[-1])
    q0[-1] = min(max(q0[-1], lo[-1] + 1e-6), hi[-1] - 1e-6)
    try:
        r = least_squares(fun, q0, bounds=(lo, hi), loss="soft_l1", f_scale=2.0, max_nfev=200)
    except (ValueError, np.linalg.LinAlgError):
        return fixed
    _pts, a_s, n = unpack(r.x)
    offs = np.zeros(n_s)
    offs[present] = a_s[present] - a_s[ref]
    return float(a_s[ref]), offs, n, sig


def _fit_at_positions(b: Bins, used: npt.NDArray[np.intp], px: npt.NDArray[np.float64],
                      py: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64], float, float]:
    """Intercept, sensor offsets, exponent (on the grid) and sigma by weighted
    least squares of the bins `used` to transmitter positions (px, py)."""
    d = np.hypot(px[used] - b.x[used], py[used] - b.y[used])
    dlog = 0.5 * DB * np.log(d * d + ANTENNA_HEIGHT_M ** 2)
    y = b.power_db[used]
    s = b.sensor[used]
    n_s = len(b.sensors)
    best: tuple[float, tuple[float, npt.NDArray[np.float64], float, float]] | None = None
    for n in EXPONENTS:
        z = y + n * dlog
        offs = np.zeros(n_s)
        for si in range(n_s):
            m = s == si
            if m.any():
                offs[si] = float(z[m].mean())
        a = float(offs[int(s.min())])  # the first sensor present is the reference
        r = z - offs[s]
        sig = math.sqrt(max(float(np.mean(r ** 2 - b.var_db2[used])), 4.0))
        cost = float(np.sum(np.log(sig * sig + b.var_db2[used]))
                     + np.sum(r ** 2 / (sig * sig + b.var_db2[used])))
        if best is None or cost < best[0]:
            sig_grid = float(SIGMAS_DB[np.argmin(np.abs(SIGMAS_DB - sig))])
            best = (cost, (a, offs - a, float(n), sig_grid))
    assert best is not None
    return best[1]
