"""One tuning of a live source: the power pass and the decode dwell.

`LiveReader` is a `dsp.channelizer.Reader` over a live `IqSource`: a ring
buffer that pulls blocks from the source on demand (when the receiver asks for
a window beyond what has been read), never beyond the dwell's cap, and keeps
only the last `keep_s` seconds (windows older than that read as zeros and are
counted as `stale_reads`; the receiver works forward in chunks of a few
multiframes, so a look-back of one chunk plus a second never touches them).
`decode_dwell` feeds one streaming `receiver.Receiver` block by block (it
no longer uses `LiveReader`): its early stop (`satisfied`, the scan's test of
what earlier visits already decoded) ends the dwell, and with it the reading.
Memory is the receiver's bounded look-back (~0.9 s with one-multiframe chunks:
~15 MB at 2.17 MS/s) plus what it decoded, whatever the scan's length.

`power_pass` reads `power_dwell_s` of samples: a Welch spectrum (dBFS per bin),
the noise floor (a low percentile of the bins in the usable span), each
ARFCN's channel power, and clipping (samples at the ADC's full scale).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.scan.plan import Tuning

ENERGY_DB = 4.0
"""A channel counts as having energy when its mean density (+-60 kHz around
the raster point) stands this far over the tuning's noise floor: a 9 dB-SNR
GSM carrier is ~10 dB over it there; over 30 ms of averaged 256-bin FFTs the
floor's own spread is a fraction of a dB."""
CHANNEL_HALF_HZ = 60_000.0
FLOOR_PERCENTILE = 2.0
"""The noise floor is this low percentile of the bins inside the usable span:
on a busy band the gaps between channels hold the neighbours' skirts, so only
the quietest bins are noise (a false "energy" costs a little decode time, a
missed carrier costs the cell)."""
CLIP_LEVEL = 0.985  # |I| or |Q| at the 8-bit ADC's full scale (cu8 dequantised: 127.5/127.5)
CLIP_FRACTION = 1e-3
NFFT = 256
SPECTRUM_S = 0.03  # a decode dwell's recorded spectrum: its last 30 ms
GAP_MIN_S = 0.002  # a jump of the source's clock beyond this is dropped samples (USB blocks are >= 6 ms)


