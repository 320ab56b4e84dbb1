"""GMSK modulation for GSM (3GPP TS 45.004 clause 2), both directions.

Modulator (TS 45.004 2.3 - 2.6)
-------------------------------
* Differential encoding (2.3): ``dhat_i = d_i XOR d_(i-1)``, modulating value
  ``alpha_i = 1 - 2*dhat_i``. Before the first bit the modulator is in the state
  it would have after an infinite run of ones (``d_i = 1``), so ``d_(-1) = 1``.
* Frequency pulse (2.4): a rectangular pulse of one symbol ``T`` convolved with a
  Gaussian ``h(t) = exp(-t^2 / (2 delta^2 T^2)) / (sqrt(2 pi) delta T)``,
  ``delta = sqrt(ln 2) / (2 pi BT)``, BT = 0.3.
* Phase (2.5): ``phi(t) = sum_i alpha_i * pi * h * G(t - iT)`` with modulation
  index h = 1/2 and ``G`` the integral of the frequency pulse (0 -> 1), i.e.
  symbol ``i`` turns the phase by ``alpha_i * pi/2`` spread around ``t = iT``.
  ``G`` is evaluated in closed form (integral of differences of error
  functions), so the phase is exact at any instant; the pulse is truncated to
  +-3 symbols, where the neglected phase is below 1e-8 rad.

Time convention: in symbol units, symbol ``i`` is centred on ``t = i``.
``gmsk_modulate(bits, sps)`` returns sample ``k`` at ``t = k / sps``; the
streaming ``GmskModulator`` lags that by ``DELAY_SYMBOLS`` (3) symbols because
it needs three symbols of look-ahead.

Linear view (Laurent): with ``c_n = prod_(i<=n) alpha_i`` the phase at the end of
symbol ``n`` is ``j^(n+1) * c_n`` (times a constant); because of the
differential encoding ``c_n = 2*d_n - 1`` (with ``d_(-1) = 1``): after derotation
by ``j^-n`` GMSK is a BPSK-like signal whose symbols ARE the burst's data bits,
shaped by the main Laurent pulse ``C0`` (``laurent_c0``) plus a small second
component. The equaliser in ``burst.py`` relies on this.

Hand-written numpy (scipy only for ``erf``): no maintained Python library
renders GSM's exact GMSK with its differential encoding and phase reference;
gr-gsm's modulator (GNU Radio) is the independent check in tests.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.constants import SYMBOL_RATE_HZ as SYMBOL_RATE_HZ  # re-exported for its importers

BT = 0.3
HALF_SPAN = 3
"""The frequency pulse is used over [-3T, +3T]."""
DELAY_SYMBOLS = HALF_SPAN
"""Latency of GmskModulator in symbols: its output lags gmsk_modulate by this."""

_WIN = 2 * HALF_SPAN  # symbols that shape the phase within one symbol interval
_QUARTER0 = (-(_WIN - 1)) & 3
_QUAD = np.array([1, 1j, -1, -1j], dtype=np.complex128)

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex64]


def erf(x: npt.ArrayLike) -> FloatArray:
    """scipy's ``erf``, imported on first use: importing scipy.special costs
    ~0.3 s, and the receiver (which imports this module for its constants)
    never calls it."""
    from scipy.special import erf as scipy_erf

    return np.asarray(scipy_erf(x), dtype=np.float64)


def differential_encode(bits: npt.ArrayLike, prev: int = 1) -> npt.NDArray[np.uint8]:
    """``dhat_i = d_i XOR d_(i-1)`` along the last axis, ``d_(-1) = prev`` (TS 45.004 2.3)."""
    d = np.asarray(bits, dtype=np.uint8) & 1
    shifted = np.empty_like(d)
    shifted[..., 0] = prev & 1
    shifted[..., 1:] = d[..., :-1]
    return np.bitwise_xor(d, shifted)


def differential_decode(dhat: npt.ArrayLike, prev: int = 1) -> npt.NDArray[np.uint8]:
    """Inverse of `differential_encode`: ``d_i = dhat_i XOR d_(i-1)``."""
    x = np.asarray(dhat, dtype=np.uint8) & 1
    c = np.cumsum(x, axis=-1, dtype=np.int64) + (prev & 1)
    return (c & 1).astype(np.uint8)


def phase_pulse(t_symbols: npt.ArrayLike, bt: float = BT) -> FloatArray:
    """``G(t)``: integral of the Gaussian-filtered rectangular frequency pulse, from
    0 (t -> -inf) to 1 (t -> +inf), t in symbols, closed form (TS 45.004 2.4-2.5).

    With ``s = delta*sqrt(2)`` and ``F(x) = x*erf(x/s) + s/sqrt(pi)*exp(-(x/s)^2)``
    (an antiderivative of erf(x/s)), ``G(t) = 1/2 + (F(t+1/2) - F(t-1/2))/2``.
    """
    t = np.asarray(t_symbols, dtype=np.float64)
    delta = math.sqrt(math.log(2.0)) / (2.0 * math.pi * bt)
    s = delta * math.sqrt(2.0)

    def f(x: FloatArray) -> FloatArray:
        u = x / s
        return np.asarray(x * erf(u) + s / math.sqrt(math.pi) * np.exp(-u * u), dtype=np.float64)

    return np.asarray(0.5 + 0.5 * (f(t + 0.5) - f(t - 0.5)), dtype=np.float64)


def frequency_pulse(t_symbols: npt.ArrayLike, bt: float = BT) -> FloatArray:
    """``g(t)*T``: the frequency pulse (its integral over t in symbols is 1)."""
    t = np.asarray(t_symbols, dtype=np.float64)
    delta = math.sqrt(math.log(2.0)) / (2.0 * math.pi * bt)
    s = delta * math.sqrt(2.0)
    return np.asarray(0.5 * (erf((t + 0.5) / s) - erf((t - 0.5) / s)), dtype=np.float64)


class GmskModulator:
    """Streaming GMSK modulator: bits in, complex64 baseband out, continuous in
    phase across calls (for rendering long scenes block by block).

    Each call to `modulate` with M bits returns the samples of M symbol intervals
    (exactly ``M*sps`` samples for an integer ``sps``; for a non-integer ``sps``
    the samples whose instants fall in those intervals, so the total count over
    any number of calls is ``ceil(total_bits*sps)``). The stream lags
    `gmsk_modulate` by `DELAY_SYMBOLS` symbols: output sample ``k`` (counted from
    the first call) is the signal at ``t = k/sps - DELAY_SYMBOLS`` where the first
    bit given is centred on ``t = 0``. Before the first bit the state is that of a
    run of ones (TS 45.004 2.3); `flush` appends ``DELAY_SYMBOLS`` ones so that the
    last bit given is fully rendered.

    Unit amplitude. Integer ``sps`` uses precomputed tables indexed by the six
    modulating values around each symbol and the accumulated quarter turns: no
    transcendental function per sample.
    """

    def __init__(self, sps: float, bt: float = BT) -> None:
        if not sps > 0:
            raise ValueError(f"samples per symbol must be positive, got {sps}")
        self.sps = float(sps)
        self.bt = float(bt)
        self._integer = float(sps).is_integer()
        self._prev_bit = 1
        self._hist = np.zeros(_WIN - 1, dtype=np.uint8)  # dhat of the last 5 symbols (0 = alpha +1)
        # sum of alpha over symbols before the window, mod 4; starts at -5 so that the
        # phase reference is 0 for the run of ones before the first bit
        self._quarter = _QUARTER0
        self._nsym = 0  # symbols consumed
        self._nsamp = 0  # samples produced
        # G(tau + 2 - r) for r = 0..5: weight of the r-th symbol of the window
        if self._integer:
            n = int(sps)
            tau = np.arange(n) / n
            w = phase_pulse(tau[None, :] + (_WIN // 2 - 1) - np.arange(_WIN)[:, None], bt)  # (6, n)
            pats = np.arange(1 << _WIN)
            alpha = 1.0 - 2.0 * ((pats[:, None] >> np.arange(_WIN)[None, :]) & 1)  # (64, 6)
            ph = 0.5 * math.pi * (alpha @ w)  # (64, n)
            table = _QUAD[None, :, None] * np.exp(1j * ph)[:, None, :]  # (64, 4, n)
            rows = np.ascontiguousarray(table.reshape((1 << _WIN) * 4, n), dtype=np.complex64)
            # one opaque item per row: gathering whole rows is then a single copy each
            self._table = rows.view(np.dtype((np.void, rows.itemsize * n))).ravel()

    def modulate(self, bits: npt.ArrayLike) -> ComplexArray:
        d = np.asarray(bits, dtype=np.uint8).ravel() & 1
        m = d.size
        if m == 0:
            return np.zeros(0, dtype=np.complex64)
        dhat = differential_encode(d, self._prev_bit)
        self._prev_bit = int(d[-1])
        a = np.concatenate([self._hist, dhat])  # dhat of symbols nsym-5 .. nsym+m-1
        # accumulated quarter turns before each window: quarter + sum(alpha) over a[:q]
        alpha_int = 1 - 2 * a.astype(np.int64)
        csum = np.empty(m + 1, dtype=np.int64)
        csum[0] = 0
        np.cumsum(alpha_int[:m], out=csum[1:])
        quarter = (self._quarter + csum[:m]) & 3
        if self._integer:
            pat = a[: m].astype(np.int32)
            for r in range(1, _WIN):
                pat |= a[r : r + m].astype(np.int32) << r
            out = self._table[pat * 4 + quarter].view(np.complex64)
        else:
            out = self._modulate_any(a, quarter, m)
        self._quarter = int((self._quarter + csum[m]) & 3)
        self._hist = a[m:].copy()
        self._nsym += m
        return out

    def _modulate_any(self, a: npt.NDArray[np.uint8], quarter: npt.NDArray[np.int64], m: int) -> ComplexArray:
        """Non-integer sps: evaluate the phase at each sample instant."""
        k_end = math.ceil((self._nsym + m) * self.sps - 1e-9)
        k = np.arange(self._nsamp, k_end, dtype=np.float64)
        self._nsamp = k_end
        return _render(a, quarter, k / self.sps - self._nsym, self.bt)

    def flush(self) -> ComplexArray:
        """Render the last bits' remaining phase response (appends DELAY_SYMBOLS ones)."""
        return self.modulate(np.ones(DELAY_SYMBOLS, dtype=np.uint8))


