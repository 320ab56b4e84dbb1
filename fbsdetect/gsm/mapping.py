"""Timeslot 0 of the BCCH carrier: the 51-multiframe and the BCCH schedule
(TS 45.002 clauses 6.3, 6.4 and 7 table 3 / table 5).

Position of each frame of TS0 by T3 = fn mod 51, for the two channel
combinations a BCCH carrier's TS0 can have (45.002 6.4.1)::

    T3          non-combined (iv)       combined (v)
                FCCH+SCH+BCCH+CCCH      FCCH+SCH+BCCH+CCCH+SDCCH/4+SACCH/4
    0 10 20 30 40   FCCH                 FCCH
    1 11 21 31 41   SCH                  SCH
    2..5        BCCH                     BCCH
    6..9        CCCH 0                   CCCH 0
    12..15      CCCH 1                   CCCH 1
    16..19      CCCH 2                   CCCH 2
    22..25      CCCH 3                   SDCCH/4 0
    26..29      CCCH 4                   SDCCH/4 1
    32..35      CCCH 5                   SDCCH/4 2
    36..39      CCCH 6                   SDCCH/4 3
    42..45      CCCH 7                   SACCH/4 0 (even 51-mf) / 2 (odd)
    46..49      CCCH 8                   SACCH/4 1 (even) / 3 (odd)
    50          idle                     idle

(even/odd: (fn div 51) mod 2, the SACCH/4 period being 102 frames.) A block's
frame number is that of its first burst; blocks never straddle a
51-multiframe and a hyperframe holds a whole number of 51-multiframes, so the
block of a frame always starts at fn - burst.

BCCH scheduling (45.002 6.3.1.3): the BCCH Norm block of the 51-multiframe
with TC = (fn div 51) mod 8 carries::

    TC 0        SI1
    TC 1        SI2
    TC 2, 6     SI3
    TC 3, 7     SI4
    TC 5        SI2bis if sent, else SI2ter if sent, else SI2quater if sent
    TC 4        shared in turn by SI2ter (when SI2bis is also sent, so TC 5 is
                taken), SI2quater (when SI2bis or SI2ter takes TC 5) and SI13

A position whose type(s) the cell does not send is filled by repeating a type
it does send (SI3, else SI4, SI2, SI1; the specification leaves the filler
open). BCCH Ext (the first CCCH block, T3 6..9, when SI3 puts SI2quater or
SI13 there: position 1) and the other SI types (7, 8, 9, 16, 17 ...) are not
modelled: such a block is labelled CCCH, as gr-gsm labels it.

Hand-written tables (no library describes the multiframe as data).
"""

from __future__ import annotations

from dataclasses import dataclass

FCCH = "FCCH"
SCH = "SCH"
BCCH = "BCCH"
CCCH = "CCCH"
SDCCH4 = "SDCCH/4"
SACCH4 = "SACCH/4"
IDLE = "IDLE"
KINDS = (FCCH, SCH, BCCH, CCCH, SDCCH4, SACCH4, IDLE)

SI_TYPES = ("1", "2", "2bis", "2ter", "2quater", "3", "4", "13")

# (first T3, kind, index of that kind within the 51-multiframe) of 4-burst blocks
_BLOCKS_NONCOMBINED: tuple[tuple[int, str, int], ...] = (
    (2, BCCH, 0), (6, CCCH, 0), (12, CCCH, 1), (16, CCCH, 2), (22, CCCH, 3), (26, CCCH, 4),
    (32, CCCH, 5), (36, CCCH, 6), (42, CCCH, 7), (46, CCCH, 8))
_BLOCKS_COMBINED: tuple[tuple[int, str, int], ...] = (
    (2, BCCH, 0), (6, CCCH, 0), (12, CCCH, 1), (16, CCCH, 2), (22, SDCCH4, 0), (26, SDCCH4, 1),
    (32, SDCCH4, 2), (36, SDCCH4, 3), (42, SACCH4, 0), (46, SACCH4, 1))


