from __future__ import annotations

import json
from collections import Counter

import pytest

from fbsdetect.gsm import mapping as m
from tests.conftest import shared_file

# RR message type (3rd octet of the L2 frame) -> SI type (TS 44.018 10.4)
SI_OF_MT = {0x19: "1", 0x1A: "2", 0x02: "2bis", 0x03: "2ter", 0x07: "2quater", 0x1B: "3",
            0x1C: "4", 0x00: "13"}


def test_noncombined_multiframe() -> None:
    kinds = Counter(m.ts0_channel(fn).kind for fn in range(51))
    assert kinds == {"FCCH": 5, "SCH": 5, "BCCH": 4, "CCCH": 36, "IDLE": 1}
    assert [m.ts0_channel(t).kind for t in (0, 1, 2, 5, 6, 50)] == ["FCCH", "SCH", "BCCH", "BCCH",
                                                                     "CCCH", "IDLE"]
    starts = [fn for fn in range(51) if m.ts0_channel(fn).kind == "CCCH" and m.ts0_channel(fn).burst == 0]
    assert starts == [6, 12, 16, 22, 26, 32, 36, 42, 46]
    assert [m.ts0_channel(s).block for s in starts] == list(range(9))


def test_combined_multiframe() -> None:
    kinds = Counter(m.ts0_channel(fn, combined=True).kind for fn in range(51))
    assert kinds == {"FCCH": 5, "SCH": 5, "BCCH": 4, "CCCH": 12, "SDCCH/4": 16, "SACCH/4": 8, "IDLE": 1}
    assert m.ts0_channel(22, True) == m.Ts0Slot("SDCCH/4", 0, 0, 0)
    assert m.ts0_channel(39, True) == m.Ts0Slot("SDCCH/4", 3, 3, 3)
    # SACCH/4 sub-channels 0, 1 in even and 2, 3 in odd 51-multiframes (102-frame period)
    assert m.ts0_channel(42, True).subchannel == 0 and m.ts0_channel(46, True).subchannel == 1
    assert m.ts0_channel(51 + 42, True).subchannel == 2 and m.ts0_channel(51 + 49, True).subchannel == 3
    # the first 22 frames are the same in both combinations
    assert all(m.ts0_channel(f) == m.ts0_channel(f, True) for f in range(22))


def test_block_start_fn() -> None:
    for fn in range(51 * 3):
        s = m.ts0_channel(fn)
        assert m.block_start_fn(fn) == fn - s.burst
        assert m.ts0_channel(m.block_start_fn(fn)).burst == 0
    assert m.block_start_fn(2715647) == 2715647  # idle frame at the end of the hyperframe


def test_mapping_agrees_with_real_bursts() -> None:
    with open(shared_file("real/vf262-02_a725_ts0_bursts.jsonl")) as f:
        real = [json.loads(line) for line in f]
    pairs = Counter((d["type"], m.ts0_channel(d["fn"]).kind) for d in real)
    # FCCH and SCH bursts are exactly where the mapping puts them
    assert {k for t, k in pairs if t in ("FCCH", "SCH")} == {"FCCH", "SCH"}
    assert pairs[("FCCH", "FCCH")] == sum(n for (t, _), n in pairs.items() if t == "FCCH")
    assert pairs[("SCH", "SCH")] == sum(n for (t, _), n in pairs.items() if t == "SCH")
    assert pairs[("FCCH", "FCCH")] > 200 and pairs[("SCH", "SCH")] > 200
    # the rest are normal or dummy bursts (the capture's own labels) in BCCH/CCCH/idle frames
    assert {k for t, k in pairs if t in ("normal", "dummy")} == {"BCCH", "CCCH", "IDLE"}
    assert pairs[("dummy", "IDLE")] > 0.9 * sum(n for (_, k), n in pairs.items() if k == "IDLE")


def test_si_for_tc_basic() -> None:
    full = {"1", "2", "3", "4"}
    assert [m.si_for_tc(tc, full) for tc in range(8)] == ["1", "2", "3", "4", "3", "3", "3", "4"]
    assert m.si_for_tc(0, {"2", "3", "4"}) == "3"  # no SI1: filler
    assert m.si_for_tc(5, full | {"2quater"}) == "2quater"
    assert m.si_for_tc(5, full | {"2bis", "2quater"}) == "2bis"
    assert m.si_for_tc(4, full | {"2bis", "2quater"}) == "2quater"
    assert m.si_for_tc(5, full | {"2ter", "2quater"}) == "2ter"
    both = full | {"2bis", "2ter", "2quater", "13"}
    assert {m.si_for_tc(4, both, r) for r in range(6)} == {"2ter", "2quater", "13"}
    assert m.si_for_tc(5, both) == "2bis"
    assert m.si_for_tc(4, full | {"13"}, 7) == "13"
    with pytest.raises(ValueError):
        m.si_for_tc(8, full)
    with pytest.raises(ValueError):
        m.si_for_tc(0, {"5"})


def test_si13_sent_at_least_every_fourth_tc4() -> None:
    present = {"1", "2", "2bis", "2ter", "2quater", "3", "4", "13"}
    seq = [m.si_for_tc(4, present, r) for r in range(12)]
    assert all("13" in seq[i:i + 4] for i in range(9))


def test_schedule_of_the_real_cell() -> None:
    """The Vodafone cell sends SI1, 2, 2ter, 3, 4, 13: our schedule predicts
    every BCCH frame gr-gsm decoded from it."""
    with open(shared_file("real/vf262-02_a725_ts0_frames_grgsm.jsonl")) as f:
        frames = [json.loads(line) for line in f]
    bcch = [(d["fn"], SI_OF_MT[bytes.fromhex(d["hex"])[2]]) for d in frames if d["fn"] % 51 == 2]
    present = {t for _, t in bcch}
    assert present == {"1", "2", "2ter", "3", "4", "13"}
    assert len(bcch) > 25
    for fn, t in bcch:
        assert m.si_for_tc(m.bcch_tc(fn), present, fn // 408) == t, fn
