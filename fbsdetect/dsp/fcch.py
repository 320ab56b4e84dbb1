"""Frequency correction bursts: wideband search and per-burst refinement.

The FCCH (TS 45.002 5.2.4, 3GPP TS 45.004 2.2) is a burst of 148 zero bits:
after differential encoding and GMSK every symbol turns the phase by +pi/2, so
the carrier sends a pure tone at +1/4 of the symbol rate, +67.708 kHz above the
carrier, for 148 symbol periods (546 us). It is sent on TS0 of the BCCH
carrier in frames with T3 = 0, 10, 20, 30, 40 of the 51-multiframe (TS 45.002
6.3.1.3 / table 3 of clause 7): every 10 frames, 11 across the multiframe
boundary, so any 11 consecutive frames (50.8 ms) hold one.

Wideband search (`search_wideband`)
-----------------------------------
A short-time Fourier transform of the capture (Hann window of about 0.43 ms,
hop 1/2 window) gives, per time step, a power spectrum ``P(t, f)``. A GSM
carrier's data bursts spread their power over about 200 kHz; during its FCCH
the same power sits in one bin. The detector ``C`` is the share of the tone's
three bins (the Hann main lobe) in the power of the carrier band it implies
(``tone - 67.7 kHz +- BAND_HZ``), and also in the +-`NEAR_HZ` around the tone
(so that the steep skirt of a strong neighbour is no tone): about 0.9 during
an FCCH at good SNR, ``0.9 S / (S + 0.67 N)`` at Eb/N0 ``S/N``, and below 0.6
for GMSK data, dummy bursts or noise. A candidate is a local
maximum of ``C`` above `CONCENTRATION_THRESHOLD`; candidates adjacent in time
and frequency form one event, whose duration must fit a burst and whose tone
must be `SIDE_RATIO` weaker just before and after it (a steady tone, e.g. an
unmodulated spur or a DC offset, is rejected).

Refinement (`refine`) on a channelised window at 2 samples per symbol
---------------------------------------------------------------------
``z[n] = y[n] * conj(y[n - 2])`` (one symbol apart) is ``|a|^2 exp(j(pi/2 +
2 pi f_e 2/f_s))`` throughout the FCCH and has zero mean for random GMSK data
(its phase turns by -+pi/2 per symbol with equal probability). A boxcar of 146
symbols over ``z`` peaks where it lies inside the burst's 148 bits: its
position is the burst start (+-2 symbols: the tone also spills into guard
bits of the same value) and its phase a first frequency estimate; a second
stage over a 32-symbol lag, on the tone with that estimate removed, gives the
residual frequency free of the bias of the (filter-correlated) noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.channelizer import OUT_SPS
from fbsdetect.dsp.constants import BURST_SYMBOLS, SYMBOL_RATE_HZ
from fbsdetect.dsp.constants import FCCH_TONE_HZ as FCCH_TONE_HZ  # re-exported for its importers

FCCH_SYMBOLS = BURST_SYMBOLS
FCCH_SPAN = 146  # symbols summed by the refinement boxcar (2 fewer than the burst)
_LONG_LAG = 32  # symbols: second-stage lag (unambiguous for residuals up to +-4 kHz)
_EDGE = 8  # symbols left out at each end of the burst for the frequency estimate
BAND_HZ = 90_000.0
"""Half-width of the carrier band that the FCCH tone's power is compared with."""
NEAR_HZ = 40_000.0
"""Half-width of the band around the tone it must also dominate."""
CONCENTRATION_THRESHOLD = 0.6
SIDE_RATIO = 3.0
"""The tone's power must drop by this factor just before and after the burst."""
WINDOW_S = 0.43e-3


@dataclass(frozen=True)
class FcchEvent:
    """One FCCH seen in the wideband search."""

    start_sample: float  # approximate first sample of the burst (+- a hop)
    tone_hz: float  # tone frequency from the capture centre (+- ~0.2 bin)
    concentration: float  # share of the carrier band's power in the tone (0..1)
    speculative: bool = False  # from a narrow search beside a found carrier, not the wideband search


@dataclass(frozen=True)
class FcchRefined:
    """A refined FCCH on a channelised window."""

    found: bool
    start: float  # burst start, in output samples of the window
    freq_error_hz: float  # residual carrier offset relative to the window's mixing frequency
    quality: float  # |sum z| / sum |y|^2 over the burst: ~1 for a clean tone, ~0 for data/noise
    power: float  # mean |y|^2 over the burst (window units)
    tone_power: float = 0.0  # power of the fitted tone (window units)
    residual_power: float = 0.0  # mean |y - tone|^2 over the burst's middle: noise + interference


def stft_params(sample_rate_hz: float) -> tuple[int, int]:
    """(nfft, hop) of the wideband search for a sample rate."""
    nfft = 1 << max(5, round(math.log2(WINDOW_S * sample_rate_hz)))
    return nfft, nfft // 2


