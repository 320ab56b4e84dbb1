"""One carrier being tracked: its state, mixing frequency, symbol clock and
the timing anchors (decoded SCHs) that predict where each TS0 burst lies.

Everything a track keeps is bounded, however long it runs: the anchors of the
last few multiframes (older ones no longer move a prediction), the last
`HISTORY` burst powers and SNRs (their medians are the carrier's power and
SNR), the blocks decoded in the current chunk."""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.constants import BURST_SYMBOLS, FRAME_SYMBOLS
from fbsdetect.receiver.results import CarrierResult

HISTORY = 8192
"""Burst powers and SNRs a track keeps (about 40 s of BCCH blocks, 9 s of every block)."""
ANCHOR_KEEP_FRAMES = 2 * 51
"""Anchors older than this before the chunk being decoded are dropped (the one
just before is kept: predictions inside the chunk interpolate from it)."""


class CarrierState(StrEnum):
    """A carrier's state: SYNC (FCCH found, its SCHs being decoded), TRACKING
    (confirmed: bursts predicted from the SCH anchors), LOST (the last
    `ReceiverConfig.lost_after_sch` tracking SCHs failed: no blocks, SCHs
    searched with a wider margin to resync), DONE (early stop, or dropped
    after as many failures again while lost)."""

    SYNC = "sync"
    TRACKING = "tracking"
    LOST = "lost"
    DONE = "done"


def _history() -> deque[float]:
    return deque(maxlen=HISTORY)


@dataclass
class CarrierTrack:
    result: CarrierResult
    mix_hz: float  # mixing frequency: carrier offset from the capture centre
    sps_in: float  # input samples per symbol of this carrier
    fcch_starts: list[float]  # refined FCCH burst starts (input samples)
    anchors: dict[int, float] = field(default_factory=dict)  # unwrapped fn -> SCH burst start
    fn_ref: int = 0
    s_ref: float = 0.0
    state: CarrierState = CarrierState.SYNC
    tc_count: Counter[int] = field(default_factory=Counter)
    powers: deque[float] = field(default_factory=_history)
    snrs: deque[float] = field(default_factory=_history)
    fcch_snrs: list[float] = field(default_factory=list)  # from the FCCHs of its acquisition
    noise_density: list[float] = field(default_factory=list)  # per Hz, window units, from the FCCHs
    decoded_blocks: set[int] = field(default_factory=set)  # of the current chunk
    n_anchors: int = 0  # SCHs anchored so far (the anchors kept are the recent ones)
    first_fn: int = 0  # the first frame whose burst was still in the look-back when the track began
    cursor: int = 0  # first frame of the next chunk
    sch_failures: int = 0  # consecutive multiframes whose tracking SCHs all failed
    published: int | None = None  # `cursor` when power and SNR were last published on the result
    ready_at: float | None = None  # samples the next chunk needs received (None: not computed yet)

    @property
    def done(self) -> bool:
        return self.state is CarrierState.DONE

    @done.setter
    def done(self, value: bool) -> None:
        if value:
            self.state = CarrierState.DONE

    @property
    def frame_len(self) -> float:
        return FRAME_SYMBOLS * self.sps_in

    _interp: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    def add_anchor(self, fn: int, start: float) -> None:
        if not self.anchors:
            self.fn_ref, self.s_ref = fn, start
        if fn not in self.anchors:
            self.n_anchors += 1
        self.anchors[fn] = start
        self._interp = None

    def forget_before(self, fn: int) -> None:
        """Drops what only frames before `fn` (minus ANCHOR_KEEP_FRAMES) needed."""
        old = sorted(k for k in self.anchors if k < fn - ANCHOR_KEEP_FRAMES)
        if len(old) > 1 and len(self.anchors) - len(old) + 1 >= 2:
            for k in old[:-1]:
                del self.anchors[k]
            self._interp = None
        if self.decoded_blocks:
            self.decoded_blocks = {k for k in self.decoded_blocks if k >= fn}

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

    def frame_at(self, sample: float) -> int:
        """The first unwrapped frame whose TS0 burst starts at or after `sample`."""
        return self.fn_ref + math.ceil((sample - self.s_ref) / self.frame_len)

    def last_frame(self, end: int) -> int:
        """The last unwrapped frame whose TS0 burst lies before sample `end`."""
        return self.fn_ref + math.floor((end - (BURST_SYMBOLS + 1) * self.sps_in - self.s_ref)
                                        / self.frame_len)

    def fn_span(self, end: int) -> tuple[int, int]:
        """(`first_fn`, `last_frame(end)`): the frames available with `end` samples received."""
        return self.first_fn, self.last_frame(end)
