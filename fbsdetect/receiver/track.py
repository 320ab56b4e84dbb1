"""One carrier being tracked: its mixing frequency, symbol clock and the
timing anchors (decoded SCHs) that predict where each TS0 burst lies."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.constants import BURST_SYMBOLS, FRAME_SYMBOLS
from fbsdetect.receiver.results import CarrierResult


@dataclass
class CarrierTrack:
    result: CarrierResult
    mix_hz: float  # mixing frequency: carrier offset from the capture centre
    sps_in: float  # input samples per symbol of this carrier
    fcch_starts: list[float]  # refined FCCH burst starts (input samples)
    anchors: dict[int, float] = field(default_factory=dict)  # unwrapped fn -> SCH burst start
    fn_ref: int = 0
    s_ref: float = 0.0
    done: bool = False
    tc_count: Counter[int] = field(default_factory=Counter)
    powers: list[float] = field(default_factory=list)
    snrs: list[float] = field(default_factory=list)
    fcch_snrs: list[float] = field(default_factory=list)
    noise_density: list[float] = field(default_factory=list)  # per Hz, window units, from the FCCHs
    decoded_blocks: set[int] = field(default_factory=set)

    @property
    def frame_len(self) -> float:
        return FRAME_SYMBOLS * self.sps_in

    _interp: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    def add_anchor(self, fn: int, start: float) -> None:
        if not self.anchors:
            self.fn_ref, self.s_ref = fn, start
        self.anchors[fn] = start
        self._interp = None

    def position(self, fns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Predicted TS0 burst start (input samples) of unwrapped frames `fns`."""
        base = self.s_ref + (fns - self.fn_ref) * self.frame_len
        if len(self.anchors) > 1:
            if self._interp is None:
                keys = np.array(sorted(self.anchors), dtype=np.int64)
                res = np.array([self.anchors[k] for k in keys.tolist()]) - (
                    self.s_ref + (keys - self.fn_ref) * self.frame_len)
                self._interp = (keys.astype(np.float64), res)
            keys_f, res = self._interp
            base = base + np.interp(np.asarray(fns, dtype=np.float64), keys_f, res)
        return np.asarray(base, dtype=np.float64)

    def fn_span(self, n_samples: int) -> tuple[int, int]:
        """First and last unwrapped frame whose TS0 burst lies inside the data."""
        first = self.fn_ref + math.ceil((0 - self.s_ref) / self.frame_len)
        last = self.fn_ref + math.floor((n_samples - (BURST_SYMBOLS + 1) * self.sps_in - self.s_ref)
                                        / self.frame_len)
        return first, last
