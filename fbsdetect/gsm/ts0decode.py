"""Decoding timeslot-0 bursts of a BCCH carrier into L2 frames and SCH words
(no I/O): the library behind `fbsdetect decode-bursts`, usable by anything that
has demodulated bursts (soft or hard) with their frame numbers. Channel of
each frame: TS 45.002 clause 7 table 3 (`mapping`); burst payloads: TS 45.002
5.2 (`bursts`); coding: TS 45.003 4.1 and 4.7 (`coding`). Hand-written glue.

Bursts are pushed one at a time, in any order within a block; a 4-burst block
(BCCH, CCCH, SDCCH/4, SACCH/4 per `mapping.ts0_channel`) is decoded once all
four bursts are there, in batches so that the Viterbi decoder runs vectorised.
Every outcome is counted in `stats` (a `types.DecodeCounts`: the receiver's
`CarrierStats` uses the same names):

- ``blocks_ok`` / ``blocks_bad`` (Fire code parity failed),
- ``blocks_incomplete`` (a burst never came: given up once 102 more TS0 bursts
  have arrived after the block's first one, or at `flush`),
- ``sch_ok`` / ``sch_bad`` (SCH parity failed or reduced frame number
  inconsistent with the burst's own fn),
- ``blocks_idle``: a block whose parity failed and whose four bursts are dummy
  bursts (TS 45.002 5.2.6; the hard bits agree with `bursts.DUMMY_BITS` in at
  least `DUMMY_MIN_AGREEMENT` of their positions): an idle SDCCH/4 or SACCH/4
  sub-channel of a combined CCCH, not a decoding failure,
- ``fcch``, ``idle``, ``duplicate``: a burst seen again with the same frame
  number and the same bits (an input that replays itself; remembered for the
  last `SEEN_BURSTS` bursts) is decoded once, and so is a second burst for a
  frame whose block is pending or recently decoded (the first is kept);
  ``other_ts`` (bursts of timeslots other than 0, whose channel
  configuration is unknown here, are not decoded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fbsdetect.gsm import bursts, coding, mapping
from fbsdetect.types import DecodeCounts, L2Frame

STALE_BURSTS = 2 * 51
"""A pending block is given up once this many further TS0 bursts have arrived
(counted by arrival, so that streams that jump or repeat do not confuse it)."""
SEEN_BURSTS = 1 << 16
"""Bursts remembered (frame number and a hash of the bits) to recognise an
exact repeat: ~5 minutes of TS0, a few MB."""
DUMMY_MIN_AGREEMENT = 0.9
"""Share of a burst's 148 hard bits that must match the dummy burst."""


