"""Burst demodulation for the receiver: training-sequence synchronisation,
least-squares channel estimation and a soft-output MLSE equaliser, for normal
bursts and SCH bursts, vectorised over many bursts at once.

Burst formats (TS 45.002 5.2.3 and 5.2.5, bit positions 0..147; tables in
`fbsdetect.gsm.bursts`)::

    normal: 3 tail | 57 data e(0..56) | hl (60) | 26 TSC (61..86) | hu (87) | 57 data | 3 tail
    SCH:    3 tail | 39 data (3..41)  | 64 extended training (42..105) | 39 data (106..144) | 3 tail

Signal model. GSM's GMSK (TS 45.004) differentially encodes the burst bits, so
after derotating the complex baseband by ``exp(-j*pi/2*t)`` (t in symbols) it
is, to a very good approximation (Laurent's main pulse ``C0``, `gmsk.laurent_c0`),
a linear BPSK-like signal whose symbols are the burst bits themselves,
``c_n = 2*b_n - 1``; the pulse and the radio channel merge into one short
complex channel, estimated per burst. With ``P = sps`` samples per symbol, the
samples ``y[a + n*sps + p]`` (p = 0..P-1) of symbol period n are modelled as
``sum_(i=0..Lh-1) h[p, i] * c_(n-i)`` plus noise (a fractionally spaced model
for sps > 1, using all the received energy).

Steps, all vectorised over the N windows (the loops that cannot be expressed
as array operations are numba kernels in `equalizer.py` and `chanest.py`, SIMD
over bursts):

1. derotation;
2. timing: correlation with the whole training sequence (26-bit TSC or 64-bit
   SCH sequence) at every sample lag within ``+-max_offset_sym`` symbols of the
   nominal start; the anchor ``a`` is the start of the Lh-symbol window of lags
   holding the most correlation energy. (All TSCs correlate at -10..-14 with
   themselves shifted by 8 symbols, so at low SNR a search wider than +-8
   symbols around the truth risks a false lock there; ranking candidates by the
   least-squares fit was tried and did worse than the correlation energy);
3. channel: least squares on the whole training sequence (pseudo-inverse of
   the known-symbol matrix, precomputed per TSC), Lh = 5 taps per polyphase
   (channel memory 4: 16 trellis states); noise variance from the fit residual,
   which also gives the reported SNR;
4. equaliser (`equalizer.mlse_soft_planar`, max-log-MAP: forward and backward
   Viterbi recursions, LLR = best path with the bit 1 minus best path with 0):
   from the training sequence outward, the right half forward in time and the
   left half backward (time-reversed taps), both halves of all bursts in one
   batch; the tail bits (0) are imposed, the guard symbols beyond are free;
5. residual carrier frequency: the phase turn, between the two halves of the
   burst, of the received samples against the ones rebuilt from the decisions;
6. refinement (``refine=True``, the default): the frequency offset is removed,
   the channel re-estimated by least squares over the whole burst (training,
   tails and the first pass's decisions: ~6x more equations, ~1 dB better at
   BER 1e-3) and the burst equalised again;
7. measurements: timing (centre of the channel's energy), power, SNR.

Conventions: soft values are max-log LLRs (positive = bit 1, natural units,
scaled by the burst's own noise variance). ``nominal_start`` and ``start`` are
in samples within the window: the instant on which burst bit 0 is centred, as
in `gmsk.gmsk_modulate` (a burst made by ``gmsk_modulate(bits148, sps)`` and
placed at sample s of a window has start s). A window must cover the burst
plus the search range plus ``Lh`` symbols on each side; what it lacks is
treated as missing observations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.chanest import correlation_energy, drift_hz, ls_channel, residual_and_drift
from fbsdetect.dsp.equalizer import mlse_soft_planar
from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ
from fbsdetect.gsm.bursts import (
    BURST_BITS,
    NORMAL_HL_POS,
    NORMAL_HU_POS,
    NORMAL_TSC_BITS,
    NORMAL_TSC_START,
    SCH_TRAINING,
    SCH_TRAINING_BITS,
    SCH_TRAINING_START,
    TSC,
)

CHANNEL_TAPS = 5
"""Lh: taps per polyphase (symbol-spaced), channel memory 4, 16 states."""
MAX_OFFSET_SYM = 8.0
"""Default timing search range around the nominal start, +- symbols."""
_TAIL = 3

FloatArray = npt.NDArray[np.float32]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BurstMeasurements:
    """What every demodulated burst reports (N bursts).

    start: (N,) float64 sample position of burst bit 0 within the window;
    timing: (N,) float64 ``(start - nominal_start) / sps``, symbols (+ = late);
    snr_db: (N,) SNR per sample from the training sequence (signal = channel energy,
        noise = residual of the least-squares fit);
    power: (N,) mean |x|^2 over the 148 burst symbols (linear, signal + noise);
    freq_hz: (N,) residual carrier frequency seen over the burst (Hz);
    channel: (N, sps, Lh) complex64 taps of the derotated channel (tap i acts on
        bit n - i in the samples of symbol period n).
    """

    start: npt.NDArray[np.float64]
    timing: npt.NDArray[np.float64]
    snr_db: npt.NDArray[np.float64]
    power: npt.NDArray[np.float64]
    freq_hz: npt.NDArray[np.float64]
    channel: npt.NDArray[np.complex64]

    def measurements(self) -> dict[str, np.ndarray]:
        """The `BurstMeasurements` fields by name (to build a subclass from another)."""
        return {f.name: getattr(self, f.name) for f in fields(BurstMeasurements)}


@dataclass(frozen=True)
class NormalDemod(BurstMeasurements):
    """Demodulated normal bursts: data (N, 114) float32 soft data bits e(0..56),
    e(57..113) in burst order (bits 3..59 then 88..144), what
    `gsm.coding.xcch_decode` takes per burst; hl, hu (N,) float32 soft stealing
    flags (burst bits 60 and 87); the measurements of `BurstMeasurements`."""

    data: FloatArray
    hl: FloatArray
    hu: FloatArray


@dataclass(frozen=True)
class SchDemod(BurstMeasurements):
    """Demodulated SCH bursts: soft (N, 78) float32 = e(0..38) (bits 3..41) then
    e(39..77) (bits 106..144), what `gsm.coding.sch_decode` takes; the
    measurements of `BurstMeasurements`."""

    soft: FloatArray


@dataclass(frozen=True)
class _Core(BurstMeasurements):
    """Full-burst result of the common path: soft148 (N, 148), training and tails 0."""

    soft148: FloatArray


@lru_cache(maxsize=64)
def _ls_matrix(training: tuple[int, ...], lh: int) -> npt.NDArray[np.complex64]:
    """Pseudo-inverse (Lh, K) of the known-symbol matrix A[n, i] = c[n+Lh-1-i]
    over the K = len(training) - Lh + 1 fully known observations."""
    c = 2.0 * np.asarray(training, dtype=np.float64) - 1.0
    k = c.size - lh + 1
    a = np.stack([c[lh - 1 - i : lh - 1 - i + k] for i in range(lh)], axis=1)  # (K, Lh)
    return np.linalg.pinv(a).astype(np.complex64)


def _derotation(length: int, sps: int) -> npt.NDArray[np.complex64]:
    k = np.arange(length)
    return np.exp(-0.5j * math.pi * (k % (4 * sps)) / sps).astype(np.complex64)


def _as_windows(windows: npt.ArrayLike) -> npt.NDArray[np.complex64]:
    w = np.asarray(windows)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2:
        raise ValueError(f"windows must have shape (N, L), got {np.shape(windows)}")
    return np.ascontiguousarray(w, dtype=np.complex64)


def _equalise(
    zr: F32,
    zi: F32,
    ok: F32,
    h: npt.NDArray[np.complex64],
    sigma2: npt.NDArray[np.float64],
    training: npt.NDArray[np.uint8],
    t0: int,
) -> FloatArray:
    """Soft bits (N, 148) from the anchored samples in planar layout zr, zi
    (148 + memory, P, N), ok (148 + memory, N): right half forward, left half
    backward (time-reversed taps), all in one batch of 2N sequences."""
    n_b = zr.shape[2]
    lh = h.shape[2]
    memory = lh - 1
    tlen = training.shape[1]
    t1 = t0 + tlen
    n_right = BURST_BITS - t1
    if n_right != t0:
        raise ValueError("halves of unequal length are not supported")
    steps = n_right + memory
    # observation of step m: symbol period t1 + m (right), t0 - 1 + memory - m (left)
    left = t0 - 1 + memory - np.arange(steps)
    yr = np.concatenate([zr[t1 : t1 + steps], zr[left]], axis=2)  # (T, P, 2N)
    yi = np.concatenate([zi[t1 : t1 + steps], zi[left]], axis=2)
    valid = np.concatenate([ok[t1 : t1 + steps], ok[left]], axis=1)  # (T, 2N)
    taps = np.concatenate([h, h[:, :, ::-1]], axis=0).transpose(1, 2, 0)  # (P, Lh, 2N)
    weights = 1 << np.arange(memory - 1, -1, -1)
    tr = training.astype(np.int64)
    st_r = tr[:, tlen - 1 - np.arange(memory)] @ weights  # newest first: c[t1-1], c[t1-2], ...
    st_l = tr[:, np.arange(memory)] @ weights  # reversed time: c[t0], c[t0+1], ...
    known = np.full(steps, -1, dtype=np.int8)
    known[n_right - _TAIL : n_right] = 0  # tail bits 145..147 (right) / 2..0 (left)
    llr = mlse_soft_planar(
        yr,
        yi,
        taps.real.astype(np.float32),
        taps.imag.astype(np.float32),
        np.concatenate([sigma2, sigma2]),
        np.concatenate([st_r, st_l]),
        known,
        valid,
    )  # (T, 2N)
    soft = np.zeros((n_b, BURST_BITS), dtype=np.float32)
    soft[:, t1:] = llr[:n_right, :n_b].T
    soft[:, :t0] = llr[:t0, n_b:].T[:, ::-1]
    soft[:, :_TAIL] = 0.0
    soft[:, BURST_BITS - _TAIL :] = 0.0
    return soft


def _decided_symbols(soft: FloatArray, training: npt.NDArray[np.uint8], t0: int) -> FloatArray:
    """+-1 symbols of the whole burst: decisions, known training and tail bits."""
    bits = (soft > 0).astype(np.float32)
    bits[:, t0 : t0 + training.shape[1]] = training
    bits[:, :_TAIL] = 0
    bits[:, BURST_BITS - _TAIL :] = 0
    return 2.0 * bits - 1.0


def _demod(
    windows: npt.ArrayLike,
    sps: int,
    nominal_start: npt.ArrayLike,
    training: npt.NDArray[np.uint8],
    pinv: npt.NDArray[np.complex64],
    t0: int,
    max_offset_sym: float,
    lh: int,
    refine: bool,
) -> _Core:
    """training (N, tlen) known bits at t0 of each burst; pinv (N, Lh, K) the
    least-squares matrices of those training sequences."""
    if sps not in (1, 2, 4):
        raise ValueError(f"sps must be 1, 2 or 4, got {sps}")
    x = _as_windows(windows)
    n_b, length = x.shape
    nominal = np.broadcast_to(np.asarray(nominal_start, dtype=np.float64), (n_b,))
    if n_b == 0:
        z0 = np.zeros(0)
        empty = np.zeros((0, BURST_BITS), np.float32)
        return _Core(z0, z0, z0, z0, z0, np.zeros((0, sps, lh), np.complex64), empty)
    if not np.all(np.isfinite(nominal)):
        raise ValueError("nominal_start must be finite")
    tlen = training.shape[1]
    memory = lh - 1
    finite = np.isfinite(x)
    good: npt.NDArray[np.bool_] | None = None
    if not finite.all():  # NaN/inf samples (corrupt input) count as unobserved
        good = finite.ravel()
        x = np.where(finite, x, 0).astype(np.complex64)
    y = x * _derotation(length, sps)[None, :]
    yflat = y.ravel()
    row0 = np.arange(n_b) * length

    def slab(
        first: npt.NDArray[np.int64], count: int
    ) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.bool_]]:
        """y[b, first[b] : first[b] + count] (N, count), out-of-window samples 0,
        and their validity."""
        idx = first[:, None] + np.arange(count)[None, :]
        if good is None and first.min() >= 0 and first.max() + count <= length:  # the usual case
            return yflat[idx + row0[:, None]], np.ones(idx.shape, dtype=np.bool_)
        ok = (idx >= 0) & (idx < length)
        flat = np.where(ok, idx, 0) + row0[:, None]
        vals = yflat[flat]
        if good is not None:
            ok &= good[flat]
        vals[~ok] = 0
        return vals, ok

    # 2. timing: correlation at lags l ("symbol n is seen at sample l + n*sps")
    search = math.ceil(max_offset_sym * sps)
    span = lh * sps  # lags covered by the channel window
    # the pulse of bit n peaks at start + (n + 1/2) sps
    lag0 = np.round(nominal + 0.5 * sps).astype(np.int64) - search - (span - sps) // 2 - sps
    n_lags = 2 * search + span + 2 * sps
    ys, _ = slab(lag0 + t0 * sps, n_lags + tlen * sps)
    en = correlation_energy(ys, (2.0 * training - 1.0).astype(np.float32), sps, n_lags)  # (N, D)
    csum = np.concatenate([np.zeros((n_b, 1)), np.cumsum(en, axis=1)], axis=1)
    win_en = csum[:, span:] - csum[:, :-span]  # energy of the window starting at lag index d
    # anchor a: observation of symbol period n is y[a + n*sps + p], p < sps; bit n - i
    # enters it through tap i, i.e. at correlation lag a + p + i*sps: the window
    # [a, a + span - 1]; the window with the most energy gives the anchor.

    # 3. channel estimate (per polyphase) on the whole training sequence
    k_eq = tlen - lh + 1
    c_tr = 2.0 * training.astype(np.float32) - 1.0
    a_mat = np.stack([c_tr[:, memory - i : memory - i + k_eq] for i in range(lh)], axis=2)
    a_mat = a_mat.astype(np.complex64)  # (N, K, Lh)
    dof = max(sps * (k_eq - lh), 1)

    def fit(anc: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.float64]]:
        y_tr, _ = slab(anc + (t0 + memory) * sps, k_eq * sps)
        y_tr = y_tr.reshape(n_b, k_eq, sps)
        hh = np.matmul(pinv, y_tr)  # (N, Lh, P)
        resid = y_tr - np.matmul(a_mat, hh)
        return hh.transpose(0, 2, 1), np.sum(resid.real**2 + resid.imag**2, axis=(1, 2)) / dof

    anchor = lag0 + np.argmax(win_en, axis=1)
    def floor_noise(
        h: npt.NDArray[np.complex64], s2: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(channel energy per sample, noise variance floored at 1e-7 of it)."""
        sig = np.sum(np.abs(h) ** 2, axis=(1, 2)) / sps
        return sig, np.maximum(s2, 1e-7 * sig + 1e-30)

    h, s2 = fit(anchor)  # h: tap i acts on c[n - i]
    sig, sigma2 = floor_noise(h, s2)
    # reported SNR: from the training sequence alone, independent of decisions (a
    # window without the expected burst gives a low value even after refinement)
    snr_db = 10.0 * np.log10((sig + 1e-30) / (sigma2 + 1e-20))  # a silent window: about -100 dB

    # 4. equaliser on the samples anchored at a: symbol periods 0 .. 147 + memory,
    # in planar layout (period, polyphase, burst) for the compiled kernels
    n_per = BURST_BITS + memory
    zf, okf = slab(anchor, n_per * sps)
    zt = zf.reshape(n_b, n_per, sps).transpose(1, 2, 0)
    zr = np.ascontiguousarray(zt.real, dtype=np.float32)
    zi = np.ascontiguousarray(zt.imag, dtype=np.float32)
    okp = np.ascontiguousarray(np.all(okf.reshape(n_b, n_per, sps), axis=2).T, dtype=np.float32)
    n_lo, n_hi = memory, BURST_BITS
    half = (n_hi - n_lo) / 2.0

    def equalise(zr: F32, zi: F32, h: npt.NDArray[np.complex64], sigma2: npt.NDArray[np.float64]
                 ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.float64]]:
        """(soft (N, 148), decided symbols (148, N), residual frequency (N,)).
        5. residual frequency: rebuild the burst from the decisions and measure
        the phase turn of y * conj(rebuilt) between its two halves."""
        soft = _equalise(zr, zi, okp, h, sigma2, training, t0)
        sym = np.ascontiguousarray(_decided_symbols(soft, training, t0).T)
        _, z1, z2 = residual_and_drift(zr, zi, okp, sym, h, n_lo, n_hi)
        return soft, sym, drift_hz(z1, z2, half, SYMBOL_RATE_HZ)

    soft, sym, freq_hz = equalise(zr, zi, h, sigma2)
    if refine:
        # decision-directed second pass: remove the residual carrier offset, then
        # estimate the channel by least squares over the whole burst (training,
        # tails and first-pass decisions: ~6x more equations than the training
        # alone) and equalise again
        t_sym = (np.arange(n_per) + 0.5 - BURST_BITS / 2) / SYMBOL_RATE_HZ
        phase = (-2.0 * math.pi * t_sym[:, None] * freq_hz[None, :]).astype(np.float32)  # (n_per, N)
        cos_p = np.cos(phase)[:, None, :]
        sin_p = np.sin(phase)[:, None, :]
        zr, zi = zr * cos_p - zi * sin_p, zr * sin_p + zi * cos_p
        h, s2 = ls_channel(zr, zi, okp, sym, lh, n_lo, n_hi)
        soft, _, more_hz = equalise(zr, zi, h, floor_noise(h, s2)[1])
        freq_hz = freq_hz + more_hz

    # 6. timing: energy centroid of the taps (tap (p, i) at lag a + p + i*sps), bit 0
    # peaking at start + sps/2; power over the burst's symbol periods
    lag_rel = np.arange(sps)[:, None] + (np.arange(lh) * sps)[None, :]
    e_h = np.abs(h) ** 2
    centroid = np.sum(e_h * lag_rel[None], axis=(1, 2)) / np.maximum(np.sum(e_h, axis=(1, 2)), 1e-30)
    start = anchor + centroid - 0.5 * sps
    timing = (start - nominal) / sps
    zb = zf.reshape(n_b, n_per, sps)[:, 2 : 2 + BURST_BITS - memory]
    okb = okp[2 : 2 + BURST_BITS - memory]
    power = np.sum(np.abs(zb) ** 2, axis=(1, 2)) / np.maximum(okb.sum(axis=0) * sps, 1)
    return _Core(start, timing, snr_db, power, freq_hz, h, soft)