class LiveReader:
    """Reader(starts, length) over a live source (see module docstring)."""

    def __init__(self, source: Any, cap_samples: int, *, keep_s: float = 1.5, block_s: float = 0.02) -> None:
        self.source = source
        fs = float(source.sample_rate_hz)
        self.fs = fs
        self.cap = int(cap_samples)
        self.keep = max(int(keep_s * fs), int(0.2 * fs))
        self.block = max(1024, int(block_s * fs))
        self.ring = np.zeros(self.keep, np.complex64)
        self.end = 0  # samples pulled so far (absolute index of the next one)
        self.t0_s = float(source.time_s)  # source time of sample 0
        self.stale_reads = 0
        self.gap_samples = 0  # dropped by the source (overflow), zeros in the ring
        self.source_cpu_s = 0.0  # time spent inside source.read (the simulator's rendering)
        self.clipped_samples = 0
        self.peak = 0.0

    def _gap(self) -> int:
        """Samples a live source dropped since the last read (it was not read fast
        enough: its `time_s` jumped ahead of the samples delivered); small clock
        differences (a simulated dongle's ppm) are not gaps."""
        ahead = round((float(self.source.time_s) - self.t0_s) * self.fs) - self.end
        return ahead if ahead > GAP_MIN_S * self.fs else 0

    def pull_to(self, n: int) -> None:
        n = min(int(n), self.cap)
        while self.end < n:
            gap = min(self._gap(), self.cap - self.end)
            if gap > 0:  # keep sample index = source time: the dropped span reads as zeros
                self.gap_samples += gap
                z = min(gap, self.keep)
                for j in range(self.end + gap - z, self.end + gap, self.block):
                    m = min(self.block, self.end + gap - j)
                    a = j % self.keep
                    b = min(m, self.keep - a)
                    self.ring[a:a + b] = 0
                    self.ring[: m - b] = 0
                self.end += gap
                continue
            k = min(self.block, self.cap - self.end, self.keep)
            t = time.process_time()
            x = np.asarray(self.source.read(k), dtype=np.complex64)
            self.source_cpu_s += time.process_time() - t
            if x.size == 0:
                self.cap = self.end  # the source ran dry (a replayed file's end)
                return
            a = self.end % self.keep
            m = min(x.size, self.keep - a)
            self.ring[a:a + m] = x[:m]
            if m < x.size:
                self.ring[: x.size - m] = x[m:]
            self.end += x.size
            mx = float(np.max(np.maximum(np.abs(x.real), np.abs(x.imag)))) if x.size else 0.0
            self.peak = max(self.peak, mx)
            if mx >= CLIP_LEVEL:
                self.clipped_samples += int(np.count_nonzero(
                    (np.abs(x.real) >= CLIP_LEVEL) | (np.abs(x.imag) >= CLIP_LEVEL)))

    def __call__(self, starts: npt.NDArray[np.int64], length: int) -> npt.NDArray[np.complex64]:
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        out = np.zeros((starts.size, int(length)), np.complex64)
        if starts.size == 0 or length <= 0 or self.ring.size == 0:  # nothing asked, or released
            return out
        self.pull_to(int(starts.max()) + int(length))
        lo = max(0, self.end - self.keep)
        for j, s in enumerate(starts.tolist()):
            a, b = max(s, lo), min(s + length, self.end)
            if min(s + length, lo) > max(s, 0):  # samples that were read but are no longer kept
                self.stale_reads += 1
            if b <= a:
                continue
            ra, rb = a % self.keep, (b - 1) % self.keep + 1
            if ra < rb:
                out[j, a - s: b - s] = self.ring[ra:rb]
            else:
                m = self.keep - ra
                out[j, a - s: a - s + m] = self.ring[ra:]
                out[j, a - s + m: b - s] = self.ring[:rb]
        return out

    @property
    def dwell_s(self) -> float:
        return self.end / self.fs

    def release(self) -> None:
        """Frees the ring (the dwell is over; a reference cycle through the receiver,
        e.g. a traffic follower's clock, must not keep ~26 MB alive until the GC runs)."""
        self.ring = np.zeros(0, np.complex64)
        self.keep = 1
        self.cap = self.end


# --------------------------------------------------------------------------- power pass


@dataclass
class PowerResult:
    tuning: Tuning
    t0_s: float
    dwell_s: float
    spectrum_start_hz: float
    spectrum_step_hz: float
    spectrum_db: npt.NDArray[np.float32]
    noise_floor_db: float
    channel_db: dict[int, float]  # ARFCN -> mean density over the floor (dB)
    energetic: list[int]
    clipped: bool
    peak: float
    source_cpu_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def spectrum_dbfs(x: npt.NDArray[np.complex64], nfft: int = NFFT) -> npt.NDArray[np.float64]:
    """Welch spectrum (Hann, no overlap), fftshifted, dBFS per bin (sums to the power)."""
    n = (x.size // nfft) * nfft
    if n == 0:
        return np.full(nfft, -200.0)
    seg = x[:n].reshape(-1, nfft) - np.mean(x[:n])  # the DC offset is not a carrier
    w = np.hanning(nfft).astype(np.float32)
    p = np.mean(np.abs(np.fft.fft(seg * w, axis=1)) ** 2, axis=0) / (float(np.sum(w * w)) * nfft)
    return np.asarray(10 * np.log10(np.maximum(np.fft.fftshift(p), 1e-20)), dtype=np.float64)


def power_pass(source: Any, tuning: Tuning, dwell_s: float, freq_of: Callable[[int], float]) -> PowerResult:
    """Reads `dwell_s` at the (already set) tuning and measures every ARFCN of it."""
    from fbsdetect.dsp.channelizer import usable_offset_hz

    fs = float(source.sample_rate_hz)
    t0 = float(source.time_s)
    n = max(NFFT * 8, int(dwell_s * fs))
    t = time.process_time()
    x = np.asarray(source.read(n), dtype=np.complex64)
    src_cpu = time.process_time() - t
    db = spectrum_dbfs(x)
    step = fs / NFFT
    f0 = tuning.center_freq_hz - fs / 2
    freqs = f0 + step * np.arange(NFFT)
    usable = usable_offset_hz(fs)
    inside = np.abs(freqs - tuning.center_freq_hz) <= usable + 100e3
    inside &= np.abs(freqs - tuning.center_freq_hz) > 2 * step  # the DC bins
    floor = float(np.percentile(db[inside], FLOOR_PERCENTILE)) if inside.any() else float(np.median(db))
    chan: dict[int, float] = {}
    energetic = []
    lin = 10 ** (db / 10)
    for a in tuning.arfcns:
        f = freq_of(a)
        m = np.abs(freqs - f) <= CHANNEL_HALF_HZ
        if not m.any():
            continue
        rel = 10 * math.log10(float(np.mean(lin[m]))) - floor
        chan[a] = round(rel, 2)
        if rel >= ENERGY_DB:
            energetic.append(a)
    mx = float(np.max(np.maximum(np.abs(x.real), np.abs(x.imag)))) if x.size else 0.0
    clipped = bool(np.count_nonzero((np.abs(x.real) >= CLIP_LEVEL) | (np.abs(x.imag) >= CLIP_LEVEL))
                   > CLIP_FRACTION * max(1, x.size))
    notes = []
    if clipped:
        notes.append(f"gain clipping: {mx:.3f} of full scale reached by more than {CLIP_FRACTION:.1%} "
                     "of the samples; lower the gain")
    return PowerResult(tuning, t0, x.size / fs, f0, step, db.astype(np.float32), floor, chan, energetic,
                       clipped, mx, src_cpu, notes)


# --------------------------------------------------------------------------- decode dwell


@dataclass
class DwellResult:
    tuning: Tuning
    t0_s: float  # source time of the dwell's first sample
    dwell_s: float
    decode: Any  # receiver.DecodeResult
    stale_reads: int
    source_cpu_s: float
    cpu_s: float  # process CPU of the whole dwell (source included)
    clipped: bool
    peak: float
    overflows: int = 0
    gap_samples: int = 0
    spectrum_db: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))