def search_wideband(x: npt.NDArray[np.complex64], sample_rate_hz: float, *,
                    first_sample: int = 0, threshold: float = CONCENTRATION_THRESHOLD,
                    max_abs_offset_hz: float | None = None) -> list[FcchEvent]:
    """FCCH events in a wideband segment `x` (DC already removed).

    `first_sample` is the index of x[0] in the recording; `max_abs_offset_hz`
    limits the tone frequencies searched (default: the whole band).
    """
    fs = float(sample_rate_hz)
    nfft, hop = stft_params(fs)
    x = np.ascontiguousarray(x, dtype=np.complex64)
    if x.size < nfft:
        return []
    nfr = 1 + (x.size - nfft) // hop
    win = np.hanning(nfft)
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(nfr, nfft), strides=(hop * x.strides[0], x.strides[0]), writeable=False)
    # complex128: numpy's FFT is several times faster in double than in single precision
    spec = np.fft.fft(frames * win[None, :], axis=1)
    # power spectrum, fft-shifted (bin b: frequency (b - nfft/2) fs/nfft), and its
    # cumulative sum in a buffer padded at both ends so that the band sums
    # below are differences of two slices
    df = fs / nfft
    b = np.arange(nfft)
    half_band = round(BAND_HZ / df)
    shift = round(FCCH_TONE_HZ / df)
    near = round(NEAR_HZ / df)
    pad = shift + half_band + 2
    h = nfft // 2
    p = np.empty((nfr, nfft), np.float32)
    np.abs(spec[:, h:], out=p[:, :h])
    np.abs(spec[:, :h], out=p[:, h:])
    del spec
    p *= p
    c = np.empty((nfr, nfft + 1 + 2 * pad), np.float32)
    c[:, :pad + 1] = 0.0
    np.cumsum(p, axis=1, out=c[:, pad + 1: pad + 1 + nfft])
    c[:, pad + 1 + nfft:] = c[:, pad + nfft: pad + 1 + nfft]

    def csum(k: int) -> np.ndarray:
        """Cumulative power below bin b + k (clipped to the spectrum), for every b."""
        return c[:, pad + k: pad + k + nfft]

    tone = csum(2) - csum(-1)  # 3 bins: the Hann main lobe
    # concentration = min(tone / band, tone / near band) = tone / max(band, near band),
    # where band is the carrier band implied by the tone
    ref = csum(-shift + half_band + 1) - csum(-shift - half_band)
    np.maximum(ref, csum(near + 1) - csum(-near), out=ref)
    # a carrier band cut by the capture's edge is still searched (the receiver
    # then reports that carrier as not decodable)
    lo = np.clip(b - shift - half_band, 0, nfft)
    hi = np.clip(b - shift + half_band + 1, 0, nfft)
    valid = (hi - lo > near) & (b > 0) & (b < nfft - 1)
    if max_abs_offset_hz is not None:
        valid &= np.abs((b - nfft / 2) * df - FCCH_TONE_HZ) <= max_abs_offset_hz
    cand = tone > np.float32(threshold) * ref
    cand &= valid[None, :]
    rows = np.flatnonzero(cand.any(axis=1))  # few time steps hold a candidate
    tt, bb = np.nonzero(cand[rows])
    tt = rows[tt]
    # local maxima of the power spectrum only (checked on the few candidates)
    peak = (p[tt, bb] >= p[tt, bb - 1]) & (p[tt, bb] > p[tt, bb + 1])
    tt, bb = tt[peak], bb[peak]
    eps = np.float32(1e-30)

    def conc_at(t: int, b_: int) -> float:
        return float(tone[t, b_] / (ref[t, b_] + eps))

    if tt.size == 0:
        return []
    # group into events: same region (+-2 bins), consecutive frames (gap <= 1)
    events: list[list[tuple[int, int]]] = []
    open_ev: list[list[tuple[int, int]]] = []
    for t, bin_ in zip(tt.tolist(), bb.tolist(), strict=True):  # row-major: t ascending
        open_ev = [ev for ev in open_ev if t - ev[-1][0] <= 2]
        hit = next((ev for ev in open_ev if abs(bin_ - ev[-1][1]) <= 2), None)
        if hit is None:
            hit = []
            events.append(hit)
            open_ev.append(hit)
        hit.append((t, bin_))
    burst_frames = (FCCH_SYMBOLS / SYMBOL_RATE_HZ * fs + nfft) / hop + 1
    gap = nfft // hop + 1
    out: list[FcchEvent] = []
    for ev in events:
        ts = [t for t, _ in ev]
        if max(ts) - min(ts) + 1 > burst_frames:
            continue  # a steady tone, not a burst
        t_pk, b_pk = max(ev, key=lambda tb: conc_at(*tb))
        # a burst: the tone's bins are much weaker just before and after it
        side = [t for t in (min(ts) - gap, max(ts) + gap) if 0 <= t < nfr]
        if side and max(float(tone[t, b_pk]) for t in side) * SIDE_RATIO > float(tone[t_pk, b_pk]):
            continue
        y0, y1, y2 = (math.log(float(p[t_pk, b_pk + k]) + 1e-30) for k in (-1, 0, 1))
        den = y0 - 2 * y1 + y2
        delta = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        tone_hz = (b_pk + delta - nfft / 2) * df
        # the tone is on during the frames where it was seen; their windows'
        # middle is the burst's middle, the burst starts half a burst earlier
        mid = first_sample + 0.5 * (min(ts) + max(ts)) * hop + nfft / 2
        start = mid - 0.5 * FCCH_SYMBOLS * fs / SYMBOL_RATE_HZ
        out.append(FcchEvent(float(start), float(tone_hz), conc_at(t_pk, b_pk)))
    out.sort(key=lambda e: e.start_sample)
    return out


