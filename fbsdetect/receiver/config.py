"""The receiver's settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReceiverConfig:
    search_s: float = 0.15  # wideband FCCH search span (>= 51 ms holds an FCCH of every carrier)
    si_repeats: int = 2  # early stop once every SI type was decoded this often
    all_frames: bool = False  # every TS0 block (BCCH, CCCH, SDCCH/4 ...), no early stop
    research_s: float = 1.0  # a new, shorter FCCH search every this often (0: never)
    research_search_s: float = 0.06  # > 51 ms: one FCCH of every carrier
    chunk_multiframes: int = 4
    sch_t3: tuple[int, ...] = (1,)  # SCHs demodulated for tracking (all with all_frames)
    max_carriers: int = 64
    follow_dedicated: bool = True  # with all_frames: follow Immediate Assignments (fbsdetect.traffic)
    follow_ccch: bool = False  # without all_frames too: decode CCCH, follow, no early stop while in clear
    lookback_s: float | None = None  # samples kept (None: the longest span a chunk or a search reads back)
    lost_after_sch: int = 8  # consecutive failed tracking SCHs: the carrier is lost (resync), twice: dropped
    keep_frames: bool = True  # False: frames are handed out by push()/flush() and not kept per carrier
