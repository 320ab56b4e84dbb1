"""Synthetic bursts for the demodulator tests: our exact GMSK (evaluated at
arbitrary instants) through a multipath channel with a timing offset, a
carrier offset and white Gaussian noise at a given Eb/N0."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ, gmsk_at

PRE = 24  # symbols of random neighbouring data before the burst in a window
POST = 24


def make_windows(
    bursts: npt.NDArray[np.uint8],
    sps: int,
    ebn0_db: float,
    rng: np.random.Generator,
    offset_sym: float | npt.ArrayLike = 0.0,
    freq_hz: float = 0.0,
    channel: Sequence[tuple[float, complex]] = ((0.0, 1.0),),
) -> npt.NDArray[np.complex64]:
    """(N, L) windows, burst bit 0 nominally at sample PRE*sps, actually
    ``offset_sym`` symbols later; unit signal power per path gain 1; noise of
    spectral density N0 over the sample bandwidth with Eb = 1 symbol of power 1."""
    n = bursts.shape[0]
    length = (PRE + bursts.shape[1] + POST) * sps
    offs = np.broadcast_to(np.asarray(offset_sym, dtype=np.float64), (n,))
    out = np.empty((n, length), dtype=np.complex64)
    t_base = np.arange(length) / sps - PRE
    n0 = 10.0 ** (-ebn0_db / 10.0)
    for i in range(n):
        before = rng.integers(0, 2, PRE + 8, dtype=np.uint8)
        after = rng.integers(0, 2, POST + 8, dtype=np.uint8)
        bits = np.concatenate([before, bursts[i], after])
        t = t_base - offs[i] + PRE + 8  # bit 0 of the burst is bit PRE + 8 of `bits`
        s = np.zeros(length, dtype=np.complex128)
        for delay, gain in channel:
            s += gain * gmsk_at(bits, t - delay)
        s *= np.exp(2j * np.pi * (freq_hz * np.arange(length) / (SYMBOL_RATE_HZ * sps) + rng.uniform()))
        s += np.sqrt(n0 * sps / 2.0) * (rng.standard_normal(length) + 1j * rng.standard_normal(length))
        out[i] = s
    return out
