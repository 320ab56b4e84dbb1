"""GMSK of a continuous bit stream, sampled at arbitrary instants (TS 45.004).

The simulator needs each cell's signal at sample instants that are not on a
grid of whole samples per symbol (the receiver's sample clock is off by its
ppm error, the cell's symbol clock by the BTS's, and the propagation delay
shifts it), so `fbsdetect.dsp.gmsk.GmskModulator` (integer or evaluated
samples per symbol) is not enough and evaluating the closed-form phase per
sample is too slow. Here the signal within one symbol interval depends only
on the six modulating values around it and the quarter turns accumulated
before them (dsp/gmsk.py module docstring), so one table of
``64 patterns x 4 quarters x Q`` fractional positions gives any sample by one
lookup. Instants are rounded to 1/Q of a symbol (Q = 128: at most 1/256
symbol, 14 ns, of timing error, about -44 dB of error vector).

Conventions are those of `fbsdetect.dsp.gmsk.gmsk_at`: bit i is centred on
t = i (symbols); before the first bit the modulator is in the all-ones state;
``GmskStream.sample(t)`` equals ``gmsk_at(bits, t)`` up to the rounding.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.gmsk import BT, phase_pulse

Q_BITS = 7
Q = 1 << Q_BITS
"""Fractional positions per symbol interval in the table."""
_WIN = 6
_QUARTER0 = (-(_WIN - 1)) & 3
_QUAD = np.array([1, 1j, -1, -1j], dtype=np.complex128)


def _build_table(bt: float = BT) -> npt.NDArray[np.complex64]:
    tau = np.arange(Q) / Q
    w = phase_pulse(tau[None, :] + (_WIN // 2 - 1) - np.arange(_WIN)[:, None], bt)  # (6, Q)
    pats = np.arange(1 << _WIN)
    alpha = 1.0 - 2.0 * ((pats[:, None] >> np.arange(_WIN)[None, :]) & 1)  # (64, 6)
    ph = 0.5 * math.pi * (alpha @ w)  # (64, Q)
    table = _QUAD[None, :, None] * np.exp(1j * ph)[:, None, :]  # (64, 4, Q)
    return table.reshape(-1).astype(np.complex64)


TABLE = _build_table()
"""Flat table: index ``((pattern * 4 + quarter) << Q_BITS) + fraction``."""
TABLE.setflags(write=False)


class GmskStream:
    """A GMSK signal of a bit stream that is appended to in order, sampled at
    arbitrary increasing instants.

    `append(bits)` adds bits; `sample(t0, dt, n)` returns the signal at
    ``t0 + k*dt`` (symbols, bit 0 centred on t = 0) for k < n. Interval q of
    the stream (t in [q - 3, q - 2)) needs bits up to q; instants whose
    interval is not yet available raise ValueError. `forget(t)` drops state
    before t to bound memory.
    """

    def __init__(self) -> None:
        self._prev_bit = 1
        self._hist = np.zeros(_WIN - 1, dtype=np.uint8)
        self._quarter = _QUARTER0
        # _buf[_lo:_hi] holds, for intervals q = _q0 .., ((pattern * 4 + quarter) << Q_BITS)
        self._buf = np.zeros(1 << 16, dtype=np.int32)
        self._lo = 0
        self._hi = 0
        self._q0 = 0
        self.n_bits = 0
        self._ramp_key: tuple[int, float] | None = None
        self._ramp = np.zeros(0)

    def append(self, bits: npt.ArrayLike) -> None:
        d = np.asarray(bits, dtype=np.uint8).ravel() & 1
        m = d.size
        if m == 0:
            return
        prev = np.empty(m, dtype=np.uint8)
        prev[0] = self._prev_bit
        prev[1:] = d[:-1]
        dhat = d ^ prev
        self._prev_bit = int(d[-1])
        a = np.concatenate([self._hist, dhat])
        # quarter turns before each window: sum of alpha = 1 - 2*dhat over a[:q]
        csum = np.empty(m + 1, dtype=np.int32)
        csum[0] = 0
        np.cumsum(a[:m], dtype=np.int32, out=csum[1:])
        pos = np.arange(1, m + 1, dtype=np.int32)
        quarter = (self._quarter + pos - 1 - 2 * csum[:m]) & 3
        end_quarter = (self._quarter + m - 2 * int(csum[m])) & 3
        pat = a[:m].copy()
        for r in range(1, _WIN):
            pat |= a[r : r + m] << r
        base = (pat.astype(np.int32) << 2 | quarter) << Q_BITS
        self._quarter = int(end_quarter)
        self._hist = a[m:].copy()
        self._push(base)
        self.n_bits += m

    def _push(self, base: npt.NDArray[np.int32]) -> None:
        n = base.size
        if self._hi + n > self._buf.size:
            live = self._hi - self._lo
            if live + n > self._buf.size // 2:
                new = np.zeros(max(2 * (live + n), self._buf.size), dtype=np.int32)
            else:
                new = self._buf
            new[:live] = self._buf[self._lo : self._hi]
            self._buf, self._lo, self._hi = new, 0, live
        self._buf[self._hi : self._hi + n] = base
        self._hi += n

    def restart(self, first_bit: int) -> None:
        """Drops everything and continues with bit `first_bit` as if the stream had
        started there (the modulator in its initial state): for a transmitter that
        nobody heard for a while, so that its bits need not be rendered."""
        self._prev_bit = 1
        self._hist = np.zeros(_WIN - 1, dtype=np.uint8)
        self._quarter = _QUARTER0
        self._lo = self._hi = 0
        self._q0 = first_bit
        self.n_bits = first_bit

    @property
    def t_end(self) -> float:
        """Instants before this (symbols) can be sampled."""
        return float(self._q0 + self._hi - self._lo - 3)

    def sample(self, t0: float, dt: float, n: int,
               out: npt.NDArray[np.complex64] | None = None) -> npt.NDArray[np.complex64]:
        """Signal at t0 + k*dt symbols, k = 0..n-1 (unit amplitude), into `out` if given."""
        # interval q = floor(t + 3); rounding to 1/Q of an interval
        v0 = (t0 + 3.0) * Q
        if self._ramp_key != (n, dt):
            self._ramp = np.arange(n, dtype=np.float64) * (dt * Q)
            self._ramp_key = (n, dt)
        # positions relative to the buffer's first entry, small enough for int32
        rel0 = v0 - float((self._q0 - self._lo) * Q)
        iv64 = np.add(self._ramp, rel0)
        np.rint(iv64, out=iv64)
        if n and (iv64[0] < self._lo * Q or iv64[-1] >= self._hi * Q):
            raise ValueError(f"instants {t0:.3f}..{t0 + (n - 1) * dt:.3f} symbols are outside the "
                             f"rendered stream ({self._q0 - 3}..{self.t_end})")
        iv = iv64.astype(np.int32)
        q = iv >> Q_BITS
        iv &= Q - 1
        idx = self._buf[q]
        idx |= iv
        if out is None:
            return TABLE[idx]
        return np.take(TABLE, idx, out=out)

    def forget(self, t: float) -> None:
        """Drops the intervals before instant t (symbols)."""
        q = math.floor(t + 3.0) - 1
        drop = min(max(0, q - self._q0), self._hi - self._lo)
        if drop:
            self._lo += drop
            self._q0 += drop
