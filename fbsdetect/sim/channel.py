"""The radio channel between an emitter and the receiver, and the receiver's
own impairments.

Propagation (received power = EIRP - path loss + shadowing, receive antenna
0 dBi):
- free space (Friis): ``L = 20 log10(4 pi d f / c)``;
- log-distance: free space up to `ref_distance_m`, then
  ``10 * exponent * log10(d / ref_distance_m)`` more;
  distances below 1 m are taken as 1 m.
- log-normal shadowing: a smooth random field over the receiver's position
  (sum of 24 cosines with random directions and spatial periods around the
  decorrelation distance, 50 m, as in Gudmundson's model), standard deviation
  `shadowing_db`, one independent field per emitter;
- Rayleigh / Rician fading: the classic sum of plane waves (Clarke's model)
  as a field over the receiver's and the transmitter's positions, 32 paths
  with random directions and phases, so that a moving end produces the
  Doppler spread of its speed and a fixed link has a fixed (random) gain;
  Rician adds a line-of-sight term with the K factor `rician_k_db`.
- optional path extensions (scene.py, `[[propagation.obstruction]]` and
  `[[propagation.antenna]]`): `loss_db` more loss on every path whose
  straight line crosses an obstruction disc, and the transmit antenna's
  horizontal pattern ``-min(12 (theta / beamwidth)^2, front_back_db)`` at
  the angle between its azimuth and the bearing to the receiver; applied to
  the mean power before shadowing and fading (absent: nothing is computed);
- the carrier phase of the line-of-sight delay ``exp(-j 2 pi d / lambda)``
  and the propagation delay d / c on the symbol timing, so that motion
  shows as Doppler on the carrier and on the symbol clock.

Receiver: thermal noise ``k T0 B F`` (T0 = 290 K) over the sample rate B
with noise figure F; the dongle's one crystal sets both the LO and the
sample clock, so a ppm error shifts every carrier by -ppm * f and stretches
time by the same factor; gain maps antenna power to the sample scale:
``dBFS = dBm + gain_db`` (0 dBFS is a complex sample of magnitude 1, the
full scale of cu8/ci8; recorded as `fbsdetect:gain_db`).

Dongle front-end impairments (`DongleImpairments`, all optional; the
`[receiver]` keys of scene.py), in the order a sample meets them:
- anti-alias / IF filter roll-off: a real gain mask over the output band,
  1 inside, falling as a raised cosine in dB, ``A(x) = R (1 - cos(pi x)) / 2``
  with ``x = (|f| - (1/2 - w) fs) / (w fs)`` clipped to 0..1, to ``R =
  band_edge_rolloff_db`` at +-fs/2 (``w = band_edge_rolloff_fraction``); the
  mask is smooth at both ends (its impulse response is short), applied to the
  spectrum of everything that enters the dongle (cells, jammers, thermal
  noise);
- IQ gain/phase imbalance: I scaled by ``g^-1/2``, Q by ``g^1/2`` with
  ``g = 10^(iq_imbalance_db / 20)``, and the Q branch's LO off quadrature by
  ``phi = iq_phase_deg``: ``I + jQ = g^-1/2 Re x + j g^1/2 (Im x cos phi -
  Re x sin phi)``, i.e. ``y = mu x + nu conj(x)`` with ``mu = (g^-1/2 +
  g^1/2 e^-j phi) / 2`` and ``nu = (g^-1/2 - g^1/2 e^+j phi) / 2``: each
  carrier at +f gets a mirror image at -f, ``|nu|^2 / |mu|^2`` below it;
- DC offset (LO leakage, ADC offset): a complex constant of power
  ``10^(dc_offset_dbfs / 10)`` full scale, whose magnitude wanders by +-0.5 dB
  and phase by +-0.3 rad as sinusoids of seeded periods of 2..8 s (scene
  time), so the spike at 0 Hz is a fraction of a hertz wide, as the slow
  thermal drift of a real dongle's offset; added after the imbalance,
  before the 8-bit quantisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fbsdetect.sim.routes import Route, distance_m, local_xy_m
from fbsdetect.sim.scene import PropagationConfig, ReceiverConfig

SPEED_OF_LIGHT_M_S = 299_792_458.0
BOLTZMANN_J_K = 1.380649e-23
T0_K = 290.0
SHADOW_DECORRELATION_M = 50.0
_SHADOW_TERMS = 24
_FADING_PATHS = 32


def fspl_db(distance_m: npt.ArrayLike, freq_hz: float) -> npt.NDArray[np.float64]:
    d = np.maximum(np.asarray(distance_m, dtype=np.float64), 1.0)
    return np.asarray(20.0 * np.log10(4.0 * math.pi * d * freq_hz / SPEED_OF_LIGHT_M_S))


def path_loss_db(distance_m: npt.ArrayLike, freq_hz: float,
                 prop: PropagationConfig) -> npt.NDArray[np.float64]:
    d = np.maximum(np.asarray(distance_m, dtype=np.float64), 1.0)
    if prop.model == "free-space":
        return fspl_db(d, freq_hz)
    d0 = prop.ref_distance_m
    beyond = 10.0 * prop.exponent * np.log10(np.maximum(d, d0) / d0)
    return np.asarray(fspl_db(np.minimum(d, d0), freq_hz) + beyond)


def thermal_noise_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    """k T0 B F in dBm."""
    return 10.0 * math.log10(BOLTZMANN_J_K * T0_K * bandwidth_hz * 1e3) + noise_figure_db


def dbm_to_fullscale(power_dbm: npt.ArrayLike, gain_db: float) -> npt.NDArray[np.float64]:
    """Power in full-scale units (|x|^2) of an antenna power, with `gain_db`."""
    return np.asarray(10.0 ** ((np.asarray(power_dbm, dtype=np.float64) + gain_db) / 10.0))


@dataclass(frozen=True)
class RxPositions:
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    xy: npt.NDArray[np.float64]  # (n, 2) east, north in metres from the link's origin


@dataclass(frozen=True)
class Gains:
    """Complex amplitude (sqrt of full-scale power, with fading and carrier
    phase, 0 when off the air) and delay at a set of times."""

    amplitude: npt.NDArray[np.complex128]
    delay_s: npt.NDArray[np.float64]
    power_dbm: npt.NDArray[np.float64]  # received power without fading, at the antenna
    distance_m: npt.NDArray[np.float64]


class Link:
    """One emitter -> the receiver."""

    def __init__(self, *, tx: Route, rx: Route, eirp_dbm: float, freq_hz: float,
                 active: tuple[float, float], prop: PropagationConfig, origin: tuple[float, float],
                 seed: int, key: int) -> None:
        self.tx, self.rx = tx, rx
        self.eirp_dbm = eirp_dbm
        self.freq_hz = freq_hz
        self.wavelength_m = SPEED_OF_LIGHT_M_S / freq_hz
        self.active = active
        # an emitter on the air from t <= 0 was already on before the recording started
        self.on_air = (active[0] if active[0] > 0 else -math.inf, active[1])
        self.prop = prop
        self.origin = origin
        self.key = key
        rng = np.random.default_rng([seed, 0x4C494E4B, key])
        # shadowing field: wave vectors with random directions, periods 1.5..6 x decorrelation
        ang = rng.uniform(0, 2 * math.pi, _SHADOW_TERMS)
        kmag = 2 * math.pi / (SHADOW_DECORRELATION_M * rng.uniform(1.5, 6.0, _SHADOW_TERMS))
        self._sh_k = np.stack([np.cos(ang) * kmag, np.sin(ang) * kmag], axis=1)
        self._sh_phi = rng.uniform(0, 2 * math.pi, _SHADOW_TERMS)
        # fading field: paths with random arrival (rx) and departure (tx) directions
        k = 2 * math.pi / self.wavelength_m
        a_rx = rng.uniform(0, 2 * math.pi, _FADING_PATHS)
        a_tx = rng.uniform(0, 2 * math.pi, _FADING_PATHS)
        self._fd_rx = np.stack([np.cos(a_rx), np.sin(a_rx)], axis=1) * k
        self._fd_tx = np.stack([np.cos(a_tx), np.sin(a_tx)], axis=1) * k
        self._fd_phi = rng.uniform(0, 2 * math.pi, _FADING_PATHS)
        self.static = tx.is_static and rx.is_static

    def _xy(self, route: Route, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lat, lon = route.positions(t)
        e, n = local_xy_m(lat, lon, *self.origin)
        return np.stack([e, n], axis=-1)

    def receiver_at(self, t_s: npt.ArrayLike) -> RxPositions:
        """The receiver's positions at `t_s`, to share between links (same route and origin)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        lat, lon = self.rx.positions(t)
        e, n = local_xy_m(lat, lon, *self.origin)
        return RxPositions(lat, lon, np.stack([e, n], axis=-1))

    def gains(self, t_s: npt.ArrayLike, rx: RxPositions | None = None, *, gated: bool = True,
              los_phase: bool = True) -> Gains:
        """Gains at the times `t_s` (0 outside the on-air interval unless `gated` is
        False; without the line-of-sight carrier phase if `los_phase` is False, for a
        caller that applies it per sample from `distance_m`)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        if rx is None:
            rx = self.receiver_at(t)
        tlat, tlon = self.tx.positions(t)
        d = distance_m(tlat, tlon, rx.lat, rx.lon)
        p_dbm = self.eirp_dbm - path_loss_db(d, self.freq_hz, self.prop)
        rx_xy = rx.xy
        if self.prop.has_path_extras:
            p_dbm = p_dbm + self.path_extras_db(self._xy(self.tx, t), rx_xy)
        if self.prop.shadowing_db > 0:
            s = np.cos(rx_xy @ self._sh_k.T + self._sh_phi).sum(axis=-1)
            p_dbm = p_dbm + self.prop.shadowing_db * math.sqrt(2.0 / _SHADOW_TERMS) * s
        amp = np.sqrt(10.0 ** (p_dbm / 10.0)).astype(np.complex128)
        if los_phase:
            amp *= np.exp(-2j * math.pi * (d / self.wavelength_m))
        if self.prop.fading != "none":
            tx_xy = self._xy(self.tx, t)
            ph = rx_xy @ self._fd_rx.T + tx_xy @ self._fd_tx.T + self._fd_phi
            h = np.exp(1j * ph).sum(axis=-1) / math.sqrt(_FADING_PATHS)
            if self.prop.fading == "rician":
                kf = 10.0 ** (self.prop.rician_k_db / 10.0)
                h = math.sqrt(kf / (kf + 1)) + math.sqrt(1 / (kf + 1)) * h
            amp *= h
        if gated:
            amp = np.where((t >= self.on_air[0]) & (t < self.on_air[1]), amp, 0)
        return Gains(amplitude=amp, delay_s=d / SPEED_OF_LIGHT_M_S, power_dbm=p_dbm, distance_m=d)

    def path_extras_db(self, tx_xy: npt.NDArray[np.float64],
                       rx_xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Gain (dB, <= 0) of the antenna pattern and the obstructions on the
        paths tx_xy -> rx_xy (east, north metres from the link's origin)."""
        tx_xy = np.broadcast_to(tx_xy, rx_xy.shape)
        out = np.zeros(rx_xy.shape[:-1])
        dv = rx_xy - tx_xy
        for a in self.prop.antennas:
            if a.key == self.key:
                out += a.gain_db(np.degrees(np.arctan2(dv[..., 0], dv[..., 1])))
        for o in self.prop.obstructions:
            if o.keys and self.key not in o.keys:
                continue
            ce, cn = local_xy_m(np.array(o.lat), np.array(o.lon), *self.origin)
            c = np.array([float(ce), float(cn)])
            seg2 = np.maximum((dv * dv).sum(axis=-1), 1e-9)
            u = np.clip(((c - tx_xy) * dv).sum(axis=-1) / seg2, 0.0, 1.0)
            near = tx_xy + u[..., None] * dv
            out -= np.where(((near - c) ** 2).sum(axis=-1) <= o.radius_m ** 2, o.loss_db, 0.0)
        return out

    def mean_power_dbm(self, t0_s: float, t1_s: float, n: int = 256) -> float | None:
        """Mean received power (linear mean, fading included) while on the air
        within [t0, t1]; None if never on the air there."""
        a, b = max(t0_s, self.active[0]), min(t1_s, self.active[1])
        if b <= a:
            return None
        g = self.gains(np.linspace(a, b, n, endpoint=False) if b > a else np.array([a]))
        p = np.abs(g.amplitude) ** 2  # mW (sqrt of 10^(dBm/10))^2
        m = float(np.mean(p))
        return 10.0 * math.log10(m) if m > 0 else None