FOLLOW_CCCH = True
"""Decode every CCCH block of a dwell to follow Immediate Assignments
(`fbsdetect.traffic`, issue 13); False: BCCH (and BCCH Ext while wanted) only,
about a tenth of the blocks."""


def scan_receiver_config(*, research: bool = False, follow_ccch: bool | None = None) -> Any:
    """The receiver's settings for scan dwells: SI once, no periodic re-search
    (a dwell is short; the next sweep searches again), one-multiframe chunks
    (the early stop is tested after each: 235 ms granularity); CCCH decoded to follow
    Immediate Assignments (fbsdetect.traffic: the dwell goes on while a conversation
    in clear does)."""
    from fbsdetect.receiver import ReceiverConfig

    follow = FOLLOW_CCCH if follow_ccch is None else follow_ccch
    return ReceiverConfig(si_repeats=1, research_s=1.0 if research else 0.0, chunk_multiframes=1,
                          follow_ccch=follow)


BLOCK_S = 0.02
"""A dwell reads the source in blocks of this (a USB transfer or two)."""


def decode_dwell(source: Any, tuning: Tuning, *, cap_s: float,
                 satisfied: Callable[[Any], bool] | None = None, config: Any = None,
                 search_s: float | None = None, keep_s: float | None = None,
                 settle_s: float = 0.0) -> DwellResult:
    """Decodes the (already set) tuning until `satisfied` holds for every
    carrier found or `cap_s` of samples were read: one streaming
    `receiver.Receiver` fed block by block (carriers keep their sync across
    the blocks), `settle_s` of samples after the retune read and discarded
    first, samples the source dropped (its clock ahead of the samples
    delivered) counted and replaced by zeros so that sample index stays
    source time. `keep_s`: the receiver's look-back (None: what its chunks need)."""
    from dataclasses import replace

    from fbsdetect.receiver import Receiver

    fs = float(source.sample_rate_hz)
    cfg = config or scan_receiver_config()
    if search_s is not None:
        cfg = replace(cfg, search_s=search_s)
    if keep_s is not None:
        cfg = replace(cfg, lookback_s=keep_s)
    ov0 = int(getattr(source, "overflows", 0) or 0)
    cpu0 = time.process_time()
    src_cpu = 0.0
    block = max(1024, int(BLOCK_S * fs))
    settle = int(settle_s * fs)
    while settle > 0:  # the tuner's settling after the retune: read, never decoded
        t = time.process_time()
        x = source.read(min(block, settle))
        src_cpu += time.process_time() - t
        if len(x) == 0:
            break
        settle -= len(x)
    t0 = float(source.time_s)
    rx = Receiver(fs, tuning.center_freq_hz, config=cfg, satisfied=satisfied, time_offset_s=t0)
    cap = int(cap_s * fs)
    clipped_n, peak = 0, 0.0
    while rx.n_samples < cap and not rx.all_done:
        t_next = float(source.time_s)
        t = time.process_time()
        x = np.asarray(source.read(min(block, cap - rx.n_samples)), dtype=np.complex64)
        src_cpu += time.process_time() - t
        if x.size == 0:  # the source ran dry (a replayed file's end)
            break
        mx = float(np.max(np.maximum(np.abs(x.real), np.abs(x.imag))))
        peak = max(peak, mx)
        if mx >= CLIP_LEVEL:
            clipped_n += int(np.count_nonzero((np.abs(x.real) >= CLIP_LEVEL)
                                              | (np.abs(x.imag) >= CLIP_LEVEL)))
        rx.push(x, t_next)
    n = rx.n_samples
    n_sp = min(n - rx.ring.lo, int(SPECTRUM_S * fs))
    spec = np.zeros(0, np.float32)
    if n_sp >= NFFT:  # the dwell's last samples, still in the look-back
        spec = spectrum_dbfs(rx.ring(np.array([n - n_sp], np.int64), n_sp)[0]).astype(np.float32)
    res = rx.flush()
    ov = int(getattr(source, "overflows", 0) or 0) - ov0
    out = DwellResult(tuning, t0, n / fs, res, rx.ring.stale_reads, src_cpu, time.process_time() - cpu0,
                      clipped_n > CLIP_FRACTION * max(1, n), peak, ov, rx.gap_samples, spec)
    rx.release()  # a traffic follower's clock keeps the receiver alive: not its look-back
    return out


