"""A GSM cell as a bit stream: the BCCH carrier (C0) of TS 45.002, one
51-multiframe at a time.

Per TDMA frame (TS 45.002 4.3.1, 5.2): 8 timeslots of 156.25 symbol periods,
rendered as 157, 156, 156, 156, 157, 156, 156, 156 bits (the osmo-trx
convention, 1250 bits per frame); each slot is the 148-bit burst followed by
its guard bits, sent as 0 (no power ramping is modelled).

TS0 (45.002 6.4.1, table in `fbsdetect.gsm.mapping`):
- FCCH (5.2.4): 148 zero bits, a tone at +67.7 kHz after GMSK.
- SCH (5.2.5, 45.003 4.7): BSIC and the frame number of that very burst.
- BCCH Norm: the SI type chosen by TC = (fn div 51) mod 8 (6.3.1.3,
  `mapping.si_for_tc`), each block the 23-octet frame coded per 45.003 4.1.
- CCCH: Paging Request type 1 frames carrying synthetic identities at the
  cell's paging rate (Poisson, seeded per 51-multiframe), else the empty
  paging fill; the first BS_AG_BLKS_RES blocks (AGCH, read from SI3's control
  channel description, TS 44.018 10.5.2.11) carry the fill only. A page drawn
  for a block already holding two identities goes to the next block with
  room; pages beyond 2 x (pageable blocks) in a multiframe (about 68/s
  non-combined, 17/s combined) are not sent (truth.json lists what is).
- combined CCCH (BCCH + SDCCH/4): the SDCCH/4 and SACCH/4 sub-channels are
  idle and carry dummy bursts, as osmo-bts sends on an inactive channel.
- the idle frame (T3 = 50): a dummy burst.
Normal bursts use TSC = BCC = BSIC mod 8 (45.002 5.2.3) and stealing flags
hl = hu = 1 (45.003 4.1.5). TS1..7 carry dummy bursts (5.2.6), except the
conversations of a cell with dedicated-channel keys (`sim.dedicated`): its
Immediate Assignments take CCCH blocks without paging, and its SDCCH/8 (TS1)
or SDCCH/4 (combined TS0) blocks replace dummy bursts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.gsm import mapping
from fbsdetect.gsm.bursts import DUMMY_BITS, FCCH_BITS, normal_burst, sch_burst
from fbsdetect.gsm.coding import sch_encode, xcch_encode
from fbsdetect.gsm.frames import HYPERFRAME

SLOT_BITS = (157, 156, 156, 156, 157, 156, 156, 156)
FRAME_BITS = sum(SLOT_BITS)  # 1250
SLOT_START = tuple(int(x) for x in np.cumsum((0, *SLOT_BITS[:-1])))
MF_FRAMES = 51
MF_BITS = MF_FRAMES * FRAME_BITS

assert FRAME_BITS == 1250


def _dummy_frame() -> npt.NDArray[np.uint8]:
    f = np.zeros(FRAME_BITS, dtype=np.uint8)
    for ts in range(1, 8):
        f[SLOT_START[ts] : SLOT_START[ts] + 148] = DUMMY_BITS
    return f


DUMMY_FRAME = _dummy_frame()
"""A TDMA frame with TS1..7 dummy bursts and TS0 empty (zeros)."""
DUMMY_FRAME.setflags(write=False)


@dataclass(frozen=True)
class Block:
    """One 4-burst L2 block sent by a cell (for the truth file)."""

    fn: int  # frame number of the first burst
    channel: str  # "BCCH" | "CCCH"
    data: bytes
    si_type: str | None = None  # "1", "2", ... for BCCH
    identities: int = 0  # paging identities in a CCCH block


PagingBuilder = Callable[[Sequence[tuple[str, str]]], bytes]
"""Builds a CCCH frame paging the given (kind, value) identities: kind
"tmsi" (8 hex digits) or "imsi" (digits)."""


@dataclass(frozen=True)
class CellFrames:
    """What a cell broadcasts: its SI frames by type, the CCCH fill frame and
    a builder for paging requests."""

    si: dict[str, bytes]
    ccch_fill: bytes
    paging: PagingBuilder
    bs_ag_blks_res: int = 0
    max_identities: int = 2  # identities per Paging Request type 1 (TS 44.018 9.1.22)

    @classmethod
    def from_si(cls, si: dict[str, bytes], ccch_fill: bytes, paging: PagingBuilder) -> CellFrames:
        for k, v in si.items():
            if len(v) != 23:
                raise ValueError(f"SI{k} frame must be 23 octets, got {len(v)}")
        if len(ccch_fill) != 23:
            raise ValueError("the CCCH fill frame must be 23 octets")
        ag = (si["3"][10] >> 3) & 7 if "3" in si else 0
        return cls(si=dict(si), ccch_fill=ccch_fill, paging=paging, bs_ag_blks_res=ag)


class CellTransmitter:
    """Produces a cell's bits 51-multiframe by 51-multiframe.

    Multiframe m (m = 0, 1, ...) starts with frame ``first_fn + 51*m`` where
    `first_fn` is the start of the multiframe holding `start_fn`. Everything
    random (paging) is drawn from a generator seeded by (seed, cell index, m),
    so multiframe m is the same whatever was rendered before it.
    """

    def __init__(self, *, bsic: int, combined: bool, frames: CellFrames, start_fn: int,
                 paging_rate_hz: float, seed: int, index: int, mcc: int, mnc: int,
                 symbol_rate_hz: float, dedicated: Any = None) -> None:
        self.bsic = bsic
        self.tsc = bsic & 7
        self.combined = combined
        self.frames = frames
        self.first_fn = start_fn - start_fn % MF_FRAMES
        self.paging_rate_hz = paging_rate_hz
        self.seed = seed
        self.index = index
        self.mcc = mcc
        self.mnc = mnc
        self.mf_duration_s = MF_BITS / symbol_rate_hz
        self.dedicated = dedicated  # sim.dedicated.DedicatedSchedule or None (dummy bursts)
        self.present = set(frames.si)
        self._slots = [mapping.ts0_channel(t3, combined) for t3 in range(MF_FRAMES)]
        # CCCH block index -> T3 of its first burst; the pageable ones skip the AGCH blocks
        self._ccch_t3 = {idx: t3 for (t3, kind, idx) in mapping.block_starts(combined)
                         if kind == mapping.CCCH}
        self._pageable = [i for i in self._ccch_t3 if i >= frames.bs_ag_blks_res] or list(self._ccch_t3)
        self._fill_bursts = normal_burst(xcch_encode(np.frombuffer(frames.ccch_fill, np.uint8)[None])[0],
                                         self.tsc)

    def fn_of(self, m: int, t3: int = 0) -> int:
        return (self.first_fn + MF_FRAMES * m + t3) % HYPERFRAME

    def _identities(self, rng: np.random.Generator) -> tuple[str, str]:
        if rng.random() < 0.1:  # networks page mostly by TMSI; sometimes by IMSI
            msin = "".join(str(int(x)) for x in rng.integers(0, 10, 10))
            mnc = f"{self.mnc:02d}" if self.mnc < 100 else f"{self.mnc:03d}"
            return ("imsi", f"{self.mcc:03d}{mnc}{msin}"[:15])
        return ("tmsi", f"{int(rng.integers(0, 2**32 - 1)):08x}")

    def _dedicated_bursts(self, m: int, ded_blocks: list[tuple[int, int, bytes | None]],
                          ts0: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]) -> None:
        """Puts the dedicated-channel blocks of multiframe m (sim.dedicated) in place
        of dummy bursts: coded frames, or random bits for a ciphered block."""
        for t3, ts, data in ded_blocks:
            if data is None:
                payload = self.dedicated.random_bursts(m, t3, ts)
            else:
                payload = xcch_encode(np.frombuffer(data, np.uint8)[None])[0]
            b = normal_burst(payload, self.tsc)
            for j in range(4):
                if ts == 0:
                    ts0[t3 + j] = b[j]
                else:
                    out[t3 + j, SLOT_START[ts]:SLOT_START[ts] + 148] = b[j]

    def multiframe(self, m: int) -> tuple[npt.NDArray[np.uint8], list[Block]]:
        """Bits (51 * 1250,) of multiframe m and the L2 blocks it carries."""
        fn0 = self.fn_of(m)
        blocks: list[Block] = []
        # BCCH Norm: TC of this multiframe
        tc = mapping.bcch_tc(fn0)
        rotation = fn0 // (MF_FRAMES * 8)
        si_type = mapping.si_for_tc(tc, self.present, rotation)
        frames: list[bytes] = [self.frames.si[si_type]]
        starts: list[int] = [2]
        blocks.append(Block(fn0 + 2, mapping.BCCH, self.frames.si[si_type], si_type))
        # CCCH: paging requests at the paging rate
        pageable = self._pageable
        rng = np.random.default_rng([self.seed, 0x50474E47, self.index, m + 1])  # m >= -1
        n_pages = int(rng.poisson(self.paging_rate_hz * self.mf_duration_s)) if self.paging_rate_hz else 0
        per_block: dict[int, list[tuple[str, str]]] = {}
        for _ in range(n_pages):
            first = int(rng.integers(0, len(pageable)))
            for j in range(len(pageable)):  # the drawn block, else the next one with room
                ids = per_block.setdefault(int(pageable[(first + j) % len(pageable)]), [])
                if len(ids) < self.frames.max_identities:
                    ids.append(self._identities(rng))
                    break
        block_t3 = self._ccch_t3
        paging_frames: dict[int, bytes] = {}
        for b, ids in sorted(per_block.items()):
            data = self.frames.paging(ids)
            paging_frames[b] = data
            frames.append(data)
            starts.append(block_t3[b])
            blocks.append(Block(fn0 + block_t3[b], mapping.CCCH, data, None, len(ids)))
        ded_ia, ded_blocks = self.dedicated.mf(m) if self.dedicated is not None else ([], [])
        for ia in ded_ia:  # Immediate Assignments go into CCCH blocks without paging
            free = [b for b in block_t3 if b not in paging_frames]
            if not free:
                break
            paging_frames[free[-1]] = ia
            frames.append(ia)
            starts.append(block_t3[free[-1]])
        for b in block_t3:
            if b not in paging_frames:
                blocks.append(Block(fn0 + block_t3[b], mapping.CCCH, self.frames.ccch_fill))
        coded = xcch_encode(np.frombuffer(b"".join(frames), np.uint8).reshape(-1, 23))
        bursts = normal_burst(coded.reshape(-1, 114), self.tsc).reshape(-1, 4, 148)

        # TS0 of the 51 frames
        ts0 = np.empty((MF_FRAMES, 148), dtype=np.uint8)
        block_of_t3: dict[int, int] = {t3: i for i, t3 in enumerate(starts)}
        sch_fns = [fn0 + t3 for t3 in range(1, 51, 10)]
        sch_bits = sch_burst(sch_encode(np.full(len(sch_fns), self.bsic), np.array(sch_fns) % HYPERFRAME))
        for t3, slot in enumerate(self._slots):
            if slot.kind == mapping.FCCH:
                ts0[t3] = FCCH_BITS
            elif slot.kind == mapping.SCH:
                ts0[t3] = sch_bits[slot.block]
            elif slot.kind in (mapping.BCCH, mapping.CCCH):
                first = t3 - slot.burst
                if first in block_of_t3:
                    ts0[t3] = bursts[block_of_t3[first], slot.burst]
                else:
                    ts0[t3] = self._fill_bursts[slot.burst]
            else:  # IDLE, idle SDCCH/4 and SACCH/4
                ts0[t3] = DUMMY_BITS
        out = np.tile(DUMMY_FRAME, (MF_FRAMES, 1))
        if ded_blocks:
            self._dedicated_bursts(m, ded_blocks, ts0, out)
        out[:, :148] = ts0
        blocks.sort(key=lambda b: b.fn)
        return out.reshape(-1), [
            Block(b.fn % HYPERFRAME, b.channel, b.data, b.si_type, b.identities) for b in blocks]
