"""TDMA frame numbers (TS 45.002 clause 4.3.3 and 3.3.2.2.1).

A frame number ``fn`` counts TDMA frames cyclically over one hyperframe,
``0 <= fn < HYPERFRAME = 26 * 51 * 2048 = 2 715 648``. The SCH carries the
*reduced* frame number (T1, T2, T3') instead of ``fn``:

- ``T1 = fn div (26 x 51)``  (11 bits, 0..2047, the superframe index)
- ``T2 = fn mod 26``         (5 bits, 0..25)
- ``T3 = fn mod 51``         (6 bits, 0..50), sent as
- ``T3' = (T3 - 1) div 10``  (3 bits, 0..4; the SCH is only in frames with
  T3 in {1, 11, 21, 31, 41}, so T3 = 10 T3' + 1 there).

Because 26 and 51 are coprime, (T2, T3) fix ``fn mod 1326``:
``fn = 51 x ((T3 - T2) mod 26) + T3 + 1326 x T1``.

All functions accept Python ints or numpy integer arrays (vectorised).
Hand-written: three lines of arithmetic.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

HYPERFRAME = 26 * 51 * 2048
"""Frames in one hyperframe (2 715 648)."""
SUPERFRAME = 26 * 51
"""Frames in one superframe (1326)."""

IntLike = TypeVar("IntLike", int, npt.NDArray[np.int64])


def fn_to_t1t2t3(fn: IntLike) -> tuple[IntLike, IntLike, IntLike]:
    """(T1, T2, T3) of a frame number (TS 45.002 3.3.2.2.1)."""
    return fn // SUPERFRAME, fn % 26, fn % 51


def t1t2t3_to_fn(t1: IntLike, t2: IntLike, t3: IntLike) -> IntLike:
    """The frame number with the given T1 (0..2047), T2 (0..25), T3 (0..50)."""
    return 51 * ((t3 - t2) % 26) + t3 + SUPERFRAME * t1


def t3_prime(fn: IntLike) -> IntLike:
    """T3' = (T3 - 1) div 10 as sent on the SCH of frame `fn` (meaningful when
    fn mod 51 is 1, 11, 21, 31 or 41)."""
    return (fn % 51 - 1) // 10


def fn_from_sch(t1: IntLike, t2: IntLike, t3p: IntLike) -> IntLike:
    """The frame number of the SCH burst that carried (T1, T2, T3')."""
    return t1t2t3_to_fn(t1, t2, 10 * t3p + 1)
