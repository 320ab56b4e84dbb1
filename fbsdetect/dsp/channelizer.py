"""Wideband front end: which ARFCNs a capture holds, and short channelised
windows of any of them at `OUT_SPS` samples per GSM symbol.

Why windows and not streams
---------------------------
A GSM cell's broadcast lives on timeslot 0 of its C0 carrier (TS 45.002 6.3,
table 3): one burst of 156.25 symbol periods in every TDMA frame of 1250.
The receiver needs a few of those bursts per 51-multiframe (FCCH, SCH, the
four BCCH bursts, optionally CCCH), so it asks for exactly those sample
windows; channelising every carrier's whole stream would cost ~100 times
more work for samples nobody looks at.

Method (fast-convolution channelizer, batched over windows)
----------------------------------------------------------
For each window ``i`` with start instant ``t_i`` (fractional input sample) and
carrier offset ``f_i`` (Hz from the capture centre):

1. ``n_fft`` input samples are read from ``floor(t_i) - pad`` on (zero past
   the ends of the recording; one gather from the memory map) and the
   capture's DC estimate is removed;
2. one FFT of ``n_fft`` points; the ``n_out`` bins nearest the carrier are
   kept (a rotation of the spectrum by the whole bins of ``f_i``;
   ``n_out / n_fft = f_out / fs``, chosen so the output rate is within 2e-5 of
   ``OUT_SPS x 270833.33`` Hz) and multiplied by the channel filter: flat to
   ``PASS_HZ``, a raised-cosine roll-off to zero at ``STOP_HZ``, zero beyond and
   beyond the capture's Nyquist band (no aliasing of the other side);
3. a linear phase ramp shifts the window by the fractional part of the start
   instant, an inverse FFT of ``n_out`` points gives the output samples,
   sample ``k`` at instant ``t_i + k * fs / f_out`` (input samples), and the
   remainder of ``f_i`` (under half a bin) is mixed out at the output rate.

The channel filter (-6 dB at about 102 kHz, zero from 135 kHz) keeps the GMSK
main lobe (99 % of the power within +-125 kHz, TS 45.005 annex spectrum)
and rejects a carrier 200 kHz away (TS 45.005 6.3 adjacent-channel cases);
the equaliser's channel estimate absorbs the filter's effect on the pulse.

Unusable channels: a carrier is decodable only when its band (+-100 kHz)
lies inside ``USABLE_FRACTION`` of the capture's Nyquist band (RTL-SDR's
anti-alias roll-off; TS 45.005 receiver filters are about 180 kHz wide);
bins beyond that are zeroed rather than let alias in.
The DC offset of 8-bit dongles is removed by subtracting the capture's mean,
so a carrier at the tuner's centre stays decodable. An offset that drifts
(thermally, over seconds) is followed by a `DcTrack` when the receiver
measures one: block means of a few tens of milliseconds, interpolated to each
window's instant, replace the capture's mean for windows of carriers whose
filter passes 0 Hz (a constant subtracted from a window is its FFT's bin 0
less ``n_fft`` times the constant, so this costs nothing per window). The
drift the capture's mean leaves is a narrow spike at 0 Hz; when the receiver
measures one it also asks for
`notch_dc` windows (each window's own DC bin and its neighbours zeroed: ~1 %
of a carrier's spectrum if it sits at 0 Hz) and reports carriers whose band
holds the spike (see `receiver.dc_spike_db`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.constants import SYMBOL_RATE_HZ as SYMBOL_RATE_HZ  # re-exported for its importers

OUT_SPS = 2
"""Output samples per GSM symbol."""
PASS_HZ = 70_000.0
"""Channel filter flat up to here (Hz from the carrier)."""
STOP_HZ = 135_000.0
"""Channel filter zero from here on."""
USABLE_FRACTION = 0.96
"""Fraction of the Nyquist band (fs/2) trusted to be flat and alias-free."""
EDGE_NEED_HZ = 100_000.0
"""A carrier needs +-this much of its band inside the trusted band."""
BATCH = 256
"""Windows channelised at once (bounds the temporaries: ~BATCH x n_fft x 16 bytes)."""
RATE_TOLERANCE = 2e-5
DC_NOTCH_BINS = 1
"""With `notch_dc`, the input bins 0 and +-1..this (about +-1.4 kHz at 2.4 MS/s
for the receiver's burst windows) are zeroed: the DC offset of the window's own
instant, which a drifting offset makes differ from the capture's mean."""
"""Largest relative error of the output sample rate."""
DC_TRACK_MARGIN_HZ = 5_000.0
"""With a `dc_track`, windows of carriers within the channel filter's stop
frequency plus this of 0 Hz take the DC of their own instant from the track."""

ComplexArray = npt.NDArray[np.complex64]
Reader = Callable[[npt.NDArray[np.int64], int], ComplexArray]
"""reader(starts (N,), length) -> (N, length) complex64, zeros outside the data."""


def usable_offset_hz(sample_rate_hz: float) -> float:
    """Largest |carrier - centre| at which a carrier's band (+-EDGE_NEED_HZ, where
    nearly all of its power lies) is still inside the trusted part of the
    capture's band."""
    return max(0.0, USABLE_FRACTION * sample_rate_hz / 2.0 - EDGE_NEED_HZ)


def carrier_is_decodable(offset_hz: float, sample_rate_hz: float) -> bool:
    """Whether a carrier at `offset_hz` from the capture centre can be channelised."""
    return abs(offset_hz) <= usable_offset_hz(sample_rate_hz)


@dataclass(frozen=True)
class ArfcnSlot:
    arfcn: int
    band: str
    freq_hz: float
    offset_hz: float  # from the capture centre
    decodable: bool


def arfcns_in_capture(center_freq_hz: float, sample_rate_hz: float) -> list[ArfcnSlot]:
    """Every ARFCN whose nominal downlink frequency lies inside the capture's
    band, with whether it can be decoded (not too close to the band edges)."""
    from fbsdetect.gsm.bands import arfcns_in_span, downlink_hz

    half = sample_rate_hz / 2.0
    out: list[ArfcnSlot] = []
    for arfcn, band in arfcns_in_span(center_freq_hz - half, center_freq_hz + half):
        f = downlink_hz(arfcn, band)
        off = f - center_freq_hz
        out.append(ArfcnSlot(arfcn, band, f, off, carrier_is_decodable(off, sample_rate_hz)))
    return out


def _choose_sizes(sample_rate_hz: float, out_rate_hz: float, min_in: int) -> tuple[int, int]:
    """(n_fft, n_out) with n_fft >= min_in and n_out/n_fft within RATE_TOLERANCE of
    out_rate/sample_rate (exact for the GSM-friendly rates)."""
    r = out_rate_hz / sample_rate_hz
    min_in = max(8, min_in)
    exact = _exact_ratio(r, 1 << 16)
    if exact is not None and exact[1] <= min_in:
        p, q = exact
        n = -(-min_in // q) * q
        return n, n * p // q
    best: tuple[float, int, int] | None = None
    for n in range(min_in, min_in * 3 + 64):
        m = round(n * r)
        if m < 4:
            continue
        err = abs(m - n * r) / (n * r)
        if err <= RATE_TOLERANCE:
            return n, m
        if best is None or err < best[0]:
            best = (err, n, m)
    assert best is not None
    return best[1], best[2]


def _exact_ratio(r: float, max_den: int) -> tuple[int, int] | None:
    """(p, q) with p/q equal to r within 1e-12 and q <= max_den, from the
    continued fraction of r (its convergents are the best approximations),
    else None. (fractions.Fraction would import decimal at start-up.)"""
    h0, h1, k0, k1 = 0, 1, 1, 0
    x = r
    for _ in range(64):
        a = math.floor(x)
        h0, h1, k0, k1 = h1, a * h1 + h0, k1, a * k1 + k0
        if k1 > max_den:
            return None
        if abs(h1 / k1 - r) <= 1e-12 * r:
            return h1, k1
        rest = x - a
        if rest <= 0:
            return None
        x = 1.0 / rest
    return None


class WindowChannelizer:
    """Cuts windows of `out_len` output samples (at OUT_SPS per symbol) out of a
    recording for arbitrary carriers and start instants, batched.

    `reader(starts, length)` gathers raw windows (see `recording_reader`).
    """

    def __init__(self, reader: Reader, sample_rate_hz: float, out_len: int, *,
                 out_sps: int = OUT_SPS, dc: complex = 0.0, pass_hz: float = PASS_HZ,
                 stop_hz: float = STOP_HZ, notch_dc: bool = False,
                 dc_track: DcTrack | None = None) -> None:
        self.reader = reader
        self.notch_dc = notch_dc
        self.dc_track = dc_track
        self._track_hz = stop_hz + DC_TRACK_MARGIN_HZ
        self.sample_rate_hz = float(sample_rate_hz)
        self.out_sps = out_sps
        self.out_rate_hz = out_sps * SYMBOL_RATE_HZ
        self.out_len = int(out_len)
        self.dc = np.complex64(dc)
        pad = 8
        need = math.ceil(out_len * self.sample_rate_hz / self.out_rate_hz) + 2 * pad
        self.pad = pad
        self.n_fft, self.n_out = _choose_sizes(self.sample_rate_hz, self.out_rate_hz, need)
        # effective output rate and the input samples per output sample
        self.step_in = self.n_fft / self.n_out
        fs = self.sample_rate_hz
        # frequency (Hz) of each kept output bin, in FFT order of the n_out-point IFFT
        k = np.fft.fftfreq(self.n_out, d=1.0 / self.n_out)  # integers, FFT order
        self._bins = np.where(k >= 0, k, self.n_fft + k).astype(np.int64)  # indices into the n_fft FFT
        f = k * fs / self.n_fft
        af = np.abs(f)
        h = np.where(af <= pass_hz, 1.0,
                     np.where(af >= stop_hz, 0.0,
                              0.5 * (1 + np.cos(math.pi * (af - pass_hz) / (stop_hz - pass_hz)))))
        self._f = f
        self._h = (h * (self.n_out / self.n_fft)).astype(np.float32)
        # noise-equivalent bandwidth: white input noise of N0 per Hz comes out
        # with power N0 * noise_bandwidth_hz (amplitude scale as for a tone)
        self.noise_bandwidth_hz = float(np.sum(h * h) * fs / self.n_fft)
        self._n = np.arange(self.n_fft, dtype=np.float64)

    def extract(self, starts: npt.ArrayLike, offsets_hz: npt.ArrayLike) -> ComplexArray:
        """Windows (N, out_len): output sample k of window i is the carrier at
        `offsets_hz[i]` (moved to 0 Hz, filtered) at input instant
        ``starts[i] + k * step_in``. The carrier phase of each window is
        arbitrary (each burst gets its own channel estimate)."""
        t = np.atleast_1d(np.asarray(starts, dtype=np.float64))
        fo = np.broadcast_to(np.asarray(offsets_hz, dtype=np.float64), t.shape)
        if t.size == 0:
            return np.zeros((0, self.out_len), np.complex64)
        if t.size > BATCH:  # bounded temporaries (memory) for large batches
            return np.concatenate([self._extract(t[k:k + BATCH], fo[k:k + BATCH])
                                   for k in range(0, t.size, BATCH)])
        return self._extract(t, fo)

    def _extract(self, t: npt.NDArray[np.float64], fo: npt.NDArray[np.float64]) -> ComplexArray:
        i0 = np.floor(t).astype(np.int64) - self.pad
        frac = t - i0  # >= pad, < pad + 1: where the window starts inside the read
        x = self.reader(i0, self.n_fft)
        if self.dc != 0:
            x -= self.dc
        fs = self.sample_rate_hz
        spec = np.fft.fft(x.astype(np.complex128), axis=1)  # numpy's double FFT is the faster one
        if self.dc_track is not None:  # the DC of each window's own instant, where it is in the band
            near = np.flatnonzero(np.abs(fo) < self._track_hz)
            if near.size:
                mid = i0[near] + 0.5 * self.n_fft
                spec[near, 0] -= self.n_fft * (self.dc_track(mid) - complex(self.dc))
        if self.notch_dc:  # each window's own DC and the bins beside it (a drifting DC offset)
            spec[:, :DC_NOTCH_BINS + 1] = 0
            spec[:, -DC_NOTCH_BINS:] = 0
        # mixing by a whole number of bins is a rotation of the spectrum; the
        # remainder (under half a bin) is removed after decimation
        k0 = np.round(fo * self.n_fft / fs).astype(np.int64)
        rest = fo - k0 * fs / self.n_fft
        spec = np.take_along_axis(spec, (self._bins[None, :] + k0[:, None]) % self.n_fft, axis=1)
        # nothing from beyond the capture's trusted band (it would be aliased)
        inside = np.abs(self._f[None, :] + fo[:, None]) <= USABLE_FRACTION * fs / 2
        # advance by `frac` input samples: exp(+j 2 pi f frac / fs); phases of a few
        # radians at most, so float32 (about 1e-6 rad) is ample
        phase = ((2 * math.pi / fs) * frac[:, None] * (self._f[None, :] + rest[:, None])).astype(np.float32)
        gain = self._h[None, :] * inside
        spec *= _expj(phase, gain)
        y = np.fft.ifft(spec, axis=1)[:, : self.out_len]
        k = np.arange(self.out_len) * self.step_in
        y *= _expj(((-2 * math.pi / fs) * rest[:, None] * k[None, :]).astype(np.float32))
        return np.ascontiguousarray(y, dtype=np.complex64)


class DcTrack:
    """The DC offset over time, from a stream: the mean of each block of
    `block` samples (blocks aligned on sample 0, each computed once it is
    complete, the last `keep_blocks` kept), linearly interpolated between
    block centres (held before the first and after the last complete one).

    A block of a few tens of milliseconds is long against a burst: a GSM
    carrier's GMSK (at 0 Hz too) contributes its density at 0 Hz over a band
    of 1/block (~-39 dB of its power for 50 ms), its FCCH tone (67.7 kHz off
    the carrier, 0.55 ms) ~-80 dB, white noise its power over `block`; an
    RTL-SDR's offset drifts over seconds, far slower than the block rate."""

    def __init__(self, block: int, keep_blocks: int = 1024) -> None:
        self.block = max(1, int(block))
        self.keep_blocks = max(2, int(keep_blocks))
        self._means = np.zeros(self.keep_blocks, np.complex128)
        self.n_blocks = 0  # complete blocks so far
        self._part = np.complex128(0)  # sum over the block being filled
        self._part_n = 0

    def feed(self, x: npt.NDArray[np.complex64]) -> None:
        """The stream's next samples (consecutive with the previous ones)."""
        x = np.asarray(x).reshape(-1)
        i = 0
        while i < x.size:
            k = min(self.block - self._part_n, x.size - i)
            self._part += x[i:i + k].sum(dtype=np.complex128)
            self._part_n += k
            i += k
            if self._part_n == self.block:
                self._means[self.n_blocks % self.keep_blocks] = self._part / self.block
                self.n_blocks += 1
                self._part, self._part_n = np.complex128(0), 0

    def means(self, blocks: npt.NDArray[np.int64]) -> npt.NDArray[np.complex128]:
        """Means of the given complete blocks (older ones than kept read as the oldest kept)."""
        first = max(0, self.n_blocks - self.keep_blocks)
        idx = np.clip(np.asarray(blocks, dtype=np.int64), first, max(first, self.n_blocks - 1))
        return self._means[idx % self.keep_blocks]

    def __call__(self, t: npt.ArrayLike) -> npt.NDArray[np.complex128]:
        """The DC at input instants `t` (samples)."""
        u = np.asarray(t, dtype=np.float64) / self.block - 0.5
        last = max(0, self.n_blocks - 1)
        j0 = np.clip(np.floor(u), 0, last).astype(np.int64)
        j1 = np.minimum(j0 + 1, last)
        w = np.clip(u - j0, 0.0, 1.0)
        m = self.means(np.concatenate([j0, j1]))
        return (1.0 - w) * m[: j0.size] + w * m[j0.size:]


def _expj(phase: npt.NDArray[np.float32], gain: npt.NDArray[np.float32] | None = None) -> ComplexArray:
    """gain * exp(j phase) as complex64, from float32 cos and sin."""
    out = np.empty(phase.shape, np.complex64)
    if gain is None:
        out.real = np.cos(phase)
        out.imag = np.sin(phase)
    else:
        out.real = gain * np.cos(phase)
        out.imag = gain * np.sin(phase)
    return out


def recording_reader(raw: np.ndarray, datatype: str, n_samples: int, offset: int = 0) -> Reader:
    """A `Reader` over a memory-mapped interleaved I/Q array (see
    `fbsdetect.sources.recording.Recording`): gathers only the requested
    windows of samples [offset, offset + n_samples) (indices relative to
    `offset`), zero-filled outside.

    8-bit formats are read as one 16-bit word per sample through a table of
    all 65536 I/Q pairs, built with the recording's own scaling
    (`to_complex64`): one gather per window instead of a gather, a stack and
    two conversions."""
    from fbsdetect.dsp.samples import to_complex64

    words: np.ndarray | None = None
    table: ComplexArray | None = None
    if raw.dtype.itemsize == 1 and raw.size % 2 == 0:
        words = raw.view(np.uint16)  # little-endian: I in the low byte, Q in the high byte
        v = np.arange(1 << 16, dtype=np.uint16).view(np.uint8)  # the bytes of every word in memory order
        table = to_complex64(v.view(raw.dtype), datatype)

    def convert(seg: np.ndarray) -> ComplexArray:
        if table is not None:
            return table[seg]
        return to_complex64(seg, datatype)

    def read(starts: npt.NDArray[np.int64], length: int) -> ComplexArray:
        starts = np.asarray(starts, dtype=np.int64)
        if starts.size and starts.min() >= 0 and starts.max() + length <= n_samples:
            # all inside: one gather (the memory map reads only those pages)
            if words is not None and table is not None:
                if starts.size == 1:  # one contiguous block (the FCCH search): a slice
                    s0 = offset + int(starts[0])
                    return table[np.asarray(words[s0:s0 + length])][None, :]
                return table[words[offset + starts[:, None] + np.arange(length)[None, :]]]
            idx = offset + starts[:, None] + np.arange(length)[None, :]
            pairs = np.stack([raw[2 * idx], raw[2 * idx + 1]], axis=-1).reshape(starts.size, 2 * length)
            return _finite(to_complex64(pairs, datatype))
        out = np.zeros((starts.size, length), np.complex64)
        for j, s in enumerate(starts.tolist()):
            a = max(0, s)
            b = min(n_samples, s + length)
            if b <= a:
                continue
            if words is not None:
                out[j, a - s: b - s] = convert(np.asarray(words[offset + a: offset + b]))
            else:
                out[j, a - s: b - s] = convert(np.asarray(raw[2 * (offset + a): 2 * (offset + b)]))
        return _finite(out)

    return read


def _finite(x: ComplexArray) -> ComplexArray:
    """Non-finite samples (a damaged float recording) become 0 (no signal)
    instead of spreading NaN over a whole FFT window."""
    if np.iscomplexobj(x) and x.size and not np.isfinite(x).all():
        x = np.where(np.isfinite(x), x, np.complex64(0)).astype(np.complex64)
    return x


def array_reader(x: ComplexArray) -> Reader:
    """A `Reader` over an in-memory complex64 array (tests, live blocks)."""
    n = x.size

    def read(starts: npt.NDArray[np.int64], length: int) -> ComplexArray:
        starts = np.asarray(starts, dtype=np.int64)
        out = np.zeros((starts.size, length), np.complex64)
        for j, s in enumerate(starts.tolist()):
            a, b = max(0, s), min(n, s + length)
            if b > a:
                out[j, a - s: b - s] = x[a:b]
        return _finite(out)

    return read