def outcome_counts(tuning: Tuning, power: PowerResult | None, dwell: DwellResult | None,
                   targets: Sequence[int] | None = None) -> tuple[dict[str, int], list[str]]:
    """Counted outcomes of a tuning (contracts.md section 7) and why-nothing-
    found notes: no_energy (ARFCNs without energy in the power pass), no_fcch
    (energy, no FCCH), no_sch (FCCH, SCH never decoded), crc_fail (SCH, no BCCH
    block passed its CRC), decoded (a cell with its identity)."""
    out = {"no_energy": 0, "no_fcch": 0, "no_sch": 0, "crc_fail": 0, "decoded": 0}
    notes: list[str] = []
    energetic = set(power.energetic) if power is not None else set(tuning.arfcns)
    arfcns = list(targets) if targets is not None else list(tuning.arfcns)
    if power is not None:
        out["no_energy"] = sum(1 for a in arfcns if a not in energetic)
    if dwell is None:
        return out, notes
    by_arfcn: dict[int, list[Any]] = {}
    for c in dwell.decode.carriers:
        by_arfcn.setdefault(c.arfcn, []).append(c)
    for a in arfcns:
        cs = by_arfcn.get(a, [])
        if not cs:
            if a in energetic:
                out["no_fcch"] += 1
            continue
        if any(c.is_cell and c.stats.blocks_ok > 0 for c in cs):
            out["decoded"] += 1
        elif any(c.bsic is not None for c in cs):
            out["crc_fail"] += 1
        else:
            out["no_sch"] += 1
    if dwell.overflows:
        out["overflow"] = dwell.overflows
        lost_s = dwell.gap_samples / dwell.decode.sample_rate_hz
        notes.append(f"{dwell.overflows} blocks dropped ({lost_s:.3f} s): decoding fell behind the source")
    if dwell.stale_reads:
        out["stale_reads"] = dwell.stale_reads
    if dwell.clipped:
        notes.append(f"gain clipping during the dwell (peak {dwell.peak:.3f} of full scale)")
    if out["no_fcch"]:
        notes.append(f"{out['no_fcch']} channels with energy but no FCCH (not GSM BCCH carriers, "
                     "or too weak / interfered)")
    if out["no_sch"]:
        notes.append(f"{out['no_sch']} carriers with FCCH but no SCH decoded")
    if out["crc_fail"]:
        notes.append(f"{out['crc_fail']} carriers whose BCCH never passed its CRC")
    return out, notes
