"""MLSE equaliser with soft output for a binary ISI channel, vectorised over
many sequences: max-log-MAP (forward/backward Viterbi recursions) on the
trellis of the channel memory.

Model (GMSK after derotation is a BPSK-like signal, see `gmsk.py`): at step m
the observation, ``P`` complex samples (polyphases of one symbol period), is

    y[m, p] = sum_(j=0..M) h[p, j] * c[m - j] + noise,   c = 2*x - 1, x in {0, 1}

with channel memory ``M = Lh - 1`` and complex white Gaussian noise of
variance ``sigma2`` per sample. The trellis state after step m is
``(x[m], ..., x[m-M+1])``; hypothesis index at step m packs
``(x[m], x[m-1], ..., x[m-M])`` with ``x[m]`` as the most significant bit.

Branch metric: ``-|y - E(hyp)|^2 / sigma2`` summed over polyphases, computed for
all steps at once as ``(2 Re(y . conj E) - |E|^2) / sigma2`` (|y|^2 dropped).
The output for each step is the max-log LLR of ``x[m]``:
``max(paths with x[m] = 1) - max(paths with x[m] = 0)``, positive = 1, in units
of natural log-likelihood, so soft values of bursts received at different SNR
combine correctly in the channel decoder.

Path metrics are not renormalised: they grow by at most the sum of the branch
metrics of a sequence, which float32 represents with ample relative precision.

Known symbols (tail bits) are imposed by excluding the other hypotheses; steps
without an observation (outside the captured window) contribute nothing.

TS 45.005 sets only the receiver's performance, not its algorithm; this MLSE
is hand-written because no Python library offers a batched soft-output
equaliser for it. Two implementations, tested equal, both on planar float32
arrays with the sequence index innermost: the numpy formulation (the default:
one array operation per trellis step over all sequences of a batch) and a
numba kernel (SIMD over sequences, in cache-sized chunks), used when the
environment sets ``FBSDETECT_NUMBA=1``. numba is off by default because
importing it and loading its cached kernels costs ~0.7 s per process, more
than it saves on a recording of a few minutes (the numpy path is 2-4x slower
per burst). A brute-force test checks the LLRs against path enumeration.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
"""numba is installed (it is imported only when `use_numba` says so)."""

_NEG = np.float32(-1e30)


def use_numba() -> bool:
    """Whether the compiled kernels are used: numba installed and
    ``FBSDETECT_NUMBA=1`` in the environment."""
    return HAVE_NUMBA and os.environ.get("FBSDETECT_NUMBA", "") == "1"


@functools.cache
def jit(fn: Callable[..., None]) -> Any:
    """`fn` compiled by numba (imported here, on first use; kernels cached on disk)."""
    import numba

    return numba.njit(cache=True, nogil=True, fastmath=True)(fn)


def hypothesis_symbols(memory: int) -> npt.NDArray[np.float32]:
    """(Lh, 2^Lh) matrix: symbol c[m-j] (+-1) of each hypothesis index."""
    lh = memory + 1
    hyp = np.arange(1 << lh)
    j = np.arange(lh)[:, None]
    return (2.0 * ((hyp[None, :] >> (memory - j)) & 1) - 1.0).astype(np.float32)


def mlse_soft_numpy(
    obs: npt.NDArray[np.complex64],
    h: npt.NDArray[np.complex64],
    sigma2: npt.NDArray[np.float32],
    init_state: npt.NDArray[np.int64],
    known: npt.NDArray[np.int8],
    valid: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """Soft symbols (max-log LLR, positive = bit 1) of B sequences, numpy.

    obs: (T, B, P) observations; h: (B, P, Lh) channel taps (tap j acts on the
    symbol j steps back); sigma2: (B,) noise variance per complex sample;
    init_state: (B,) state before step 0 (``x[-1]`` most significant);
    known: (T,) per step: -1 unknown symbol, 0 or 1 a known bit (same for all
    sequences); valid: (T, B) whether the observation of that step exists.
    Returns (T, B) float32.
    """
    o = np.asarray(obs).transpose(0, 2, 1)  # (T, P, B)
    hh = np.asarray(h).transpose(1, 2, 0)  # (P, Lh, B)
    inv = (1.0 / np.maximum(np.asarray(sigma2, dtype=np.float64), 1e-30)).astype(np.float32)
    return _mlse_planar_numpy(
        np.ascontiguousarray(o.real, dtype=np.float32), np.ascontiguousarray(o.imag, dtype=np.float32),
        np.ascontiguousarray(hh.real, dtype=np.float32), np.ascontiguousarray(hh.imag, dtype=np.float32),
        inv, np.asarray(init_state, dtype=np.int64), np.asarray(known),
        np.asarray(valid, dtype=np.float32))


def _mlse_planar_numpy(
    yr: npt.NDArray[np.float32], yi: npt.NDArray[np.float32], hr: npt.NDArray[np.float32],
    hi: npt.NDArray[np.float32], inv: npt.NDArray[np.float32], init_state: npt.NDArray[np.int64],
    known: npt.NDArray[Any], valid: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """The numpy formulation on the kernel's planar layout (arguments as
    `_mlse_kernel_py`): every array operation covers all B sequences, so a
    trellis step costs a few numpy calls whatever the batch size."""
    t_len, n_p, b_len = yr.shape
    lh = hr.shape[1]
    memory = lh - 1
    n_states = 1 << memory
    n_hyp = 1 << lh
    symt = np.ascontiguousarray(hypothesis_symbols(memory).T)  # (n_hyp, Lh)
    # u[m, j] = 2 Re(sum_p y[m, p] conj(h[p, j])) / sigma2, so that the cross term
    # of hypothesis k is sum_j c_j(k) u[m, j]
    u = np.empty((t_len, lh, b_len), dtype=np.float32)
    tmp = np.empty((t_len, b_len), dtype=np.float32)
    w = (2.0 * inv).astype(np.float32)
    for j in range(lh):
        uj = u[:, j]
        np.multiply(yr[:, 0], hr[0, j], out=uj)
        for p in range(n_p):
            if p:
                np.multiply(yr[:, p], hr[p, j], out=tmp)
                uj += tmp
            np.multiply(yi[:, p], hi[p, j], out=tmp)
            uj += tmp
        uj *= w
    energy = np.zeros((n_hyp, b_len), dtype=np.float32)  # |E(k)|^2 / sigma2
    for p in range(n_p):
        er = symt @ hr[p]
        ei = symt @ hi[p]
        energy += er * er + ei * ei
    energy *= inv
    # branch metrics: the cross terms of all hypotheses by a butterfly over the
    # taps (x[m] the most significant bit: each tap doubles the hypotheses)
    gamma = u[:, :1]
    for j in range(lh):
        g = np.empty((t_len, gamma.shape[1], 2, b_len), dtype=np.float32)
        src = gamma if j else np.zeros((t_len, 1, b_len), dtype=np.float32)
        np.subtract(src, u[:, j:j + 1], out=g[:, :, 0])
        np.add(src, u[:, j:j + 1], out=g[:, :, 1])
        gamma = g.reshape(t_len, -1, b_len)
    gamma -= energy
    gamma *= valid[:, None, :]
    msb = np.arange(n_hyp) >> memory
    for step in np.nonzero(known >= 0)[0]:
        gamma[step, msb != known[step]] = _NEG
    # forward: hypothesis k = 2 s' + e leads to state s' = k >> 1 from state k & mask;
    # seen as (2, S) the second index of k is k & mask
    alpha = np.empty((t_len + 1, n_states, b_len), dtype=np.float32)
    alpha[0] = _NEG
    alpha[0, init_state, np.arange(b_len)] = 0.0
    cand = np.empty((n_hyp, b_len), dtype=np.float32)
    by_msb = cand.reshape(2, n_states, b_len)  # [x[m], state before]
    by_new = cand.reshape(n_states, 2, b_len)  # [state after, x[m - M]]
    for m in range(t_len):
        np.add(gamma[m].reshape(2, n_states, b_len), alpha[m], out=by_msb)
        np.maximum(by_new[:, 0], by_new[:, 1], out=alpha[m + 1])
    # backward (free end state): beta_m[s] = max_x gamma[x S + s] + beta_(m+1)[(x S + s) >> 1]
    beta = np.empty((t_len + 1, n_states, b_len), dtype=np.float32)
    beta[t_len] = 0.0
    for m in range(t_len - 1, -1, -1):
        np.add(gamma[m].reshape(n_states, 2, b_len), beta[m + 1][:, None, :], out=by_new)
        np.maximum(by_msb[0], by_msb[1], out=beta[m])
    # LLR of x[m]: max over k of alpha_m[k & mask] + gamma[k] + beta_(m+1)[k >> 1], by x[m]
    total = gamma.reshape(t_len, 2, n_states, b_len)
    total += alpha[:t_len, None]
    gamma.reshape(t_len, n_states, 2, b_len)[...] += beta[1:, :, None]
    return np.asarray(total[:, 1].max(axis=1) - total[:, 0].max(axis=1), dtype=np.float32)


def _mlse_kernel_py(
    yr: Any, yi: Any, hr: Any, hi: Any, inv: Any, init_state: Any, known: Any, valid: Any, sym: Any,
    out: Any, chunk: int,
) -> None:  # pragma: no cover - compiled by numba; the numpy twin is mlse_soft_numpy
    """All sequences, planar layout with the sequence index innermost (SIMD over
    sequences), processed in chunks whose working set stays in cache.

    yr, yi: (T, P, B) observations; hr, hi: (P, Lh, B) taps; inv: (B,) 1/sigma2;
    init_state: (B,); known: (T,); valid: (T, B) as float 0/1; sym: (Lh, n_hyp);
    out: (T, B) LLRs.
    """
    t_len, n_p, b_len = yr.shape
    lh = hr.shape[1]
    memory = lh - 1
    n_states = 1 << memory
    n_hyp = 1 << lh
    mask = n_states - 1
    neg = np.float32(-1e30)
    energy = np.empty((n_hyp, chunk), dtype=np.float32)
    er = np.empty(chunk, dtype=np.float32)
    ei = np.empty(chunk, dtype=np.float32)
    gamma = np.empty((t_len, n_hyp, chunk), dtype=np.float32)
    u = np.empty((lh, chunk), dtype=np.float32)
    alpha = np.empty((t_len + 1, n_states, chunk), dtype=np.float32)
    beta = np.empty((n_states, chunk), dtype=np.float32)
    beta_new = np.empty((n_states, chunk), dtype=np.float32)
    best0 = np.empty(chunk, dtype=np.float32)
    best1 = np.empty(chunk, dtype=np.float32)
    # contiguous copies of one chunk (indexing the full arrays at c0 + c would
    # defeat vectorisation)
    ybr = np.empty((t_len, n_p, chunk), dtype=np.float32)
    ybi = np.empty((t_len, n_p, chunk), dtype=np.float32)
    hbr = np.empty((n_p, lh, chunk), dtype=np.float32)
    hbi = np.empty((n_p, lh, chunk), dtype=np.float32)
    invb = np.empty(chunk, dtype=np.float32)
    vb = np.empty((t_len, chunk), dtype=np.float32)
    ob = np.empty((t_len, chunk), dtype=np.float32)
    for c0 in range(0, b_len, chunk):
        cl = min(chunk, b_len - c0)
        for c in range(cl):
            invb[c] = inv[c0 + c]
        for m in range(t_len):
            for c in range(cl):
                vb[m, c] = valid[m, c0 + c]
            for p in range(n_p):
                for c in range(cl):
                    ybr[m, p, c] = yr[m, p, c0 + c]
                    ybi[m, p, c] = yi[m, p, c0 + c]
        for p in range(n_p):
            for j in range(lh):
                for c in range(cl):
                    hbr[p, j, c] = hr[p, j, c0 + c]
                    hbi[p, j, c] = hi[p, j, c0 + c]
        # |E|^2 / sigma2 of every hypothesis (x[m] is the MSB, tap j on x[m-j])
        for k in range(n_hyp):
            for c in range(cl):
                energy[k, c] = 0.0
            for p in range(n_p):
                for c in range(cl):
                    er[c] = 0.0
                    ei[c] = 0.0
                for j in range(lh):
                    sj = sym[j, k]
                    for c in range(cl):
                        er[c] += sj * hbr[p, j, c]
                        ei[c] += sj * hbi[p, j, c]
                for c in range(cl):
                    energy[k, c] += (er[c] * er[c] + ei[c] * ei[c]) * invb[c]
        # branch metrics (2 Re(y conj E) - |E|^2) / sigma2, Re(y conj E) = sum_j c_j u_j
        for m in range(t_len):
            for j in range(lh):
                for c in range(cl):
                    u[j, c] = 0.0
                for p in range(n_p):
                    for c in range(cl):
                        u[j, c] += ybr[m, p, c] * hbr[p, j, c] + ybi[m, p, c] * hbi[p, j, c]
                for c in range(cl):
                    u[j, c] *= 2.0 * invb[c] * vb[m, c]
            for k in range(n_hyp):
                for c in range(cl):
                    gamma[m, k, c] = -energy[k, c] * vb[m, c]
                for j in range(lh):
                    sj = sym[j, k]
                    for c in range(cl):
                        gamma[m, k, c] += sj * u[j, c]
            kb = known[m]
            if kb >= 0:
                for k in range(n_hyp):
                    if (k >> memory) != kb:
                        for c in range(cl):
                            gamma[m, k, c] = neg
        # forward
        for s in range(n_states):
            for c in range(cl):
                alpha[0, s, c] = neg
        for c in range(cl):
            alpha[0, init_state[c0 + c], c] = 0.0
        for m in range(t_len):
            for s_new in range(n_states):
                k0 = 2 * s_new
                k1 = k0 + 1
                p0 = k0 & mask
                p1 = k1 & mask
                for c in range(cl):
                    a0 = alpha[m, p0, c] + gamma[m, k0, c]
                    a1 = alpha[m, p1, c] + gamma[m, k1, c]
                    alpha[m + 1, s_new, c] = max(a0, a1)
        # backward (free end state), with the LLR of each step on the fly
        for s in range(n_states):
            for c in range(cl):
                beta[s, c] = 0.0
        for m in range(t_len - 1, -1, -1):
            for c in range(cl):
                best0[c] = 2 * neg
                best1[c] = 2 * neg
            for k in range(n_states):
                k1 = k + n_states
                n0 = k >> 1
                n1 = k1 >> 1
                for c in range(cl):
                    a = alpha[m, k, c]
                    g0 = gamma[m, k, c] + beta[n0, c]
                    g1 = gamma[m, k1, c] + beta[n1, c]
                    best0[c] = max(best0[c], a + g0)
                    best1[c] = max(best1[c], a + g1)
                    beta_new[k, c] = max(g0, g1)
            for c in range(cl):
                ob[m, c] = best1[c] - best0[c]
            for s in range(n_states):
                for c in range(cl):
                    beta[s, c] = beta_new[s, c]
        for m in range(t_len):
            for c in range(cl):
                out[m, c0 + c] = ob[m, c]


_CHUNK = 128
"""Sequences per pass of the kernel: the working set (T x 32 x chunk floats) stays in cache."""

def mlse_soft_planar(
    yr: npt.NDArray[np.float32],
    yi: npt.NDArray[np.float32],
    hr: npt.NDArray[np.float32],
    hi: npt.NDArray[np.float32],
    sigma2: npt.NDArray[np.float64],
    init_state: npt.NDArray[np.int64],
    known: npt.NDArray[np.int8],
    valid: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """`mlse_soft` on planar float32 arrays, sequence index last: observations
    yr, yi (T, P, B), taps hr, hi (P, Lh, B), valid (T, B) as 0/1. Returns (T, B)."""
    inv = (1.0 / np.maximum(np.asarray(sigma2, dtype=np.float64), 1e-30)).astype(np.float32)
    yr, yi, hr, hi = (np.ascontiguousarray(a, dtype=np.float32) for a in (yr, yi, hr, hi))
    init = np.ascontiguousarray(init_state, dtype=np.int64)
    ok = np.ascontiguousarray(valid, dtype=np.float32)
    if not use_numba():
        return _mlse_planar_numpy(yr, yi, hr, hi, inv, init, np.asarray(known), ok)
    out = np.empty((yr.shape[0], yr.shape[2]), dtype=np.float32)
    jit(_mlse_kernel_py)(yr, yi, hr, hi, inv, init, np.ascontiguousarray(known, dtype=np.int64), ok,
                         hypothesis_symbols(hr.shape[1] - 1), out, _CHUNK)
    return out


def mlse_soft(
    obs: npt.NDArray[np.complex64],
    h: npt.NDArray[np.complex64],
    sigma2: npt.NDArray[np.float32],
    init_state: npt.NDArray[np.int64],
    known: npt.NDArray[np.int8],
    valid: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """Soft symbols (max-log LLR, positive = bit 1), see `mlse_soft_numpy` for the
    arguments; the numba kernel when `use_numba` (same results)."""
    if not use_numba():
        return mlse_soft_numpy(obs, h, sigma2, init_state, known, valid)
    o = np.asarray(obs).transpose(0, 2, 1)  # (T, P, B)
    hh = np.asarray(h).transpose(1, 2, 0)  # (P, Lh, B)
    return mlse_soft_planar(
        o.real.astype(np.float32),
        o.imag.astype(np.float32),
        hh.real.astype(np.float32),
        hh.imag.astype(np.float32),
        np.asarray(sigma2, dtype=np.float64),
        np.asarray(init_state, dtype=np.int64),
        known,
        np.asarray(valid, dtype=np.float32),
    )