# ---------------------------------------------------------------- front end

DC_DRIFT_DB = 0.5  # peak wander of the DC offset's magnitude
DC_DRIFT_RAD = 0.3  # peak wander of its phase
DC_DRIFT_PERIOD_S = (2.0, 8.0)  # range of the seeded periods of both wanders


@dataclass(frozen=True)
class DongleImpairments:
    """The dongle's DC offset, IQ imbalance and band-edge roll-off (see the
    module docstring); `from_receiver` gives None when all are off."""

    dc_offset_dbfs: float | None
    iq_imbalance_db: float
    iq_phase_deg: float
    band_edge_rolloff_db: float
    band_edge_rolloff_fraction: float
    seed: int

    @classmethod
    def from_receiver(cls, rx: ReceiverConfig, seed: int) -> DongleImpairments | None:
        d = cls(rx.dc_offset_dbfs, rx.iq_imbalance_db, rx.iq_phase_deg, rx.band_edge_rolloff_db,
                rx.band_edge_rolloff_fraction, seed)
        return d if d.dc or d.iq or d.rolloff else None

    @property
    def dc(self) -> bool:
        return self.dc_offset_dbfs is not None

    @property
    def iq(self) -> bool:
        return self.iq_imbalance_db != 0.0 or self.iq_phase_deg != 0.0

    @property
    def rolloff(self) -> bool:
        return self.band_edge_rolloff_db > 0.0

    def iq_mu_nu(self) -> tuple[complex, complex]:
        """``y = mu x + nu conj(x)``."""
        g = 10.0 ** (self.iq_imbalance_db / 20.0)
        phi = math.radians(self.iq_phase_deg)
        gi, gq = g ** -0.5, g ** 0.5
        return (gi + gq * complex(math.cos(phi), -math.sin(phi))) / 2, \
            (gi - gq * complex(math.cos(phi), math.sin(phi))) / 2

    def image_rejection_db(self) -> float:
        """``10 log10(|mu|^2 / |nu|^2)``: how far each carrier's image lies below it."""
        mu, nu = self.iq_mu_nu()
        return math.inf if nu == 0 else 10.0 * math.log10(abs(mu) ** 2 / abs(nu) ** 2)

    def rolloff_db(self, freqs_hz: npt.ArrayLike, fs_hz: float) -> npt.NDArray[np.float64]:
        """Attenuation (dB, >= 0) of the band-edge roll-off at `freqs_hz`."""
        w = self.band_edge_rolloff_fraction * fs_hz
        x = np.clip((np.abs(np.asarray(freqs_hz, dtype=np.float64)) - (fs_hz / 2 - w)) / w, 0.0, 1.0)
        return np.asarray(self.band_edge_rolloff_db * (1.0 - np.cos(np.pi * x)) / 2.0)

    def rolloff_gain(self, freqs_hz: npt.ArrayLike, fs_hz: float) -> npt.NDArray[np.float32]:
        """Amplitude mask of the roll-off at `freqs_hz`."""
        return np.asarray(10.0 ** (-self.rolloff_db(freqs_hz, fs_hz) / 20.0), dtype=np.float32)

    def dc_at(self, t_s: npt.ArrayLike) -> npt.NDArray[np.complex128]:
        """The DC offset (full-scale units) at scene times `t_s`."""
        t = np.asarray(t_s, dtype=np.float64)
        if self.dc_offset_dbfs is None:
            return np.zeros(t.shape, dtype=np.complex128)
        rng = np.random.default_rng([self.seed, 0x44435F4F])
        theta0, ph1, ph2 = rng.uniform(0, 2 * math.pi, 3)
        t1, t2 = rng.uniform(*DC_DRIFT_PERIOD_S, 2)
        mag_db = self.dc_offset_dbfs + DC_DRIFT_DB * np.sin(2 * math.pi * t / t1 + ph1)
        theta = theta0 + DC_DRIFT_RAD * np.sin(2 * math.pi * t / t2 + ph2)
        return np.asarray(10.0 ** (mag_db / 20.0) * np.exp(1j * theta))


