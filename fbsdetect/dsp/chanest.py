"""Decision-directed helpers of the burst demodulator, vectorised over bursts:
least-squares channel estimation over a whole burst and the residual carrier
frequency seen between its two halves.

Model as in `burst.py`: the samples of symbol period n are
``z[n, p] = sum_(i<Lh) h[p, i] * c[n - i] + noise`` with known or decided
symbols ``c = +-1``. Both functions use the periods ``n_lo <= n < n_hi`` whose
samples exist (``ok``). Compiled with numba when available (numpy otherwise).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.equalizer import HAVE_NUMBA, numba


def _normal_equations_py(
    z: Any, ok: Any, sym: Any, lh: int, n_lo: int, n_hi: int, ata: Any, aty: Any, zz: Any
) -> None:  # pragma: no cover - compiled by numba
    """ata (N, Lh, Lh) = A^T A, aty (N, Lh, P) = A^T z, zz (N,) = |z|^2 over the
    used periods (ok as 0/1 floats); inner loops over n vectorise."""
    n_b, _, n_p = z.shape
    for b in range(n_b):
        for i in range(lh):
            for k in range(i, lh):
                acc = 0.0
                for n in range(n_lo, n_hi):
                    acc += sym[b, n - i] * sym[b, n - k] * ok[b, n]
                ata[b, i, k] = acc
                ata[b, k, i] = acc
            for p in range(n_p):
                acc_r = 0.0
                acc_i = 0.0
                for n in range(n_lo, n_hi):
                    w = sym[b, n - i] * ok[b, n]
                    acc_r += w * z[b, n, p].real
                    acc_i += w * z[b, n, p].imag
                aty[b, i, p] = complex(acc_r, acc_i)
        e = 0.0
        for n in range(n_lo, n_hi):
            for p in range(n_p):
                v = z[b, n, p]
                e += (v.real * v.real + v.imag * v.imag) * ok[b, n]
        zz[b] = e


def _residual_and_drift_py(
    z: Any, ok: Any, sym: Any, h: Any, n_lo: int, n_hi: int, res: Any, z1: Any, z2: Any
) -> None:  # pragma: no cover - compiled by numba
    """res (N,): sum |z - rebuilt|^2; z1, z2 (N,): sum z conj(rebuilt) over the
    first and second half of the used periods."""
    n_b, _, n_p = z.shape
    lh = h.shape[2]
    mid = (n_lo + n_hi) // 2
    for b in range(n_b):
        acc1 = 0j
        acc2 = 0j
        r = 0.0
        for n in range(n_lo, n_hi):
            if not ok[b, n]:
                continue
            for p in range(n_p):
                e = 0j
                for i in range(lh):
                    e += h[b, p, i] * sym[b, n - i]
                d = z[b, n, p] - e
                r += d.real * d.real + d.imag * d.imag
                prod = z[b, n, p] * np.conj(e)
                if n < mid:
                    acc1 += prod
                else:
                    acc2 += prod
        res[b] = r
        z1[b] = acc1
        z2[b] = acc2


if HAVE_NUMBA:
    _normal_equations = numba.njit(cache=True, nogil=True, fastmath=True)(_normal_equations_py)
    _residual_and_drift = numba.njit(cache=True, nogil=True, fastmath=True)(_residual_and_drift_py)


def _stack(sym: npt.NDArray[np.float32], lh: int, n_lo: int, n_hi: int) -> npt.NDArray[np.float32]:
    n = np.arange(n_lo, n_hi)
    return np.stack([sym[:, n - i] for i in range(lh)], axis=2)  # (N, K, Lh)


def ls_channel(
    z: npt.NDArray[np.complex64],
    ok: npt.NDArray[np.bool_],
    sym: npt.NDArray[np.float32],
    lh: int,
    n_lo: int,
    n_hi: int,
) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.float64]]:
    """Least-squares taps (N, P, Lh) and the noise variance per complex sample
    (N,) from z (N, n_per, P), symbols sym (N, >= n_hi) in +-1, over the periods
    n_lo..n_hi-1 (n_lo >= Lh - 1)."""
    n_b, _, n_p = z.shape
    if HAVE_NUMBA:
        ata = np.zeros((n_b, lh, lh), dtype=np.float64)
        aty = np.zeros((n_b, lh, n_p), dtype=np.complex128)
        zz = np.zeros(n_b)
        _normal_equations(z, ok.astype(np.float32), sym.astype(np.float32), lh, n_lo, n_hi, ata, aty, zz)
    else:
        cm = _stack(sym, lh, n_lo, n_hi).astype(np.float64)
        w = ok[:, n_lo:n_hi].astype(np.float64)[:, :, None]
        ata = np.matmul(cm.transpose(0, 2, 1), cm * w)
        aty = np.matmul(cm.transpose(0, 2, 1).astype(np.complex128), z[:, n_lo:n_hi] * w)
        zz = np.sum(np.abs(z[:, n_lo:n_hi]) ** 2 * w, axis=(1, 2))
    ata += 1e-6 * np.eye(lh)
    hl = np.linalg.solve(ata.astype(np.complex128), aty)  # (N, Lh, P)
    # residual |z - A h|^2 = |z|^2 - 2 Re(h^H A^T z) + h^H A^T A h (per polyphase, summed)
    res = zz - 2.0 * np.sum((np.conj(hl) * aty).real, axis=(1, 2))
    res += np.sum((np.conj(hl) * np.matmul(ata, hl)).real, axis=(1, 2))
    used = np.maximum(np.sum(ok[:, n_lo:n_hi], axis=1), lh + 1)
    return hl.transpose(0, 2, 1).astype(np.complex64), np.maximum(res, 0.0) / (n_p * (used - lh))


def residual_and_drift(
    z: npt.NDArray[np.complex64],
    ok: npt.NDArray[np.bool_],
    sym: npt.NDArray[np.float32],
    h: npt.NDArray[np.complex64],
    n_lo: int,
    n_hi: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.complex128], npt.NDArray[np.complex128]]:
    """(residual energy, sum of z conj(rebuilt) over the first half, over the
    second half) of each burst, rebuilding z from h and the symbols."""
    n_b = z.shape[0]
    if HAVE_NUMBA:
        res = np.zeros(n_b)
        z1 = np.zeros(n_b, dtype=np.complex128)
        z2 = np.zeros(n_b, dtype=np.complex128)
        _residual_and_drift(z, ok, sym.astype(np.float64), h.astype(np.complex128), n_lo, n_hi, res, z1, z2)
        return res, z1, z2
    cm = _stack(sym, h.shape[2], n_lo, n_hi).astype(np.complex64)
    rebuilt = np.matmul(cm, h.transpose(0, 2, 1))  # (N, K, P)
    w = ok[:, n_lo:n_hi]
    zz = z[:, n_lo:n_hi]
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
