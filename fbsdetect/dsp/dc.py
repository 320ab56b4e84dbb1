"""The DC spike that a drifting DC offset leaves after the mean is removed."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

DC_BAND_HZ = 2_000.0
"""Width (+-) of the DC spike that a drifting DC offset leaves after mean removal."""


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
