"""Decision-directed helpers of the burst demodulator, vectorised over bursts:
least-squares channel estimation over a whole burst, and the residual carrier
frequency seen between its two halves.

Model as in `burst.py`: the samples of symbol period n of burst b are
``z[n, p, b] = sum_(i<Lh) h[b, p, i] * c[n - i, b] + noise`` with known or
decided symbols ``c = +-1``. Planar float32 layout with the burst index last
(``zr``, ``zi`` (n_per, P, N), ``ok`` (n_per, N) 0/1, ``sym`` (>= n_hi, N)) so
the compiled loops run over bursts in SIMD lanes. The functions use the periods
``n_lo <= n < n_hi`` whose samples exist (``ok``). Compiled with numba when
`equalizer.use_numba`, numpy otherwise (same results, tested). Hand-written: a receiver
design choice, not specified by 3GPP (TS 45.005 sets only performance).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.equalizer import jit, use_numba

F32 = npt.NDArray[np.float32]


def _normal_equations_py(
    zr: Any, zi: Any, ok: Any, sym: Any, lh: int, n_lo: int, n_hi: int, ata: Any, atr: Any, ati: Any, zz: Any
) -> None:  # pragma: no cover - compiled by numba
    """ata (Lh, Lh, N) = A^T A, atr + j ati (Lh, P, N) = A^T z, zz (N,) = sum |z|^2."""
    _, n_p, n_b = zr.shape
    for n in range(n_lo, n_hi):
        for i in range(lh):
            for k in range(i, lh):
                for b in range(n_b):
                    ata[i, k, b] += sym[n - i, b] * sym[n - k, b] * ok[n, b]
            for p in range(n_p):
                for b in range(n_b):
                    w = sym[n - i, b] * ok[n, b]
                    atr[i, p, b] += w * zr[n, p, b]
                    ati[i, p, b] += w * zi[n, p, b]
        for p in range(n_p):
            for b in range(n_b):
                zz[b] += (zr[n, p, b] * zr[n, p, b] + zi[n, p, b] * zi[n, p, b]) * ok[n, b]


def _residual_and_drift_py(
    zr: Any, zi: Any, ok: Any, sym: Any, hr: Any, hi: Any, n_lo: int, n_hi: int,
    res: Any, z1r: Any, z1i: Any, z2r: Any, z2i: Any,
) -> None:  # pragma: no cover - compiled by numba
    """res (N,) = sum |z - rebuilt|^2; z1, z2 (N,) = sum z conj(rebuilt) over the
    first and the second half of the periods. hr, hi: (P, Lh, N)."""
    _, n_p, n_b = zr.shape
    lh = hr.shape[1]
    mid = (n_lo + n_hi) // 2
    er = np.empty(n_b, dtype=np.float32)
    ei = np.empty(n_b, dtype=np.float32)
    for n in range(n_lo, n_hi):
        for p in range(n_p):
            for b in range(n_b):
                er[b] = 0.0
                ei[b] = 0.0
            for i in range(lh):
                for b in range(n_b):
                    er[b] += hr[p, i, b] * sym[n - i, b]
                    ei[b] += hi[p, i, b] * sym[n - i, b]
            for b in range(n_b):
                w = ok[n, b]
                dr = zr[n, p, b] - er[b]
                di = zi[n, p, b] - ei[b]
                res[b] += (dr * dr + di * di) * w
                pr = (zr[n, p, b] * er[b] + zi[n, p, b] * ei[b]) * w
                pi = (zi[n, p, b] * er[b] - zr[n, p, b] * ei[b]) * w
                if n < mid:
                    z1r[b] += pr
                    z1i[b] += pi
                else:
                    z2r[b] += pr
                    z2i[b] += pi


def _correlation_energy_py(yr: Any, yi: Any, c: Any, sps: int, en: Any) -> None:  # pragma: no cover
    """en[b, d] = |sum_k c[b, k] y[b, d + k*sps]|^2 (compiled by numba)."""
    n_b, n_lags = en.shape
    n_k = c.shape[1]
    for b in range(n_b):
        for d in range(n_lags):
            ar = 0.0
            ai = 0.0
            for k in range(n_k):
                ar += c[b, k] * yr[b, d + k * sps]
                ai += c[b, k] * yi[b, d + k * sps]
            en[b, d] = ar * ar + ai * ai


def correlation_energy(ys: npt.NDArray[np.complex64], c: F32, sps: int, n_lags: int) -> F32:
    """Energy of the correlation of each row of ys (N, >= n_lags + K*sps) with the
    +-1 sequence c (N, K) sampled every sps samples, at lags 0 .. n_lags-1."""
    n_b = ys.shape[0]
    if use_numba():
        en = np.empty((n_b, n_lags), dtype=np.float32)
        yr = np.ascontiguousarray(ys.real, dtype=np.float32)
        yi = np.ascontiguousarray(ys.imag, dtype=np.float32)
        jit(_correlation_energy_py)(yr, yi, np.ascontiguousarray(c, dtype=np.float32), sps, en)
        return en
    k = c.shape[1]
    view = np.lib.stride_tricks.sliding_window_view(ys, k * sps, axis=1)[:, :n_lags, ::sps]  # (N, D, K)
    corr = np.einsum("ndk,nk->nd", view, c.astype(np.complex64))
    return np.asarray(corr.real**2 + corr.imag**2, dtype=np.float32)


def _stack(sym: F32, lh: int, n_lo: int, n_hi: int) -> F32:
    """(N, K, Lh) matrix of symbols c[n - i] for n_lo <= n < n_hi."""
    n = np.arange(n_lo, n_hi)
    return np.stack([sym[n - i].T for i in range(lh)], axis=2)


def ls_channel(
    zr: F32, zi: F32, ok: F32, sym: F32, lh: int, n_lo: int, n_hi: int
) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.float64]]:
    """Least-squares taps (N, P, Lh) and the noise variance per complex sample (N,)
    over the periods n_lo..n_hi-1 (n_lo >= Lh - 1)."""
    _, n_p, n_b = zr.shape
    if use_numba():
        ata32 = np.zeros((lh, lh, n_b), dtype=np.float32)
        atr = np.zeros((lh, n_p, n_b), dtype=np.float32)
        ati = np.zeros((lh, n_p, n_b), dtype=np.float32)
        zz = np.zeros(n_b, dtype=np.float32)
        jit(_normal_equations_py)(zr, zi, ok, sym, lh, n_lo, n_hi, ata32, atr, ati, zz)
        for i in range(lh):
            for k in range(i):
                ata32[i, k] = ata32[k, i]
        ata = ata32.transpose(2, 0, 1).astype(np.float64)  # (N, Lh, Lh)
        aty = (atr + 1j * ati).transpose(2, 0, 1).astype(np.complex128)  # (N, Lh, P)
        zzf = zz.astype(np.float64)
    else:
        cm = _stack(sym, lh, n_lo, n_hi).astype(np.float64)
        w = ok[n_lo:n_hi].T.astype(np.float64)[:, :, None]
        z = (zr[n_lo:n_hi] + 1j * zi[n_lo:n_hi]).transpose(2, 0, 1).astype(np.complex128)  # (N, K, P)
        ata = np.matmul(cm.transpose(0, 2, 1), cm * w)
        aty = np.matmul(cm.transpose(0, 2, 1).astype(np.complex128), z * w)
        zzf = np.sum(np.abs(z) ** 2 * w, axis=(1, 2))
    ata = ata + 1e-6 * np.eye(lh)
    hl = np.linalg.solve(ata.astype(np.complex128), aty)  # (N, Lh, P)
    # |z - A h|^2 = |z|^2 - 2 Re(h^H A^T z) + h^H A^T A h, summed over polyphases
    res = zzf - 2.0 * np.sum((np.conj(hl) * aty).real, axis=(1, 2))
    res += np.sum((np.conj(hl) * np.matmul(ata, hl)).real, axis=(1, 2))
    used = np.maximum(np.sum(ok[n_lo:n_hi], axis=0), lh + 1)
    return hl.transpose(0, 2, 1).astype(np.complex64), np.maximum(res, 0.0) / (n_p * (used - lh))


def residual_and_drift(
    zr: F32, zi: F32, ok: F32, sym: F32, h: npt.NDArray[np.complex64], n_lo: int, n_hi: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.complex128], npt.NDArray[np.complex128]]:
    """(residual energy, sum of z conj(rebuilt) over the first half, over the
    second half) of each burst, z rebuilt from taps h (N, P, Lh) and the symbols."""
    n_b = zr.shape[2]
    if use_numba():
        hr = np.ascontiguousarray(h.real.transpose(1, 2, 0), dtype=np.float32)
        hi = np.ascontiguousarray(h.imag.transpose(1, 2, 0), dtype=np.float32)
        out = np.zeros((5, n_b), dtype=np.float32)
        kernel = jit(_residual_and_drift_py)
        kernel(zr, zi, ok, sym, hr, hi, n_lo, n_hi, out[0], out[1], out[2], out[3], out[4])
        o = out.astype(np.float64)
        return o[0], o[1] + 1j * o[2], o[3] + 1j * o[4]
    cm = _stack(sym, h.shape[2], n_lo, n_hi).astype(np.complex64)
    rebuilt = np.matmul(cm, h.transpose(0, 2, 1))  # (N, K, P)
    w = ok[n_lo:n_hi].T
    zz = (zr[n_lo:n_hi] + 1j * zi[n_lo:n_hi]).transpose(2, 0, 1)
    d = (zz - rebuilt) * w[:, :, None]
    prod = np.sum(zz * np.conj(rebuilt), axis=2) * w
    mid = (n_hi - n_lo) // 2
    return (
        np.sum(d.real**2 + d.imag**2, axis=(1, 2)).astype(np.float64),
        np.sum(prod[:, :mid], axis=1).astype(np.complex128),
        np.sum(prod[:, mid:], axis=1).astype(np.complex128),
    )


def drift_hz(
    z1: npt.NDArray[np.complex128], z2: npt.NDArray[np.complex128], half_periods: float, symbol_rate_hz: float
) -> npt.NDArray[np.float64]:
    """Carrier frequency from the phase turn between the two halves' correlations,
    whose centres are ``half_periods`` symbol periods apart."""
    cycles = np.angle(z2 * np.conj(z1)) / (2.0 * math.pi * half_periods)
    return np.asarray(cycles * symbol_rate_hz, dtype=np.float64)
