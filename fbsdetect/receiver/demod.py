"""The burst demodulator the receiver uses (`Demodulator`: MLSE by default),
and the merge of a second, refined pass into the first."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.channelizer import OUT_SPS


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


def merge_bursts(b: Bursts, b2: Bursts, rows: npt.NDArray[np.intp]) -> Bursts:
    """`b` with its `rows` replaced by those of `b2` (a second pass on them)."""
    out = {}
    for name in ("soft", "start", "snr_db", "power", "freq_hz"):
        v = getattr(b, name).copy()
        v[rows] = getattr(b2, name)
        out[name] = v
    return Bursts(**out)


_D = TypeVar("_D")


def merge_fields(d: _D, d2: _D, rows: npt.NDArray[np.intp]) -> _D:
    """A decoder result (a frozen dataclass of arrays over the same rows) with
    its `rows` replaced by those of `d2`."""
    out = {}
    for f in fields(d):  # type: ignore[arg-type]
        v = np.array(getattr(d, f.name), copy=True)
        v[rows] = getattr(d2, f.name)
        out[f.name] = v
    return replace(d, **out)  # type: ignore[type-var]
