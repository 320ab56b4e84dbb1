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
the middle part is kept. Bins outside the output band are dropped, as an
ideal anti-alias filter would.

Timing per cell: its bit stream (transmitter.py) runs on the BTS clock
(symbol rate and carrier offset by the cell's frequency error); the
receiver samples it at the dongle's clock (ppm error: LO and sample clock);
the propagation delay, path loss, shadowing, fading and the on-air interval
come from `channel.Link`, evaluated once per block for fixed links or on a
grid of ~0.4 ms (linearly interpolated) when something moves or fades.

Determinism: the block size depends only on the sample rate, each block's
noise comes from a generator seeded by (scene seed, tuning epoch, block
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
from fbsdetect.sim.channel import Link, dbm_to_fullscale, thermal_noise_dbm
from fbsdetect.sim.scene import CellConfig, JammerConfig, Scene
from fbsdetect.sim.transmitter import FRAME_BITS, MF_BITS, Block, CellFrames, CellTransmitter
from fbsdetect.sim.waveform import GmskStream

GRID = 256  # low-rate samples between channel-gain evaluations of moving/fading links
MIN_LOW_RATE_HZ = 2 * SYMBOL_RATE_HZ * 0.999
MAX_LOW_RATE_HZ = 730e3
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


def make_plan(fs_hz: float, target_block_samples: int = 65536) -> Plan:
    best: tuple[int, int] | None = None
    for d in range(1, 33):
        for c in range(1, 17):
            if math.gcd(c, d) != 1:
                continue
            fc = fs_hz * c / d
            if MIN_LOW_RATE_HZ <= fc <= MAX_LOW_RATE_HZ and (best is None or (d, c) < best[::-1]):
                best = (c, d)
    if best is None:  # pragma: no cover - the range above always holds a fraction
        raise ValueError(f"no block plan for sample rate {fs_hz}")
    c, d = best
    lam = max(GRID, 1 << round(math.log2(target_block_samples / d)))
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
            mnc=cell.mnc, symbol_rate_hz=self.symbol_rate_hz)
        # stream bit 0 = first bit of multiframe -1; frame start_fn began frame_offset_s before t = 0
        self.m_next = -1
        self.t0_s = (-self.timing.frame_offset_s
                     - ((self.timing.start_fn % 51) * FRAME_BITS + MF_BITS) / self.symbol_rate_hz)
        self.stream = GmskStream()
        self.link = Link(tx=cell.route, rx=scene.receiver.route, eirp_dbm=cell.eirp_dbm,
                         freq_hz=self.freq_hz, active=cell.active, prop=scene.propagation,
                         origin=origin, seed=scene.info.seed, key=cell.index)
        self.static_gain = self.link.gains(np.array([0.0])) if self.link.static else None

    def ensure(self, u_max: float, on_blocks: Callable[[_CellState, int, list[Block]], None] | None) -> None:
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
            self.cell_plans.append(_CellPlan(
                k=k, f_res_hz=f_res, src=src_all[keep], dst=np.mod(dst[keep], p.M),
                weight=(taper[src_all[keep]] * (p.M / p.L)).astype(np.float32),
                rot=np.exp(2j * np.pi * f_res / p.fs_c_hz * np.arange(p.L)).astype(np.complex64)))
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

    @property
    def t_next_s(self) -> float:
        return self.time_of_output(self.segment * self.plan.H_o)

    # ------------------------------------------------------------------ rendering

    def next_block(self) -> npt.NDArray[np.complex64]:
        """The next H_o output samples (complex64, full-scale units)."""
        p = self.plan
        s = self.segment
        self.segment += 1
        p_start = s * p.H_c - p.margin_c  # low-rate index of the first sample of this segment
        fs_c_true = p.fs_c_hz * self.clock
        t_start = self.t_epoch_s + p_start / fs_c_true
        t_mid = t_start + p.L / 2 / fs_c_true
        spec = np.zeros(p.M, dtype=np.complex64)
        for st, cp in zip(self.cells, self.cell_plans, strict=True):
            if cp is None:
                continue
            a, b = st.cell.active
            if t_start + p.L / fs_c_true < a or t_start >= b:
                continue
            g = st.static_gain if st.static_gain is not None else st.link.gains(np.array([t_mid]))
            delay = float(g.delay_s[0])
            du = st.symbol_rate_hz / fs_c_true
            u0 = (t_start - delay - st.t0_s) * st.symbol_rate_hz
            st.ensure(u0 + p.L * du, self.on_blocks)
            x = st.stream.sample(u0, du, p.L)
            st.stream.forget(u0 - 8)
            # fine frequency offset at the low rate, coarse phase of the bin shift
            ph0 = (cp.f_res_hz / p.fs_c_hz * p_start) % 1.0 + (cp.k * p_start / p.L) % 1.0
            amp = self._amplitude(st, g, t_start, fs_c_true, p)
            if isinstance(amp, complex):
                x *= cp.rot * np.complex64(amp * np.exp(2j * np.pi * ph0))
            else:
                x *= cp.rot
                x *= (amp * np.exp(2j * np.pi * ph0)).astype(np.complex64)
            X = scipy.fft.fft(x)
            spec[cp.dst] += X[cp.src] * cp.weight
        rng = np.random.default_rng([self.scene.info.seed, 0x4E4F4953, self.epoch, s])
        sigma = math.sqrt(self.noise_fs * p.M / 2)
        noise = rng.standard_normal(2 * p.M, dtype=np.float32).view(np.complex64)
        spec += noise * np.float32(sigma)
        for link, (bins, n_bins_total) in zip(self.jammer_links, self.jammer_plans, strict=True):
            if bins.size == 0:
                continue
            g = link.gains(np.array([t_mid]))
            p_fs = float(abs(g.amplitude[0]) ** 2) * self.amp_scale**2
            if p_fs == 0:
                continue
            sj = math.sqrt(p_fs * p.M * p.M / n_bins_total / 2)
            jn = rng.standard_normal(2 * bins.size, dtype=np.float32).view(np.complex64)
            spec[bins] += jn * np.float32(sj)
        y = scipy.fft.ifft(spec, overwrite_x=True)
        return np.ascontiguousarray(y[p.margin_o : p.margin_o + p.H_o])

    def _amplitude(self, st: _CellState, g0: object, t_start: float, fs_c_true: float,
                   p: Plan) -> complex | npt.NDArray[np.complex128]:
        """Complex amplitude over the low-rate block: a constant when the link is
        fixed and on the air throughout, else interpolated from a grid."""
        a, b = st.cell.active
        t_end = t_start + p.L / fs_c_true
        if st.static_gain is not None and t_start >= a and t_end < b:
            return complex(st.static_gain.amplitude[0]) * self.amp_scale
        n_grid = p.L // GRID
        tg = t_start + np.arange(n_grid + 1) * (GRID / fs_c_true)
        g = st.link.gains(tg).amplitude * self.amp_scale
        frac = np.arange(GRID) / GRID
        return (g[:-1, None] + (g[1:] - g[:-1])[:, None] * frac[None, :]).reshape(-1)


@dataclass(frozen=True)
class _CellPlan:
    k: int
    f_res_hz: float
    src: npt.NDArray[np.intp]
    dst: npt.NDArray[np.intp]
    weight: npt.NDArray[np.float32]
    rot: npt.NDArray[np.complex64]


