"""The Bayesian grid posterior of a fixed transmitter's position.

Model (per bin b of sensor s, `samples.Bins`):

    P_b = A + o_s - 10 n log10(sqrt(d_b^2 + h^2)) + e_b,
    e_b ~ N(0, sigma^2 + v_b + g_b)

with d_b the distance to the candidate position, h = 15 m (the antenna is
above the street; it also keeps the model finite at d = 0), n the path-loss
exponent, uniform on a grid 2.0..4.5, A the intercept (flat prior,
integrated out in closed form), o_s per-sensor gain offsets when there are
several sensors (o_1 = 0, others N(0, 6 dB), integrated out), sigma the
log-normal shadowing (a nuisance on a grid 2..12 dB with a log-uniform
prior), v_b the bin's fading and measurement variance, g_b the power error
its GPS error causes at the candidate's distance (``(4.34 n e / d)^2``).
Everything but the position, n and sigma is integrated analytically, so one
grid evaluation is a few matrix-vector products per (sensor, sigma).

Robustness (paths with extra loss, an antenna's back lobe, a bin through a
building): after a first pass, bins whose standardised residual at the
posterior mode exceeds 2.5 get their variance inflated by (|z|/2.5)^2 and
the posterior is computed again (one step of a Huber / Student-t fit).

Correlated errors: neighbouring bins share shadowing (decorrelation ~50 m),
so the log-likelihood is tempered by `TEMPERING` (a power posterior), which
keeps the regions honest when bins are closer than the decorrelation
distance, and more for data along one line (`geometry_tempering`); the
bench checks the coverage this gives.

Direction-dependent gain (an antenna's pattern, an obstruction's shadow on
one side, neither of which a path-loss exponent explains): a second model
adds an unknown azimuth gain ``G(theta) = sum_k c_k cos k theta + s_k sin k
theta`` (k = 1..AZIMUTH_ORDER) over the bearing theta from the candidate to
each bin, the coefficients Gaussian (AZIMUTH_SD_DB), integrated out in
closed form with the intercept and the offsets (`azimuth_loglik`). The two
models are averaged by their evidence, prior P_AZIMUTH for the directional
one: a plain drive keeps the sharper omnidirectional posterior, a sector
antenna or a building's shadow moves the weight to the directional model
and its wider, honest region. P_AZIMUTH and AZIMUTH_SD_DB were set on
calibration scenes with seeds 1000-1059 of bench_locate's generators (not
the bench's own seeds 0-9): omnidirectional only, the 95 % regions held the
truth in 42 % (obstruction) and 58 % (sector antenna) of those scenes; with
the directional model 92 % and 92 %, 100 % for the plain ones. Hypotheses
under 5 % of the best one's weight on the coarse grid are dropped for the
later passes. (Fixed sector patterns, `PATTERNS`, can still be passed as
hypotheses.)

Position prior: flat over the bins' convex hull, a half-Gaussian fall-off
outside it (`log_prior_xy`): a loop's powers fit the transmitter and its
mirror outside the loop equally well, and a flat prior gave the mirror the
larger share. The point estimate starts from the density's mode (not a
3x3-smoothed one, which favoured a broad far lobe over a sharp near one).

Two stages: a coarse grid over the data's extent plus a margin, then a fine
grid over the coarse posterior's 99.9 % region. Regions are highest-
posterior-density sets of grid cells, traced into polygons.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.locate.polygons import Ring, grid_rings, multipolygon
from fbsdetect.locate.samples import DB, Bins, LocalFrame

EXPONENTS = np.linspace(2.0, 4.5, 11)
SIGMAS_DB = np.array([2.0, 3.0, 4.0, 5.5, 7.0, 9.0, 12.0])
ANTENNA_HEIGHT_M = 15.0
SENSOR_OFFSET_SD_DB = 6.0
TEMPERING = 0.3
HUBER_Z = 2.5
LINE_MIN_SPREAD_M = 250.0
GRID_CELLS = 64
SECTOR_BEAMWIDTH_DEG = 65.0
# antenna hypotheses: omnidirectional (prior 1 - P_SECTOR) or a sector towards
# one of 8 azimuths with a 10 or 20 dB front-to-back ratio (P_SECTOR / 16 each)
PATTERNS: tuple[tuple[float, float] | None, ...] = (
    None, *((float(az), fb) for az in range(0, 360, 45) for fb in (10.0, 20.0)))
PATTERN_KEEP = 0.05
PATTERN_EVIDENCE_SCALE = 1.0  # 1: as computed (lower values were tried: they inflate every region)
P_SECTOR = 0.2  # prior probability of a sector antenna (a fake BTS is mostly omnidirectional)
AZIMUTH = "azimuth"  # the hypothesis of an unknown azimuth gain (azimuth_loglik)
Hypothesis = tuple[float, float] | str | None
MODELS: tuple[Hypothesis, ...] = (None, AZIMUTH)  # grid_posterior's default
P_AZIMUTH = 0.1  # prior probability of a direction-dependent gain (antenna, obstruction on one side)
AZIMUTH_ORDER = 3
AZIMUTH_SD_DB = (7.0, 4.0, 2.5)  # prior SD of harmonic k's cos and sin coefficients
MIN_MARGIN_M = 800.0
HULL_PRIOR_MIN_M = 150.0  # the position prior's fall-off outside the data's hull (log_prior_xy)
HULL_PRIOR_FRACTION = 0.2
HULL_PRIOR_RATIO = (0.2, 0.5)  # minor/major spread: no hull prior up to 0.2, all of it from 0.5


def fspl_1m_db(freq_hz: float) -> float:
    return 20.0 * math.log10(4.0 * math.pi * freq_hz / 299_792_458.0)


@dataclass(frozen=True)
class Grid:
    x0: float
    y0: float
    dx: float
    nx: int
    ny: int

    @classmethod
    def around(cls, xmin: float, xmax: float, ymin: float, ymax: float, cells: int) -> Grid:
        w, h = xmax - xmin, ymax - ymin
        side = max(w, h, 1.0)
        dx = side / cells
        nx = max(math.ceil(w / dx), 1)
        ny = max(math.ceil(h / dx), 1)
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        return cls(cx - nx * dx / 2, cy - ny * dx / 2, dx, nx, ny)

    @property
    def xc(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.x0 + (np.arange(self.nx) + 0.5) * self.dx, dtype=np.float64)

    @property
    def yc(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.y0 + (np.arange(self.ny) + 0.5) * self.dx, dtype=np.float64)

    def points(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        gx, gy = np.meshgrid(self.xc, self.yc)
        return gx.ravel(), gy.ravel()

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        j = math.floor((x - self.x0) / self.dx)
        i = math.floor((y - self.y0) / self.dx)
        return (i, j) if 0 <= i < self.ny and 0 <= j < self.nx else None


@dataclass
class LikelihoodTerms:
    """Per grid cell, exponent and sigma: the log-likelihood and the intercept A."""

    ll: npt.NDArray[np.float64]  # (G, K, J)
    a: npt.NDArray[np.float64]  # (G, K, J): A (sensor 0's intercept)
    offsets: npt.NDArray[np.float64]  # (G, K, J, S): A_s - A posterior means
    gain: npt.NDArray[np.float64] | None = None  # (G, K, J, C): azimuth gain coefficients (azimuth_loglik)


def loglik(bins: Bins, gx: npt.NDArray[np.float64], gy: npt.NDArray[np.float64], *,
           exponents: npt.NDArray[np.float64] = EXPONENTS, sigmas: npt.NDArray[np.float64] = SIGMAS_DB,
           inflate: npt.NDArray[np.float64] | None = None,
           gps_dist_m: float | npt.NDArray[np.float64] = 150.0,
           tempering: float = TEMPERING, fixed_a: float | None = None,
           fixed_offsets: npt.NDArray[np.float64] | None = None,
           pattern: tuple[float, float] | None = None,
           geometry: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None] | None = None,
           ) -> LikelihoodTerms:
    """The model's log-likelihood over candidate positions (gx, gy) for every
    exponent and sigma, A and the sensor offsets integrated out (or held at
    `fixed_a` / `fixed_offsets` when given: the moving-transmitter test)."""
    y = bins.power_db
    m = y.size
    dlog, brg = geometry if geometry is not None else candidate_geometry(bins, gx, gy, pattern is not None)
    n_s = len(bins.sensors)
    present = [s for s in range(n_s) if np.any(bins.sensor == s)]
    g = gx.size
    inf = np.ones(m) if inflate is None else inflate
    gd = np.broadcast_to(np.asarray(gps_dist_m, dtype=np.float64), (m,))
    tau2 = SENSOR_OFFSET_SD_DB ** 2
    # GPS error as power error at a typical exponent of 3
    gvar = (DB * 3.0 * bins.gps_error_m / np.maximum(gd, 30.0)) ** 2
    var_all = (sigmas[:, None] ** 2 + (bins.var_db2 + gvar)[None, :]) * inf[None, :]  # (J, M)
    w_all = 1.0 / var_all
    masks = np.stack([bins.sensor == s for s in present], axis=1).astype(np.float64)  # (M, S)
    n_p, j_n = len(present), sigmas.size
    wm = w_all.T[:, :, None] * masks[:, None, :]  # (M, J, S)
    s0 = wm.sum(axis=0)  # (J, S)
    wm2 = wm.reshape(m, -1)
    sd = (dlog @ wm2).reshape(g, 1, j_n, n_p)
    sdd = ((dlog * dlog) @ wm2).reshape(g, 1, j_n, n_p)
    if pattern is None:
        sy: Any = np.einsum("mjs,m->js", wm, y)
        syy: Any = np.einsum("mjs,m->js", wm, y * y)
        syd = (dlog @ (wm2 * y[:, None])).reshape(g, 1, j_n, n_p)
    else:  # the readings with the antenna's gain towards each bin taken out
        assert brg is not None
        yg = y[None, :] - pattern_gain_db(brg, pattern)  # (G, M)
        sy = (yg @ wm2).reshape(g, 1, j_n, n_p)
        syy = ((yg * yg) @ wm2).reshape(g, 1, j_n, n_p)
        syd = ((yg * dlog) @ wm2).reshape(g, 1, j_n, n_p)
    nk = exponents[None, :, None, None]
    base = -0.5 * np.sum(np.log(var_all), axis=1)  # (J,)
    off_out = np.zeros((g, exponents.size, j_n, n_s))
    if fixed_a is not None:
        offs = np.zeros(n_s) if fixed_offsets is None else np.asarray(fixed_offsets, dtype=np.float64)
        a_s = (fixed_a + offs[present])[None, None, None, :]
        q = (syy - 2 * a_s * sy + a_s * a_s * s0 + 2 * nk * (syd - a_s * sd) + nk * nk * sdd)
        ll = base[None, None, :] - 0.5 * q.sum(axis=3)
        a_out = np.full(ll.shape, fixed_a)
        off_out[..., present] = offs[present]
        return LikelihoodTerms(tempering * ll, a_out, off_out)
    # everything below is affine (the means) or quadratic (the residuals) in the exponent n:
    # coefficients per (candidate, sigma), then one evaluation over the exponents
    n1 = exponents[None, :, None]
    sd3, sdd3, syd3 = sd[:, 0], sdd[:, 0], syd[:, 0]  # (G, J, S)
    sy3 = sy if pattern is None else sy[:, 0]  # (J, S) or (G, J, S)
    syy3 = syy if pattern is None else syy[:, 0]
    my, md = sy3 / s0, sd3 / s0  # A_s's least-squares value: my + n md
    qyy = np.sum(syy3 - s0 * my * my, axis=-1)
    qyd = np.sum(syd3 - s0 * my * md, axis=-1)
    qdd = np.sum(sdd3 - s0 * md * md, axis=-1)
    q = np.maximum(qyy[..., None, :] + 2 * n1 * qyd[:, None, :] + n1 * n1 * qdd[:, None, :], 0.0)
    logdet = np.sum(np.log(s0), axis=1)  # (J,)
    ll = base[None, None, :] - 0.5 * q - 0.5 * logdet[None, None, :]
    if n_p == 1:
        a_out = my[..., 0][..., None, :] + n1 * md[..., 0][:, None, :]
        return LikelihoodTerms(tempering * ll, a_out, off_out)
    u = 1.0 / s0 + tau2  # (J, S)
    big_u = np.sum(1.0 / u, axis=1)  # (J,)
    ay, ad = np.sum(my / u, axis=-1) / big_u, np.sum(md / u, axis=-1) / big_u  # abar = ay + n ad
    ey, ed = my - ay[..., None], md - ad[..., None]
    ryy, ryd, rdd = np.sum(ey * ey / u, axis=-1), np.sum(ey * ed / u, axis=-1), np.sum(ed * ed / u, axis=-1)
    r = ryy[..., None, :] + 2 * n1 * ryd[:, None, :] + n1 * n1 * rdd[:, None, :]
    ll = ll - 0.5 * (np.sum(np.log(u), axis=1) + np.log(big_u))[None, None, :] - 0.5 * r
    # the offsets' posterior means (s0 mean + abar / tau2) / (s0 + 1 / tau2) - abar, affine in n too
    shrink = s0 + 1.0 / tau2
    oy = (s0 * my + ay[..., None] / tau2) / shrink - ay[..., None]
    od = (s0 * md + ad[..., None] / tau2) / shrink - ad[..., None]
    off_out[..., present] = oy[..., None, :, :] + n1[..., None] * od[:, None]
    ll = tempering * ll
    a_out = ay[..., None, :] + n1 * ad[:, None, :]
    return LikelihoodTerms(ll, a_out, off_out)


def azimuth_basis(bearing_deg: npt.NDArray[np.float64], order: int) -> npt.NDArray[np.float64]:
    """``cos k theta, sin k theta`` for k = 1..order, stacked on a last axis."""
    th = np.radians(bearing_deg)
    return np.stack([f(k * th) for k in range(1, order + 1) for f in (np.cos, np.sin)], axis=-1)


def azimuth_prior_var(order: int = AZIMUTH_ORDER) -> npt.NDArray[np.float64]:
    """Prior variances (dB^2) of the azimuth gain's cos/sin coefficients."""
    return np.repeat(np.asarray(AZIMUTH_SD_DB[:order], dtype=np.float64) ** 2, 2)


