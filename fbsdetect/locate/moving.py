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

`track`: a grid hidden-Markov filter and smoother over short time steps
(`TRACK_STEP_S`, 10 s: a car at 5 m/s moves 50 m, about a grid cell; the
60 s windows used before smeared 300 m of motion into one point). The
transition is a Gaussian random walk whose step is `speed_m_s` times the
step spacing (a vehicle in town by default). One intercept, sensor offsets
(a fixed node's shadowing is its own constant) and exponent hold for every
step, so that a step with few bins still constrains the position. They are
found in three stages:
1. per candidate exponent (`TRACK_EXPONENTS`), a coarse alternation on
   `window_s` windows (offsets at the last track's points, the track with
   those offsets, `passes` times), scored by the log evidence of the fine
   steps with its parameters (the forward pass's normalisers: the position
   integrated out, so not biased as a fit of points and parameters
   together is); the best exponent wins (the joint fit alone drifted to
   exponents 0.7-1.0 too high);
2. a joint MAP fit (`_joint_refine`) of the track's knots (one per step,
   the track linear between them, so each bin is compared with the
   position at its own time), the intercept, the offsets (their prior) and
   the exponent (within `JOINT_EXPONENT_FREE` of the chosen one): robust
   sparse least squares with a random-walk penalty between knots;
3. each sensor's residual variance beyond the quietest sensor's (a fixed
   node's shadowing is in its offset, a car's changes along its drive) is
   added to its bins' variance.
The grid smoother then runs on the fine steps with those parameters. As
they are held fixed, their uncertainty ignored, the steps' likelihoods are
tempered (`TRACK_TEMPERING`). Each point has its 50 % radius and 95 %
region from its smoothed marginal.

Calibration (bench_locate's vehicle generator, seeds 1000-1015, never the
bench's own 0-3): median track error 141 m with 60 s windows (p90 301 m,
95 % coverage 96 %, seeds 1000-1007) -> 85 m (p90 227 m, 96 %) over
1000-1015; with the exponent and offsets fitted at the true positions
(an oracle) 68-78 m. Tempering 0.3 gave 79 m but 93 % coverage, one
obstruction scene 46 %; a robust step (bins beyond 2.5 sigma inflated)
changed nothing. The obstruction scenes (a disc of 10-20 dB loss crossing
some node's paths while the transmitter is behind it) are the worst: 120-
260 m, coverage 61-100 %.
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
    candidate_geometry,
    grid_posterior,
    log_prior_kj,
    loglik,
)
from fbsdetect.locate.samples import DB, Bins, PowerSample, is_stationary, make_bins

MOVING_LOG_BF = 10.0
MOVING_NODE_DB = 3.0
MOVING_SPREAD_M = 150.0
MIN_WINDOW_BINS = 2
TRACK_TEMPERING = 0.2  # the track holds A, offsets and n fixed (their uncertainty ignored)
JOINT_REFINE = True
TRACK_STEP_S = 10.0
TRACK_SIGMAS_DB = SIGMAS_DB
JOINT_SIGMA_DB = 3.0
TRACK_SENSOR_VAR = True
JOINT_EXPONENT_FREE = 0.25
TRACK_EXPONENTS = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5)


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


def _smooth(lik: list[npt.NDArray[np.float64]], steps: list[float],
            log_scale: Sequence[float] | None = None) -> tuple[list[npt.NDArray[np.float64]], float]:
    """Forward-backward on the grid: lik[w] are likelihoods (normalised to max
    1; `log_scale[w]` the log of what they were divided by), steps[w] the
    random-walk sigma (cells) from window w-1 to w. Returns the smoothed
    marginals and the log evidence (the forward pass's normalisers; up to a
    constant without `log_scale`)."""
    n = len(lik)
    alpha = []
    prev = None
    log_z = 0.0 if log_scale is None else float(sum(log_scale))
    for w in range(n):
        prior = np.full(lik[w].shape, 1.0 / lik[w].size) if prev is None else _blur(prev, steps[w])
        a = prior * lik[w]
        z = float(a.sum())
        log_z += math.log(max(z, 1e-300))
        a /= max(z, 1e-300)
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
    return out, log_z