@lru_cache(maxsize=8)
def _tsc_pinv(lh: int) -> npt.NDArray[np.complex64]:
    return np.stack([_ls_matrix(tuple(int(v) for v in TSC[k]), lh) for k in range(TSC.shape[0])])


def demod_normal(
    windows: npt.ArrayLike,
    tsc: int | npt.ArrayLike,
    sps: int,
    nominal_start: float | npt.ArrayLike,
    max_offset_sym: float = MAX_OFFSET_SYM,
    taps: int = CHANNEL_TAPS,
    refine: bool = True,
) -> NormalDemod:
    """Demodulate N normal bursts (TS 45.002 5.2.3, TSC set 1).

    windows: (N, L) complex samples at ``sps`` samples/symbol, one burst each;
    tsc: training sequence code 0..7, one for all or (N,);
    nominal_start: sample where burst bit 0 is expected (scalar or (N,));
    the burst is searched within +- ``max_offset_sym`` symbols of it;
    taps: channel taps per polyphase (memory taps - 1, 2^(taps-1) trellis states);
    refine: second, decision-directed pass (frequency correction and a channel
    estimate over the whole burst), about twice the work, ~0.5-1 dB better.
    """
    x = _as_windows(windows)
    codes = np.broadcast_to(np.asarray(tsc, dtype=np.int64), (x.shape[0],))
    if codes.size and (codes.min() < 0 or codes.max() > 7):
        raise ValueError("training sequence codes must be 0..7")
    t0 = NORMAL_TSC_START
    core = _demod(x, sps, nominal_start, TSC[codes], _tsc_pinv(taps)[codes], t0, max_offset_sym, taps, refine)
    s = core.soft148
    data = np.concatenate([s[:, 3:NORMAL_HL_POS], s[:, NORMAL_HU_POS + 1 : 145]], axis=1)
    assert NORMAL_TSC_START + NORMAL_TSC_BITS == NORMAL_HU_POS
    return NormalDemod(data=np.ascontiguousarray(data), hl=s[:, NORMAL_HL_POS].copy(),
                       hu=s[:, NORMAL_HU_POS].copy(), **core.measurements())


def demod_sch(
    windows: npt.ArrayLike,
    sps: int,
    nominal_start: float | npt.ArrayLike,
    max_offset_sym: float = MAX_OFFSET_SYM,
    taps: int = CHANNEL_TAPS,
    refine: bool = True,
) -> SchDemod:
    """Demodulate N SCH bursts (TS 45.002 5.2.5) on the 64-bit extended training
    sequence; arguments as `demod_normal`."""
    x = _as_windows(windows)
    n = x.shape[0]
    training = np.broadcast_to(SCH_TRAINING, (n, SCH_TRAINING_BITS))
    one = _ls_matrix(tuple(int(v) for v in SCH_TRAINING), taps)
    pinv = np.broadcast_to(one, (n, *one.shape))
    t0 = SCH_TRAINING_START
    core = _demod(x, sps, nominal_start, training, pinv, t0, max_offset_sym, taps, refine)
    s = core.soft148
    soft = np.concatenate([s[:, 3:t0], s[:, t0 + SCH_TRAINING_BITS : 145]], axis=1)
    return SchDemod(soft=np.ascontiguousarray(soft), **core.measurements())