def azimuth_loglik(bins: Bins, gx: npt.NDArray[np.float64], gy: npt.NDArray[np.float64], *,
                   exponents: npt.NDArray[np.float64] = EXPONENTS,
                   sigmas: npt.NDArray[np.float64] = SIGMAS_DB,
                   inflate: npt.NDArray[np.float64] | None = None,
                   gps_dist_m: float | npt.NDArray[np.float64] = 150.0,
                   tempering: float = TEMPERING,
                   geometry: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None] | None = None,
                   prior_var: npt.NDArray[np.float64] | None = None, chunk: int = 512,
                   ) -> LikelihoodTerms:
    """`loglik` with an unknown azimuth gain of the transmitter (an antenna's
    pattern, the shadow of an obstruction on one side): ``G(theta) = sum_k
    c_k cos k theta + s_k sin k theta`` over the bearing theta from the
    candidate to each bin, the coefficients Gaussian (`azimuth_prior_var`),
    integrated out jointly with the intercept (flat) and the sensor offsets
    (N(0, SENSOR_OFFSET_SD_DB^2)): one linear-Gaussian marginal per candidate
    and sigma, ``-1/2 (y'W y' - b'P^-1 b) - 1/2 log det P`` with y' = y + n
    dlog, so quadratic in the exponent n. Normalised as `loglik` is (the
    two evidences compare: this one pays the Occam factor of the gain's
    freedom).

    How it is computed (the cost of a fixed-site call is mostly here): P's
    block of the sensors' intercepts, ``A = diag(sum w) + prior``, is the
    same for every candidate, so it is inverted once per sigma and the
    candidates' systems are the gain's Schur complement ``P_cc - X A^-1 X'``
    (2 order x 2 order, X the basis' sums per sensor), factorised by a
    Cholesky vectorised over all candidates and sigmas at once (batch on the
    last axis) that also gives log det P and the quadratic forms. The basis'
    products are harmonics up to 2 order, so P_cc comes from the weighted
    sums of ``cos k theta, sin k theta``, k <= 2 order (`_bearing_harmonics`),
    one matrix product per chunk of candidates."""
    y = bins.power_db
    m = y.size
    pv = azimuth_prior_var() if prior_var is None else np.asarray(prior_var, dtype=np.float64)
    n_c = pv.size
    if n_c < 2 or n_c % 2:
        raise ValueError(f"prior_var needs a cos and a sin variance per harmonic, got {n_c} values")
    order = n_c // 2
    nh = 2 * order + 1
    dlog_all = geometry[0] if geometry is not None else candidate_geometry(bins, gx, gy, False)[0]
    present = [s for s in range(len(bins.sensors)) if np.any(bins.sensor == s)]
    n_p, j_n, k_n, g_n = len(present), sigmas.size, exponents.size, gx.size
    inf = np.ones(m) if inflate is None else inflate
    gd = np.broadcast_to(np.asarray(gps_dist_m, dtype=np.float64), (m,))
    gvar = (DB * 3.0 * bins.gps_error_m / np.maximum(gd, 30.0)) ** 2
    var_all = (sigmas[:, None] ** 2 + (bins.var_db2 + gvar)[None, :]) * inf[None, :]  # (J, M)
    w_all = 1.0 / var_all
    masks = np.stack([bins.sensor == s for s in present], axis=1).astype(np.float64)  # (M, S)
    wt = w_all.T  # (M, J)
    wy = wt * y[:, None]
    wms = (masks[:, :, None] * wt[:, None, :]).reshape(m, n_p * j_n)  # (M, S*J): w on sensor s's bins
    s0 = (w_all @ masks)  # (J, S)
    sy_s = (w_all * y[None, :]) @ masks  # (J, S)
    syy = w_all @ (y * y)  # (J,)
    tau2 = SENSOR_OFFSET_SD_DB ** 2
    # the sensors' block A of the precision (the same for every candidate), the offsets' prior in it
    amat = np.zeros((j_n, n_p, n_p))
    amat[:, np.arange(n_p), np.arange(n_p)] = s0
    if n_p > 1:
        amat += (np.eye(n_p) - 1.0 / n_p) / tau2
    ainv = np.linalg.inv(amat)  # (J, S, S)
    logdet_a = np.linalg.slogdet(amat)[1]  # (J,)
    t_ss = np.einsum("js,jst,jt->j", sy_s, ainv, sy_s)  # (J,)
    const = -0.5 * float(np.sum(np.log(pv)))
    if n_p > 1:
        const -= 0.5 * ((n_p - 1) * math.log(tau2) + math.log(n_p))
    base = -0.5 * np.sum(np.log(var_all), axis=1)  # (J,)
    # the sums without the bearing, for the whole grid at once
    sd_all = (dlog_all @ wms).reshape(g_n, n_p, j_n)  # (G, S, J)
    sdd_all = (dlog_all * dlog_all) @ wt  # (G, J)
    syd_all = dlog_all @ wy  # (G, J)
    # harmonics 1..order are summed with w, w y and per sensor; order+1..2 order with w only
    cols = np.concatenate([wt, wy] + ([wms] if n_p > 1 else []), axis=1)  # (M, 2 J [+ S J])
    ti, tj, h1, h2, c1, c2 = _product_harmonics(order)
    diag = np.arange(n_c)
    ll = np.empty((g_n, k_n, j_n))
    a_out = np.empty((g_n, k_n, j_n))
    off_out = np.zeros((g_n, k_n, j_n, len(bins.sensors)))
    gain_out = np.empty((g_n, k_n, j_n, n_c))
    nk = exponents[None, :, None]
    wsum = s0.sum(axis=1)
    bufs = _HarmonicBuffers(min(chunk, g_n), m, order)
    for c0 in range(0, g_n, chunk):
        sl = slice(c0, min(c0 + chunk, g_n))
        dlog = dlog_all[sl]
        g = dlog.shape[0]
        n = g * j_n  # the batch: (candidate, sigma), sigma fastest
        e = _bearing_harmonics(bins.x, bins.y, gx[sl], gy[sl], order, bufs)  # (2 order, 2, g, M)
        lo = (e[:order].reshape(-1, m) @ cols).reshape(order, 2, g, -1)
        hi = (e[order:].reshape(-1, m) @ wt).reshape(order, 2, g, j_n)
        ed = np.multiply(e[:order], dlog, out=bufs.ed[:order * 2 * g * m].reshape(order, 2, g, m))
        bd = (ed.reshape(-1, m) @ wt).reshape(n_c, n)  # basis order: cos 1, sin 1, cos 2, ...
        # the weighted sums of cos k theta (rows 0..2 order) and sin k theta (the next 2 order + 1)
        hs = np.empty((2 * nh, g, j_n))
        hs[0] = wsum
        hs[1:order + 1] = lo[:, 0, :, :j_n]
        hs[order + 1:nh] = hi[:, 0]
        hs[nh] = 0.0
        hs[nh + 1:nh + order + 1] = lo[:, 1, :, :j_n]
        hs[nh + order + 1:] = hi[:, 1]
        h = hs.reshape(2 * nh, n)
        # X (S, C, n): the basis' sums over each sensor's bins
        if n_p > 1:
            x = lo[..., 2 * j_n:].reshape(n_c, g, n_p, j_n).transpose(2, 0, 1, 3).reshape(n_p, n_c, n)
        else:
            x = lo[..., :j_n].reshape(1, n_c, n)
        by = lo[..., j_n:2 * j_n].reshape(n_c, n)
        ainv_n = np.tile(ainv.transpose(1, 2, 0), g)  # (S, S, n)
        xa = np.einsum("stn,scn->tcn", ainv_n, x)
        # the gain's Schur complement (its lower triangle): P_cc + prior - X A^-1 X'
        pp = np.zeros((n_c, n_c, n))
        pp[ti, tj] = c1[:, None] * h[h1] + c2[:, None] * h[h2]
        pp[diag, diag] += (1.0 / pv)[:, None]
        pp -= np.einsum("tcn,tdn->cdn", xa, x)
        rs_y = np.tile(sy_s.T, g)  # (S, n)
        rs_d = sd_all[sl].transpose(1, 0, 2).reshape(n_p, n)
        rhs = np.empty((n_c, 2, n))  # the gain's right-hand sides (y and dlog) less the sensors' part
        rhs[:, 0] = by - np.einsum("tcn,tn->cn", xa, rs_y)
        rhs[:, 1] = bd - np.einsum("tcn,tn->cn", xa, rs_d)
        logdet_s, z, chol = _cholesky_solve(pp, rhs)
        ard = np.einsum("stn,tn->sn", ainv_n, rs_d)
        t_yy = t_ss[None, :] + np.einsum("cn,cn->n", z[:, 0], z[:, 0]).reshape(g, j_n)
        t_yd = (np.einsum("sn,sn->n", rs_y, ard) + np.einsum("cn,cn->n", z[:, 0], z[:, 1])).reshape(g, j_n)
        t_dd = (np.einsum("sn,sn->n", rs_d, ard) + np.einsum("cn,cn->n", z[:, 1], z[:, 1])).reshape(g, j_n)
        logdet = logdet_a[None, :] + logdet_s.reshape(g, j_n)
        q = ((syy[None, :] - t_yy)[:, None, :] + 2 * nk * (syd_all[sl] - t_yd)[:, None, :]
             + nk * nk * (sdd_all[sl] - t_dd)[:, None, :])
        ll[sl] = (base[None, None, :] - 0.5 * np.maximum(q, 0.0) - 0.5 * logdet[:, None, :]) + const
        bc = _back_solve(chol, z)  # (C, 2, n): the gain's posterior mean, its y and dlog parts
        # the sensors' intercepts A^-1 (r_s - X beta_c), y and dlog parts
        bs_y = np.einsum("stn,tn->sn", ainv_n, rs_y - np.einsum("scn,cn->sn", x, bc[:, 0]))
        bs_d = np.einsum("stn,tn->sn", ainv_n, rs_d - np.einsum("scn,cn->sn", x, bc[:, 1]))
        my, md = bs_y.mean(axis=0), bs_d.mean(axis=0)  # E[A | y]: A_s = A + o_s, the o_s exchangeable
        a_out[sl] = my.reshape(g, 1, j_n) + nk * md.reshape(g, 1, j_n)
        off_out[sl][..., present] = ((bs_y - my).T.reshape(g, 1, j_n, n_p)
                                     + nk[..., None] * (bs_d - md).T.reshape(g, 1, j_n, n_p))
        gs = gain_out[sl]
        np.multiply(nk[..., None], np.ascontiguousarray(bc[:, 1].T).reshape(g, 1, j_n, n_c), out=gs)
        gs += np.ascontiguousarray(bc[:, 0].T).reshape(g, 1, j_n, n_c)
    return LikelihoodTerms(tempering * ll, a_out, off_out, gain_out)