def track(samples: Sequence[PowerSample], *, bin_m: float = 30.0, window_s: float = 60.0,
          step_s: float | None = None, speed_m_s: float = 10.0, cells: int = 80,
          passes: int = 3) -> Track:
    """A moving transmitter's track, one point per `step_s` (module docstring)."""
    step = TRACK_STEP_S if step_s is None else step_s
    step = min(step, window_s)
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
    lp_sig = log_prior_kj(np.array([3.0]), TRACK_SIGMAS_DB)[0]

    geo: dict[int, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = {}

    def window_lik(subsets: list[Bins], fixed: _Shared) -> tuple[list[npt.NDArray[np.float64]], list[float]]:
        out, scale = [], []
        for b in subsets:
            if id(b) not in geo:  # float32: the sums below lose < 1e-3 dB^2
                d = candidate_geometry(b, gx, gy, False)[0]
                geo[id(b)] = (d.astype(np.float32), (d * d).astype(np.float32))
            ll = _fixed_loglik(b, geo[id(b)], fixed, lp_sig).reshape(grid.ny, grid.nx)
            mx = float(ll.max())
            out.append(np.exp(ll - mx))
            scale.append(mx)
        return out, scale

    def steps_of(times: list[float]) -> list[float]:
        return [0.0] + [speed_m_s * (times[w] - times[w - 1]) / grid.dx for w in range(1, len(times))]

    times = [float(wbins.time[idx].mean()) for idx in wins]
    subsets = [wbins.subset(_mask(len(wbins), idx)) for idx in wins]
    fbins = make_bins(samples, bin_m=bin_m, frame=bins.frame, window_s=step)
    fwins = _windows(fbins, step)
    if not fwins:
        fbins, fwins = wbins, wins
    ftimes = [float(fbins.time[idx].mean()) for idx in fwins]
    fsub = [fbins.subset(_mask(len(fbins), idx)) for idx in fwins]
    used = np.concatenate(wins)
    p0 = grid_posterior(bins, cells=48, refine=False, patterns=(None,))

    def coarse(exponents: npt.NDArray[np.float64]) -> tuple[_Shared, npt.NDArray[np.float64], float]:
        """Windows of `window_s`, the shared parameters alternated with the
        track (exponent among `exponents`); the fine windows' log evidence
        with those parameters."""
        k = int(np.argmin(np.abs(p0.exponents - float(exponents[0]))))
        lpk = p0.terms.ll[:, k, :] + log_prior_kj(p0.exponents, p0.sigmas)[k][None, :]
        gk, jk = np.unravel_index(int(np.argmax(lpk)), lpk.shape)
        fixed: _Shared = (float(p0.terms.a[gk, k, jk]), p0.terms.offsets[gk, k, jk], float(exponents[0]),
                          None)
        post2, _ = _smooth(window_lik(subsets, fixed)[0], steps_of(times))
        for _ in range(passes):
            px = np.zeros(len(wbins))
            py = np.zeros(len(wbins))
            for idx, p in zip(wins, post2, strict=True):
                px[idx], py[idx] = GridDensity(bins.frame, grid, p).point()
            a, offs, n, _sig = _fit_at_positions(wbins, used, px, py, exponents)
            fixed = (a, offs, n, None)
            post2, _ = _smooth(window_lik(subsets, fixed)[0], steps_of(times))
        pts = np.array([GridDensity(bins.frame, grid, p).point() for p in post2])
        lik, scale = window_lik(fsub, fixed)
        return fixed, pts, _smooth(lik, steps_of(ftimes), scale)[1]

    # the exponent by the fine windows' evidence of each one's coarse track
    runs = [coarse(np.array([n])) for n in TRACK_EXPONENTS]
    fixed, coarse_pts, _ = max(runs, key=lambda r: r[2])
    # fine: windows of `step`, knots at their times, the track between knots
    # linear; knots and shared parameters fitted jointly (MAP), then the grid
    # smoother with those parameters gives every knot's point and regions
    knots0 = np.stack([np.interp(ftimes, times, coarse_pts[:, 0]),
                       np.interp(ftimes, times, coarse_pts[:, 1])], axis=1)
    if JOINT_REFINE:
        fixed = _joint_refine(fbins, np.concatenate(fwins), np.asarray(ftimes), knots0, fixed,
                              speed_m_s)
    post2, _ = _smooth(window_lik(fsub, fixed)[0], steps_of(ftimes))
    points = []
    for w, (idx, p) in enumerate(zip(fwins, post2, strict=True)):
        d = GridDensity(bins.frame, grid, p)
        lat, lon = d.latlon()
        points.append(TrackPoint(ftimes[w], lat, lon, d.cep_m(0.5), d.region(0.5), d.region(0.95),
                                 int(idx.size), d))
    fit = {"exponent": round(fixed[2], 2), "windows": len(fwins), "step_s": step,
           "speed_m_s": speed_m_s}
    return Track(points, speed_m_s, fit)


_Shared = tuple[float, npt.NDArray[np.float64], float, npt.NDArray[np.float64] | None]


def _fixed_loglik(b: Bins, dlogs: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], fixed: _Shared,
                  lp_sig: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`posterior.loglik` with the intercept, offsets and exponent held (and a
    sensor's extra variance added), sigma summed out with its prior: three
    (G, M) x (M, J) products instead of one per sensor."""
    a, offs, n, extra = fixed
    z = b.power_db - (a + offs[b.sensor])
    gvar = (DB * 3.0 * b.gps_error_m / 150.0) ** 2
    v = b.var_db2 + gvar + (0.0 if extra is None else extra[b.sensor])
    var = TRACK_SIGMAS_DB[None, :] ** 2 + v[:, None]  # (M, J)
    w = 1.0 / var
    dlog, dlog2 = dlogs  # (G, M): 10 log10 of the distances and its square
    q = ((z * z) @ w + 2.0 * n * (dlog @ (w * z[:, None]).astype(np.float32))
         + n * n * (dlog2 @ w.astype(np.float32)))  # (G, J)
    ll = TRACK_TEMPERING * (-0.5 * np.sum(np.log(var), axis=0)[None, :] - 0.5 * q) + lp_sig[None, :]
    return np.asarray(_logsumexp(ll, axis=1), dtype=np.float64)


def _joint_refine(b: Bins, used: npt.NDArray[np.intp], knot_t: npt.NDArray[np.float64],
                  knots0: npt.NDArray[np.float64], fixed: _Shared, speed_m_s: float) -> _Shared:
    """The shared parameters (intercept, sensor offsets, exponent) and the
    track's knots fitted jointly (a MAP smoother: robust least squares of
    every bin to the track's position at its time, linear between knots, a
    random-walk penalty between consecutive knots, the offsets'
    N(0, SENSOR_OFFSET_SD_DB^2) prior), started at the coarse alternating
    fit's; alternating (points given the parameters, parameters given points)
    settles on offsets biased towards the first track. Then each sensor's
    residual variance beyond the smallest sensor's (a fixed node's link keeps
    its shadowing as its offset, a car's changes along its drive). Returns
    the refined parameters (the smoother then gives the track and its
    regions with them)."""
    from scipy.optimize import least_squares
    from scipy.sparse import csr_matrix

    a0, offs0, n0, _extra = fixed
    n_s = offs0.size
    used = np.sort(used)
    x, y, yp, sen, t = b.x[used], b.y[used], b.power_db[used], b.sensor[used], b.time[used]
    present = sorted({int(s) for s in sen})
    ref = present[0]
    col_of = {s: i for i, s in enumerate(present)}
    scol = np.array([col_of[int(s)] for s in sen])
    n_p = len(present)
    kn = knot_t.size
    m = used.size
    # the knot interval of each bin and its weight on the later knot
    if kn > 1:
        k = np.clip(np.searchsorted(knot_t, t) - 1, 0, kn - 2)
        lam = np.clip((t - knot_t[k]) / np.maximum(knot_t[k + 1] - knot_t[k], 1e-9), 0.0, 1.0)
    else:
        k = np.zeros(m, dtype=np.intp)
        lam = np.zeros(m)
    k1 = np.minimum(k + 1, kn - 1)
    sd = np.sqrt(JOINT_SIGMA_DB ** 2 + b.var_db2[used])
    dt = np.maximum(np.diff(knot_t), 1.0)
    rw = 1.0 / (speed_m_s * dt)
    n_q = 2 * kn + n_p + 1
    rows = np.arange(m)

    def unpack(q: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
        return q[:2 * kn].reshape(kn, 2), q[2 * kn:2 * kn + n_p], float(q[-1])

    def pos(pts: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return ((1 - lam) * pts[k, 0] + lam * pts[k1, 0], (1 - lam) * pts[k, 1] + lam * pts[k1, 1])

    def fun(q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        pts, a_s, n = unpack(q)
        px, py = pos(pts)
        d2 = (x - px) ** 2 + (y - py) ** 2 + ANTENNA_HEIGHT_M ** 2
        r = (yp - a_s[scol] + n * 0.5 * DB * np.log(d2)) / sd
        step = (np.diff(pts, axis=0) * rw[:, None]).ravel()
        return np.concatenate([r, step, (a_s - a_s.mean()) / SENSOR_OFFSET_SD_DB])

    # the random-walk and prior rows' Jacobian does not depend on q
    jr, jc, jv = [], [], []
    for i in range(kn - 1):
        for ax in range(2):
            r_i = m + 2 * i + ax
            jr += [r_i, r_i]
            jc += [2 * i + ax, 2 * (i + 1) + ax]
            jv += [-rw[i], rw[i]]
    base = m + 2 * (kn - 1)
    for i in range(n_p):
        for j in range(n_p):
            jr.append(base + i)
            jc.append(2 * kn + j)
            jv.append(((1.0 if i == j else 0.0) - 1.0 / n_p) / SENSOR_OFFSET_SD_DB)
    fixed_rows = (np.array(jr), np.array(jc), np.array(jv))
    n_rows = base + n_p

    def jac(q: npt.NDArray[np.float64]) -> Any:
        pts, _a_s, n = unpack(q)
        px, py = pos(pts)
        ex, ey = px - x, py - y
        d2 = ex * ex + ey * ey + ANTENNA_HEIGHT_M ** 2
        gxy = n * DB / d2 / sd  # d r / d px = gxy * ex
        r_all = np.concatenate([rows] * 6 + [fixed_rows[0]])
        c_all = np.concatenate([2 * k, 2 * k + 1, 2 * k1, 2 * k1 + 1, 2 * kn + scol,
                                np.full(m, n_q - 1), fixed_rows[1]])
        v_all = np.concatenate([(1 - lam) * gxy * ex, (1 - lam) * gxy * ey, lam * gxy * ex, lam * gxy * ey,
                                -1.0 / sd, 0.5 * DB * np.log(d2) / sd, fixed_rows[2]])
        return csr_matrix((v_all, (r_all, c_all)), shape=(n_rows, n_q))

    q0 = np.concatenate([knots0.ravel(), a0 + offs0[present], [n0]])
    lo = np.full(n_q, -np.inf)
    hi = np.full(n_q, np.inf)
    lo[-1] = max(float(EXPONENTS[0]), n0 - JOINT_EXPONENT_FREE)
    hi[-1] = min(float(EXPONENTS[-1]), n0 + JOINT_EXPONENT_FREE)
    q0[-1] = min(max(q0[-1], lo[-1] + 1e-6), hi[-1] - 1e-6)
    try:
        r = least_squares(fun, q0, jac=jac, bounds=(lo, hi), loss="soft_l1", f_scale=2.0,
                          max_nfev=100, tr_solver="lsmr", x_scale="jac")
    except (ValueError, np.linalg.LinAlgError):
        return fixed
    pts, a_s, n = unpack(r.x)
    offs = np.zeros(n_s)
    offs[present] = a_s - a_s[col_of[ref]]
    # each sensor's residual variance (robust: the MAD) beyond the quietest one's
    px, py = pos(pts)
    res = yp - a_s[scol] + n * 0.5 * DB * np.log((x - px) ** 2 + (y - py) ** 2 + ANTENNA_HEIGHT_M ** 2)
    extra = np.zeros(n_s)
    v = {}
    for s in present:
        rs = res[sen == s]
        mad = 1.4826 * float(np.median(np.abs(rs - np.median(rs)))) if rs.size >= 5 else math.nan
        v[s] = mad * mad - float(np.median(b.var_db2[used][sen == s])) if rs.size >= 5 else math.nan
    known = [u for u in v.values() if math.isfinite(u)]
    floor = max(min(known), 0.0) if known else 0.0
    for s, u in v.items():
        extra[s] = max(u - floor, 0.0) if math.isfinite(u) else 0.0
    return float(a_s[col_of[ref]]), offs, n, extra if TRACK_SENSOR_VAR else None


def _fit_at_positions(b: Bins, used: npt.NDArray[np.intp], px: npt.NDArray[np.float64],
                      py: npt.NDArray[np.float64], exponents: npt.NDArray[np.float64] = EXPONENTS
                      ) -> tuple[float, npt.NDArray[np.float64], float, float]:
    """Intercept, sensor offsets, exponent (on the grid) and sigma by weighted
    least squares of the bins `used` to transmitter positions (px, py)."""
    d = np.hypot(px[used] - b.x[used], py[used] - b.y[used])
    dlog = 0.5 * DB * np.log(d * d + ANTENNA_HEIGHT_M ** 2)
    y = b.power_db[used]
    s = b.sensor[used]
    n_s = len(b.sensors)
    best: tuple[float, tuple[float, npt.NDArray[np.float64], float, float]] | None = None
    for n in exponents:
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
