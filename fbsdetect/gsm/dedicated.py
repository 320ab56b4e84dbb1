"""Dedicated control channels on any timeslot: SDCCH/8 + SACCH/8 (channel
combination vii) and SDCCH/4 + SACCH/4 (combination v, a combined TS0), the
downlink mapping of TS 45.002 clause 7 table 3 (sheets 4 and 5).

SDCCH/8 + SACCH/8, downlink, by T3 = fn mod 51 (the SACCH/8 period is 102
frames: (fn div 51) mod 2 even/odd)::

    T3 0..31     SDCCH/8 sub-channel T3 div 4 (0..7)
    32..35       SACCH/8 0 (even 51-multiframe) / 4 (odd)
    36..39       SACCH/8 1 / 5
    40..43       SACCH/8 2 / 6
    44..47       SACCH/8 3 / 7
    48..50       idle

SDCCH/4 + SACCH/4 of a combined TS0 come from `mapping.ts0_channel(fn,
combined=True)` (T3 22..39 SDCCH/4 0..3; 42..49 SACCH/4 0/2 and 1/3).

`DedicatedDecoder` decodes the 4-burst blocks of one sub-channel (and its
SACCH) of one timeslot, the xCCH coding of TS 45.003 4.1 (`coding`).
Hand-written tables (no library describes the multiframe as data).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fbsdetect.gsm import bursts, coding, mapping

SDCCH8 = "SDCCH/8"
SACCH8 = "SACCH/8"
SDCCH4 = mapping.SDCCH4
SACCH4 = mapping.SACCH4
IDLE = "IDLE"
OTHER = "OTHER"


@dataclass(frozen=True)
class DedSlot:
    """What one frame of a dedicated-channel timeslot holds: `kind` (SDCCH/8,
    SACCH/8, SDCCH/4, SACCH/4, IDLE, or OTHER for the BCCH/CCCH frames of a
    combined TS0), the sub-channel and the burst 0..3 within its block."""

    kind: str
    subchannel: int | None
    burst: int

    @property
    def start_offset(self) -> int:
        return self.burst


def sdcch8_channel(fn: int) -> DedSlot:
    """The SDCCH/8 + SACCH/8 downlink channel of frame `fn` (module docstring)."""
    t3 = fn % 51
    if t3 < 32:
        return DedSlot(SDCCH8, t3 // 4, t3 % 4)
    if t3 < 48:
        sub = (t3 - 32) // 4 + 4 * ((fn // 51) % 2)
        return DedSlot(SACCH8, sub, t3 % 4)
    return DedSlot(IDLE, None, 0)


def sdcch4_channel(fn: int) -> DedSlot:
    """The SDCCH/4 + SACCH/4 channel of frame `fn` on a combined TS0."""
    s = mapping.ts0_channel(fn, combined=True)
    if s.kind in (SDCCH4, SACCH4):
        return DedSlot(s.kind, s.subchannel, s.burst)
    return DedSlot(OTHER, None, 0)


def channel_of(fn: int, eight: bool) -> DedSlot:
    return sdcch8_channel(fn) if eight else sdcch4_channel(fn)


def sdcch_block_starts(subchannel: int, eight: bool) -> tuple[int, ...]:
    """T3 of the first burst of the SDCCH block of `subchannel` (one a 51-mf)."""
    return (4 * subchannel,) if eight else ((22, 26, 32, 36)[subchannel],)


def sacch_block_t3(subchannel: int, eight: bool) -> tuple[int, int]:
    """(T3 of the SACCH block's first burst, parity of fn div 51) of `subchannel`."""
    if eight:
        return 32 + 4 * (subchannel % 4), subchannel // 4
    return 42 + 4 * (subchannel % 2), subchannel // 2


def block_fns(subchannel: int, eight: bool, first_fn: int, n_mf: int) -> list[tuple[int, str]]:
    """(fn of first burst, kind) of the SDCCH and SACCH blocks of `subchannel`
    in the `n_mf` 51-multiframes starting with the one holding `first_fn`
    (for the simulator)."""
    out: list[tuple[int, str]] = []
    base = first_fn - first_fn % 51
    sd, sa = (SDCCH8, SACCH8) if eight else (SDCCH4, SACCH4)
    st, par = sacch_block_t3(subchannel, eight)
    for m in range(n_mf):
        mf = base + 51 * m
        for t in sdcch_block_starts(subchannel, eight):
            out.append((mf + t, sd))
        if (mf // 51) % 2 == par:
            out.append((mf + st, sa))
    return out


@dataclass(frozen=True)
class DedBlock:
    """One decoded (or failed) block of a followed sub-channel."""

    fn: int
    ts: int
    channel: str       # SDCCH/8 | SACCH/8 | SDCCH/4 | SACCH/4
    subchannel: int
    ok: bool
    data: bytes | None  # 23 octets when ok
    idle: bool          # parity failed and all four bursts are dummy bursts


@dataclass
class DedicatedDecoder:
    """Collects the bursts of one sub-channel (SDCCH and its SACCH) of timeslot
    `ts` and decodes complete blocks. `push` returns the blocks completed by
    that burst (decoded at once: dedicated channels carry few blocks)."""

    ts: int
    subchannel: int
    eight: bool = True
    stats: Counter[str] = field(default_factory=Counter)
    _pending: dict[int, list[npt.NDArray[np.float32] | None]] = field(default_factory=dict)
    _dummy: dict[int, bool] = field(default_factory=dict)
    _kind: dict[int, str] = field(default_factory=dict)
    _done: set[int] = field(default_factory=set)

    def wants(self, fn: int, ts: int) -> DedSlot | None:
        if ts != self.ts:
            return None
        s = channel_of(fn, self.eight)
        if s.kind in (IDLE, OTHER) or s.subchannel != self.subchannel:
            return None
        return s

    def push(self, fn: int, ts: int, soft148: npt.ArrayLike) -> list[DedBlock]:
        """A whole burst (148 soft bits, positive = 1)."""
        if self.wants(fn, ts) is None:
            return []
        from fbsdetect.gsm.ts0decode import is_dummy

        soft = np.asarray(soft148, dtype=np.float32)
        return self.push_payload(fn, ts, bursts.normal_payload(soft)[0][0], bool(is_dummy(soft)))

    def push_payload(self, fn: int, ts: int, data114: npt.ArrayLike, dummy: bool) -> list[DedBlock]:
        """A burst's 114 soft data bits and whether it is a dummy burst."""
        s = self.wants(fn, ts)
        if s is None:
            return []
        start = fn - s.burst
        if start in self._done:
            self.stats["duplicate"] += 1
            return []
        got = self._pending.setdefault(start, [None] * 4)
        if got[s.burst] is not None:
            self.stats["duplicate"] += 1
            return []
        got[s.burst] = np.asarray(data114, dtype=np.float32)
        self._kind[start] = s.kind
        self._dummy[start] = self._dummy.get(start, True) and dummy
        if any(g is None for g in got):
            return []
        del self._pending[start]
        self._done.add(start)
        if len(self._done) > 4096:
            self._done = {x for x in self._done if x > start - 51 * 64}
        return self._decode([(start, np.stack(got))])  # type: ignore[arg-type]

    def drop_before(self, fn: int) -> None:
        """Counts and forgets pending blocks that started before `fn`."""
        for s in [s for s in self._pending if s < fn]:
            del self._pending[s]
            self._dummy.pop(s, None)
            self._kind.pop(s, None)
            self.stats["blocks_incomplete"] += 1

    def _decode(self, blocks: list[tuple[int, npt.NDArray[np.float32]]]) -> list[DedBlock]:
        res = coding.xcch_decode(np.stack([b for _, b in blocks]))
        out = []
        for i, (start, _) in enumerate(blocks):
            ok = bool(res.ok[i])
            idle = (not ok) and self._dummy.pop(start, False)
            self._dummy.pop(start, None)
            out.append(DedBlock(start, self.ts, self._kind.pop(start), self.subchannel, ok,
                                res.frame_bytes(i) if ok else None, idle))
        return out