# ---------------------------------------------------------------- 8-bit sampling

FULL_SCALE = {"cu8": 127.5, "ci8": 128.0}


def quantise(y: npt.NDArray[np.complex64], fmt: str) -> tuple[bytes, int]:
    """Samples in the recording's format (interleaved I/Q) and how many I or Q
    values clipped. cu8 as rtl_sdr writes it: ``u = round(127.5 + 127.5 x)``
    in 0..255; ci8: ``round(128 x)`` in -128..127; cf32: little-endian
    complex64 unchanged. The inverse is the recording reader's scaling
    (`sources.recording.to_complex64`, via `dequantise`)."""
    if fmt == "cf32":
        return np.asarray(y, dtype="<c8").tobytes(), 0
    v = np.asarray(y, dtype=np.complex64).view(np.float32)
    if fmt == "cu8":
        q = np.rint(v * np.float32(127.5) + np.float32(127.5))
        lo, hi, dt = 0.0, 255.0, "u1"
    elif fmt == "ci8":
        q = np.rint(v * np.float32(128.0))
        lo, hi, dt = -128.0, 127.0, "i1"
    else:
        raise ValueError(f"unknown sample format {fmt!r}")
    clipped = int(np.count_nonzero((q < lo) | (q > hi)))
    np.clip(q, lo, hi, out=q)
    return q.astype(dt).tobytes(), clipped


def dequantise(raw: bytes, fmt: str) -> npt.NDArray[np.complex64]:
    """Samples of `quantise`'s output as the recording reader scales them."""
    from fbsdetect.dsp.samples import normalise_format, to_complex64

    dt = normalise_format(fmt)
    kind = {"cu8": np.uint8, "ci8": np.int8, "cf32_le": np.float32}[dt]
    return to_complex64(np.frombuffer(raw, dtype=kind), dt)


def quantisation_noise_fullscale(fmt: str) -> float:
    """Power (|x|^2) of the rounding noise of one complex sample: 2 * step^2 / 12."""
    if fmt not in FULL_SCALE:
        return 0.0
    step = 1.0 / FULL_SCALE[fmt]
    return 2.0 * step * step / 12.0