class _HarmonicBuffers:
    """Work arrays of `_bearing_harmonics` for up to `g` candidates, allocated
    once per `azimuth_loglik` call (fresh large arrays per chunk cost page
    faults)."""

    def __init__(self, g: int, m: int, order: int) -> None:
        self.dx, self.dy, self.r = np.empty(g * m), np.empty(g * m), np.empty(g * m)
        self.e = np.empty(4 * order * g * m)
        self.ed = np.empty(2 * order * g * m)


def _bearing_harmonics(bx: npt.NDArray[np.float64], by: npt.NDArray[np.float64],
                       gx: npt.NDArray[np.float64], gy: npt.NDArray[np.float64], order: int,
                       bufs: _HarmonicBuffers) -> npt.NDArray[np.float64]:
    """``cos k theta, sin k theta`` for k = 1..2 order of the bearing theta
    (clockwise from north) from each candidate (gx, gy) to each bin (bx, by),
    (2 order, 2, g, M) in `bufs`: ``(dy, dx) / r`` and the Chebyshev
    recurrence ``f_k = 2 cos theta f_(k-1) - f_(k-2)``, no trigonometry. A
    candidate on a bin has no bearing: its harmonics there are 0."""
    g, m = gx.size, bx.size
    dx = np.subtract(bx[None, :], gx[:, None], out=bufs.dx[:g * m].reshape(g, m))
    dy = np.subtract(by[None, :], gy[:, None], out=bufs.dy[:g * m].reshape(g, m))
    r = np.multiply(dx, dx, out=bufs.r[:g * m].reshape(g, m))
    r += dy * dy
    np.sqrt(r, out=r)
    r[r == 0] = 1.0
    e = bufs.e[:4 * order * g * m].reshape(2 * order, 2, g, m)
    np.divide(dy, r, out=e[0, 0])
    np.divide(dx, r, out=e[0, 1])
    two_c = np.multiply(e[0, 0], 2.0, out=dx)
    np.multiply(two_c, e[0, 0], out=e[1, 0])
    e[1, 0] -= 1.0
    np.multiply(two_c, e[0, 1], out=e[1, 1])
    for k in range(2, 2 * order):
        np.multiply(e[k - 1], two_c, out=e[k])
        e[k] -= e[k - 2]
    return e


