"""Where a scan's output goes: the `ScanSink` protocol (the store implements it
in `fbsdetect.store.sink.StoreSink`) and `MemorySink`, which keeps everything
in lists (tests, benchmarks).

Call order: `run_started` once; then any number of `tuning` (one per power
pass, decode dwell, revisit or LTE spectrum), `fix` (GPS fixes, at most about
one a second), `update_params` (optional: adds an IQ snippet's reference to a
stored observation's params) and `observation` (one per cell per dwell or revisit, with the
L2 frames decoded in it); `flush` at least once a second; `run_ended` once
with the summary (contracts.md section 7), also after Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from fbsdetect.types import CellObservation, GpsFix, L2Frame


@dataclass(frozen=True)
class RunInfo:
    source: str  # the --source spec
    profile: str
    sensor: str | None
    start_time: datetime  # UTC, tz-aware: the instant of radio time 0
    software_version: str
    learn: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # plan, radio settings, serial, ppm


@dataclass(frozen=True)
class TuningRecord:
    radio_s: float  # radio time (s since the scan started) of the tuning's first sample
    time: datetime  # the same instant, UTC
    center_freq_hz: float
    sample_rate_hz: float
    gain_db: float | None
    dwell_s: float
    kind: str  # "power" | "decode" | "revisit" | "lte"
    arfcns: list[int]
    outcome: dict[str, int]  # no_energy, no_fcch, no_sch, crc_fail, decoded (+ overflow, stale_reads)
    spectrum_start_hz: float = 0.0  # absolute frequency of bin 0
    spectrum_step_hz: float = 0.0
    spectrum_db: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))  # dBFS/bin
    noise_floor_db: float | None = None
    clipped: bool = False
    band: str | None = None  # GSM band or LTE band name
    notes: tuple[str, ...] = ()  # why nothing was found, in words


@runtime_checkable
class ScanSink(Protocol):
    def run_started(self, info: RunInfo) -> None: ...

    def tuning(self, rec: TuningRecord) -> int: ...

    def fix(self, fix: GpsFix) -> None: ...

    def observation(self, obs: CellObservation, *, radio_s: float, tuning_id: int | None,
                    kind: str, frames: Sequence[L2Frame]) -> int: ...

    def flush(self) -> None: ...

    def run_ended(self, summary: dict[str, Any]) -> None: ...


@dataclass
class StoredObservation:
    id: int
    obs: CellObservation
    radio_s: float
    tuning_id: int | None
    kind: str
    frames: list[L2Frame]


class MemorySink:
    """Keeps everything in lists (ids are list positions + 1)."""

    def __init__(self) -> None:
        self.info: RunInfo | None = None
        self.tunings: list[TuningRecord] = []
        self.fixes: list[GpsFix] = []
        self.observations: list[StoredObservation] = []
        self.flushes = 0
        self.summary: dict[str, Any] | None = None

    def run_started(self, info: RunInfo) -> None:
        self.info = info

    def tuning(self, rec: TuningRecord) -> int:
        self.tunings.append(rec)
        return len(self.tunings)

    def fix(self, fix: GpsFix) -> None:
        self.fixes.append(fix)

    def observation(self, obs: CellObservation, *, radio_s: float, tuning_id: int | None,
                    kind: str, frames: Sequence[L2Frame]) -> int:
        self.observations.append(StoredObservation(len(self.observations) + 1, obs, radio_s, tuning_id, kind,
                                                   list(frames)))
        return len(self.observations)

    def update_params(self, obs_id: int, extra: dict[str, Any]) -> bool:
        """Adds `extra` to a kept observation's params (an IQ snippet's reference)."""
        if not 1 <= obs_id <= len(self.observations):
            return False
        so = self.observations[obs_id - 1]
        so.obs = replace(so.obs, params={**so.obs.params, **extra})
        return True

    def flush(self) -> None:
        self.flushes += 1

    def run_ended(self, summary: dict[str, Any]) -> None:
        self.summary = summary
