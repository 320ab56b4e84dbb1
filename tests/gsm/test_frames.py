from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fbsdetect.gsm.frames import HYPERFRAME, fn_from_sch, fn_to_t1t2t3, t1t2t3_to_fn, t3_prime


def test_hyperframe_length() -> None:
    assert HYPERFRAME == 2715648


@given(st.integers(0, HYPERFRAME - 1))
def test_t1t2t3_round_trip(fn: int) -> None:
    t1, t2, t3 = fn_to_t1t2t3(fn)
    assert 0 <= t1 <= 2047 and 0 <= t2 <= 25 and 0 <= t3 <= 50
    assert t1t2t3_to_fn(t1, t2, t3) == fn


def test_known_values() -> None:
    # fn 0: all zero; fn 1326 * 5 + 27: T1 5, T2 1, T3 27
    assert fn_to_t1t2t3(0) == (0, 0, 0)
    assert fn_to_t1t2t3(1326 * 5 + 27) == (5, 1, 27)
    assert fn_to_t1t2t3(HYPERFRAME - 1) == (2047, (HYPERFRAME - 1) % 26, 50)


def test_sch_frames() -> None:
    fns = np.array([f for f in range(0, 20000) if f % 51 in (1, 11, 21, 31, 41)], dtype=np.int64)
    t1, t2, _ = fn_to_t1t2t3(fns)
    assert np.array_equal(fn_from_sch(t1, t2, t3_prime(fns)), fns)
    assert set(t3_prime(fns).tolist()) == {0, 1, 2, 3, 4}
