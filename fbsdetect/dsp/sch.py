"""Correlation with the GMSK waveforms of known bits: the SCH's extended
training sequence (TS 45.002 5.2.5: where an SCH starts in a window) and the
GMSK reference itself (TS 45.004 2), hand-written numpy with `math.erf` so that
the receiver needs no scipy at start-up."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.channelizer import OUT_SPS
from fbsdetect.dsp.constants import BURST_SYMBOLS
from fbsdetect.gsm.bursts import SCH_TRAINING, SCH_TRAINING_START


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


def sch_reference() -> npt.NDArray[np.complex64]:
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
        _SCH_REF = sch_reference()
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