def _product_harmonics(order: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp],
                                            npt.NDArray[np.intp], npt.NDArray[np.float64],
                                            npt.NDArray[np.float64]]:
    """The products of the basis (cos 1, sin 1, cos 2, ...: `azimuth_basis`)
    as harmonics: for each pair (a, b) of the lower triangle (rows, columns),
    ``basis_a basis_b = c1 h[h1] + c2 h[h2]`` with h the rows cos 0..2 order,
    sin 0..2 order (``cos p cos q = (cos(p-q) + cos(p+q)) / 2`` and so on)."""
    n_c, nh = 2 * order, 2 * order + 1
    ti, tj = np.tril_indices(n_c)
    h1 = np.zeros(ti.size, dtype=np.intp)
    h2 = np.zeros(ti.size, dtype=np.intp)
    c1 = np.full(ti.size, 0.5)
    c2 = np.zeros(ti.size)
    for t, (a, b) in enumerate(zip(ti.tolist(), tj.tolist(), strict=True)):
        p, q = a // 2 + 1, b // 2 + 1
        lo, hi = abs(p - q), p + q
        sgn = 1.0 if p >= q else -1.0
        if a % 2 == 0 and b % 2 == 0:  # cos p cos q
            h1[t], h2[t], c2[t] = lo, hi, 0.5
        elif a % 2 == 1 and b % 2 == 1:  # sin p sin q
            h1[t], h2[t], c2[t] = lo, hi, -0.5
        elif a % 2 == 0:  # cos p sin q
            h1[t], h2[t], c2[t] = nh + hi, nh + lo, -0.5 * sgn
        else:  # sin p cos q
            h1[t], h2[t], c2[t] = nh + hi, nh + lo, 0.5 * sgn
    return ti, tj, h1, h2, c1, c2


