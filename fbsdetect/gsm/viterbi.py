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
step does one add-compare-select over an (N, 16) array, and the traceback
walks all N survivors at once.

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
    """
    s = np.asarray(soft, dtype=np.float32)
    if s.ndim != 2 or s.shape[1] % 2:
        raise ValueError(f"viterbi_decode: expected (N, 2L) soft bits, got shape {s.shape}")
    n, two_l = s.shape
    length = two_l // 2
    # Branch metrics per step, (L, N, 4) for outputs (c0, c1) = 00, 01, 10, 11.
    s0 = np.ascontiguousarray(s[:, 0::2].T)
    s1 = np.ascontiguousarray(s[:, 1::2].T)
    bm = np.empty((length, n, 4), dtype=np.float32)
    bm[:, :, 0] = -s0 - s1
    bm[:, :, 1] = -s0 + s1
    bm[:, :, 2] = s0 - s1
    bm[:, :, 3] = s0 + s1
    pm = np.full((n, N_STATES), -np.inf, dtype=np.float32)
    pm[:, 0] = 0.0
    decisions = np.empty((length, n, N_STATES), dtype=bool)
    for k in range(length):
        b = bm[k]
        cand0 = pm[:, _PRED0] + b[:, _BM_IDX0]
        cand1 = pm[:, _PRED1] + b[:, _BM_IDX1]
        d = cand1 > cand0
        decisions[k] = d
        pm = np.where(d, cand1, cand0)
    # Traceback from state 0 (terminated code).
    out = np.empty((n, length), dtype=np.uint8)
    state = np.zeros(n, dtype=np.intp)
    rows = np.arange(n)
    for k in range(length - 1, -1, -1):
        out[:, k] = state >> 3
        state = ((state & 7) << 1) | decisions[k, rows, state]
    return out
