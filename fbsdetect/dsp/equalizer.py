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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

try:  # numba compiles the trellis loops (design: allowed for the Viterbi kernels)
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; keep a pure-numpy path
    numba = None  # type: ignore[assignment]
    HAVE_NUMBA = False

_NEG = np.float32(-1e30)


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
    """Soft symbols (max-log LLR, positive = bit 1) of B sequences.

    obs: (T, B, P) observations; h: (B, P, Lh) channel taps (tap j acts on the
    symbol j steps back); sigma2: (B,) noise variance per complex sample;
    init_state: (B,) state before step 0 (``x[-1]`` most significant);
    known: (T,) per step: -1 unknown symbol, 0 or 1 a known bit (same for all
    sequences); valid: (T, B) whether the observation of that step exists.
    Returns (T, B) float32.
    """
    t_len, b_len, _ = obs.shape
    lh = h.shape[2]
    memory = lh - 1
    n_states = 1 << memory
    n_hyp = 1 << lh
    half = n_states // 2
    sym = hypothesis_symbols(memory)  # (Lh, n_hyp)
    inv = (1.0 / np.maximum(sigma2, 1e-30)).astype(np.float32)
    # branch metrics: cross(hyp) = sum_j c_j(hyp) * u_j with u_j = sum_p Re(y_p conj(h_pj))
    hc = np.conj(h)  # (B, P, Lh)
    u = np.einsum("tbp,bpj->tbj", obs, hc).real.astype(np.float32)  # (T, B, Lh)
    u *= (2.0 * inv)[None, :, None]
    e = np.matmul(h, sym.astype(np.complex64))  # (B, P, n_hyp)
    energy = (np.sum(np.abs(e) ** 2, axis=1) * inv[:, None]).astype(np.float32)  # (B, n_hyp)
    gamma = np.matmul(u.reshape(t_len * b_len, lh), sym).reshape(t_len, b_len, n_hyp)
    gamma -= energy[None, :, :]
    gamma *= valid[:, :, None]
    msb = np.arange(n_hyp) >> memory
    for step in np.nonzero(known >= 0)[0]:
        gamma[step][:, msb != known[step]] = _NEG
    # forward: hyp = b*S + s (b = new bit, s = previous state), new state = hyp >> 1
    alpha = np.empty((t_len + 1, b_len, n_states), dtype=np.float32)
    alpha[0] = _NEG
    alpha[0][np.arange(b_len), init_state] = 0.0
    for m in range(t_len):
        cand = gamma[m].reshape(b_len, 2, n_states) + alpha[m][:, None, :]
        np.maximum(cand[:, :, 0::2], cand[:, :, 1::2], out=alpha[m + 1].reshape(b_len, 2, half))
    # backward (free end state): beta_m[s] = max_b gamma[b*S + s] + beta_(m+1)[b*S/2 + s//2]
    beta = np.empty((t_len + 1, b_len, n_states), dtype=np.float32)
    beta[t_len] = 0.0
    for m in range(t_len - 1, -1, -1):
        cand = gamma[m].reshape(b_len, 2, half, 2) + beta[m + 1].reshape(b_len, 2, half, 1)
        np.maximum(cand[:, 0], cand[:, 1], out=beta[m].reshape(b_len, half, 2))
    # LLR of the new bit: max over hyp of alpha_m[s] + gamma[hyp] + beta_(m+1)[hyp >> 1]
    total = gamma.reshape(t_len, b_len, 2, n_states) + alpha[:t_len][:, :, None, :]
    total += np.repeat(beta[1:].reshape(t_len, b_len, 2, half), 2, axis=3)
    best = total.max(axis=3)  # (T, B, 2)
    return np.asarray(best[:, :, 1] - best[:, :, 0], dtype=np.float32)


