"""Block-wise rendering of a scene into complex baseband at the receiver.

Every cell's GMSK is sampled (`waveform.GmskStream`) at a low rate ``fs_c``
of 2 to 2.7 samples per symbol, a rational fraction c/d of the output rate.
Each output block is then synthesised in the frequency domain
(overlap-save): the FFT of each cell's low-rate block, tapered to +-180..300
kHz (a smooth edge so the implied interpolation kernel is short, and the
low rate's aliases are cut), is added at the cell's frequency offset (a whole
number of bins; the remainder is a small rotation applied at the low rate)
into one spectrum of the output block, together with the thermal noise and
the jammers' band-limited noise; one inverse FFT gives the block, of which
the middle part is kept. A jammer switching on or off inside a segment is
added in the time domain instead, gated sample by sample. Bins outside the output band are dropped, as an
ideal anti-alias filter would.

The dongle's front-end impairments (`channel.DongleImpairments`, when the
scene sets any): the band-edge roll-off multiplies the spectrum of each
segment (one mask per tuning) before the inverse FFT; the IQ imbalance
``mu y + nu conj(y)`` and the DC offset (evaluated at the ends of each block,
linearly in between) are applied to the kept output samples. Without them
nothing of this runs, and the samples are those of a scene without the keys.

Timing per cell: its bit stream (transmitter.py) runs on the BTS clock
(symbol rate and carrier offset by the cell's frequency error); the
receiver samples it at the dongle's clock (ppm error: LO and sample clock);
the propagation delay, path loss, shadowing, fading and the on-air interval
come from `channel.Link`, evaluated once for fixed links, or on a grid
(linearly interpolated; the line-of-sight phase every 64 samples) when
something moves or fades. A cell nobody heard for a while (outside the tuned
band, off the air) jumps ahead rather than rendering what it sent meanwhile.

Speed: segments of about 27 ms are rendered four at a time, so that every
FFT runs batched (pocketfft computes several transforms at once in SIMD
lanes); the measured rate is in bench/bench_render.py.

Determinism: the block size depends only on the sample rate, each segment's
noise comes from a generator seeded by (scene seed, tuning epoch, segment
index), each cell's paging by (seed, cell, multiframe), so the same scene and
seed give the same samples however the caller reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft

from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ
from fbsdetect.gsm.bands import downlink_hz
from fbsdetect.sim.channel import (
    DongleImpairments,
    Link,
    RxPositions,
    dbm_to_fullscale,
    thermal_noise_dbm,
)
from fbsdetect.sim.dedicated import schedule_for as dedicated_schedule
from fbsdetect.sim.scene import CellConfig, JammerConfig, Scene
from fbsdetect.sim.transmitter import FRAME_BITS, MF_BITS, Block, CellFrames, CellTransmitter
from fbsdetect.sim.waveform import GmskStream

BATCH = 4  # segments rendered together: pocketfft runs 4 transforms at once in SIMD lanes
FINE_GRID = 64  # low-rate samples between exact line-of-sight phases of moving links
GRID = 256  # low-rate samples between channel-gain evaluations of moving/fading links
MIN_LOW_RATE_HZ = 2 * SYMBOL_RATE_HZ * 0.999
PREFERRED_LOW_RATE_HZ = 590e3
MAX_LOW_RATE_HZ = 730e3


def _is_5_smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


_SMOOTH = tuple(n for n in range(1, 129) if _is_5_smooth(n))  # FFT-friendly factors
TAPER_STOP_HZ = 300e3
TAPER_WIDTH_HZ = 110e3
BTS_PPM_MAX = 0.05  # TS 45.010 5.1: BTS frequency source within 0.05 ppm


@dataclass(frozen=True)
class Plan:
    """Block sizes for one output sample rate: output FFT M = d*lam, cell FFT
    L = c*lam, kept H_o = d*eta output samples (H_c = c*eta low-rate ones)."""

    fs_hz: float
    c: int
    d: int
    lam: int
    eta: int

    @property
    def fs_c_hz(self) -> float:
        return self.fs_hz * self.c / self.d

    @property
    def L(self) -> int:
        return self.c * self.lam

    @property
    def M(self) -> int:
        return self.d * self.lam

    @property
    def H_c(self) -> int:
        return self.c * self.eta

    @property
    def H_o(self) -> int:
        return self.d * self.eta

    @property
    def margin_c(self) -> int:
        return (self.L - self.H_c) // 2

    @property
    def margin_o(self) -> int:
        return (self.M - self.H_o) // 2


def make_plan(fs_hz: float, target_block_s: float = 0.03) -> Plan:
    """Block sizes for the output rate `fs_hz`: the smallest fraction c/d that
    puts the cells' rate in 2..2.7 samples per symbol, blocks of about
    `target_block_s`."""
    best: tuple[int, float, int] | None = None
    for lo in (PREFERRED_LOW_RATE_HZ, MIN_LOW_RATE_HZ):
        for d in _SMOOTH:
            for c in _SMOOTH[:12]:
                fc = fs_hz * c / d
                if (math.gcd(c, d) == 1 and lo <= fc <= MAX_LOW_RATE_HZ
                        and (best is None or (c, fc) < best[:2])):
                    best = (c, fc, d)
        if best is not None:
            break
    if best is None:  # pragma: no cover - the range above always holds a fraction
        raise ValueError(f"no block plan for sample rate {fs_hz}")
    c, _, d = best
    lam = max(4 * GRID, 1 << round(math.log2(fs_hz * target_block_s / d)))
    lam -= lam % GRID
    # margin of at least 128 low-rate samples each side, lam - eta even
    gap = 2 * math.ceil(128 / c)
    gap += gap % 2
    return Plan(fs_hz=fs_hz, c=c, d=d, lam=lam, eta=lam - gap)


def _taper(freqs_hz: npt.NDArray[np.float64], fs_c_hz: float) -> npt.NDArray[np.float64]:
    stop = min(TAPER_STOP_HZ, fs_c_hz / 2)
    start = stop - TAPER_WIDTH_HZ
    a = np.abs(freqs_hz)
    w = np.where(a <= start, 1.0, 0.5 * (1 + np.cos(np.pi * np.clip((a - start) / (stop - start), 0, 1))))
    return np.asarray(w, dtype=np.float64)


@dataclass(frozen=True)
class CellTiming:
    """Seeded per-cell values that a scene may also fix."""

    start_fn: int
    frame_offset_s: float  # how far frame start_fn had progressed at t = 0
    freq_error_ppm: float


def cell_timing(scene: Scene, cell: CellConfig) -> CellTiming:
    rng = np.random.default_rng([scene.info.seed, 0x43454C4C, cell.index])
    start_fn = int(rng.integers(0, 2715648))
    offset = float(rng.uniform(0, FRAME_BITS / SYMBOL_RATE_HZ))
    ppm = float(rng.uniform(-BTS_PPM_MAX, BTS_PPM_MAX))
    return CellTiming(start_fn=cell.start_fn if cell.start_fn is not None else start_fn,
                      frame_offset_s=offset,
                      freq_error_ppm=cell.freq_error_ppm if cell.freq_error_ppm is not None else ppm)


class _CellState:
    def __init__(self, scene: Scene, cell: CellConfig, frames: CellFrames, origin: tuple[float, float]):
        self.cell = cell
        self.timing = cell_timing(scene, cell)
        e = self.timing.freq_error_ppm * 1e-6
        self.freq_hz = downlink_hz(cell.arfcn) * (1 + e)
        self.symbol_rate_hz = SYMBOL_RATE_HZ * (1 + e)
        self.tx = CellTransmitter(
            bsic=cell.bsic, combined=cell.combined, frames=frames, start_fn=self.timing.start_fn,
            paging_rate_hz=cell.paging_rate, seed=scene.info.seed, index=cell.index, mcc=cell.mcc,
            mnc=cell.mnc, symbol_rate_hz=self.symbol_rate_hz,
            dedicated=None if cell.traffic is None else dedicated_schedule(scene, cell, self.timing.start_fn,
                                                                           self.symbol_rate_hz))
        # stream bit 0 = first bit of multiframe -1; frame start_fn began frame_offset_s before t = 0
        self.m_next = -1
        self.t0_s = (-self.timing.frame_offset_s
                     - ((self.timing.start_fn % 51) * FRAME_BITS + MF_BITS) / self.symbol_rate_hz)
        self.stream = GmskStream()
        self.link = Link(tx=cell.route, rx=scene.receiver.route, eirp_dbm=cell.eirp_dbm,
                         freq_hz=self.freq_hz, active=cell.active, prop=scene.propagation,
                         origin=origin, seed=scene.info.seed, key=cell.index)
        # a fixed link's gain, used while the cell is on the air
        self.static_gain = self.link.gains(np.array([0.0]), gated=False) if self.link.static else None

    def ensure(self, u_min: float, u_max: float,
               on_blocks: Callable[[_CellState, int, list[Block]], None] | None) -> None:
        """Renders the bits that instants u_min..u_max (symbols) need. A cell that
        was not rendered for over two multiframes (out of the tuned band, off the
        air) jumps ahead: its frame numbers and paging go on as if it had been
        sent, only the GMSK phase restarts."""
        if u_min - self.stream.n_bits > 2 * MF_BITS:
            m = math.floor(u_min / MF_BITS) - 2  # stream multiframe index of bit u_min, minus margin
            self.m_next = m - 1
            self.stream.restart(m * MF_BITS)
        while self.stream.n_bits <= u_max + 4:
            bits, blocks = self.tx.multiframe(self.m_next)
            if on_blocks is not None:
                on_blocks(self, self.m_next, blocks)
            self.stream.append(bits)
            self.m_next += 1

    def block_time_s(self, m: int, t3: int) -> float:
        """Scene time at which the burst in frame t3 of multiframe m starts (at the BTS)."""
        bit = (m + 1) * MF_BITS + t3 * FRAME_BITS
        return self.t0_s + (bit - 0.5) / self.symbol_rate_hz


class Renderer:
    """Renders the scene's signal at the receiver, block by block, for one
    tuning (centre frequency, sample rate, gain) at a time; `retune` starts a
    new tuning epoch at the current scene time (the cells' streams go on)."""

    def __init__(self, scene: Scene, frames: dict[int, CellFrames], *,
                 center_freq_hz: float | None = None, sample_rate_hz: float | None = None,
                 gain_db: float | None = None,
                 on_blocks: Callable[[_CellState, int, list[Block]], None] | None = None) -> None:
        self.scene = scene
        rx = scene.receiver
        self.origin = rx.route.position(0.0)
        self.cells = [_CellState(scene, c, frames[c.index], self.origin) for c in scene.cells]
        self.jammer_links = [self._jammer_link(j) for j in scene.jammers]
        self.on_blocks = on_blocks
        self.impairments = DongleImpairments.from_receiver(rx, scene.info.seed)
        self._mask: npt.NDArray[np.float32] | None = None
        self._xs: npt.NDArray[np.complex64] | None = None
        self._spec: npt.NDArray[np.complex64] | None = None
        self._rx_cache: dict[tuple[int, int, int], RxPositions] = {}
        self.ppm = rx.ppm
        self.noise_figure_db = rx.noise_figure_db
        self.epoch = -1
        self.t_epoch_s = 0.0
        self.retune(center_freq_hz if center_freq_hz is not None else rx.center_freq_hz,
                    sample_rate_hz if sample_rate_hz is not None else rx.sample_rate_hz,
                    gain_db if gain_db is not None else rx.gain_db, t_s=0.0)

    def _jammer_link(self, j: JammerConfig) -> Link:
        return Link(tx=j.route, rx=self.scene.receiver.route, eirp_dbm=j.eirp_dbm,
                    freq_hz=j.center_freq_hz, active=j.active, prop=self.scene.propagation,
                    origin=self.origin, seed=self.scene.info.seed, key=0x10000 + j.index)

    # ------------------------------------------------------------------ tuning

    def retune(self, center_freq_hz: float, sample_rate_hz: float, gain_db: float, *, t_s: float) -> None:
        self.epoch += 1
        self.t_epoch_s = t_s
        self.center_freq_hz = center_freq_hz
        self.sample_rate_hz = sample_rate_hz
        self.gain_db = gain_db
        self.plan = p = make_plan(sample_rate_hz)
        self.segment = 0
        e = self.ppm * 1e-6
        self.clock = 1.0 + e  # true seconds per nominal second of samples: 1/clock
        lo_hz = center_freq_hz * (1 + e)
        self.noise_fs = float(dbm_to_fullscale(thermal_noise_dbm(sample_rate_hz, self.noise_figure_db),
                                               gain_db))
        self.amp_scale = math.sqrt(float(dbm_to_fullscale(0.0, gain_db)))
        bin_hz = p.fs_hz / p.M
        freqs_c = scipy.fft.fftfreq(p.L, 1.0 / p.fs_c_hz)
        taper = _taper(freqs_c, p.fs_c_hz)
        src_all = np.nonzero(taper > 0)[0]
        self.cell_plans: list[_CellPlan | None] = []
        for st in self.cells:
            f_off = (st.freq_hz - lo_hz) / self.clock  # Hz on the recording's nominal scale
            if abs(f_off) > p.fs_hz / 2 + TAPER_STOP_HZ:
                self.cell_plans.append(None)
                continue
            k = round(f_off / bin_hz)
            f_res = f_off - k * bin_hz
            src_bin = np.where(src_all < p.L // 2, src_all, src_all - p.L)  # signed bin of the cell
            dst = src_bin + k
            keep = (dst >= -(p.M // 2)) & (dst < (p.M + 1) // 2)
            if not keep.any():
                self.cell_plans.append(None)
                continue
            order = np.argsort(src_bin[keep], kind="stable")
            src_i = src_all[keep][order]
            dst_i = np.mod(dst[keep], p.M)[order]
            self.cell_plans.append(_CellPlan(
                k=k, f_res_hz=f_res, runs=_runs(src_i, dst_i, taper[src_i] * (p.M / p.L)),
                rot=np.exp(2j * np.pi * f_res / p.fs_c_hz * np.arange(p.L)).astype(np.complex64)))
        imp = self.impairments
        self._mask = (imp.rolloff_gain(scipy.fft.fftfreq(p.M, 1.0 / p.fs_hz), p.fs_hz)
                      if imp is not None and imp.rolloff else None)
        self.jammer_plans = []
        for j in self.scene.jammers:
            lo = max(j.center_freq_hz - j.bandwidth_hz / 2 - lo_hz, -p.fs_hz / 2) / self.clock
            hi = min(j.center_freq_hz + j.bandwidth_hz / 2 - lo_hz, p.fs_hz / 2) / self.clock
            bins = np.arange(math.ceil(lo / bin_hz), math.floor(hi / bin_hz) + 1)
            bins = bins[(bins >= -(p.M // 2)) & (bins < (p.M + 1) // 2)]
            self.jammer_plans.append((np.mod(bins, p.M), j.bandwidth_hz / bin_hz))

    # ------------------------------------------------------------------ time

    def time_of_output(self, n: int | float) -> float:
        """Scene time of output sample n of the current epoch."""
        return self.t_epoch_s + n / (self.sample_rate_hz * self.clock)

    # ------------------------------------------------------------------ rendering

    def next_block(self) -> npt.NDArray[np.complex64]:
        """The next BATCH * H_o output samples (complex64, full-scale units)."""
        p = self.plan
        s0 = self.segment
        self.segment += BATCH
        fs_c_true = p.fs_c_hz * self.clock
        # low-rate index and scene time of the first sample of each segment
        p_starts = [s * p.H_c - p.margin_c for s in range(s0, s0 + BATCH)]
        t_starts = [self.t_epoch_s + ps / fs_c_true for ps in p_starts]
        dur = p.L / fs_c_true
        if self._spec is None or self._spec.shape != (BATCH, p.M):
            self._spec = np.empty((BATCH, p.M), dtype=np.complex64)
            self._xs = np.empty((len(self.cells) * BATCH, p.L), dtype=np.complex64)
        spec = self._spec
        assert self._xs is not None
        xs = self._xs
        # Thermal noise is synthesised bin by bin: independent uniform real and imaginary
        # parts (variance 1/12 each) are as good as Gaussian ones here, since every output
        # sample sums M >> 1 bins (central limit), and they cost a fifth.
        sigma = np.float32(math.sqrt(self.noise_fs * p.M / 2 * 12))
        rngs = []
        for i, s in enumerate(range(s0, s0 + BATCH)):
            rng = np.random.default_rng([self.scene.info.seed, 0x4E4F4953, self.epoch, s])
            noise = rng.random(2 * p.M, dtype=np.float32, out=spec[i].view(np.float32))
            noise *= sigma
            noise -= sigma / np.float32(2)
            rngs.append(rng)
        rows: list[tuple[_CellPlan, int, np.complex64]] = []
        for st, cp in zip(self.cells, self.cell_plans, strict=True):
            if cp is None:
                continue
            a, b = st.link.on_air
            du = st.symbol_rate_hz / fs_c_true
            u_first: float | None = None
            for i in range(BATCH):
                t_start = t_starts[i]
                if t_start + dur < a or t_start >= b:
                    continue
                if st.static_gain is not None and a <= t_start and t_start + dur < b:
                    amp: complex | npt.NDArray[np.complex64] = (
                        complex(st.static_gain.amplitude[0]) * self.amp_scale)
                    delay = float(st.static_gain.delay_s[0])
                else:
                    amp, delay = self._amplitude_grid(st, t_start, fs_c_true, p, s0 + i)
                u0 = (t_start - delay - st.t0_s) * st.symbol_rate_hz
                st.ensure(u0, u0 + p.L * du, self.on_blocks)
                x = xs[len(rows)]
                st.stream.sample(u0, du, p.L, out=x)
                u_first = u0 if u_first is None else u_first
                # fine frequency offset at the low rate; phase of the coarse bin shift
                ph0 = (cp.f_res_hz / p.fs_c_hz * p_starts[i]) % 1.0 + (cp.k * p_starts[i] / p.L) % 1.0
                scalar = np.exp(2j * np.pi * ph0)
                x *= cp.rot
                if isinstance(amp, complex):
                    scalar *= amp
                else:
                    x *= amp
                rows.append((cp, i, np.complex64(scalar)))
            if u_first is not None:
                st.stream.forget(u_first - 2000)  # keep a little history for a retune
        if rows:
            # batched FFTs: pocketfft runs several transforms at once in SIMD lanes
            X = scipy.fft.fft(xs[: len(rows)], axis=1, overwrite_x=True)
            for (cp, i, c64), Xi in zip(rows, X, strict=True):
                si = spec[i]
                for s_0, s_1, d_0, d_1, w in cp.runs:
                    si[d_0:d_1] += Xi[s_0:s_1] * (w * c64)
        # jammers: their noise is added to the spectrum of segments wholly on the air; a
        # segment holding an edge of the on-air interval gets it in the time domain,
        # gated sample by sample
        switching: list[tuple[int, npt.NDArray[np.complex64], tuple[float, float]]] = []
        for link, (bins, n_bins_total) in zip(self.jammer_links, self.jammer_plans, strict=True):
            if bins.size == 0:
                continue
            a, b = link.on_air
            for i in range(BATCH):
                if t_starts[i] + dur <= a or t_starts[i] >= b:
                    continue
                g = link.gains(np.array([t_starts[i] + dur / 2]), gated=False)
                p_fs = float(abs(g.amplitude[0]) ** 2) * self.amp_scale**2
                sj = math.sqrt(p_fs * p.M * p.M / n_bins_total / 2 * 12)
                jn = (rngs[i].random(2 * bins.size, dtype=np.float32) - np.float32(0.5)).view(np.complex64)
                jn *= np.float32(sj)
                if a <= t_starts[i] and t_starts[i] + dur <= b:
                    spec[i, bins] += jn
                else:
                    js = np.zeros(p.M, dtype=np.complex64)
                    js[bins] = jn
                    switching.append((i, js, (a, b)))
        if self._mask is not None:  # the dongle's band-edge roll-off
            spec *= self._mask
            for _, js, _ab in switching:
                js *= self._mask
        y = scipy.fft.ifft(spec, axis=1)  # a new array: spec is a reused buffer
        for i, js, (a, b) in switching:
            t = t_starts[i] + np.arange(p.M) * (dur / p.M)
            y[i] += scipy.fft.ifft(js) * ((t >= a) & (t < b))
        out = np.ascontiguousarray(y[:, p.margin_o : p.margin_o + p.H_o]).reshape(-1)
        if self.impairments is not None:
            self._front_end(out, s0 * p.H_o)
        return out

    def _front_end(self, out: npt.NDArray[np.complex64], n0: int) -> None:
        """IQ imbalance and DC offset, in place, on output samples n0.. of the epoch."""
        imp = self.impairments
        assert imp is not None
        if imp.iq:
            mu, nu = imp.iq_mu_nu()
            c = np.conj(out)
            c *= np.complex64(nu)
            out *= np.complex64(mu)
            out += c
        if imp.dc:
            n = out.size
            d0, d1 = imp.dc_at([self.time_of_output(n0), self.time_of_output(n0 + n)])
            ramp = np.arange(n, dtype=np.float32) * np.complex64((d1 - d0) / n)
            ramp += np.complex64(d0)
            out += ramp

    def _amplitude_grid(self, st: _CellState, t_start: float, fs_c_true: float,
                        p: Plan, segment: int) -> tuple[npt.NDArray[np.complex64], float]:
        """Complex amplitude over the low-rate block (0 off the air, sample by
        sample) and the propagation delay at its middle. Power, shadowing and
        fading are evaluated on a grid (every GRID samples with fading, 8 points
        per block otherwise); the line-of-sight phase -2 pi d / lambda, which
        turns quickly on a moving link (2 pi x 95 Hz at 30 m/s), is evaluated
        exactly every FINE_GRID samples (under 0.1 rad apart) from the
        interpolated distance; the product is interpolated linearly."""
        n_grid = p.L // GRID if self.scene.propagation.fading != "none" else 8
        step = p.L // n_grid
        tg = t_start + np.arange(n_grid + 1) * (step / fs_c_true)
        key = (self.epoch, segment, n_grid)
        rx = self._rx_cache.get(key)
        if rx is None:
            if len(self._rx_cache) > 4 * BATCH:
                self._rx_cache.clear()
            rx = self._rx_cache[key] = st.link.receiver_at(tg)
        g = st.link.gains(tg, rx, los_phase=False, gated=False)
        n_fine = p.L // FINE_GRID
        pos = np.arange(n_fine + 1) * (n_grid / n_fine)  # fine points on the coarse grid's scale
        xg = np.arange(n_grid + 1)
        amp = g.amplitude * self.amp_scale
        fine = np.interp(pos, xg, amp.real) + 1j * np.interp(pos, xg, amp.imag)
        cycles = np.interp(pos, xg, g.distance_m) / st.link.wavelength_m
        fine *= np.exp(-2j * np.pi * (cycles - np.floor(cycles)))
        f64 = fine.astype(np.complex64)
        frac = (np.arange(FINE_GRID) / FINE_GRID).astype(np.float32)
        out = (f64[:-1, None] + (f64[1:] - f64[:-1])[:, None] * frac[None, :]).reshape(-1)
        a, b = st.link.on_air
        if t_start < a or t_start + p.L / fs_c_true > b:  # an edge of the on-air interval
            t = t_start + np.arange(p.L) / fs_c_true
            out *= (t >= a) & (t < b)
        return out, float(g.delay_s[n_grid // 2])


@dataclass(frozen=True)
class _CellPlan:
    k: int
    f_res_hz: float
    runs: list[tuple[int, int, int, int, npt.NDArray[np.float32]]]  # src, dst slices + taper
    rot: npt.NDArray[np.complex64]


def _runs(src: npt.NDArray[np.intp], dst: npt.NDArray[np.intp],
          w: npt.NDArray[np.float64]) -> list[tuple[int, int, int, int, npt.NDArray[np.float32]]]:
    """Splits a bin mapping into runs contiguous in both the source and the
    destination, so the accumulation uses slices instead of fancy indexing."""
    brk = np.nonzero((np.diff(src) != 1) | (np.diff(dst) != 1))[0] + 1
    out = []
    for a, b in zip(np.concatenate([[0], brk]), np.concatenate([brk, [src.size]]), strict=True):
        out.append((int(src[a]), int(src[b - 1]) + 1, int(dst[a]), int(dst[b - 1]) + 1,
                    w[a:b].astype(np.float32)))
    return out


