"""The rate-1/2, constraint-length-5 convolutional code of TS 45.003 (4.1.3,
also used by the SCH in 4.7) and its soft-decision Viterbi decoder.

Generators (TS 45.003 4.1.3)::

    G0 = 1 + D^3 + D^4      c(2k)   = u(k) + u(k-3) + u(k-4)
    G1 = 1 + D + D^3 + D^4  c(2k+1) = u(k) + u(k-1) + u(k-3) + u(k-4)

with u(k) = 0 for k < 0. Blocks are terminated by 4 zero tail bits that are
part of `u`, so the encoder starts and ends in state 0.

Encoder state after input u(k-1): ``s = u(k-1)<<3 | u(k-2)<<2 | u(k-3)<<1 | u(k-4)``;
input b moves it to ``(b<<3) | (s>>1)``. The predecessors of state s' are
``((s' & 7) << 1) | x`` for x in {0, 1} and the input bit is ``s' >> 3``.

The decoder works on soft bits (float32, positive = bit 1, magnitude =
reliability, 0 = erasure) and maximises the correlation between the soft
input and the +-1 code word; it is vectorised over N blocks: each trellis
step does one add-compare-select over planar (16, N) arrays (three numpy
calls, no gathers; see `viterbi_decode`), and the traceback walks all N
survivors at once.

Hand-written numpy (no library offers a soft-input, batch-vectorised decoder
for this code); tested against libosmocoding's coder in tests/gsm.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

N_STATES = 16

_S = np.arange(N_STATES)
# Predecessor x=0 / x=1 of each next state s'
_PRED0 = (_S & 7) << 1
_PRED1 = _PRED0 | 1
_IN = _S >> 3  # input bit that leads into s'


def _outputs(prev: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u1 = (prev >> 3) & 1
    u3 = (prev >> 1) & 1
    u4 = prev & 1
    return b ^ u3 ^ u4, b ^ u1 ^ u3 ^ u4


_C0_P0, _C1_P0 = _outputs(_PRED0, _IN)
_C0_P1, _C1_P1 = _outputs(_PRED1, _IN)
# Index into the 4 branch metrics [(-,-), (-,+), (+,-), (+,+)] = 2*c0 + c1
_BM_IDX0 = (2 * _C0_P0 + _C1_P0).astype(np.intp)
_BM_IDX1 = (2 * _C0_P1 + _C1_P1).astype(np.intp)
# ... and of branch k = b << 4 | s (input b from previous state s), the layout of
# `viterbi_decode`: k = 2 s' + x reaches s' = k >> 1 from s = k & 15
_K = np.arange(2 * N_STATES)
_C0_K, _C1_K = _outputs(_K & 15, _K >> 4)
_BM_IDX_K = (2 * _C0_K + _C1_K).astype(np.intp)


def conv_encode(u: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Encode bits u (N, L) (tail bits included) -> (N, 2L) uint8."""
    a = np.asarray(u, dtype=np.uint8)
    if a.ndim != 2:
        raise ValueError(f"conv_encode: expected (N, L) bits, got shape {a.shape}")
    n, length = a.shape
    p = np.zeros((n, length + 4), dtype=np.uint8)
    p[:, 4:] = a & 1
    u0, u1, u3, u4 = p[:, 4:], p[:, 3:-1], p[:, 1:-3], p[:, 0:-4]
    out = np.empty((n, 2 * length), dtype=np.uint8)
    out[:, 0::2] = u0 ^ u3 ^ u4
    out[:, 1::2] = u0 ^ u1 ^ u3 ^ u4
    return out


def viterbi_decode(soft: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Maximum-likelihood decoding of terminated code words.

    `soft` is (N, 2L) float (positive = 1). Returns the decoded bits u (N, L),
    tail bits included; the path is forced to start and end in state 0.

    Layout (as the equaliser's, `dsp.equalizer`): arrays are planar with the
    block index innermost, and a branch is indexed by ``k = b << 4 | s``
    (input bit b, previous state s), so the next state is ``k >> 1`` and the
    predecessors of s' are ``k = 2 s' + x``: one add-compare-select step is an
    add over ``(2, 16, N)`` (viewed as [b, s]) followed by a compare of the
    two halves of the ``(16, 2, N)`` view (x = u(k-4)) -- no gathers in the
    loop. Same additions and comparisons as the textbook form, so the same
    bits, ties included (the x = 1 predecessor wins only when strictly better).
    """
    s = np.asarray(soft, dtype=np.float32)
    if s.ndim != 2 or s.shape[1] % 2:
        raise ValueError(f"viterbi_decode: expected (N, 2L) soft bits, got shape {s.shape}")
    n, two_l = s.shape
    length = two_l // 2
    # branch metrics of the 4 output pairs (c0, c1) = 00, 01, 10, 11: (L, 4, N)
    s0 = s[:, 0::2].T
    s1 = s[:, 1::2].T
    bm = np.empty((length, 4, n), dtype=np.float32)
    np.subtract(np.negative(s0), s1, out=bm[:, 0])
    np.subtract(s1, s0, out=bm[:, 1])
    np.subtract(s0, s1, out=bm[:, 2])
    np.add(s0, s1, out=bm[:, 3])
    gamma = bm[:, _BM_IDX_K]  # (L, 32, N) by branch k
    pm = np.full((N_STATES, n), -np.inf, dtype=np.float32)
    pm[0] = 0.0
    decisions = np.empty((length, N_STATES, n), dtype=bool)
    cand = np.empty((2 * N_STATES, n), dtype=np.float32)
    by_bs = cand.reshape(2, N_STATES, n)  # [b, previous state]
    by_next = cand.reshape(N_STATES, 2, n)  # [next state, x]
    for k in range(length):
        np.add(gamma[k].reshape(2, N_STATES, n), pm, out=by_bs)
        np.greater(by_next[:, 1], by_next[:, 0], out=decisions[k])
        np.maximum(by_next[:, 0], by_next[:, 1], out=pm)
    # Traceback from state 0 (terminated code).
    out = np.empty((n, length), dtype=np.uint8)
    state = np.zeros(n, dtype=np.intp)
    cols = np.arange(n)
    for k in range(length - 1, -1, -1):
        out[:, k] = state >> 3
        state = ((state & 7) << 1) | decisions[k, state, cols]
    return out
