"""The receiver's oscillator error (ppm) from the FCCH of several cells.

Model. An RTL-SDR derives its LO and its sample clock from one crystal with
relative error ``e_d``; a base station derives its carrier and symbol clock
from one reference with relative error ``e_b`` (TS 45.010 5.1: within 0.05
ppm). A carrier nominally at ``f`` then appears in the recording at
``(f - f_c) + f (e_b - e_d)`` (to first order), i.e. with the offset
``delta = f (e_b - e_d)`` that the FCCH measures. With base stations on
frequency, ``e_d = -delta / f`` for every cell: the kalibrate method. The
estimate is the weighted median of ``-delta_i / f_i`` over the cells, so one
off-frequency cell (a fake base station on a cheap oscillator, or a Doppler
shift) cannot pull it; the spread tells how well the cells agree.

The same relation gives each carrier's symbol clock as seen in the recording:
``samples per symbol = fs/R (1 + e_d - e_b) = fs/R (1 - delta/f)``, which the
receiver uses to predict burst positions over long spans (`clock_scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PpmEstimate:
    ppm: float  # receiver oscillator error e_d in parts per million (positive = fast)
    n_cells: int
    spread_ppm: float  # median absolute deviation of the cells' individual values

    def offset_hz(self, freq_hz: float) -> float:
        """Frequency offset this error causes for a carrier at `freq_hz`."""
        return -self.ppm * 1e-6 * freq_hz


def estimate_ppm(freqs_hz: npt.ArrayLike, offsets_hz: npt.ArrayLike,
                 weights: npt.ArrayLike | None = None) -> PpmEstimate | None:
    """Receiver ppm from the measured offsets of carriers at nominal `freqs_hz`.

    Returns None without any carrier.
    """
    f = np.asarray(freqs_hz, dtype=np.float64).ravel()
    d = np.asarray(offsets_hz, dtype=np.float64).ravel()
    if f.size == 0 or f.size != d.size:
        return None
    w = np.ones_like(f) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    vals = -d / f * 1e6
    order = np.argsort(vals)
    cw = np.cumsum(w[order])
    med = float(vals[order][np.searchsorted(cw, 0.5 * cw[-1])])
    mad = median(np.abs(vals - med))
    return PpmEstimate(med, int(f.size), mad)


def median(values: npt.ArrayLike) -> float:
    """Median of finite values (NaN for none), as `np.median`, which would
    import numpy.ma (~15 ms at every start-up of the CLI)."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = v.size
    if n == 0:
        return math.nan
    return float(v[n // 2]) if n % 2 else float(0.5 * (v[n // 2 - 1] + v[n // 2]))


def clock_scale(offset_hz: float, freq_hz: float) -> float:
    """Factor on the nominal samples per symbol of a carrier measured `offset_hz`
    off its nominal frequency `freq_hz` (its transmitter's clock as seen
    through the receiver's)."""
    return 1.0 - offset_hz / freq_hz
