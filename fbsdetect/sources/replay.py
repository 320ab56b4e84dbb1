"""A recording replayed as if it were a live dongle (`file:PATH`).

`ReplaySource` implements `IqSource` over a SigMF or raw recording
(`sources/recording.py`) so that `scan` runs on captures exactly as on a
dongle:

- **Replay clock.** `time_s` is the recording time of the next sample
  (sample index / rate). Reads advance it; a retune, or a change of rate or
  gain, costs `RETUNE_SETTLE_S` of recording time, as the stale samples a
  dongle discards do. `exhausted` is True once the clock reaches the end;
  reads past the end return zeros (the recording holds nothing more).
- **Tuning within the band.** The recording covers
  `[fc - fs/2, fc + fs/2]` around its centre `fc`. `tune(f)` moves the
  requested centre to 0 Hz by mixing the samples with
  `exp(-2j*pi*(f - fc)*n/fs)` (n counts from the recording's start, so the
  phase is continuous across reads and retunes) and then zeroes what the
  recording does not hold: the part of the new baseband band that lies beyond
  the recording's edges, which a plain mix would wrap around from the other
  side, is removed by a linear-phase complex band-pass FIR (overlap-add, its
  state carried across reads, `FIR_TAPS` taps; its group delay of
  (FIR_TAPS - 1) / 2 samples, 30 us at 2.17 MS/s, is not compensated and
  its start-up falls inside the settling samples of the retune). A tuning
  with no overlap at all gives zeros: a dongle tuned there would see nothing
  of this file. `covers(f)` tells how much of a tuning the file holds, so a
  sweep can skip what it cannot see. Tuning exactly to `fc` passes the samples
  through untouched.
- **Sample rate.** Fixed at the recording's (resampling would invent a
  dongle's anti-alias filter): `set_sample_rate` to another rate logs a
  warning once and keeps the recording's rate; callers read back
  `sample_rate_hz`, as they must with a dongle that snaps rates.
- **Gain** is remembered and has no effect; `gain_db` reads the recording's
  stated gain until it is set.

Raw files (`.cu8`, `.cs8`, `.cfile`, ...) carry no rate or frequency; their
name must state them the way the corpus names captures (style.md 8):
`anything_947.4M_2400k.cu8` (centre in MHz, rate in kS/s), otherwise use SigMF.
"""

from __future__ import annotations

import logging
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fbsdetect.errors import BadInput, BadUsage
from fbsdetect.i18n import _
from fbsdetect.sources.base import RETUNE_SETTLE_S, TunedSource
from fbsdetect.sources.recording import RAW_EXTENSIONS, Recording, RecordingInfo, inspect

log = logging.getLogger(__name__)

FIR_TAPS = 129
USEFUL_FRACTION = 0.25
"""`tune()` logs a note when the file holds less than this share of the tuned band."""
_RAW_NAME = re.compile(r"_(?P<freq>\d+(?:\.\d+)?)M_(?P<rate>\d+(?:\.\d+)?)k(?:_|\.|$)", re.IGNORECASE)


def raw_parameters_from_name(path: str | os.PathLike[str]) -> tuple[float, float] | None:
    """(center_freq_hz, sample_rate_hz) from a name like `x_947.4M_2400k.cu8`."""
    m = _RAW_NAME.search(Path(path).name)
    if not m:
        return None
    return float(m["freq"]) * 1e6, float(m["rate"]) * 1e3


def _bandpass(lo_hz: float, hi_hz: float, fs: float, taps: int = FIR_TAPS) -> np.ndarray:
    """A complex band-pass FIR passing [lo_hz, hi_hz] (baseband, |f| <= fs/2), Blackman window."""
    width = hi_hz - lo_hz
    centre = (hi_hz + lo_hz) / 2
    n = np.arange(taps) - (taps - 1) / 2
    proto = (width / fs) * np.sinc(width / fs * n) * np.blackman(taps)
    h = proto * np.exp(2j * np.pi * centre / fs * n)
    return h.astype(np.complex64)