def _render(
    a: npt.NDArray[np.uint8], quarter: npt.NDArray[np.int64], u: FloatArray, bt: float
) -> ComplexArray:
    """Signal at positions ``u`` (in symbol intervals, ``0 <= u < len(quarter)``),
    interval ``q`` spanning the window ``a[q:q+6]`` of dhat values after
    ``quarter[q]`` accumulated quarter turns; ``t - i = tau + 2 - r``."""
    m = quarter.size
    q = np.clip(np.floor(u + 1e-12).astype(np.int64), 0, m - 1)
    tau = u - q
    idx = q[:, None] + np.arange(_WIN)[None, :]
    alpha = 1.0 - 2.0 * a[idx].astype(np.float64)
    w = phase_pulse(tau[:, None] + (_WIN // 2 - 1) - np.arange(_WIN)[None, :], bt)
    ph = 0.5 * math.pi * np.sum(alpha * w, axis=1)
    return np.asarray(_QUAD[quarter[q]] * np.exp(1j * ph), dtype=np.complex64)


def gmsk_at(bits: npt.ArrayLike, t_symbols: npt.ArrayLike, bt: float = BT) -> ComplexArray:
    """GMSK signal of ``bits`` at arbitrary instants ``t_symbols`` (bit ``i`` centred
    on ``t = i``; valid for ``-3 <= t < len(bits)``, ones before and after as in TS
    45.004 2.3), same phase reference as `gmsk_modulate`. For fractional delays
    and non-integer sample rates."""
    d = np.asarray(bits, dtype=np.uint8).ravel() & 1
    dhat = differential_encode(np.concatenate([d, np.ones(DELAY_SYMBOLS, dtype=np.uint8)]))
    a = np.concatenate([np.zeros(_WIN - 1, dtype=np.uint8), dhat])
    m = dhat.size
    alpha_int = 1 - 2 * a[:m].astype(np.int64)
    quarter = (_QUARTER0 + np.concatenate([[0], np.cumsum(alpha_int)[:-1]])) & 3
    t = np.asarray(t_symbols, dtype=np.float64)
    return _render(a, quarter, t.ravel() + DELAY_SYMBOLS, bt).reshape(t.shape)


def gmsk_modulate(bits: npt.ArrayLike, sps: float, bt: float = BT) -> ComplexArray:
    """One-shot GMSK: sample ``k`` is the signal at ``t = k/sps`` symbols, bit ``i``
    centred on ``t = i``; ``ceil(len(bits)*sps)`` samples, unit amplitude, the
    modulator starting in the all-ones state with phase reference 0 (see
    `gmsk_demodulate`)."""
    d = np.asarray(bits, dtype=np.uint8).ravel()
    n = math.ceil(d.size * sps - 1e-9)
    if not float(sps).is_integer():
        return gmsk_at(d, np.arange(n) / sps, bt)
    mod = GmskModulator(sps, bt)
    y = np.concatenate([mod.modulate(d), mod.flush()])
    skip = DELAY_SYMBOLS * int(sps)
    return np.ascontiguousarray(y[skip : skip + n])


def gmsk_demodulate(iq: npt.ArrayLike, sps: float, phase_rad: float = 0.0) -> npt.NDArray[np.float32]:
    """Simple coherent GMSK demodulator for loopback tests: soft data bits
    (positive = 1), one per symbol, from samples aligned as `gmsk_modulate`'s
    (symbol ``n`` centred on sample ``n*sps``), with the carrier phase known
    (``phase_rad``: phase of the signal relative to `gmsk_modulate`'s reference).

    At the centre of symbol ``n`` the derotated sample ``x * j^-(n+1)`` lies at
    +-45 degrees from ``c_n = 2*d_n - 1`` on the real axis (half of symbol n's
    quarter turn is done), so ``Re(x * j^-(n+1) * exp(-j*phase_rad))`` has the sign
    of the data bit. No synchronisation, no equalisation: the receiver uses
    `fbsdetect.dsp.burst`.
    """
    x = np.asarray(iq, dtype=np.complex128).ravel()
    nsym = math.floor((x.size - 1) / sps + 1e-9) + 1 if x.size else 0
    pos = np.arange(nsym) * sps
    if float(sps).is_integer():
        s = x[(pos).astype(np.int64)]
    else:
        i0 = np.floor(pos).astype(np.int64)
        fr = pos - i0
        i1 = np.minimum(i0 + 1, x.size - 1)
        s = x[i0] * (1 - fr) + x[i1] * fr
    rot = _QUAD[(-(np.arange(nsym) + 1)) & 3] * np.exp(-1j * phase_rad)
    return np.asarray(np.real(s * rot), dtype=np.float32)


def laurent_c0(sps: int, bt: float = BT) -> npt.NDArray[np.float64]:
    """Main Laurent pulse ``C0`` of GMSK (h = 1/2, pulse truncated to 6 symbols),
    sampled at ``sps`` samples per symbol, trimmed where it is below 1e-4 of its
    peak, peak normalised to 1, odd length with the peak in the middle.

    ``C0(t) = prod_(i=0..L-1) S(t + iT)`` with ``S(t) = sin(pi*q2(t)/2)/sin(pi/2)``,
    where ``q2`` rises as the phase pulse ``G`` over ``[0, LT]`` and falls back
    symmetrically over ``[LT, 2LT]`` (Laurent 1986). With the time convention of
    `gmsk_modulate`, GMSK ~= sum_n j^(n+1) c_n C0(t - (n + 1/2)T) with ``c_n`` the
    data bits as +-1 (up to the constant phase reference).
    """
    L = _WIN
    n = int(sps)
    if n != sps or n < 1:
        raise ValueError(f"laurent_c0 needs an integer sps >= 1, got {sps}")
    t = np.arange(0, (L + 1) * n + 1) / n  # 0 .. (L+1)T

    def s_fn(tt: FloatArray) -> FloatArray:
        g = np.where(
            tt < L,
            phase_pulse(np.clip(tt, 0, L) - L / 2, bt),
            1.0 - phase_pulse(np.clip(tt - L, 0, L) - L / 2, bt),
        )
        g = np.where((tt < 0) | (tt > 2 * L), 0.0, g)
        return np.asarray(np.sin(0.5 * math.pi * g), dtype=np.float64)

    c0 = np.ones_like(t)
    for i in range(L):
        c0 *= s_fn(t + i)
    c0 /= c0.max()
    peak = int(np.argmax(c0))
    half = int(np.max(np.abs(np.nonzero(c0 >= 1e-4)[0] - peak)))
    return np.asarray(c0[peak - half : peak + half + 1], dtype=np.float64)
