"""Adjacent-channel interference: how much of a GMSK carrier's power a
channel filter beside it passes (the spectrum of TS 45.004 2 GMSK with random
data), and the correction of a noise measurement for the carriers around it."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.constants import CHANNEL_SPACING_HZ, SYMBOL_RATE_HZ

ACI_MAX_HZ = 700_000.0
ACI_RASTER_TOLERANCE_HZ = 20_000.0
"""Carriers 200, 400 or 600 kHz (+- this) from one whose noise is measured are
subtracted as adjacent-channel interference: GSM carriers share the 200 kHz
raster (and the receiver's error); FCCH-like events elsewhere (a strong
carrier's spurs, narrow-band noise) are not cells whose skirt is known."""
NOISE_MIN_FRACTION = 0.2
"""The neighbour correction leaves at least this fraction of the measured noise
(fading neighbours, their power measured at another instant)."""


def on_raster_beside(offset_hz: float) -> bool:
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
def gmsk_psd() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
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
    f, psd = gmsk_psd()
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


def neighbour_corrected(n0: float, f_hz: float, around: Sequence[tuple[float, float]], pass_hz: float,
                        stop_hz: float, noise_bandwidth_hz: float) -> float:
    """Noise density `n0` (per Hz) measured by a window filter (`pass_hz`,
    `stop_hz`, `noise_bandwidth_hz`) centred on `f_hz`, less what the carriers
    `around` ((frequency, power) on the raster beside it) put there by the GMSK
    spectrum (`aci_fraction`); at least NOISE_MIN_FRACTION of `n0`."""
    leak = sum(p * aci_fraction(f - f_hz, pass_hz, stop_hz) for f, p in around if on_raster_beside(f - f_hz))
    return max(n0 - leak / noise_bandwidth_hz, NOISE_MIN_FRACTION * n0)