class ReplaySource(TunedSource):
    """A recording as a tunable live source (module docstring)."""

    serial: str | None = None

    def __init__(self, recording: Recording, *, center_freq_hz: float | None = None,
                 sample_rate_hz: float | None = None, gain_db: float | None = None,
                 **_ignored: Any) -> None:
        self._rec = recording
        info = recording.info
        self.info: RecordingInfo = info
        self._rate = info.sample_rate_hz
        self._pos = 0  # index of the next sample of the recording
        self._gain: float | None = gain_db if gain_db is not None else info.gain_db
        self._warned_rate = False
        self._closed = False
        self._freq = info.center_freq_hz
        self._h: np.ndarray | None = None  # None: no filter (tuned to the recording's centre)
        self._tail = np.zeros(0, np.complex64)  # overlap-add carry of the filter
        self._zero = False  # tuned entirely outside the recording's band
        if sample_rate_hz is not None:
            self.set_sample_rate(sample_rate_hz)
        if center_freq_hz is not None and center_freq_hz != info.center_freq_hz:
            self._retune(center_freq_hz)

    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: Any) -> ReplaySource:
        p = Path(path)
        if p.suffix.lower() in RAW_EXTENSIONS:
            if not p.exists():
                raise BadInput(_("no such file"), source=str(p))
            params = raw_parameters_from_name(p)
            if params is None:
                raise BadInput(_("a raw recording replayed as file:PATH must name its centre and rate like "
                                "NAME_947.4M_2400k.cu8 (or be SigMF)"), source=str(p))
            info = inspect(p, center_freq_hz=params[0], sample_rate_hz=params[1])
        else:
            info = inspect(p)
        return cls(Recording(info), **kwargs)

    # -- IqSource (sample_rate_hz, center_freq_hz, gain_db: TunedSource) ---------
    @property
    def time_s(self) -> float:
        return self._pos / self._rate

    @property
    def duration_s(self) -> float:
        return self.info.duration_s

    @property
    def start_time(self) -> datetime | None:
        """UTC instant of the recording's first sample (SigMF core:datetime), when it says;
        source time `t` is then `start_time + t` (what a replayed GPS log is matched by)."""
        t = self.info.start_time
        if t is None:
            return None
        return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)

    @property
    def exhausted(self) -> bool:
        return self._pos >= self.info.n_samples

    @property
    def band_hz(self) -> tuple[float, float]:
        """The RF band the recording holds (of its first capture)."""
        return (self.info.center_freq_hz - self._rate / 2, self.info.center_freq_hz + self._rate / 2)

    def covers(self, center_freq_hz: float) -> float:
        """Share (0..1) of a tuning to `center_freq_hz` that the recording holds."""
        lo, hi = self.band_hz
        overlap = min(hi, center_freq_hz + self._rate / 2) - max(lo, center_freq_hz - self._rate / 2)
        return max(0.0, overlap) / self._rate

    def tune(self, center_freq_hz: float) -> None:
        self._retune(center_freq_hz)
        self._settle()

    def set_sample_rate(self, sample_rate_hz: float) -> None:
        if not math.isclose(sample_rate_hz, self._rate, rel_tol=0, abs_tol=1.0):
            if not self._warned_rate:
                log.warning("%s plays at its recorded rate %.0f Hz, not %.0f Hz",
                            self.info.data_path, self._rate, sample_rate_hz)
                self._warned_rate = True
            return
        self._settle()

    def set_gain(self, gain_db: float | None) -> None:
        self._gain = None if gain_db is None else float(gain_db)
        self._settle()

    def read(self, n_samples: int) -> np.ndarray:
        if self._closed:
            raise BadUsage(_("the file source is closed"))
        if n_samples < 0:
            raise ValueError("n_samples must be >= 0")
        start = self._pos
        x = self._rec.read(start, n_samples)
        if x.size < n_samples:
            x = np.concatenate([x, np.zeros(n_samples - x.size, np.complex64)])
        self._pos += n_samples
        if self._zero:
            return np.zeros(n_samples, np.complex64)
        if self._h is None:
            return x
        return self._shift_and_filter(x, start)

    def position(self) -> tuple[float, float] | None:
        if self.info.lat is not None and self.info.lon is not None:
            return (self.info.lat, self.info.lon)
        return None

    def close(self) -> None:
        self._closed = True

    # -- internals ---------------------------------------------------------------
    def _retune(self, center_freq_hz: float) -> None:
        if not center_freq_hz > 0:
            raise BadUsage(_("cannot tune to {center_freq_hz} Hz").format(center_freq_hz=center_freq_hz))
        self._freq = float(center_freq_hz)
        self._tail = np.zeros(0, np.complex64)
        offset = self._freq - self.info.center_freq_hz
        share = self.covers(self._freq)
        self._zero = share <= 0.0
        if share < USEFUL_FRACTION:
            log.info("%s holds %.0f%% of the band at %.3f MHz", self.info.data_path, 100 * share,
                     self._freq / 1e6)
        if offset == 0 or self._zero:
            self._h = None
            return
        fs = self._rate
        # in the new baseband the recording spans [-fs/2 - offset, fs/2 - offset]
        lo, hi = max(-fs / 2, -fs / 2 - offset), min(fs / 2, fs / 2 - offset)
        self._h = _bandpass(lo, hi, fs)

    def _settle(self) -> None:
        n = int(RETUNE_SETTLE_S * self._rate)
        if self._h is not None:  # the filter's state runs through the settling samples too
            self._shift_and_filter(self._rec.read(self._pos, n), self._pos, n)
        self._pos += n

    def _shift_and_filter(self, x: np.ndarray, start: int, n: int | None = None) -> np.ndarray:
        """Mixes `x` (samples from `start`) down by the tuning offset and filters it
        (overlap-add: the filter's tail is carried into the next read)."""
        from scipy.signal import fftconvolve

        assert self._h is not None
        n = x.size if n is None else n
        if x.size < n:
            x = np.concatenate([x, np.zeros(n - x.size, np.complex64)])
        offset = self._freq - self.info.center_freq_hz
        idx = np.arange(start, start + n, dtype=np.float64)
        phase = (offset / self._rate * idx) % 1.0
        mixed = x * np.exp(-2j * np.pi * phase).astype(np.complex64)
        y = fftconvolve(mixed, self._h).astype(np.complex64) if n else np.zeros(0, np.complex64)
        if y.size < self._tail.size:
            y = np.concatenate([y, np.zeros(self._tail.size - y.size, np.complex64)])
        y[: self._tail.size] += self._tail
        out, self._tail = y[:n], y[n:].copy()
        return out