def is_dummy(soft: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each burst (soft (..., 148), positive = 1) is a dummy burst
    (TS 45.002 5.2.6): its hard bits agree with `bursts.DUMMY_BITS` in at
    least DUMMY_MIN_AGREEMENT of the positions (random data agrees in ~50 %)."""
    hard = np.asarray(soft) > 0
    agree = np.mean(hard == bursts.DUMMY_BITS.astype(bool), axis=-1)
    return np.asarray(agree >= DUMMY_MIN_AGREEMENT)


@dataclass(frozen=True)
class SchWord:
    """One decoded SCH burst. `fn` is the burst's own frame number as given;
    `ok` means parity passed and (T1, T2, T3') give that same fn. The fields
    are None when the parity failed."""

    fn: int
    ts: int
    ok: bool
    bsic: int | None
    t1: int | None
    t2: int | None
    t3p: int | None
    bit_errors: int

    def to_json(self) -> dict[str, object]:
        return {"fn": self.fn, "ts": self.ts, "channel": "SCH", "ok": self.ok, "bsic": self.bsic,
                "t1": self.t1, "t2": self.t2, "t3p": self.t3p}


@dataclass
class Ts0Decoder:
    """Streaming decoder of TS0 bursts (soft bits, positive = 1, shape (148,))."""

    combined: bool = False
    arfcn: int | None = None
    batch_blocks: int = 256
    sch: bool = True
    stats: DecodeCounts = field(default_factory=DecodeCounts)
    _pending: dict[int, list[npt.NDArray[np.float32] | None]] = field(default_factory=dict)
    _ready: list[tuple[int, str, npt.NDArray[np.float32]]] = field(default_factory=list)
    _sch: list[tuple[int, npt.NDArray[np.float32]]] = field(default_factory=list)
    _born: dict[int, int] = field(default_factory=dict)
    _done: dict[int, int] = field(default_factory=dict)  # recently completed block -> arrival count
    _seen: dict[tuple[int, int], None] = field(default_factory=dict)  # (fn, hash of bits), oldest first
    _dummy: dict[int, bool] = field(default_factory=dict)  # block start -> its bursts are all dummies
    _count: int = 0

    def push(self, fn: int, ts: int, soft148: npt.ArrayLike) -> list[L2Frame | SchWord]:
        """Adds one burst; returns whatever became decodable (often nothing)."""
        if ts != 0:
            self.stats.other_ts += 1
            return []
        soft = np.asarray(soft148, dtype=np.float32)
        key = (fn, hash(soft.tobytes()))
        if key in self._seen:
            self.stats.duplicate += 1
            return []
        self._seen[key] = None
        if len(self._seen) > SEEN_BURSTS:
            del self._seen[next(iter(self._seen))]
        slot = mapping.ts0_channel(fn, self.combined)
        self._count += 1
        if self._count % 51 == 0:
            self._drop_stale()
        if slot.kind == mapping.FCCH:
            self.stats.fcch += 1
        elif slot.kind == mapping.IDLE:
            self.stats.idle += 1
        elif slot.kind == mapping.SCH:
            if self.sch:
                self._sch.append((fn, bursts.sch_payload(soft)[0]))
        else:
            start = fn - slot.burst
            if start in self._done:
                self.stats.duplicate += 1
                return []
            if start not in self._pending:
                self._pending[start] = [None] * 4
                self._born[start] = self._count
                self._dummy[start] = True
            got = self._pending[start]
            if got[slot.burst] is not None:
                self.stats.duplicate += 1
            else:
                got[slot.burst] = bursts.normal_payload(soft)[0][0]
                self._dummy[start] = self._dummy[start] and bool(is_dummy(soft))
                if all(g is not None for g in got):
                    del self._pending[start], self._born[start]
                    self._done[start] = self._count
                    block = np.stack(got)  # type: ignore[arg-type]
                    self._ready.append((start, slot.kind, block))
        out: list[L2Frame | SchWord] = []
        if len(self._ready) >= self.batch_blocks:
            out += self._decode_blocks()
        if len(self._sch) >= self.batch_blocks:
            out += self._decode_sch()
        return out

    def flush(self) -> list[L2Frame | SchWord]:
        """Decodes everything complete; counts and forgets incomplete blocks."""
        self.stats.blocks_incomplete += len(self._pending)
        for s in self._pending:
            self._dummy.pop(s, None)
        self._pending.clear()
        self._born.clear()
        return self._decode_blocks() + self._decode_sch()

    def _drop_stale(self) -> None:
        stale = [s for s, born in self._born.items() if self._count - born > STALE_BURSTS]
        for s in stale:
            del self._pending[s], self._born[s]
            self._dummy.pop(s, None)
            self.stats.blocks_incomplete += 1
        for s in [s for s, done in self._done.items() if self._count - done > STALE_BURSTS]:
            del self._done[s]

    def _decode_blocks(self) -> list[L2Frame | SchWord]:
        if not self._ready:
            return []
        ready, self._ready = self._ready, []
        res = coding.xcch_decode(np.stack([r[2] for r in ready]))
        out: list[L2Frame | SchWord] = []
        for i, (fn, kind, _) in enumerate(ready):
            if res.ok[i]:
                self.stats.blocks_ok += 1
                out.append(L2Frame(arfcn=self.arfcn, fn=fn, ts=0, channel=kind, data=res.frame_bytes(i)))
            elif self._dummy.get(fn, False):
                self.stats.blocks_idle += 1
            else:
                self.stats.blocks_bad += 1
            self._dummy.pop(fn, None)
        return out

    def _decode_sch(self) -> list[L2Frame | SchWord]:
        if not self._sch:
            return []
        items, self._sch = self._sch, []
        res = coding.sch_decode(np.stack([e for _, e in items]))
        out: list[L2Frame | SchWord] = []
        for i, (fn, _) in enumerate(items):
            parity = bool(res.ok[i])
            ok = parity and int(res.fn[i]) == fn
            if ok:
                self.stats.sch_ok += 1
            else:
                self.stats.sch_bad += 1

            def val(a: npt.NDArray[np.int64], i: int = i, parity: bool = parity) -> int | None:
                return int(a[i]) if parity else None

            out.append(SchWord(fn=fn, ts=0, ok=ok, bsic=val(res.bsic), t1=val(res.t1), t2=val(res.t2),
                               t3p=val(res.t3p), bit_errors=int(res.bit_errors[i])))
        return out


def hard_to_soft(bits: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Hard bits 0/1 -> soft +-1 (internals.md convention)."""
    return (2.0 * np.asarray(bits, dtype=np.float32) - 1.0).astype(np.float32)