def _cholesky_solve(a: npt.NDArray[np.float64], rhs: npt.NDArray[np.float64]
                    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The Cholesky factor L of positive definite matrices a (d, d, N), batch
    on the last axis, from their lower triangles: log det a (N,), ``z = L^-1
    rhs`` (rhs and z (d, R, N)) and L. Vectorised over the batch: a few
    hundred thousand 6x6 systems in ~50 array operations, where a LAPACK
    call per matrix spends its time in call overhead."""
    d = a.shape[0]
    chol = np.zeros_like(a)
    for j in range(d):
        v = a[j, j] - np.einsum("kn,kn->n", chol[j, :j], chol[j, :j]) if j else a[j, j]
        ljj = np.sqrt(v)
        chol[j, j] = ljj
        if j + 1 < d:
            col = a[j + 1:, j] - np.einsum("ikn,kn->in", chol[j + 1:, :j], chol[j, :j]) if j else a[j + 1:, j]
            chol[j + 1:, j] = col / ljj
    logdet = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=0, axis2=1)), axis=-1)
    z = np.empty_like(rhs)
    for i in range(d):
        zi = rhs[i] - np.einsum("kn,krn->rn", chol[i, :i], z[:i]) if i else rhs[i]
        z[i] = zi / chol[i, i]
    return logdet, z, chol


def _back_solve(chol: npt.NDArray[np.float64], z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``L^-T z`` for `_cholesky_solve`'s L and z: the systems' solutions."""
    d = chol.shape[0]
    x = np.empty_like(z)
    for i in range(d - 1, -1, -1):
        xi = z[i] - np.einsum("kn,krn->rn", chol[i + 1:, i], x[i + 1:]) if i < d - 1 else z[i]
        x[i] = xi / chol[i, i]
    return x


def candidate_geometry(bins: Bins, gx: npt.NDArray[np.float64], gy: npt.NDArray[np.float64],
                       bearings: bool) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    """``10 log10 sqrt(d^2 + h^2)`` and (when asked) the bearing in degrees from
    each candidate to each bin, (G, M)."""
    dx = bins.x[None, :] - gx[:, None]
    dy = bins.y[None, :] - gy[:, None]
    dlog = (0.5 * DB) * np.log(dx * dx + dy * dy + ANTENNA_HEIGHT_M ** 2)
    return dlog, (np.degrees(np.arctan2(dx, dy)) if bearings else None)


def pattern_gain_db(bearing_deg: npt.NDArray[np.float64],
                    pattern: tuple[float, float]) -> npt.NDArray[np.float64]:
    """A sector antenna's gain (dB, <= 0) towards the bearings:
    ``-min(12 (theta / 65 deg)^2, front_back_db)``, pattern = (azimuth_deg,
    front_back_db)."""
    az, fb = pattern
    theta = (bearing_deg - az + 180.0) % 360.0 - 180.0
    return np.asarray(-np.minimum(theta * theta * (12.0 / SECTOR_BEAMWIDTH_DEG ** 2), fb))


def log_prior_kj(exponents: npt.NDArray[np.float64] = EXPONENTS,
                 sigmas: npt.NDArray[np.float64] = SIGMAS_DB) -> npt.NDArray[np.float64]:
    """Uniform in the exponent, log-uniform in sigma (grid weights), normalised."""
    ws = np.gradient(np.log(sigmas))
    lp = np.log(ws / ws.sum())[None, :] - math.log(exponents.size)
    return np.broadcast_to(lp, (exponents.size, sigmas.size)).copy()


@dataclass
class GridDensity:
    """A normalised density over a grid (`prob[i, j]` of cell row i, col j)."""

    frame: LocalFrame
    grid: Grid
    prob: npt.NDArray[np.float64]  # (ny, nx), sums to 1

    @functools.cached_property
    def _sorted(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        p = np.sort(self.prob.ravel())[::-1]
        return p, np.cumsum(p)

    def point(self) -> tuple[float, float]:
        """The estimate (x, y): the posterior mean over the 50 % region's part
        around the marginal's mode (the mean of a two-lobed posterior would
        fall between the lobes). The mode of the cells themselves: smoothing
        them first let a broad lobe win over a sharper, denser one."""
        return self._point

    @functools.cached_property
    def _point(self) -> tuple[float, float]:
        from scipy.ndimage import label as label_components

        i, j = np.unravel_index(int(np.argmax(self.prob)), self.prob.shape)
        sel = np.zeros(self.prob.shape, dtype=bool)
        for level in (0.5, 0.8, 0.95):
            lab, _ = label_components(self.hpd_mask(level))
            if lab[i, j]:
                sel = lab == lab[i, j]
                break
        if not sel.any():
            sel[i, j] = True
        p = np.where(sel, self.prob, 0.0)
        gx, gy = np.meshgrid(self.grid.xc, self.grid.yc)
        tot = p.sum()
        return float((p * gx).sum() / tot), float((p * gy).sum() / tot)

    def latlon(self) -> tuple[float, float]:
        lat, lon = self.frame.to_latlon(*self.point())
        return float(lat), float(lon)

    def hpd_threshold(self, level: float) -> float:
        p, c = self._sorted
        k = int(np.searchsorted(c, level))
        return float(p[min(k, p.size - 1)])

    def hpd_mask(self, level: float) -> npt.NDArray[np.bool_]:
        return np.asarray(self.prob >= self.hpd_threshold(level))

    def area_m2(self, level: float) -> float:
        return float(self.hpd_mask(level).sum()) * self.grid.dx ** 2

    def rings(self, level: float) -> list[Ring]:
        g = self.grid
        return grid_rings(self.hpd_mask(level), g.x0, g.y0, g.dx, g.dx)

    def region(self, level: float) -> dict[str, Any] | None:
        return multipolygon(self.rings(level), self.frame)

    def cep_m(self, level: float = 0.5) -> float:
        """Radius around the estimate holding `level` of the posterior."""
        px, py = self.point()
        gx, gy = np.meshgrid(self.grid.xc, self.grid.yc)
        r = np.hypot(gx - px, gy - py).ravel()
        o = np.argsort(r)
        c = np.cumsum(self.prob.ravel()[o])
        k = min(int(np.searchsorted(c, level)), r.size - 1)
        return float(max(r[o][k], self.grid.dx / 2))

    def contains(self, lat: float, lon: float, level: float) -> bool:
        x, y = self.frame.to_xy(lat, lon)
        cell = self.grid.cell_of(float(x), float(y))
        return cell is not None and bool(self.hpd_mask(level)[cell])


@dataclass
class Posterior(GridDensity):
    """The fixed-site posterior, with what it was computed from."""

    bins: Bins
    terms: LikelihoodTerms
    post_kj: npt.NDArray[np.float64]  # (K, J) marginal of exponent and sigma
    log_evidence: float
    inflate: npt.NDArray[np.float64]
    exponents: npt.NDArray[np.float64] = field(default_factory=lambda: EXPONENTS)
    sigmas: npt.NDArray[np.float64] = field(default_factory=lambda: SIGMAS_DB)
    pattern: Hypothesis = None  # the antenna hypothesis of `terms`
    p_sector: float = 0.0  # posterior probability of a direction-dependent gain
    patterns_kept: tuple[Hypothesis, ...] = (None,)  # worth evaluating again

    def mode_index(self) -> tuple[int, int, int]:
        """Flat cell index, exponent index, sigma index of the joint mode."""
        lp = self.terms.ll + log_prior_kj(self.exponents, self.sigmas)[None]
        g, k, j = np.unravel_index(int(np.argmax(lp)), lp.shape)
        return int(g), int(k), int(j)

    def fit(self, freq_hz: float = 947e6) -> dict[str, Any]:
        """Posterior means of the exponent and sigma, the intercept as an EIRP
        under the close-in (free space to 1 m) model, the RMS residual at the
        mode."""
        pn = self.post_kj.sum(axis=1)
        psig = self.post_kj.sum(axis=0)
        g, k, j = self.mode_index()
        res = self.residuals(g, k, j)
        a = float(self.terms.a[g, k, j])
        antenna: Any = "omni"
        if isinstance(self.pattern, tuple):
            antenna = {"azimuth_deg": self.pattern[0], "front_back_db": self.pattern[1]}
        elif self.pattern == AZIMUTH and self.terms.gain is not None:
            # the fitted gain's strongest bearing and its range (boresight EIRP)
            az = np.arange(0.0, 360.0, 1.0)
            gain = azimuth_basis(az, self.terms.gain.shape[-1] // 2) @ self.terms.gain[g, k, j]
            antenna = {"azimuth_deg": float(az[int(np.argmax(gain))]),
                       "front_back_db": round(float(gain.max() - gain.min()), 1)}
            a += float(gain.max())
        return {"exponent": round(float(pn @ self.exponents), 2),
                "eirp_dbm": round(a + fspl_1m_db(freq_hz), 1),
                "sigma_db": round(float(psig @ self.sigmas), 1),
                "rms_db": round(float(np.sqrt(np.mean(res ** 2))), 2),
                "bins": len(self.bins),
                "antenna": antenna,
                "p_sector": round(self.p_sector, 2)}

    def residuals(self, g: int, k: int, j: int) -> npt.NDArray[np.float64]:
        b = self.bins
        gx, gy = self.grid.points()
        d = np.hypot(gx[g] - b.x, gy[g] - b.y)
        model = (self.terms.a[g, k, j] + self.terms.offsets[g, k, j][b.sensor]
                 - self.exponents[k] * 0.5 * DB * np.log(d * d + ANTENNA_HEIGHT_M ** 2))
        if self.pattern is not None:
            brg = np.degrees(np.arctan2(b.x - gx[g], b.y - gy[g]))
            if isinstance(self.pattern, tuple):
                model = model + pattern_gain_db(brg, self.pattern)
            elif self.terms.gain is not None:
                c = self.terms.gain[g, k, j]
                model = model + azimuth_basis(brg, c.size // 2) @ c
        return np.asarray(b.power_db - model)


def hypothesis_log_prior(h: Hypothesis) -> float:
    """Prior of an antenna hypothesis: omnidirectional 1 - P_AZIMUTH, the
    azimuth-gain nuisance P_AZIMUTH, a fixed sector (PATTERNS) P_SECTOR / 16."""
    if h is None:
        return math.log(1.0 - P_AZIMUTH)
    if h == AZIMUTH:
        return math.log(P_AZIMUTH)
    return math.log(P_SECTOR / (len(PATTERNS) - 1))


def _evaluate(bins: Bins, grid: Grid, inflate: npt.NDArray[np.float64],
              gps_dist: float | npt.NDArray[np.float64], tempering: float,
              exponents: npt.NDArray[np.float64], sigmas: npt.NDArray[np.float64],
              patterns: tuple[Hypothesis, ...] = (None,)) -> Posterior:
    gx, gy = grid.points()
    pats = patterns if len(bins) >= 12 else (None,)
    lpk = log_prior_kj(exponents, sigmas)[None] + log_prior_xy(bins, gx, gy)[:, None, None]
    results = []
    geom = candidate_geometry(bins, gx, gy, any(isinstance(p, tuple) for p in pats))
    for pat in pats:
        if pat == AZIMUTH:
            terms = azimuth_loglik(bins, gx, gy, inflate=inflate, gps_dist_m=gps_dist, tempering=tempering,
                                   exponents=exponents, sigmas=sigmas, geometry=geom)
        else:
            terms = loglik(bins, gx, gy, inflate=inflate, gps_dist_m=gps_dist, tempering=tempering,
                           exponents=exponents, sigmas=sigmas,
                           pattern=pat if isinstance(pat, tuple) else None, geometry=geom)
        lp = terms.ll + lpk + (hypothesis_log_prior(pat) if len(pats) > 1 else 0.0)
        mx = float(lp.max())
        e = np.exp(lp - mx)
        results.append((mx + math.log(float(e.sum())), mx, e, terms, pat))
    log_ev_all = np.array([r[0] for r in results])
    top = float(log_ev_all.max())
    weights = np.exp(PATTERN_EVIDENCE_SCALE * (log_ev_all - top))
    prob = np.zeros(gx.size)
    post_kj = np.zeros((exponents.size, sigmas.size))
    for wgt, (_lz, _mx, e, _t, _p) in zip(weights, results, strict=True):
        scale = wgt / float(e.sum())
        prob += e.sum(axis=(1, 2)) * scale
        post_kj += e.sum(axis=0) * scale
    tot = float(weights.sum())
    best = results[int(np.argmax(log_ev_all))]
    p_sector = float(sum(w for w, r in zip(weights, results, strict=True) if r[4] is not None) / tot)
    log_ev = top + math.log(tot) - math.log(gx.size)
    kept = tuple(r[4] for w, r in zip(weights, results, strict=True)
                 if r[4] is None or w >= PATTERN_KEEP * float(weights.max()))
    return Posterior(bins.frame, grid, (prob / tot).reshape(grid.ny, grid.nx), bins, best[3],
                     post_kj / tot, log_ev, inflate, exponents, sigmas, best[4], p_sector, kept)


def hull_distance(bins: Bins, gx: npt.NDArray[np.float64],
                  gy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Distance (m) of each candidate outside the convex hull of the bins (0
    inside); data along one line: the distance to the nearest bin."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.stack([bins.x, bins.y], axis=1)
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return np.asarray(np.min(np.hypot(gx[:, None] - bins.x[None, :], gy[:, None] - bins.y[None, :]),
                                 axis=1))
    v = pts[hull.vertices]  # counter-clockwise
    a, b = v, np.roll(v, -1, axis=0)
    ex, ey = (b - a)[:, 0], (b - a)[:, 1]
    px, py = gx[:, None] - a[None, :, 0], gy[:, None] - a[None, :, 1]
    inside = np.all(ex[None, :] * py - ey[None, :] * px >= 0.0, axis=1)
    ll = np.maximum(ex * ex + ey * ey, 1e-9)
    u = np.clip((px * ex[None, :] + py * ey[None, :]) / ll[None, :], 0.0, 1.0)
    d = np.min(np.hypot(px - u * ex[None, :], py - u * ey[None, :]), axis=1)
    return np.asarray(np.where(inside, 0.0, d))


def log_prior_xy(bins: Bins, gx: npt.NDArray[np.float64],
                 gy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The position prior: flat over the bins' convex hull, falling off as a
    half-Gaussian of scale ``max(HULL_PRIOR_MIN_M, HULL_PRIOR_FRACTION *
    span)`` outside it.

    Why not flat over the whole grid: a drive's powers cannot tell a
    transmitter inside a loop from its mirror outside it. On a circle of
    radius R about c, the distance to a point t and to its inverse point
    t* = c + R^2 (t - c) / |t - c|^2 keep a constant ratio (Apollonius), so
    P = A - 10 n log10 d fits both exactly, with the same n and an intercept
    10 n log10(R / |t - c|) dB higher at t*; a loop that is not quite a
    circle leaves the ambiguity nearly exact. A flat prior then gives the
    mirror the larger share of the posterior, by the inversion's area ratio
    (R / |t - c|)^4 (33x for a transmitter 250 m off the centre of a 600 m
    loop): estimates landed 0.5-1 km out, on the far side. What breaks the
    tie is outside the powers: a drive that surrounds the area where the
    signal is strongest is evidence that the transmitter is inside it, and a
    mirror needs a transmitter 5-15 dB stronger placed where the team did
    not drive. Data along one road have no such mirror (their ambiguity is
    left/right of the road, and the distance off it is for the powers to
    tell): the prior fades out as the bins' spread narrows to a line (the
    ratio of the minor to the major axis spread from HULL_PRIOR_RATIO[1]
    down to HULL_PRIOR_RATIO[0])."""
    if len(bins) < 3:
        return np.zeros(gx.size)
    w = np.linalg.eigvalsh(np.cov(np.stack([bins.x, bins.y])))
    ratio = math.sqrt(max(float(w[0]), 0.0) / max(float(w[1]), 1e-9))
    lo, hi = HULL_PRIOR_RATIO
    strength = min(max((ratio - lo) / (hi - lo), 0.0), 1.0)
    if strength <= 0.0:
        return np.zeros(gx.size)
    scale = max(HULL_PRIOR_MIN_M, HULL_PRIOR_FRACTION * bins.span_m)
    d = hull_distance(bins, gx, gy)
    return np.asarray(-0.5 * strength * (d / scale) ** 2)


def geometry_tempering(bins: Bins) -> float:
    """TEMPERING, lowered for data along one line (a single road): there the
    shape of the power's peak along the line fixes the distance off it, and
    the shadowing, correlated over the hundred metres of that peak, leaves
    fewer independent looks at it than bins. Scaled by the ratio of the
    bins' spatial spreads (minor / major axis) below 0.3, down to 0.4x, when
    the major one exceeds `LINE_MIN_SPREAD_M` (a road, not a walk's zigzag)."""
    if len(bins) < 3:
        return TEMPERING
    c = np.cov(np.stack([bins.x, bins.y]))
    w = np.linalg.eigvalsh(c)
    if math.sqrt(max(float(w[1]), 0.0)) < LINE_MIN_SPREAD_M:  # a short walk, not a road
        return TEMPERING
    ratio = math.sqrt(max(float(w[0]), 0.0) / max(float(w[1]), 1e-9))
    return TEMPERING * min(max(ratio / 0.3, 0.4), 1.0)


def grid_posterior(bins: Bins, *, cells: int = GRID_CELLS, margin_m: float | None = None,
                   tempering: float | None = None, robust: bool = True, refine: bool = True,
                   grid: Grid | None = None, exponents: npt.NDArray[np.float64] = EXPONENTS,
                   sigmas: npt.NDArray[np.float64] = SIGMAS_DB,
                   patterns: tuple[Hypothesis, ...] = MODELS) -> Posterior:
    """The posterior (module docstring): coarse grid, robust reweighting, fine grid."""
    if tempering is None:
        tempering = geometry_tempering(bins)
    if grid is None:
        span = bins.span_m
        margin = margin_m if margin_m is not None else max(MIN_MARGIN_M, 0.5 * span)
        grid = Grid.around(float(bins.x.min()) - margin, float(bins.x.max()) + margin,
                           float(bins.y.min()) - margin, float(bins.y.max()) + margin, cells)
    inflate = np.ones(len(bins))
    post = _evaluate(bins, grid, inflate, 150.0, tempering, exponents, sigmas, patterns)
    patterns = post.patterns_kept  # the others hold < PATTERN_KEEP of the best's evidence

    def distances(p: Posterior) -> npt.NDArray[np.float64]:
        px, py = p.point()
        return np.asarray(np.hypot(bins.x - px, bins.y - py))

    gps_dist: float | npt.NDArray[np.float64] = distances(post)
    if robust and len(bins) >= 5:
        g, k, j = post.mode_index()
        res = post.residuals(g, k, j)
        sd = np.sqrt(post.sigmas[j] ** 2 + bins.var_db2)
        z = np.abs(res) / sd
        inflate = np.where(z > HUBER_Z, np.minimum((z / HUBER_Z) ** 2, 25.0), 1.0)
        post = _evaluate(bins, grid, inflate, gps_dist, tempering, exponents, sigmas, patterns)
        gps_dist = distances(post)
    if refine:
        mask = post.hpd_mask(0.999)
        rows, cols = np.nonzero(mask)
        g0 = post.grid
        pad = 2
        xmin = g0.x0 + max(int(cols.min()) - pad, 0) * g0.dx
        xmax = g0.x0 + min(int(cols.max()) + 1 + pad, g0.nx) * g0.dx
        ymin = g0.y0 + max(int(rows.min()) - pad, 0) * g0.dx
        ymax = g0.y0 + min(int(rows.max()) + 1 + pad, g0.ny) * g0.dx
        if max(xmax - xmin, ymax - ymin) < 0.7 * max(g0.nx, g0.ny) * g0.dx:
            side = max(xmax - xmin, ymax - ymin, 80.0)
            cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
            xmin, xmax = min(xmin, cx - side / 2), max(xmax, cx + side / 2)
            ymin, ymax = min(ymin, cy - side / 2), max(ymax, cy + side / 2)
            fine = Grid.around(xmin, xmax, ymin, ymax, cells)
            post = _evaluate(bins, fine, inflate, gps_dist, tempering, exponents, sigmas, patterns)
    return post