def refine(windows: npt.NDArray[np.complex64], sps: int = OUT_SPS,
           tone_hz: float = FCCH_TONE_HZ) -> list[FcchRefined]:
    """Burst start and residual frequency of one FCCH in each window (N, L).

    `tone_hz`: where the tone is expected in the windows: FCCH_TONE_HZ when
    they are channelised with the carrier at 0 Hz, 0 when centred on the tone
    (then a narrow filter keeps strong neighbours out).
    """
    y = np.asarray(windows, dtype=np.complex64)
    if y.ndim != 2:
        raise ValueError("refine expects windows of shape (N, L)")
    n, length = y.shape
    lag = sps
    span = FCCH_SPAN * sps
    out: list[FcchRefined] = []
    if length < span + lag + 1:
        return [FcchRefined(False, 0.0, 0.0, 0.0, 0.0) for _ in range(n)]
    z = y[:, lag:] * np.conj(y[:, :-lag])
    pw = (np.abs(y[:, lag:]) ** 2).astype(np.float64)
    cz = np.concatenate([np.zeros((n, 1), np.complex128), np.cumsum(z, axis=1)], axis=1)
    cp = np.concatenate([np.zeros((n, 1)), np.cumsum(pw, axis=1)], axis=1)
    sz = cz[:, span:] - cz[:, :-span]
    sp = cp[:, span:] - cp[:, :-span]
    q = np.abs(sz) / np.maximum(sp, 1e-30)
    best = np.argmax(np.abs(sz), axis=1)
    out_rate = sps * SYMBOL_RATE_HZ
    for i in range(n):
        k = int(best[i])
        qual = float(q[i, k])
        # frequency from the middle of the burst only: the GMSK pulse makes the
        # first and last symbols turn by less than pi/2
        m0, m1 = k + _EDGE * sps, k + span - _EDGE * sps
        ang = float(np.angle(cz[i, m1] - cz[i, m0]))
        # z turns by 2*pi*(f_tone + f_e)*lag/out_rate
        fe = (ang / (2 * math.pi) - tone_hz * lag / out_rate) * out_rate / lag
        fe = (fe + out_rate / (2 * lag)) % (out_rate / lag) - out_rate / (2 * lag)
        # second stage: the noise after the channel filter is correlated over a
        # symbol, which biases the lag-1-symbol estimate at low SNR; remove the
        # tone and the first estimate, then measure the rest over a long lag
        seg = y[i, m0 + lag: m1 + lag].astype(np.complex128)
        nn = np.arange(seg.size)
        seg = seg * np.exp(-2j * math.pi * (tone_hz + fe) / out_rate * nn)
        long_lag = min(_LONG_LAG * sps, seg.size // 2)
        if long_lag > 0:
            acc = np.sum(seg[long_lag:] * np.conj(seg[:-long_lag]))
            df = float(np.angle(acc)) / (2 * math.pi * long_lag) * out_rate
            fe += df
            seg = seg * np.exp(-2j * math.pi * df / out_rate * nn)
        # the tone (now at 0 Hz) and what is not the tone: noise and interference
        amp = complex(np.mean(seg)) if seg.size else 0j
        tone_p = abs(amp) ** 2
        resid_p = float(np.mean(np.abs(seg - amp) ** 2)) if seg.size else 0.0
        # z[m] = y[m + lag] y*[m] is clean for m in [s, s + 148 sps - lag); the
        # boxcar of `span` fits inside for k in [s, s + 148 sps - lag - span]
        start = k - 0.5 * (FCCH_SYMBOLS * sps - lag - span)
        out.append(FcchRefined(qual > 0.5, float(start), float(fe), qual, float(sp[i, k] / span),
                               tone_p, resid_p))
    return out
