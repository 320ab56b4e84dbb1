"""The one small interface every live IQ source implements (style.md 7:
sources only yield data).

A live source is something that can be tuned: the RTL-SDR dongle
(`sources/rtlsdr.py`) and the scene simulator's virtual dongle
(`sources/sim.py`). Recordings are read through `sources/recording.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

RETUNE_SETTLE_S = 0.060
"""Samples a dongle delivers after a retune or rate change that are stale (they sit
in the driver's buffers) and are discarded; the simulated dongle skips as much
scene time (design.md)."""


@runtime_checkable
class IqSource(Protocol):
    """A tunable source of complex baseband samples (complex64, about [-1, 1])."""

    @property
    def sample_rate_hz(self) -> float: ...

    @property
    def center_freq_hz(self) -> float: ...

    @property
    def gain_db(self) -> float | None: ...

    @property
    def time_s(self) -> float:
        """Source time of the next sample to be read, in seconds since the source started."""
        ...

    def tune(self, center_freq_hz: float) -> None:
        """Retunes; samples read afterwards are from the new frequency (stale ones discarded)."""
        ...

    def set_sample_rate(self, sample_rate_hz: float) -> None: ...

    def set_gain(self, gain_db: float | None) -> None:
        """Sets a manual gain in dB, or automatic gain with None."""
        ...

    def read(self, n_samples: int) -> np.ndarray:
        """The next `n_samples` samples as complex64."""
        ...

    def position(self) -> tuple[float, float] | None:
        """(lat, lon) of the receiver when the source knows it (the simulator does)."""
        ...

    def close(self) -> None: ...


class SampleQueue:
    """Samples that come in blocks (USB transfers, rendered segments) and are read
    in any sizes: what a block brings beyond a read waits for the next one, so
    the stream a caller reads has no gaps."""

    def __init__(self) -> None:
        self._q = np.zeros(0, np.complex64)

    @property
    def size(self) -> int:
        return int(self._q.size)

    def clear(self) -> None:
        self._q = np.zeros(0, np.complex64)

    def take(self, n_samples: int, produce: Callable[[int], np.ndarray]) -> np.ndarray:
        """The next `n_samples`: the queued ones, then blocks from `produce(missing)`."""
        if n_samples < 0:
            raise ValueError("n_samples must be >= 0")
        parts = [self._q]
        have = self._q.size
        while have < n_samples:
            block = produce(n_samples - have)
            parts.append(block)
            have += block.size
        both = np.concatenate(parts) if len(parts) > 1 else self._q
        out, self._q = both[:n_samples].copy(), both[n_samples:]
        return out
