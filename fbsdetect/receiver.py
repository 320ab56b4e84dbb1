"""The receiver: every GSM cell in a recording, IQ in, L2 frames and cell
observations out.

Stages (each counted per carrier, never raised):

1. **Acquisition.** A wideband FCCH search (`dsp.fcch.search_wideband`) over
   the first `search_s` seconds finds the frequency-correction bursts of every
   BCCH carrier in the capture at once; each tone is assigned to the ARFCN
   whose raster point is nearest to ``tone - 67.7 kHz`` (unambiguous for
   receiver errors up to +-100 kHz, i.e. +-100 ppm at 1 GHz). Every FCCH is
   refined on a narrow window centred on its tone (`dsp.fcch.refine`: burst
   start, carrier offset to a few Hz). Beside every newly found carrier a
   narrow search looks for the FCCH of a carrier 200 kHz away that a much
   stronger neighbour's skirt hides from the wideband search (reported only if
   its SCH then decodes). Shorter searches every `research_s` seconds find
   cells that switch on later (a fake base station arriving).
   Carriers too close to the capture's band edges are reported as not
   decodable, never decoded from an aliased band.
2. **SCH.** One frame (1250 symbol periods) after each FCCH the SCH
   (TS 45.002 5.2.5, 6.3.1.3) is located by correlating with its 64-bit
   extended training sequence, demodulated (`dsp.burst.demod_sch`) and decoded
   (`gsm.coding.sch_decode`, TS 45.003 4.7): BSIC and the frame number. A
   cell needs `MIN_SCH` SCHs that agree on BSIC, frame number and timing (one
   10-bit parity check passes on noise once in 1024 tries); a carrier that
   repeats a much stronger one's BSIC and timing is a copy (intermodulation
   or an image in the receiver), not a cell. The receiver's ppm error is
   estimated from the confirmed cells (`dsp.ppm`).
3. **Tracking.** Each chunk's SCHs measure the residual carrier frequency
   (`dsp.burst`), which corrects the carrier's mixing frequency (Doppler,
   oscillator drift). A carrier's TS0 burst of frame ``fn`` starts at
   ``s0 + (fn - fn0) * 1250 * sps_in + r(fn)``: ``sps_in`` is the carrier's own
   symbol clock in input samples (`dsp.ppm.clock_scale`: a base station's
   carrier and clock share one reference, TS 45.010 5.1), ``r`` interpolates
   the residuals measured on every decoded SCH. Blocks before the first FCCH
   are reached by extrapolating backwards, so nothing a cold-starting receiver
   would miss is lost.
4. **Bursts and blocks.** Only TS0 windows that are needed are channelised
   (`dsp.channelizer.WindowChannelizer`): the BCCH Norm block (T3 = 2..5)
   of every 51-multiframe, plus the first CCCH block (BCCH Ext, T3 = 6..9)
   while a type SI3 puts there (SI2quater or SI13 at position 1, TS 44.018
   10.5.2.34) is still wanted, plus every other TS0 block with `all_frames`.
   SI messages (RR message type, TS 44.018 10.4) are collected from BCCH and
   CCCH blocks alike: real cells send SI2quater on BCCH Ext.
   Bursts are equalised (`dsp.burst.demod_normal`, TSC = BCC, TS 45.002
   5.2.3) and blocks decoded (`gsm.coding.xcch_decode`, TS 45.003 4.1).
5. **Early stop.** Without `all_frames`, a carrier is done once every BCCH TC
   position (TS 45.002 6.3.1.3) and every SI type seen or announced in SI3
   (SI2ter, SI2quater, SI13 with GPRS; on BCCH Norm or Ext) has been decoded
   `si_repeats` times.

Processing goes in chunks of `chunk_multiframes` 51-multiframes, batched over
all carriers, so numpy works on arrays of hundreds of bursts at a time.

DC offset. The mean of the first `search_s` seconds is removed from every
window. When it holds more than DC_TRACK_MIN_DB of the capture's power (an
RTL-SDR's LO leakage, which drifts thermally over seconds), windows of
carriers whose filter passes 0 Hz take the offset of their own instant
instead, from 50 ms block means (`dsp.channelizer.DcTrack`, read only where
such windows are): a cell sitting at DC under a drifting -18 dBFS offset
decodes 13 of 13 BCCH blocks instead of 5.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.channelizer import (
    OUT_SPS,
    SYMBOL_RATE_HZ,
    DcTrack,
    Reader,
    WindowChannelizer,
    carrier_is_decodable,
    recording_reader,
)
from fbsdetect.dsp.fcch import FCCH_TONE_HZ, FcchEvent, FcchRefined, refine, search_wideband
from fbsdetect.dsp.ppm import PpmEstimate, clock_scale, estimate_ppm, median
from fbsdetect.gsm.bursts import SCH_TRAINING, SCH_TRAINING_START
from fbsdetect.gsm.coding import sch_decode, xcch_decode
from fbsdetect.gsm.frames import HYPERFRAME
from fbsdetect.sources.recording import Capture, Recording
from fbsdetect.sysinfo.dispatch import si_key
from fbsdetect.types import CellObservation, L2Frame

FRAME_SYMBOLS = 1250  # 8 timeslots of 156.25 symbol periods
BURST_SYMBOLS = 148
SCH_T3 = (1, 11, 21, 31, 41)
BCCH_T3 = 2
FCCH_MARGIN_SYMBOLS = 40  # coarse FCCH timing is +- half an STFT hop
FCCH_PASS_HZ = 15_000.0  # FCCH refinement filter around the tone (coarse error < 2.5 kHz)
FCCH_STOP_HZ = 35_000.0
CHANNEL_SPACING_HZ = 200_000.0
DC_BAND_HZ = 2_000.0
"""Width (+-) of the DC spike that a drifting DC offset leaves after mean removal."""
DC_SPIKE_DB = 6.0
"""A DC spike counts when its density stands this far above its surroundings."""
DC_OVERLAP_HZ = 100_000.0
"""A carrier within this of 0 Hz has the spike in its band."""
DC_TRACK_BLOCK_S = 0.05
"""Block of the DC track's means (`dsp.channelizer.DcTrack`): long against a
burst (a GSM carrier at 0 Hz puts its density at 0 Hz over 20 Hz, ~-39 dB of
its power, into each mean; 20 ms blocks, ~-35 dB, cost a 38 dB-SNR cell at DC
several dB of its measured SNR), short against an RTL-SDR offset's thermal
drift (seconds: linear interpolation between means 50 ms apart leaves ~-60 dB
of a +-0.3 rad wander of period 2 s)."""
DC_TRACK_MIN_DB = -40.0
"""The DC offset is tracked when the capture's mean holds at least this much
of its power (dB): without an offset the mean of 0.15 s of noise holds ~-55 dB,
of a GSM carrier at 0 Hz ~-43 dB."""
NEIGHBOUR_PASS_HZ = 5_000.0  # narrow band searched for a weak neighbour's FCCH, around its tone
NEIGHBOUR_STOP_HZ = 12_000.0
NEIGHBOUR_LAG_SYMBOLS = 32
NEIGHBOUR_COHERENCE = 0.5
"""A tone's correlation with itself 32 symbols later, normalised (1: a clean
tone), that a weak neighbour's FCCH must exceed. Narrow-band noise passes it
now and then (few independent samples), so such a carrier is reported only
when its SCH decodes (`CarrierResult.speculative`)."""
NEIGHBOUR_MAX_ERROR_HZ = 2_000.0
"""Its tone within this of where the found carrier's tone +-200 kHz puts it
(one operator's carriers share the receiver's error; BTS errors are 0.05 ppm)."""
NOISE_PASS_HZ = 15_000.0  # noise window centred on the carrier during its FCCH (tone at 67.7 kHz)
NOISE_STOP_HZ = 30_000.0
NOISE_EDGE_SYMBOLS = 34  # left out at each end of the FCCH (filter transients, the ramps)
ACI_MAX_HZ = 700_000.0
ACI_RASTER_TOLERANCE_HZ = 20_000.0
"""Carriers 200, 400 or 600 kHz (+- this) from one whose noise is measured are
subtracted as adjacent-channel interference: GSM carriers share the 200 kHz
raster (and the receiver's error); FCCH-like events elsewhere (a strong
carrier's spurs, narrow-band noise) are not cells whose skirt is known."""
NOISE_MIN_FRACTION = 0.2
FCCH_SYMBOLS = 148
SCH_MARGIN_SYMBOLS = 24  # refined FCCH start (and the tone's spill into guard bits) is +- ~10
TRACK_MARGIN_SYMBOLS = 10  # burst.py searches +-4 symbols and needs 5 more (channel taps)
MIN_SCH = 2
FREQ_TRACK_GAIN = 0.7  # fraction of the SCHs' median residual frequency corrected per chunk
FREQ_TRACK_MAX_HZ = 300.0
MAX_BLOCKS_PER_BATCH = 128
COPY_MARGIN_DB = 15.0
"""A carrier with the BSIC and frame timing of one this much stronger is a copy
(receiver intermodulation, an image), not a cell."""
BCCH_EXT_T3 = 6
"""BCCH Ext: the first CCCH block (T3 = 6..9, TS 45.002 6.3.1.3 and 7 table 3),
where SI3 may put SI2quater and the GPRS indicator SI13 (position 1)."""


# --------------------------------------------------------------------------- demodulator


@dataclass(frozen=True)
class Bursts:
    """Demodulated bursts: the soft payload bits (float32, positive = 1; SCH
    (N, 78) as `sch_decode` takes them, normal bursts (N, 114) data bits
    without stealing flags), the burst start found in each window (output
    samples, the instant on which bit 0 is centred), SNR (dB), power (window
    units, mean |y|^2 over the burst) and the residual frequency (Hz)."""

    soft: npt.NDArray[np.float32]
    start: npt.NDArray[np.float64]
    snr_db: npt.NDArray[np.float64]
    power: npt.NDArray[np.float64]
    freq_hz: npt.NDArray[np.float64]


class Demodulator(Protocol):
    """What the receiver needs from the burst demodulator (windows at OUT_SPS
    samples per symbol, the burst expected to start at `nominal_start`).
    `refine`: the slower decision-directed second pass; the receiver asks for
    it on normal bursts only when their block did not decode."""

    def sch(self, windows: npt.NDArray[np.complex64], nominal_start: npt.NDArray[np.float64],
            refine: bool = True) -> Bursts: ...

    def normal(self, windows: npt.NDArray[np.complex64], tsc: npt.NDArray[np.int64],
               nominal_start: npt.NDArray[np.float64], refine: bool = True) -> Bursts: ...


class MlseDemodulator:
    """`fbsdetect.dsp.burst`'s training-sequence sync, channel estimate and
    soft-output MLSE equaliser."""

    def __init__(self, sch_search_sym: float = 2.0, normal_search_sym: float = 4.0) -> None:
        self.sch_search_sym = sch_search_sym
        self.normal_search_sym = normal_search_sym

    def sch(self, windows: npt.NDArray[np.complex64], nominal_start: npt.NDArray[np.float64],
            refine: bool = True) -> Bursts:
        from fbsdetect.dsp.burst import demod_sch

        d = demod_sch(windows, OUT_SPS, nominal_start, max_offset_sym=self.sch_search_sym, refine=refine)
        return Bursts(d.soft, d.start, d.snr_db, d.power, d.freq_hz)

    def normal(self, windows: npt.NDArray[np.complex64], tsc: npt.NDArray[np.int64],
               nominal_start: npt.NDArray[np.float64], refine: bool = True) -> Bursts:
        from fbsdetect.dsp.burst import demod_normal

        d = demod_normal(windows, tsc, OUT_SPS, nominal_start, max_offset_sym=self.normal_search_sym,
                         refine=refine)
        return Bursts(d.data, d.start, d.snr_db, d.power, d.freq_hz)


def default_demodulator() -> Demodulator:
    """The MLSE demodulator of `fbsdetect.dsp.burst`."""
    return MlseDemodulator()


# --------------------------------------------------------------------------- results


@dataclass
class CarrierStats:
    """Counted outcomes of one carrier."""

    fcch_seen: int = 0
    fcch_refined: int = 0
    sch_tried: int = 0
    sch_ok: int = 0
    bursts: int = 0
    blocks_ok: int = 0
    blocks_bad_crc: int = 0
    blocks_idle: int = 0  # parity failed, four dummy bursts: an idle SDCCH/4 or SACCH/4 sub-channel
    blocks_incomplete: int = 0  # a burst of the block lies outside the recording
    frames_decoded_s: float = 0.0  # recording time covered before the early stop
    dc_spike: int = 0  # 1: the carrier's band holds the receiver's DC spike (power, SNR include it)

    def as_dict(self) -> dict[str, int]:
        return {k: (round(v, 3) if isinstance(v, float) else v)  # type: ignore[misc]
                for k, v in self.__dict__.items()}


@dataclass
class CarrierResult:
    """One BCCH carrier found in the recording."""

    arfcn: int
    band: str
    freq_hz: float  # nominal downlink frequency
    offset_hz: float  # measured carrier offset from freq_hz, in the recording's frame
    decodable: bool
    status: str  # "decoded" | "sch-failed" | "not-decodable (band edge)" | ...
    bsic: int | None = None
    frames: list[L2Frame] = field(default_factory=list)
    si: dict[str, bytes] = field(default_factory=dict)  # last frame of each SI type
    si_all: dict[str, list[bytes]] = field(default_factory=dict)  # distinct frames (SI2quater instances)
    first_seen_s: float | None = None  # recording time of the first decoded SCH
    si_count: Counter[str] = field(default_factory=Counter)
    power_dbfs: float | None = None
    snr_db: float | None = None
    combined: bool | None = None  # CCCH_CONF says BCCH+SDCCH/4
    sch_consistent: int = 0  # decoded SCHs that agree on BSIC, FN and timing
    speculative: bool = False  # found only by the narrow search beside a carrier: dropped unless SCH decodes
    stats: CarrierStats = field(default_factory=CarrierStats)
    s_ref: float = 0.0  # sample of the TS0 burst of frame fn_ref (unwrapped), for copy detection
    fn_ref: int = 0
    sps_in: float = 0.0
    traffic: Any = None  # traffic.follower.TrafficFollower when dedicated channels were followed

    @property
    def is_cell(self) -> bool:
        """Reported as a cell: at least MIN_SCH SCHs agree (one SCH passing its
        10-bit parity by chance is a 1/1024 event; two agreeing ones are not)."""
        return self.bsic is not None and self.sch_consistent >= MIN_SCH and self.status == "decoded"


@dataclass(frozen=True)
class DecodeResult:
    carriers: list[CarrierResult]
    ppm: PpmEstimate | None
    sample_rate_hz: float
    center_freq_hz: float
    duration_s: float
    dc_offset_dbfs: float | None = None  # the capture's mean (removed before everything else)
    dc_spike_db: float | None = None  # density within +-DC_BAND_HZ of 0 Hz over that of 2-16 kHz, after it


@dataclass(frozen=True)
class ReceiverConfig:
    search_s: float = 0.15  # wideband FCCH search span (>= 51 ms holds an FCCH of every carrier)
    si_repeats: int = 2  # early stop once every SI type was decoded this often
    all_frames: bool = False  # every TS0 block (BCCH, CCCH, SDCCH/4 ...), no early stop
    research_s: float = 1.0  # a new, shorter FCCH search every this often (0: never)
    research_search_s: float = 0.06  # > 51 ms: one FCCH of every carrier
    chunk_multiframes: int = 4
    sch_t3: tuple[int, ...] = (1,)  # SCHs demodulated for tracking (all with all_frames)
    max_carriers: int = 64
    follow_dedicated: bool = True  # with all_frames: follow Immediate Assignments (fbsdetect.traffic)
    follow_ccch: bool = False  # without all_frames too: decode CCCH, follow, no early stop while in clear


# --------------------------------------------------------------------------- helpers


def gmsk_reference(bits: npt.NDArray[np.uint8], sps: int = OUT_SPS) -> npt.NDArray[np.complex64]:
    """GMSK of `bits` (TS 45.004 2: differential encoding from d(-1) = 1, BT 0.3,
    h = 1/2), sample k at t = k/sps symbols with bit i centred on t = i: the
    same waveform as `dsp.gmsk.gmsk_modulate` (a test checks it), computed here
    with `math.erf` so that the receiver needs no scipy at start-up."""
    d = np.asarray(bits, dtype=np.int64) & 1
    dhat = d ^ np.concatenate([[1], d[:-1]])
    alpha = 1.0 - 2.0 * dhat
    delta = math.sqrt(math.log(2.0)) / (2.0 * math.pi * 0.3)
    sig = delta * math.sqrt(2.0)

    def f(x: float) -> float:
        u = x / sig
        return x * math.erf(u) + sig / math.sqrt(math.pi) * math.exp(-u * u)

    # sample k sees bit i at tau = (k - i sps) / sps: the phase pulse G on that
    # integer grid, computed once per offset
    n = d.size
    offsets = np.arange(-(n - 1) * sps, n * sps)
    table = np.array([f(q / sps + 0.5) - f(q / sps - 0.5) for q in offsets.tolist()])
    g = np.clip(0.5 + 0.5 * table, 0.0, 1.0)  # phase pulse G, 0 -> 1
    k = np.arange(n * sps)
    tau = k[:, None] - sps * np.arange(n)[None, :] + (n - 1) * sps
    phase = 0.5 * math.pi * (g[tau] @ alpha)
    return np.exp(1j * phase).astype(np.complex64)


def _sch_reference() -> npt.NDArray[np.complex64]:
    """The SCH training sequence as GMSK at OUT_SPS (symbols 43..104 of the
    burst: the first training symbols depend on the unknown bit before them),
    for correlation."""
    bits = np.zeros(BURST_SYMBOLS, np.uint8)
    bits[SCH_TRAINING_START:SCH_TRAINING_START + 64] = SCH_TRAINING
    wave = gmsk_reference(bits, OUT_SPS)
    a = (SCH_TRAINING_START + 1) * OUT_SPS
    b = (SCH_TRAINING_START + 63) * OUT_SPS
    return np.asarray(wave[a:b], dtype=np.complex64)


_SCH_REF: npt.NDArray[np.complex64] | None = None


def sch_search(windows: npt.NDArray[np.complex64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(burst start (N,) in samples, normalised correlation peak (N,) 0..1) of an
    SCH inside each window, by correlation with its extended training sequence."""
    global _SCH_REF
    if _SCH_REF is None:
        _SCH_REF = _sch_reference()
    ref = _SCH_REF
    n, length = windows.shape
    m = ref.size
    if length < m + 2:
        return np.zeros(n), np.zeros(n)
    nfft = 1 << math.ceil(math.log2(length + m))
    spec = np.fft.fft(windows, nfft, axis=1) * np.conj(np.fft.fft(ref, nfft))[None, :]
    corr = np.fft.ifft(spec, axis=1)[:, : length - m + 1]
    mag = np.abs(corr)
    k = np.argmax(mag, axis=1)
    # sub-sample peak by parabolic interpolation
    rows = np.arange(n)
    km = np.clip(k - 1, 0, mag.shape[1] - 1)
    kp = np.clip(k + 1, 0, mag.shape[1] - 1)
    y0, y1, y2 = mag[rows, km], mag[rows, k], mag[rows, kp]
    den = y0 - 2 * y1 + y2
    delta = np.where(den < 0, 0.5 * (y0 - y2) / np.where(den < 0, den, -1), 0.0)
    energy = np.sqrt(np.sum(np.abs(ref) ** 2))
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(np.abs(windows) ** 2, axis=1)], axis=1)
    seg = np.sqrt(np.maximum(cs[rows, np.minimum(k + m, length)] - cs[rows, k], 1e-30))
    quality = y1 / (energy * seg)
    start = k + delta - (SCH_TRAINING_START + 1) * OUT_SPS
    return start.astype(np.float64), quality.astype(np.float64)


DUMMY_MIN_CORRELATION = 0.7
"""A burst whose window correlates with the dummy burst's waveform at least
this well (normalised, 0..1) is a dummy burst: ~0.95 at 10 dB SNR, normal
bursts of random data ~0.1-0.3. A block fails parity as `blocks_idle`, not
`blocks_bad_crc`, when all four of its bursts are dummies."""
_DUMMY_REF: npt.NDArray[np.complex64] | None = None


def dummy_correlation(windows: npt.NDArray[np.complex64]) -> npt.NDArray[np.float64]:
    """Normalised correlation peak (N,) 0..1 of each window with the dummy
    burst (TS 45.002 5.2.6) as GMSK at OUT_SPS. Its middle is no training
    sequence of the cell, so the equaliser's bits of a dummy burst are noise:
    the waveform is compared instead."""
    global _DUMMY_REF
    from fbsdetect.gsm.bursts import DUMMY_BITS

    if _DUMMY_REF is None:  # bit 0 depends on the bit before the burst: left out
        _DUMMY_REF = np.asarray(gmsk_reference(DUMMY_BITS, OUT_SPS)[OUT_SPS: (BURST_SYMBOLS - 1) * OUT_SPS],
                                dtype=np.complex64)
    ref = _DUMMY_REF
    n, length = windows.shape
    m = ref.size
    if n == 0 or length < m + 2:
        return np.zeros(n)
    nfft = 1 << math.ceil(math.log2(length + m))
    corr = np.fft.ifft(np.fft.fft(windows, nfft, axis=1) * np.conj(np.fft.fft(ref, nfft))[None, :],
                       axis=1)[:, : length - m + 1]
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(np.abs(windows) ** 2, axis=1)], axis=1)
    seg = np.sqrt(np.maximum(cs[:, m:] - cs[:, : length - m + 1], 1e-30))
    q = np.abs(corr) / (np.sqrt(np.sum(np.abs(ref) ** 2)) * seg)
    return np.asarray(np.max(q, axis=1), dtype=np.float64)


@dataclass
class _Track:
    result: CarrierResult
    mix_hz: float  # mixing frequency: carrier offset from the capture centre
    sps_in: float  # input samples per symbol of this carrier
    fcch_starts: list[float]  # refined FCCH burst starts (input samples)
    anchors: dict[int, float] = field(default_factory=dict)  # unwrapped fn -> SCH burst start
    fn_ref: int = 0
    s_ref: float = 0.0
    done: bool = False
    tc_count: Counter[int] = field(default_factory=Counter)
    powers: list[float] = field(default_factory=list)
    snrs: list[float] = field(default_factory=list)
    fcch_snrs: list[float] = field(default_factory=list)
    noise_density: list[float] = field(default_factory=list)  # per Hz, window units, from the FCCHs
    decoded_blocks: set[int] = field(default_factory=set)

    @property
    def frame_len(self) -> float:
        return FRAME_SYMBOLS * self.sps_in

    _interp: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    def add_anchor(self, fn: int, start: float) -> None:
        if not self.anchors:
            self.fn_ref, self.s_ref = fn, start
        self.anchors[fn] = start
        self._interp = None

    def position(self, fns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Predicted TS0 burst start (input samples) of unwrapped frames `fns`."""
        base = self.s_ref + (fns - self.fn_ref) * self.frame_len
        if len(self.anchors) > 1:
            if self._interp is None:
                keys = np.array(sorted(self.anchors), dtype=np.int64)
                res = np.array([self.anchors[k] for k in keys.tolist()]) - (
                    self.s_ref + (keys - self.fn_ref) * self.frame_len)
                self._interp = (keys.astype(np.float64), res)
            keys_f, res = self._interp
            base = base + np.interp(np.asarray(fns, dtype=np.float64), keys_f, res)
        return np.asarray(base, dtype=np.float64)

    def fn_span(self, n_samples: int) -> tuple[int, int]:
        """First and last unwrapped frame whose TS0 burst lies inside the data."""
        first = self.fn_ref + math.ceil((0 - self.s_ref) / self.frame_len)
        last = self.fn_ref + math.floor((n_samples - (BURST_SYMBOLS + 1) * self.sps_in - self.s_ref)
                                        / self.frame_len)
        return first, last


def _dbfs(p: float) -> float:
    return 10.0 * math.log10(max(p, 1e-20))


# --------------------------------------------------------------------------- receiver


class Receiver:
    """Decodes every BCCH carrier of one recording (block-wise, memory-mapped)."""

    def __init__(self, reader: Reader, n_samples: int, sample_rate_hz: float, center_freq_hz: float,
                 *, config: ReceiverConfig | None = None, demodulator: Demodulator | None = None,
                 time_offset_s: float = 0.0,
                 satisfied: Callable[[CarrierResult], bool] | None = None) -> None:
        self.reader = reader
        # the early stop's test per carrier (the scan's, which knows what earlier
        # dwells decoded); None: every TC and SI type `si_repeats` times
        self.satisfied = satisfied
        self.time_offset_s = time_offset_s
        self.n_samples = int(n_samples)
        self.fs = float(sample_rate_hz)
        self.fc = float(center_freq_hz)
        self.cfg = config or ReceiverConfig()
        self.demod = demodulator or default_demodulator()
        self._read: Callable[[int, int], npt.NDArray[np.complex64]] = (
            lambda s, n: reader(np.array([s], np.int64), n)[0])
        self.sps_nominal = self.fs / SYMBOL_RATE_HZ
        self.dc: complex = 0.0
        self.dc_spike_db: float | None = None
        self._dc_spike = False
        self._dc_track: DcTrack | None = None
        self.traffic: Any = None
        if (self.cfg.all_frames and self.cfg.follow_dedicated) or self.cfg.follow_ccch:
            from fbsdetect.traffic.receiver import ReceiverTraffic

            self.traffic = ReceiverTraffic(keep_ccch=self.cfg.all_frames)

    # ----------------------------------------------------------------- acquisition

    def _acquire(self, first: int, n_search: int, known: list[CarrierResult]
                 ) -> tuple[list[_Track], list[CarrierResult]]:
        """FCCH search over samples [first, first + n_search); carriers already
        decoded (or known to be undecodable) are skipped."""
        from fbsdetect.gsm.bands import arfcn_from_downlink_hz, downlink_hz

        seg = self._read(first, n_search)
        events = search_wideband((seg - np.complex64(self.dc)).astype(np.complex64), self.fs,
                                 first_sample=first, max_abs_offset_hz=0.5 * self.fs - 30e3)
        if self._dc_spike:  # the spike's own noise now and then looks like a short tone
            events = [e for e in events if abs(e.tone_hz) > 3 * DC_BAND_HZ]
        events += self._neighbour_fcch(first, n_search, events, known)
        # group the events by ARFCN (and by offset within 2 kHz: two emitters on one channel)
        groups: list[tuple[int, str, list[FcchEvent]]] = []
        near: list[tuple[float, tuple[int, str]]] = []  # (downlink Hz, (ARFCN, band)) looked up

        def channel_at(f_hz: float) -> tuple[int, str] | None:
            """`arfcn_from_downlink_hz`, remembering the channels found: a frequency
            within 80 kHz of one (less than half the 200 kHz raster) has it as the
            nearest channel (GSM bands that overlap share one raster)."""
            for f_ch, ch in near:
                if abs(f_hz - f_ch) < 80e3:
                    return ch
            hit = arfcn_from_downlink_hz(f_hz)
            if hit is not None:
                near.append((downlink_hz(*hit), hit))
            return hit

        for ev in events:
            off = ev.tone_hz - FCCH_TONE_HZ
            hit = channel_at(self.fc + off)
            if hit is None:
                continue
            if any(k.arfcn == hit[0] and (k.bsic is not None or not k.decodable)
                   and abs(k.offset_hz + downlink_hz(*hit) - self.fc - off) < 3e3 for k in known):
                continue
            for arfcn, _band, evs in groups:
                if arfcn == hit[0] and abs(evs[0].tone_hz - ev.tone_hz) < 2e3:
                    evs.append(ev)
                    break
            else:
                groups.append((hit[0], hit[1], [ev]))
        groups = groups[: self.cfg.max_carriers]
        # refine every FCCH on a channelised window
        # windows centred on the tone, narrowly filtered: a strong neighbour
        # 200 kHz away must not pull the estimate
        ch = WindowChannelizer(self.reader, self.fs, (BURST_SYMBOLS + 2 * FCCH_MARGIN_SYMBOLS) * OUT_SPS,
                               dc=self.dc, pass_hz=FCCH_PASS_HZ, stop_hz=FCCH_STOP_HZ,
                               dc_track=self._dc_track)
        starts, mixes, owner = [], [], []
        for gi, (_a, _b, evs) in enumerate(groups):
            for ev in evs:
                starts.append(ev.start_sample - FCCH_MARGIN_SYMBOLS * self.sps_nominal)
                mixes.append(ev.tone_hz - FCCH_TONE_HZ)
                owner.append(gi)
        refined = refine(ch.extract(np.array(starts), np.array(mixes) + FCCH_TONE_HZ), tone_hz=0.0) \
            if starts else []
        noise_density = self._fcch_noise_density(starts, mixes, refined, owner, known)
        results: list[CarrierResult] = []
        tracks: list[_Track] = []
        for gi, (arfcn, band, evs) in enumerate(groups):
            nominal = downlink_hz(arfcn, band)
            mine = [(starts[j] + refined[j].start * ch.step_in, mixes[j] + refined[j].freq_error_hz)
                    for j in range(len(owner)) if owner[j] == gi and refined[j].found]
            res = CarrierResult(arfcn=arfcn, band=band, freq_hz=nominal, offset_hz=0.0, decodable=True,
                                status="fcch-only")
            res.stats.fcch_seen = len(evs)
            res.stats.fcch_refined = len(mine)
            res.speculative = all(e.speculative for e in evs)
            if not mine:
                coarse = median([e.tone_hz - FCCH_TONE_HZ for e in evs])
                res.offset_hz = coarse - (nominal - self.fc)
                res.status = "fcch-unconfirmed"
                results.append(res)
                continue
            mix = median([m for _, m in mine])
            res.offset_hz = mix - (nominal - self.fc)
            if not carrier_is_decodable(mix, self.fs):
                res.decodable = False
                res.status = "not-decodable (band edge)"
                results.append(res)
                continue
            sps_in = self.sps_nominal * clock_scale(res.offset_hz, nominal)
            results.append(res)
            track = _Track(res, mix, sps_in, [s for s, _ in mine])
            # SNR in the symbol-rate bandwidth from the FCCH: its tone's power against
            # the noise per Hz in the middle of the channel during the burst
            # (`_fcch_noise_density`); independent of any modulation model
            for j in range(len(owner)):
                rj = refined[j]
                n0 = noise_density.get(j, 0.0)
                if owner[j] == gi and rj.found and n0 > 0:
                    track.fcch_snrs.append(10 * math.log10(max(rj.tone_power, 1e-30) / (n0 * SYMBOL_RATE_HZ)))
                    track.noise_density.append(n0)
            tracks.append(track)
        return tracks, results

    def _neighbour_fcch(self, first: int, n_search: int, events: list[FcchEvent],
                        known: list[CarrierResult]) -> list[FcchEvent]:
        """FCCHs of carriers 200 kHz beside the ones found, searched on a narrow
        band around where their tone would be.

        The wideband search compares a tone with the carrier band it implies;
        a much stronger neighbour 200 kHz away fills that band with its skirt
        and hides the FCCH of a weak carrier (from ~15 dB on). Centred on the
        weak carrier's tone (neighbour's tone +-200 kHz) and filtered to
        +-FCCH_STOP_HZ, the same segment shows it: the strong carrier is 130 kHz
        or more away, its data has no tone, and its own FCCH tone is 200 kHz off."""
        # carriers decoded by an earlier search had their neighbours searched then
        decoded = [k.freq_hz + k.offset_hz for k in known if k.bsic is not None]
        tones: list[float] = []
        for ev in events:
            f = self.fc + ev.tone_hz - FCCH_TONE_HZ
            if all(abs(ev.tone_hz - t) > 20e3 for t in tones) and all(abs(f - d) > 20e3 for d in decoded):
                tones.append(ev.tone_hz)
        cands: list[float] = []
        for t in tones:
            for c in (t - CHANNEL_SPACING_HZ, t + CHANNEL_SPACING_HZ):
                carrier = c - FCCH_TONE_HZ
                if (all(abs(c - u) > 20e3 for u in tones + cands)
                        and all(abs(self.fc + carrier - d) > 20e3 for d in decoded)
                        and carrier_is_decodable(carrier, self.fs)):
                    cands.append(c)
        if not cands:
            return []
        margin = 8 * self.sps_nominal
        n_search = min(n_search, int(self.cfg.research_search_s * self.fs))  # one FCCH of each
        ch = WindowChannelizer(self.reader, self.fs, int((n_search - 2 * margin) / self.fs * SYMBOL_RATE_HZ)
                               * OUT_SPS, dc=self.dc, pass_hz=NEIGHBOUR_PASS_HZ, stop_hz=NEIGHBOUR_STOP_HZ,
                               dc_track=self._dc_track)
        win = ch.extract(np.full(len(cands), first + margin), np.array(cands))
        found = refine(win, tone_hz=0.0)
        # the narrow band's noise (and a neighbour's skirt) is coherent over a
        # symbol, so `refine`'s one-symbol test alone would pass on it: over the
        # middle of the burst a tone must also be coherent across 32 symbols
        lag = NEIGHBOUR_LAG_SYMBOLS * OUT_SPS
        out = []
        for i, (c, r) in enumerate(zip(cands, found, strict=True)):
            a = round(r.start) + NOISE_EDGE_SYMBOLS * OUT_SPS
            b = round(r.start) + (FCCH_SYMBOLS - NOISE_EDGE_SYMBOLS) * OUT_SPS
            seg = win[i, max(a, 0): min(b, win.shape[1])].astype(np.complex128)
            if not r.found or seg.size <= 2 * lag:
                continue
            x, y = seg[lag:], seg[:-lag]
            norm = float(np.sqrt(np.sum(abs(x) ** 2) * np.sum(abs(y) ** 2)))
            coherence = abs(np.sum(x * np.conj(y))) / max(norm, 1e-30)
            if coherence > NEIGHBOUR_COHERENCE and abs(r.freq_error_hz) < NEIGHBOUR_MAX_ERROR_HZ:
                out.append(FcchEvent(first + margin + r.start * ch.step_in, c + r.freq_error_hz, coherence,
                                     speculative=True))
        return out

    def _fcch_noise_density(self, starts: list[float], mixes: list[float], refined: list[FcchRefined],
                            owner: Sequence[int] = (), known: Sequence[CarrierResult] = ()
                            ) -> dict[int, float]:
        """Noise per Hz (window units) at each refined FCCH, by index.

        During the FCCH a carrier's whole power is in its tone, 67.7 kHz above
        the carrier; a window centred on the carrier and filtered to +-NOISE_STOP_HZ
        then holds only noise over the middle of the burst, and much less of a
        neighbour 200 kHz away than the tone's own window (whose far edge is
        100 kHz from that neighbour). Much less is not nothing: GMSK's skirt
        200 kHz out is ~35 dB under its peak density, so a neighbour 30 dB above
        the noise adds about as much as the noise itself. What the found
        carriers (FCCHs of this search grouped by `owner`, their tone power
        being their whole power, and the `known` cells) put into the window,
        by the GMSK spectrum (`aci_fraction`), is subtracted; at most
        1 - NOISE_MIN_FRACTION of the measurement (fading neighbours)."""
        found = [j for j, r in enumerate(refined) if r.found]
        if not found:
            return {}
        ch = WindowChannelizer(self.reader, self.fs, (BURST_SYMBOLS + 2 * FCCH_MARGIN_SYMBOLS) * OUT_SPS,
                               dc=self.dc, pass_hz=NOISE_PASS_HZ, stop_hz=NOISE_STOP_HZ,
                               dc_track=self._dc_track)
        w = ch.extract(np.array([starts[j] for j in found]),
                       np.array([mixes[j] + refined[j].freq_error_hz for j in found]))
        out = {}
        for k, j in enumerate(found):
            a = round(refined[j].start) + NOISE_EDGE_SYMBOLS * OUT_SPS
            b = round(refined[j].start) + (FCCH_SYMBOLS - NOISE_EDGE_SYMBOLS) * OUT_SPS
            seg = w[k, max(a, 0): min(b, w.shape[1])]
            if seg.size >= 16:
                out[j] = float(np.mean(seg.real ** 2 + seg.imag ** 2)) / ch.noise_bandwidth_hz
        # the carriers around: (offset from the capture centre, power)
        around: list[tuple[float, float]] = []
        for gi in sorted(set(owner)):
            js = [j for j, o in enumerate(owner) if o == gi and refined[j].found]
            if js:
                around.append((median([mixes[j] + refined[j].freq_error_hz for j in js]),
                               median([refined[j].tone_power for j in js])))
        for kc in known:
            if kc.is_cell and kc.power_dbfs is not None:
                around.append((kc.freq_hz + kc.offset_hz - self.fc, 10 ** (kc.power_dbfs / 10)))
        for j, n0 in out.items():
            f_j = mixes[j] + refined[j].freq_error_hz
            leak = sum(p * aci_fraction(f - f_j, NOISE_PASS_HZ, NOISE_STOP_HZ) for f, p in around
                       if _on_raster_beside(f - f_j))
            out[j] = max(n0 - leak / ch.noise_bandwidth_hz, NOISE_MIN_FRACTION * n0)
        return out

    # ----------------------------------------------------------------- SCH

    def _sch_windows(self, starts_in: Sequence[float], mixes: Sequence[float], margin: int
                     ) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.float64], WindowChannelizer]:
        ch = self._channelizer((BURST_SYMBOLS + 2 * margin) * OUT_SPS)
        w0 = np.asarray(starts_in, dtype=np.float64) - margin * self.sps_nominal
        return ch.extract(w0, np.asarray(mixes)), w0, ch

    _chs: dict[int, WindowChannelizer]

    def _channelizer(self, out_len: int) -> WindowChannelizer:
        if not hasattr(self, "_chs"):
            self._chs = {}
        if out_len not in self._chs:
            self._chs[out_len] = WindowChannelizer(self.reader, self.fs, out_len, dc=self.dc,
                                                   notch_dc=self._dc_spike, dc_track=self._dc_track)
        return self._chs[out_len]

    def _demod_sch(self, tracks: list[_Track], which: list[int], starts_in: list[float], margin: int
                   ) -> list[tuple[int, float, int, float, float, float] | None]:
        """Demodulates and decodes SCHs predicted at `starts_in` (input samples)
        of tracks[which[i]]; per SCH (bsic, burst start, fn, snr_db, power,
        residual frequency Hz) or None."""
        if not which:
            return []
        mixes = [tracks[i].mix_hz for i in which]
        win, w0, ch = self._sch_windows(starts_in, mixes, margin)
        start, _q = sch_search(win)
        # always refined: the SCHs' timing and residual frequency steer the tracking
        # (first-pass estimates cost a block now and then at 1 dB Eb/N0)
        b = self.demod.sch(win, start, refine=True)
        dec = sch_decode(b.soft)
        out: list[tuple[int, float, int, float, float, float] | None] = []
        for j in range(len(which)):
            tracks[which[j]].result.stats.sch_tried += 1
            if not bool(dec.ok[j]):
                out.append(None)
                continue
            tracks[which[j]].result.stats.sch_ok += 1
            s_in = float(w0[j] + b.start[j] * ch.step_in)
            out.append((int(dec.bsic[j]), s_in, int(dec.fn[j]), float(b.snr_db[j]), float(b.power[j]),
                        float(b.freq_hz[j])))
        return out

    def _confirm(self, tracks: list[_Track]) -> list[_Track]:
        """SCH after every refined FCCH; keeps the tracks with a consistent decoded SCH."""
        which, starts = [], []
        for i, t in enumerate(tracks):
            for s in t.fcch_starts:
                s_sch = s + FRAME_SYMBOLS * t.sps_in
                if s_sch + (BURST_SYMBOLS + 1) * t.sps_in <= self.n_samples:
                    which.append(i)
                    starts.append(s_sch)
        decoded = self._demod_sch(tracks, which, starts, SCH_MARGIN_SYMBOLS)
        per: dict[int, list[tuple[int, float, int, float, float, float]]] = {}
        for i, d in zip(which, decoded, strict=True):
            if d is not None:
                per.setdefault(i, []).append(d)
        kept = []
        for i, t in enumerate(tracks):
            ds = per.get(i, [])
            if not ds:
                t.result.status = "sch-failed"
                continue
            bsic = Counter(d[0] for d in ds).most_common(1)[0][0]
            ds = [d for d in ds if d[0] == bsic]
            # consistent timing: fn differences must match sample differences
            best: list[tuple[int, float]] = []
            for ref in ds:  # the largest group of SCHs that agree with each other
                group = []
                for d in ds:
                    dfn = round((d[1] - ref[1]) / t.frame_len)
                    if (ref[2] + dfn - d[2]) % HYPERFRAME == 0:
                        group.append((ref[2] + dfn, d[1]))
                if len(group) > len(best):
                    best = group
            for fn, start in sorted(best):
                t.add_anchor(fn, start)
            t.result.first_seen_s = self.time_offset_s + min(t.anchors.values()) / self.fs
            t.snrs.extend(d[3] for d in ds)
            t.powers.extend(d[4] for d in ds)
            t.result.bsic = bsic
            t.result.status = "decoded"
            kept.append(t)
        return kept

    # ----------------------------------------------------------------- tracking and blocks

    def _chunk(self, tracks: list[_Track], fa: dict[int, int], fb: dict[int, int]) -> None:
        """Decodes frames [fa, fb) (unwrapped, per track id) of the active tracks."""
        cfg = self.cfg
        sch_t3 = SCH_T3 if cfg.all_frames else cfg.sch_t3
        # 1. SCHs for timing
        which, starts, fns = [], [], []
        for i, t in enumerate(tracks):
            if t.done:
                continue
            first, last = t.fn_span(self.n_samples)
            f = np.arange(max(fa[i], first), min(fb[i], last + 1), dtype=np.int64)
            f = f[np.isin(f % 51, sch_t3)]
            f = f[[fn not in t.anchors for fn in f.tolist()]] if f.size else f
            if f.size:
                pos = t.position(f)
                which.extend([i] * f.size)
                starts.extend(pos.tolist())
                fns.extend(f.tolist())
        residual: dict[int, list[float]] = {}
        for i, fn, d in zip(which, fns, self._demod_sch(tracks, which, starts, TRACK_MARGIN_SYMBOLS),
                            strict=True):
            t = tracks[i]
            if d is None or d[0] != t.result.bsic or d[2] != fn % HYPERFRAME:
                continue
            t.add_anchor(fn, d[1])
            t.snrs.append(d[3])
            t.powers.append(d[4])
            residual.setdefault(i, []).append(d[5])
        # frequency tracking (Doppler, oscillator drift): the SCHs' residual frequency
        for i, fr in residual.items():
            if len(fr) >= 2:
                step_hz = float(np.clip(FREQ_TRACK_GAIN * median(fr), -FREQ_TRACK_MAX_HZ,
                                        FREQ_TRACK_MAX_HZ))
                tracks[i].mix_hz += step_hz
        # 2. the blocks
        block_t3 = self._block_t3(tracks)
        blocks: list[tuple[int, int]] = []
        for i, t in enumerate(tracks):
            if t.done or t.result.bsic is None:
                continue
            first, last = t.fn_span(self.n_samples)
            f = np.arange(fa[i], fb[i], dtype=np.int64)
            starts_fn = f[np.isin(f % 51, block_t3[i])]
            for fn in starts_fn.tolist():
                if fn in t.decoded_blocks:
                    continue
                if fn < first or fn + 3 > last:
                    if fn + 3 >= first and fn <= last:  # partly inside the recording
                        t.result.stats.blocks_incomplete += 1
                    t.decoded_blocks.add(fn)
                    continue
                blocks.append((i, fn))
        for k in range(0, len(blocks), MAX_BLOCKS_PER_BATCH):  # bounded memory per batch
            self._decode_blocks(tracks, blocks[k:k + MAX_BLOCKS_PER_BATCH])
        if self.traffic is not None:  # the assigned dedicated channels (fbsdetect.traffic)
            self.traffic.chunk(self, tracks, fa, fb)

    def _block_t3(self, tracks: list[_Track]) -> list[tuple[int, ...]]:
        from fbsdetect.gsm.mapping import block_starts

        out = []
        for t in tracks:
            if self.cfg.all_frames:
                out.append(tuple(s for s, _k, _b in block_starts(bool(t.result.combined))))
            elif self.cfg.follow_ccch:  # every CCCH block: the assignments (fbsdetect.traffic)
                out.append(tuple(s for s, k, _b in block_starts(bool(t.result.combined))
                                 if k in ("BCCH", "CCCH")))
            elif _ext_wanted(t.result, self.cfg.si_repeats):
                out.append((BCCH_T3, BCCH_EXT_T3))
            else:
                out.append((BCCH_T3,))
        return out

    def _decode_blocks(self, tracks: list[_Track], blocks: list[tuple[int, int]]) -> None:
        from fbsdetect.gsm.mapping import ts0_channel

        margin = TRACK_MARGIN_SYMBOLS
        ch = self._channelizer((BURST_SYMBOLS + 2 * margin) * OUT_SPS)
        w0: list[float] = []
        mixes: list[float] = []
        tscs: list[int] = []
        for i, fn in blocks:
            t = tracks[i]
            pos = t.position(np.arange(fn, fn + 4, dtype=np.int64))
            w0.extend((pos - margin * t.sps_in).tolist())
            mixes.extend([t.mix_hz] * 4)
            tscs.extend([(t.result.bsic or 0) & 7] * 4)  # TSC = BCC on the BCCH carrier
        win = ch.extract(np.array(w0), np.array(mixes))
        nominal = np.full(len(w0), margin * OUT_SPS, dtype=np.float64)
        tsc_arr = np.array(tscs, dtype=np.int64)
        b = self.demod.normal(win, tsc_arr, nominal, refine=False)
        dec = xcch_decode(b.soft.reshape(len(blocks), 4, 114).astype(np.float32))
        if not dec.ok.all():  # the slower refined pass only for the blocks that failed
            bad_blocks = np.flatnonzero(~dec.ok)
            bad = (4 * bad_blocks[:, None] + np.arange(4)[None, :]).ravel()
            b2 = self.demod.normal(win[bad], tsc_arr[bad], nominal[bad], refine=True)
            dec2 = xcch_decode(b2.soft.reshape(bad_blocks.size, 4, 114).astype(np.float32))
            b, dec = _merge_bursts(b, b2, bad), _merge_fields(dec, dec2, bad_blocks)
        idle = np.zeros(len(blocks), dtype=bool)
        if not dec.ok.all():  # idle SDCCH/4 and SACCH/4 sub-channels send dummy bursts
            bad_blocks = np.flatnonzero(~dec.ok)
            q = dummy_correlation(win[(4 * bad_blocks[:, None] + np.arange(4)[None, :]).ravel()])
            idle[bad_blocks] = q.reshape(-1, 4).min(axis=1) >= DUMMY_MIN_CORRELATION
        for k, (i, fn) in enumerate(blocks):
            t = tracks[i]
            st = t.result.stats
            st.bursts += 4
            t.decoded_blocks.add(fn)
            t.powers.extend(b.power[4 * k: 4 * k + 4].tolist())
            if not bool(dec.ok[k]):
                if idle[k]:
                    st.blocks_idle += 1
                else:
                    st.blocks_bad_crc += 1
                continue
            t.snrs.extend(b.snr_db[4 * k: 4 * k + 4].tolist())
            st.blocks_ok += 1
            frame = bytes(dec.frames[k].tobytes())
            slot = ts0_channel(fn % HYPERFRAME, bool(t.result.combined))
            block_power = float(np.mean(b.power[4 * k: 4 * k + 4]))
            fr = L2Frame(arfcn=t.result.arfcn, fn=fn % HYPERFRAME, ts=0, channel=slot.kind, data=frame,
                         time_s=self.time_offset_s + float(t.position(np.array([fn]))[0] / self.fs),
                         power_dbm=_dbfs(block_power),  # dBFS here; `decode` refers it to the antenna
                         snr_db=self._block_snr_db(t, block_power, b.snr_db[4 * k: 4 * k + 4], ch),
                         freq_offset_hz=t.result.offset_hz)
            t.result.frames.append(fr)
            if self.traffic is not None:
                self.traffic.on_frame(t, fn, fr, self)
            if slot.kind == "BCCH":
                t.tc_count[(fn // 51) % 8] += 1
            if slot.kind in ("BCCH", "CCCH"):
                # an SI message in a CCCH block is BCCH Ext (e.g. SI2quater at
                # position 1); paging and assignments are not SI
                si = si_key(frame)
                if si is not None:
                    t.result.si[si] = frame
                    inst = t.result.si_all.setdefault(si, [])
                    if frame not in inst:
                        inst.append(frame)
                    t.result.si_count[si] += 1
                    if si == "3" and len(frame) > 9:
                        # CCCH_CONF: low 3 bits of the Control Channel Description's 2nd octet
                        # (TS 44.018 10.5.2.11; octet 10 of the SI3 frame); 1 = combined
                        t.result.combined = (frame[10] & 0x07) == 1

    @staticmethod
    def _block_snr_db(t: _Track, power: float, burst_snr_db: npt.NDArray[np.float64],
                      ch: WindowChannelizer) -> float:
        """SNR of one block in the symbol-rate bandwidth: its power (signal plus
        the noise the burst filter lets through) over the carrier's noise density
        from its FCCHs; the equaliser's estimate (which counts interference as
        noise) when the FCCH gave none."""
        if t.noise_density:
            n0 = median(t.noise_density)
            signal = power - n0 * ch.noise_bandwidth_hz
            return round(10 * math.log10(max(signal, 1e-3 * n0 * SYMBOL_RATE_HZ) / (n0 * SYMBOL_RATE_HZ)), 1)
        return round(median(burst_snr_db), 1)

    def _satisfied(self, t: _Track) -> bool:
        n = self.cfg.si_repeats
        if any(t.tc_count[tc] < n for tc in range(8)):
            return False
        if any(c < n for c in t.result.si_count.values()):
            return False
        return all(t.result.si_count[s] >= n for s in _announced(t.result.si))

    # ----------------------------------------------------------------- main

    def run(self) -> DecodeResult:
        n_search = min(self.n_samples, max(1, int(self.cfg.search_s * self.fs)))
        first = self._read(0, n_search)
        self.dc = complex(np.mean(first)) if first.size else 0.0
        self.dc_spike_db = dc_spike_db(first - np.complex64(self.dc), self.fs)
        self._dc_spike = self.dc_spike_db is not None and self.dc_spike_db > DC_SPIKE_DB
        p_first = float(np.mean(first.real ** 2 + first.imag ** 2)) if first.size else 0.0
        if abs(self.dc) ** 2 > 10 ** (DC_TRACK_MIN_DB / 10) * p_first:
            # a measurable offset: windows of carriers near 0 Hz follow its drift
            self._dc_track = DcTrack(self.reader, self.n_samples, round(DC_TRACK_BLOCK_S * self.fs))
        tracks, results = self._acquire(0, n_search, [])
        tracks = self._confirm(tracks)
        self._process(tracks, 0)
        results = [r for r in results if not (r.speculative and r.bsic is None)]
        # cells that switch on later (a fake base station arriving) are found by
        # shorter searches every `research_s` seconds
        n_re = int(self.cfg.research_search_s * self.fs)
        step = int(self.cfg.research_s * self.fs) if self.cfg.research_s > 0 else 0
        start = step
        while step and start + n_re <= self.n_samples:
            new_tracks, new_results = self._acquire(start, n_re, results)
            new_tracks = self._confirm(new_tracks)
            self._process(new_tracks, start)
            new_results = [r for r in new_results if not (r.speculative and r.bsic is None)]
            for r in new_results:
                old = [k for k in results if k.arfcn == r.arfcn and k.bsic is None and k.decodable]
                if r.bsic is not None:  # decoded now: it replaces earlier failed attempts
                    for k in old:
                        results.remove(k)
                        r.stats.fcch_seen += k.stats.fcch_seen
                        r.stats.fcch_refined += k.stats.fcch_refined
                        r.stats.sch_tried += k.stats.sch_tried
                    results.append(r)
                elif old:
                    old[0].stats.fcch_seen += r.stats.fcch_seen
                    old[0].stats.fcch_refined += r.stats.fcch_refined
                    old[0].stats.sch_tried += r.stats.sch_tried
                else:
                    results.append(r)
            start += step
        self._drop_copies(results)
        good = [r for r in results if r.is_cell]
        ppm = estimate_ppm([r.freq_hz for r in good], [r.offset_hz for r in good],
                           [r.stats.fcch_refined for r in good]) if good else None
        results.sort(key=lambda r: (r.freq_hz, r.offset_hz))
        if self._dc_spike:
            for r in results:
                if abs(r.freq_hz + r.offset_hz - self.fc) < DC_OVERLAP_HZ:
                    r.stats.dc_spike = 1
                    if r.bsic is None and r.status in ("sch-failed", "fcch-unconfirmed"):
                        r.decodable = False
                        r.status = "not-decodable (DC spike)"
        dc_dbfs = 10 * math.log10(max(abs(self.dc) ** 2, 1e-20))
        return DecodeResult(results, ppm, self.fs, self.fc, self.n_samples / self.fs, dc_dbfs,
                            self.dc_spike_db)

    def _drop_copies(self, results: list[CarrierResult]) -> None:
        """Marks carriers that repeat a much stronger carrier's BSIC and frame
        timing (the same frame number at the same sample, +-2 symbols): a
        strong signal's intermodulation or image in the receiver, not a cell."""
        cells = [r for r in results if r.is_cell and r.power_dbfs is not None]
        for weak in cells:
            for strong in cells:
                if strong is weak or strong.bsic != weak.bsic:
                    continue
                assert strong.power_dbfs is not None and weak.power_dbfs is not None
                if strong.power_dbfs - weak.power_dbfs < COPY_MARGIN_DB:
                    continue
                frame = FRAME_SYMBOLS * strong.sps_in
                pos = strong.s_ref + (weak.fn_ref - strong.fn_ref) * frame
                if abs(weak.s_ref - pos) < 2 * strong.sps_in:
                    weak.status = f"copy of ARFCN {strong.arfcn}"
                    break

    def _process(self, tracks: list[_Track], first_sample: int) -> None:
        """Tracks and decodes `tracks` from the 51-multiframe holding
        `first_sample` (0: from the first frame in the recording) on."""
        span = {}
        for i, t in enumerate(tracks):
            lo, hi = t.fn_span(self.n_samples)
            if first_sample > 0:
                lo = max(lo, t.fn_ref + math.floor((first_sample - t.s_ref) / t.frame_len))
            span[i] = (lo, hi)
        # chunks aligned on 51-multiframes, from the first frame of each carrier
        step = 51 * self.cfg.chunk_multiframes
        cursor = {i: span[i][0] - span[i][0] % 51 for i in span}
        while True:
            active = [i for i, t in enumerate(tracks) if not t.done and cursor[i] <= span[i][1]]
            if not active:
                break
            fa = {i: cursor[i] for i in active}
            fb = {i: cursor[i] + step for i in active}
            for i, t in enumerate(tracks):
                if i not in fa:
                    t.done = True
            self._chunk(tracks, {**{i: 0 for i in range(len(tracks))}, **fa},
                        {**{i: 0 for i in range(len(tracks))}, **fb})
            for i in active:
                cursor[i] += step
                t = tracks[i]
                t.result.stats.frames_decoded_s = float(
                    min(t.position(np.array([cursor[i]]))[0], self.n_samples) / self.fs)
                if not self.cfg.all_frames and (self._satisfied(t) if self.satisfied is None
                                                else self.satisfied(t.result)) and not (
                        self.traffic is not None and self.traffic.busy(t)):
                    t.done = True
        from fbsdetect.gsm.mapping import ts0_channel

        if self.traffic is not None:
            self.traffic.finish(tracks)
        for t in tracks:
            r = t.result
            r.frames.sort(key=lambda f: f.fn if f.time_s is None else f.time_s)
            if r.combined:  # blocks decoded before SI3 told the channel combination
                r.frames = [replace(f, channel=ts0_channel(f.fn, True).kind) if f.ts == 0 else f
                            for f in r.frames]
            if t.powers:
                r.power_dbfs = _dbfs(median(t.powers))
            # the FCCH's estimate measures the noise in the middle of the channel
            # (a neighbour 200 kHz away leaks ~35 dB under its own power there);
            # the equaliser's counts all interference and its linear GMSK model's
            # error (~20 dB floor) as noise: the larger is the better one
            ests = [median(v) for v in (t.fcch_snrs, t.snrs) if v]
            if ests:
                r.snr_db = max(ests)
            r.sch_consistent = len(t.anchors)
            r.s_ref, r.fn_ref, r.sps_in = t.s_ref, t.fn_ref, t.sps_in
            if r.bsic is not None and r.sch_consistent < MIN_SCH:
                r.status = "sch-unconfirmed"


def _on_raster_beside(offset_hz: float) -> bool:
    """`offset_hz` is 200, 400 or 600 kHz (+-ACI_RASTER_TOLERANCE_HZ), either side."""
    k = round(abs(offset_hz) / CHANNEL_SPACING_HZ)
    return (1 <= k and k * CHANNEL_SPACING_HZ < ACI_MAX_HZ
            and abs(abs(offset_hz) - k * CHANNEL_SPACING_HZ) < ACI_RASTER_TOLERANCE_HZ)


def _pseudo_random_bits(n: int) -> npt.NDArray[np.float64]:
    """n well-mixed pseudo-random bits (the top bit of splitmix64 of 1..n),
    without importing numpy.random (~16 ms at start-up)."""
    z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(63)).astype(np.float64)


@functools.lru_cache(maxsize=1)
def _gmsk_psd() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Power spectral density of GMSK (TS 45.004 2: BT 0.3, h 1/2) with random
    data, normalised to unit power: (frequency Hz ascending, density per Hz).
    The phase is (pi/2) sum_i a_i G(t - i) with the phase pulse G of
    `gmsk_reference`, rendered at 8 samples per symbol as a convolution of
    the +-1 symbols with G's increments (a few ms, no scipy); averaged Hann
    periodograms (+-1.08 MHz; the window's sidelobes lie far below the skirt
    at 200-600 kHz)."""
    sps, n_seg, segs = 8, 1024, 24
    delta = math.sqrt(math.log(2.0)) / (2.0 * math.pi * 0.3)
    sig = delta * math.sqrt(2.0)

    def f(x: float) -> float:
        u = x / sig
        return x * math.erf(u) + sig / math.sqrt(math.pi) * math.exp(-u * u)

    g = np.array([min(1.0, max(0.0, 0.5 + 0.5 * (f(q / sps + 0.5) - f(q / sps - 0.5))))
                  for q in range(-4 * sps, 4 * sps + 1)])
    n_bits = segs * n_seg // sps + 16
    up = np.zeros(n_bits * sps)
    up[::sps] = 1.0 - 2.0 * _pseudo_random_bits(n_bits)
    phase = 0.5 * math.pi * np.cumsum(np.convolve(up, np.diff(g)))
    x = np.exp(1j * phase[8 * sps: 8 * sps + segs * n_seg]).reshape(segs, n_seg)
    p = np.mean(np.abs(np.fft.fft(x * np.hanning(n_seg), axis=1)) ** 2, axis=0)
    f_hz = np.fft.fftfreq(n_seg, 1.0 / (sps * SYMBOL_RATE_HZ))
    order = np.argsort(f_hz)
    df = float(f_hz[1] - f_hz[0])
    return (np.asarray(f_hz[order], dtype=np.float64),
            np.asarray(p[order] / (float(np.sum(p)) * df), dtype=np.float64))


@functools.lru_cache(maxsize=256)
def _aci_fraction_cached(offset_khz: int, pass_hz: float, stop_hz: float) -> float:
    f, psd = _gmsk_psd()
    df = float(f[1] - f[0])
    af = np.abs(f)
    h = np.where(af <= pass_hz, 1.0, np.where(af >= stop_hz, 0.0, 0.5 * (
        1 + np.cos(np.pi * (np.clip(af, pass_hz, stop_hz) - pass_hz) / (stop_hz - pass_hz)))))
    return float(np.sum(h * h * np.interp(f - offset_khz * 1e3, f, psd, left=0.0, right=0.0)) * df)


def aci_fraction(offset_hz: float, pass_hz: float, stop_hz: float) -> float:
    """Fraction of a GMSK carrier's power, `offset_hz` away, that a window
    filter flat to `pass_hz` and raised-cosine to zero at `stop_hz` (the
    channeliser's shape) passes (1 kHz resolution)."""
    return _aci_fraction_cached(round(offset_hz / 1e3), float(pass_hz), float(stop_hz))


def dc_spike_db(x: npt.NDArray[np.complex64], fs: float) -> float | None:
    """How far the power density within +-DC_BAND_HZ of 0 Hz stands above the
    density 2..16 kHz around it (dB), in samples whose mean is removed: an
    RTL-SDR's DC offset drifts, and what the mean leaves is a narrow spike at
    0 Hz. About 0 dB without one (noise, or a carrier's flat middle). Block
    means are the low-pass filters (block of fs/(2 B) samples: +-B Hz)."""
    blk = max(4, int(fs / (2 * DC_BAND_HZ)))
    wide = max(1, blk // 8)  # +-8 B
    n = (x.size // blk) * blk
    if n < 8 * blk:
        return None
    y = np.asarray(x[:n], dtype=np.complex64)
    m0 = y.reshape(-1, blk).mean(axis=1)
    m1 = y[: (n // wide) * wide].reshape(-1, wide).mean(axis=1)
    # a block mean of white noise of density N0 holds N0 fs / blk
    d0 = float(np.mean(m0.real ** 2 + m0.imag ** 2)) * blk
    d_all = float(np.mean(m1.real ** 2 + m1.imag ** 2)) * wide
    ring = (d_all * (blk / wide) - d0) / (blk / wide - 1)  # densities: the wide band minus its middle
    if ring <= 0 or d0 <= 0:
        return None
    return 10 * math.log10(d0 / ring)


def _merge_bursts(b: Bursts, b2: Bursts, rows: npt.NDArray[np.intp]) -> Bursts:
    """`b` with its `rows` replaced by those of `b2` (a second pass on them)."""
    out = {}
    for name in ("soft", "start", "snr_db", "power", "freq_hz"):
        v = getattr(b, name).copy()
        v[rows] = getattr(b2, name)
        out[name] = v
    return Bursts(**out)


_D = TypeVar("_D")


def _merge_fields(d: _D, d2: _D, rows: npt.NDArray[np.intp]) -> _D:
    """A decoder result (a frozen dataclass of arrays over the same rows) with
    its `rows` replaced by those of `d2`."""
    out = {}
    for f in fields(d):  # type: ignore[arg-type]
        v = np.array(getattr(d, f.name), copy=True)
        v[rows] = getattr(d2, f.name)
        out[f.name] = v
    return replace(d, **out)  # type: ignore[type-var]


def _ext_announced(si: dict[str, bytes]) -> set[str]:
    """SI types that SI3's rest octets put on BCCH Ext (TS 44.018 10.5.2.34:
    SI2quater position 1, and SI13 position 1 in the GPRS indicator)."""
    if "3" not in si:
        return set()
    from fbsdetect.sysinfo import parse_any
    from fbsdetect.sysinfo.si3 import SI3

    m = parse_any(si["3"])
    if not isinstance(m, SI3):
        return set()
    out = set()
    if m.rest.si2quater_position == 1:
        out.add("2quater")
    if m.rest.gprs is not None and m.rest.gprs.si13_position == 1:
        out.add("13")
    return out


def _ext_wanted(r: CarrierResult, repeats: int) -> bool:
    """Whether the first CCCH block must be decoded for BCCH Ext: a type SI3
    puts there has not been seen `repeats` times yet. Every multiframe's is
    decoded (TS 45.002 gives each type a TC there, but a cell may use more)."""
    return any(r.si_count[s] < repeats for s in _ext_announced(r.si))


def _announced(si: dict[str, bytes]) -> set[str]:
    """SI types that SI3's rest octets announce (TS 44.018 10.5.2.34: SI2ter,
    SI2quater, and SI13 through the GPRS indicator)."""
    if "3" not in si:
        return set()
    from fbsdetect.sysinfo.cell import CellParams

    p = CellParams.from_frames({"3": si["3"]})
    out = set()
    if p.si2ter:
        out.add("2ter")
    if p.si2quater:
        out.add("2quater")
    if p.gprs:
        out.add("13")
    return out


def _iso_ms(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def cell_observations(result: DecodeResult, *, start_time: datetime | None = None,
                      lat: float | None = None, lon: float | None = None,
                      gain_db: float | None = None,
                      position_at: Callable[[float], tuple[float | None, float | None]] | None = None,
                      ) -> list[CellObservation]:
    """One observation per cell whose SCH was decoded (contracts.md section 4).

    Power is referred to the antenna when `gain_db` (dBFS = dBm + gain_db) is
    known, else reported in dBFS. Fields the cell did not give are None. The
    position is `position_at(time of the cell's first SCH)` when given (a
    moving receiver), else `lat`/`lon`.
    """
    from fbsdetect.sysinfo.cell import CellParams

    out: list[CellObservation] = []
    for r in result.carriers:
        if not r.is_cell:
            continue
        frames: dict[str, Any] = {k: list(v) for k, v in r.si_all.items()}
        params = CellParams.from_frames(frames) if frames else CellParams()
        power: float | None = r.power_dbfs
        ref = "dBFS"
        if gain_db is not None and r.power_dbfs is not None:
            power, ref = r.power_dbfs - gain_db, "dBm"
        when = None
        if start_time is not None:
            when = _iso_ms(start_time + timedelta(seconds=r.first_seen_s or 0.0))
        c_lat, c_lon = position_at(r.first_seen_s or 0.0) if position_at is not None else (lat, lon)
        out.append(CellObservation(
            arfcn=r.arfcn, band=r.band, freq_hz=r.freq_hz, bsic=r.bsic,
            mcc=params.mcc, mnc=params.mnc, lac=params.lac, cid=params.cid,
            power_dbm=None if power is None else round(power, 1), power_ref=ref,
            snr_db=None if r.snr_db is None else round(r.snr_db, 1),
            freq_offset_hz=round(r.offset_hz, 1),
            blocks_ok=r.stats.blocks_ok, blocks_bad=r.stats.blocks_bad_crc,
            si={k: v.hex() for k, v in sorted(r.si.items(), key=lambda kv: _SI_ORDER.index(kv[0]))},
            params=params.params() if frames else {},
            time=when, lat=c_lat, lon=c_lon, stats=r.stats.as_dict()))
    return out


_SI_ORDER = ("1", "2", "2bis", "2ter", "2quater", "3", "4", "13")


MIN_SEGMENT_S = 0.03
"""Capture segments shorter than this (less than an FCCH period) are skipped."""


def decode_recording(rec: Recording, *, config: ReceiverConfig | None = None,
                     demodulator: Demodulator | None = None) -> list[DecodeResult]:
    """Decodes a `fbsdetect.sources.recording.Recording`, one result per
    capture segment (a SigMF recording may retune between captures)."""
    info = rec.info
    caps = list(info.captures) or [Capture(0, info.center_freq_hz)]
    # consecutive captures on one frequency (a moving receiver's position
    # updates) are one segment
    caps = [c for k, c in enumerate(caps) if k == 0 or c.center_freq_hz != caps[k - 1].center_freq_hz]
    out = []
    for k, cap in enumerate(caps):
        start = cap.sample_start
        end = caps[k + 1].sample_start if k + 1 < len(caps) else info.n_samples
        n = end - start
        if n < MIN_SEGMENT_S * info.sample_rate_hz:
            continue
        reader = recording_reader(rec._raw, info.datatype, n, offset=start)
        rx = Receiver(reader, n, info.sample_rate_hz, cap.center_freq_hz, config=config,
                      demodulator=demodulator, time_offset_s=start / info.sample_rate_hz)
        out.append(rx.run())
    return out
