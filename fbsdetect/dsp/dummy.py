"""Whether a burst is a dummy burst (TS 45.002 5.2.6), from its waveform."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.channelizer import OUT_SPS
from fbsdetect.dsp.constants import BURST_SYMBOLS
from fbsdetect.dsp.sch import gmsk_reference

DUMMY_MIN_CORRELATION = 0.7
"""A burst whose window correlates with the dummy burst's waveform at least
this well (normalised, 0..1) is a dummy burst: ~0.95 at 10 dB SNR, normal
bursts of random data ~0.1-0.3. A block fails parity as `blocks_idle`, not
`blocks_bad`, when all four of its bursts are dummies."""
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
