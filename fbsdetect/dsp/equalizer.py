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

import numpy as np
import numpy.typing as npt

_NEG = np.float32(-1e30)


def hypothesis_symbols(memory: int) -> npt.NDArray[np.float32]:
    """(Lh, 2^Lh) matrix: symbol c[m-j] (+-1) of each hypothesis index."""
    lh = memory + 1
    hyp = np.arange(1 << lh)
    j = np.arange(lh)[:, None]
    return (2.0 * ((hyp[None, :] >> (memory - j)) & 1) - 1.0).astype(np.float32)


def mlse_soft(
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
