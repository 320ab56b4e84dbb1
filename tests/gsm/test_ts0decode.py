from __future__ import annotations

import numpy as np

from fbsdetect.gsm import bursts, coding
from fbsdetect.gsm.ts0decode import SchWord, Ts0Decoder, hard_to_soft, is_dummy
from fbsdetect.types import L2Frame


def _block(rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    frame = rng.integers(0, 256, (1, 23), dtype=np.uint8)
    return bytes(frame[0]), hard_to_soft(bursts.normal_burst(coding.xcch_encode(frame)[0], tsc=0))


def test_batches_out_of_order_duplicates_and_incomplete() -> None:
    rng = np.random.default_rng(1)
    dec = Ts0Decoder(batch_blocks=3, arfcn=62)
    out: list[L2Frame | SchWord] = []
    sent = {}
    for mf in range(4):
        for start in (2, 6, 12, 16, 22, 26, 32, 36, 42, 46):
            fn = 51 * mf + start
            frame, b = _block(rng)
            sent[fn] = frame
            for i in (2, 0, 3, 1):  # any order within the block
                out += dec.push(fn + i, 0, b[i])
            out += dec.push(fn, 0, b[0])  # a duplicate burst: the first one is kept
    frame, b = _block(rng)
    out += dec.push(51 * 9 + 6, 0, b[0])  # a block that never completes
    out += dec.flush()
    frames = [o for o in out if isinstance(o, L2Frame)]
    assert {f.fn: f.data for f in frames} == sent
    assert all(f.arfcn == 62 and f.ts == 0 for f in frames)
    assert dec.stats["blocks_ok"] == 40 and dec.stats["duplicate"] == 40
    assert dec.stats["blocks_incomplete"] == 1


def test_stale_blocks_are_given_up_while_streaming() -> None:
    rng = np.random.default_rng(2)
    dec = Ts0Decoder()
    _, b = _block(rng)
    dec.push(6, 0, b[0])
    dec.push(7, 0, b[1])  # bursts 2 and 3 never come
    idle = hard_to_soft(bursts.DUMMY_BITS)
    for k in range(50):
        dec.push(51 * k + 50, 0, idle)
    assert dec.stats["blocks_incomplete"] == 0  # still waiting
    for k in range(50, 200):
        dec.push(51 * k + 50, 0, idle)
    assert dec.stats["blocks_incomplete"] == 1 and not dec._pending


def test_sch_words() -> None:
    dec = Ts0Decoder(sch=True)
    e = coding.sch_encode([5, 5], [51 * 7 + 11, 51 * 7 + 21])
    out = dec.push(51 * 7 + 11, 0, hard_to_soft(bursts.sch_burst(e[0])[0]))
    out += dec.push(51 * 7 + 41, 0, hard_to_soft(bursts.sch_burst(e[1])[0]))  # claims the wrong fn
    out += dec.flush()
    words = [o for o in out if isinstance(o, SchWord)]
    assert [w.ok for w in words] == [True, False]
    assert words[0].bsic == 5 and words[1].bsic == 5  # parity passed, fn disagreed
    assert dec.stats["sch_ok"] == 1 and dec.stats["sch_bad"] == 1


def test_other_timeslots_skipped() -> None:
    dec = Ts0Decoder()
    assert dec.push(2, 1, np.zeros(148, np.float32)) == []
    assert dec.stats["other_ts"] == 1


def test_is_dummy() -> None:
    rng = np.random.default_rng(7)
    dummy = hard_to_soft(bursts.DUMMY_BITS)
    flipped = dummy.copy()
    flipped[rng.choice(148, 10, replace=False)] *= -1  # 93 % agreement
    rand = hard_to_soft(rng.integers(0, 2, (200, 148)))
    assert is_dummy(dummy) and is_dummy(flipped)
    assert not is_dummy(rand).any()