def _mlse_kernel_py(
    yr: Any, yi: Any, hr: Any, hi: Any, inv: Any, init_state: Any, known: Any, valid: Any, sym: Any, out: Any
) -> None:  # pragma: no cover - compiled by numba; the numpy twin is mlse_soft_numpy
    """One chunk of sequences, the sequence index innermost (SIMD over sequences).

    yr, yi: (T, P, C) observations; hr, hi: (P, Lh, C) taps; inv: (C,) 1/sigma2;
    init_state: (C,); known: (T,); valid: (T, C) as float 0/1; sym: (Lh, n_hyp);
    out: (T, C) LLRs.
    """
    t_len, n_p, c_len = yr.shape
    lh = hr.shape[1]
    memory = lh - 1
    n_states = 1 << memory
    n_hyp = 1 << lh
    neg = np.float32(-1e30)
    energy = np.zeros((n_hyp, c_len), dtype=np.float32)
    er = np.empty(c_len, dtype=np.float32)
    ei = np.empty(c_len, dtype=np.float32)
    for k in range(n_hyp):
        for p in range(n_p):
            er[:] = 0.0
            ei[:] = 0.0
            for j in range(lh):
                sj = sym[j, k]
                for c in range(c_len):
                    er[c] += sj * hr[p, j, c]
                    ei[c] += sj * hi[p, j, c]
            for c in range(c_len):
                energy[k, c] += (er[c] * er[c] + ei[c] * ei[c]) * inv[c]
    gamma = np.empty((t_len, n_hyp, c_len), dtype=np.float32)
    u = np.empty((lh, c_len), dtype=np.float32)
    for m in range(t_len):
        u[:, :] = 0.0
        for j in range(lh):
            for p in range(n_p):
                for c in range(c_len):
                    u[j, c] += yr[m, p, c] * hr[p, j, c] + yi[m, p, c] * hi[p, j, c]
            for c in range(c_len):
                u[j, c] *= 2.0 * inv[c] * valid[m, c]
        for k in range(n_hyp):
            for c in range(c_len):
                gamma[m, k, c] = -energy[k, c] * valid[m, c]
            for j in range(lh):
                sj = sym[j, k]
                for c in range(c_len):
                    gamma[m, k, c] += sj * u[j, c]
        kb = known[m]
        if kb >= 0:
            for k in range(n_hyp):
                if (k >> memory) != kb:
                    gamma[m, k, :] = neg
    alpha = np.empty((t_len + 1, n_states, c_len), dtype=np.float32)
    alpha[0, :, :] = neg
    for c in range(c_len):
        alpha[0, init_state[c], c] = 0.0
    mask = n_states - 1
    for m in range(t_len):
        for s_new in range(n_states):
            k0 = 2 * s_new
            k1 = k0 + 1
            p0 = k0 & mask
            p1 = k1 & mask
            for c in range(c_len):
                a0 = alpha[m, p0, c] + gamma[m, k0, c]
                a1 = alpha[m, p1, c] + gamma[m, k1, c]
                alpha[m + 1, s_new, c] = max(a0, a1)
    beta = np.zeros((n_states, c_len), dtype=np.float32)
    beta_new = np.empty((n_states, c_len), dtype=np.float32)
    best0 = np.empty(c_len, dtype=np.float32)
    best1 = np.empty(c_len, dtype=np.float32)
    for m in range(t_len - 1, -1, -1):
        best0[:] = 2 * neg
        best1[:] = 2 * neg
        for k in range(n_states):
            k1 = k + n_states
            n0 = k >> 1
            n1 = k1 >> 1
            for c in range(c_len):
                a = alpha[m, k, c]
                best0[c] = max(best0[c], a + gamma[m, k, c] + beta[n0, c])
                best1[c] = max(best1[c], a + gamma[m, k1, c] + beta[n1, c])
            for c in range(c_len):
                beta_new[k, c] = max(gamma[m, k, c] + beta[n0, c], gamma[m, k1, c] + beta[n1, c])
        for c in range(c_len):
            out[m, c] = best1[c] - best0[c]
        beta[:, :] = beta_new


_CHUNK = 128
"""Sequences per kernel call: the working set (T x 32 x chunk floats) stays in cache."""


def _mlse_chunks_py(
    yr: Any, yi: Any, hr: Any, hi: Any, inv: Any, st: Any, kn: Any, va: Any, sym: Any, out: Any
) -> None:  # pragma: no cover - compiled by numba
    """Arrays with a leading chunk axis, each chunk C-contiguous."""
    for k in range(yr.shape[0]):
        _mlse_kernel(yr[k], yi[k], hr[k], hi[k], inv[k], st[k], kn, va[k], sym, out[k])


_mlse_kernel: Any = numba.njit(cache=True, nogil=True, fastmath=True)(_mlse_kernel_py) if HAVE_NUMBA else None
_mlse_chunks: Any = numba.njit(cache=True, nogil=True)(_mlse_chunks_py) if HAVE_NUMBA else None


def mlse_soft(
    obs: npt.NDArray[np.complex64],
    h: npt.NDArray[np.complex64],
    sigma2: npt.NDArray[np.float32],
    init_state: npt.NDArray[np.int64],
    known: npt.NDArray[np.int8],
    valid: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """Soft symbols (max-log LLR, positive = bit 1), see `mlse_soft_numpy` for the
    arguments; compiled with numba when available (same results)."""
    if _mlse_kernel is None:
        return mlse_soft_numpy(obs, h, sigma2, init_state, known, valid)
    t_len, b_len, _ = obs.shape
    lh = h.shape[2]
    n_chunks = -(-b_len // _CHUNK)
    pad = n_chunks * _CHUNK - b_len

    def chunked(a: npt.NDArray[Any], axis_b: int) -> npt.NDArray[Any]:
        """Move the sequence axis last, pad it to whole chunks, chunk axis first."""
        a = np.moveaxis(a, axis_b, -1)
        if pad:
            a = np.concatenate([a, np.zeros((*a.shape[:-1], pad), dtype=a.dtype)], axis=-1)
        a = a.reshape(*a.shape[:-1], n_chunks, _CHUNK)
        return np.ascontiguousarray(np.moveaxis(a, -2, 0))

    o = np.asarray(obs)
    yr = chunked(o.real.astype(np.float32), 1)  # (K, T, P, C)
    yi = chunked(o.imag.astype(np.float32), 1)
    hr = chunked(np.asarray(h).real.astype(np.float32).transpose(1, 2, 0), 2)  # (K, P, Lh, C)
    hi = chunked(np.asarray(h).imag.astype(np.float32).transpose(1, 2, 0), 2)
    inv = (1.0 / np.maximum(np.asarray(sigma2, dtype=np.float64), 1e-30)).astype(np.float32)
    inv_c = chunked(inv, 0)  # (K, C)
    st_c = chunked(np.asarray(init_state, dtype=np.int64), 0)
    va_c = chunked(np.asarray(valid, dtype=np.float32), 1)  # (K, T, C)
    out = np.empty((n_chunks, t_len, _CHUNK), dtype=np.float32)
    sym = hypothesis_symbols(lh - 1)
    _mlse_chunks(yr, yi, hr, hi, inv_c, st_c, np.asarray(known, dtype=np.int64), va_c, sym, out)
    return np.moveaxis(out, 0, 1).reshape(t_len, n_chunks * _CHUNK)[:, :b_len]