@dataclass(frozen=True)
class Ts0Slot:
    """What TS0 of the BCCH carrier holds in one frame.

    `block`: index of this block among the blocks of its kind in the
    51-multiframe (CCCH 0..8 or 0..2, SDCCH/4 0..3, SACCH/4 0..1, FCCH/SCH
    0..4, BCCH/IDLE 0); `burst`: 0..3 within the block (0 for FCCH/SCH/IDLE);
    `subchannel`: the SDCCH/4 or SACCH/4 sub-channel 0..3 (SACCH/4 over the
    102-frame period), else None.
    """

    kind: str
    block: int
    burst: int
    subchannel: int | None = None


def _table(combined: bool) -> tuple[Ts0Slot, ...]:
    slots: list[Ts0Slot | None] = [None] * 51
    for t3 in range(0, 50, 10):
        slots[t3] = Ts0Slot(FCCH, t3 // 10, 0)
        slots[t3 + 1] = Ts0Slot(SCH, t3 // 10, 0)
    slots[50] = Ts0Slot(IDLE, 0, 0)
    for start, kind, idx in (_BLOCKS_COMBINED if combined else _BLOCKS_NONCOMBINED):
        for k in range(4):
            slots[start + k] = Ts0Slot(kind, idx, k, idx if kind == SDCCH4 else None)
    assert all(s is not None for s in slots)
    return tuple(s for s in slots if s is not None)


_TABLE = {False: _table(False), True: _table(True)}


def ts0_channel(fn: int, combined: bool = False) -> Ts0Slot:
    """The TS0 channel of frame `fn` (non-combined, or combined BCCH+SDCCH/4)."""
    slot = _TABLE[bool(combined)][fn % 51]
    if slot.kind == SACCH4:
        return Ts0Slot(SACCH4, slot.block, slot.burst, slot.block + 2 * ((fn // 51) % 2))
    return slot


def block_start_fn(fn: int) -> int:
    """Frame number of the first burst of the block containing frame `fn`
    (the same for both channel combinations)."""
    return fn - _TABLE[False][fn % 51].burst


def block_starts(combined: bool = False) -> tuple[tuple[int, str, int], ...]:
    """(T3 of the first burst, kind, block index) of the 4-burst blocks of TS0."""
    return _BLOCKS_COMBINED if combined else _BLOCKS_NONCOMBINED


def bcch_tc(fn: int) -> int:
    """TC = (fn div 51) mod 8 of the 51-multiframe holding frame `fn`."""
    return (fn // 51) % 8


def _filler(present: set[str]) -> str:
    for t in ("3", "4", "2", "1"):
        if t in present:
            return t
    raise ValueError("a BCCH needs at least one of SI1, SI2, SI3, SI4")


def tc4_types(present: set[str]) -> list[str]:
    """The SI types that share the TC 4 position, in turn (module docstring)."""
    out = []
    if "2ter" in present and "2bis" in present:
        out.append("2ter")
    if "2quater" in present and ("2bis" in present or "2ter" in present):
        out.append("2quater")
    if "13" in present:
        out.append("13")
    return out


def si_for_tc(tc: int, present: set[str], rotation: int = 0) -> str:
    """The SI type sent in the BCCH Norm block with this TC by a cell sending
    the SI types `present` (names in SI_TYPES). `rotation` counts the
    occurrences of this TC (e.g. fn div 408) and chooses in turn between the
    types sharing TC 4."""
    unknown = set(present) - set(SI_TYPES)
    if unknown:
        raise ValueError(f"unknown SI type(s) {sorted(unknown)} (known: {' '.join(SI_TYPES)})")
    if not 0 <= tc <= 7:
        raise ValueError(f"TC must be 0..7, got {tc}")
    want: str | None
    if tc == 0:
        want = "1"
    elif tc == 1:
        want = "2"
    elif tc in (2, 6):
        want = "3"
    elif tc in (3, 7):
        want = "4"
    elif tc == 5:
        want = next((t for t in ("2bis", "2ter", "2quater") if t in present), None)
    else:
        shared = tc4_types(present)
        want = shared[rotation % len(shared)] if shared else None
    return want if want is not None and want in present else _filler(present)
