"""Acceptance on real bursts: our decoder gives exactly the frames gr-gsm got."""

from __future__ import annotations

import json

import numpy as np

from fbsdetect.gsm import bursts, coding
from tests.conftest import shared_file

BURSTS = "real/vf262-02_a725_ts0_bursts.jsonl"
FRAMES = "real/vf262-02_a725_ts0_frames_grgsm.jsonl"
FIXTURE = "real/vf262-02_a725_grgsm_fixture_expected.txt"
# non-combined TS0: first frames (fn mod 51) of the BCCH and the 9 CCCH blocks
BLOCK_STARTS = (2, 6, 12, 16, 22, 26, 32, 36, 42, 46)


def _load() -> dict[int, dict]:
    with open(shared_file(BURSTS)) as f:
        return {d["fn"]: d for d in map(json.loads, f)}


def _bits(s: str) -> np.ndarray:
    return np.frombuffer(s.encode(), dtype=np.uint8) - 48


def test_xcch_real_bursts_equal_grgsm_frames() -> None:
    by_fn = _load()
    starts = [fn for fn in sorted(by_fn) if fn % 51 in BLOCK_STARTS
              and all(fn + i in by_fn for i in range(4))]
    b148 = np.stack([_bits(by_fn[fn + i]["bits"]) for fn in starts for i in range(4)])
    data, hl, hu = bursts.normal_payload(b148)
    res = coding.xcch_decode((2.0 * data - 1.0).reshape(-1, 4, 114))
    ours = {(fn, res.frame_bytes(i).hex()) for i, fn in enumerate(starts) if res.ok[i]}
    with open(shared_file(FRAMES)) as f:
        theirs = {(d["fn"], d["hex"]) for d in map(json.loads, f)}
    assert len(theirs) == 293
    assert ours == theirs
    # the failures are counted outcomes with wrong parity, not exceptions
    assert int((~res.ok).sum()) == len(starts) - 293
    # good blocks: re-encoding reproduces the real bursts except the corrected bits
    good = np.flatnonzero(res.ok)
    # control channels send the stealing flags hl = hu = 1 (TS 45.003 4.1.5)
    flags = np.concatenate([hl.reshape(-1, 4)[good], hu.reshape(-1, 4)[good]])
    assert flags.mean() > 0.97
    recoded = coding.xcch_encode(res.frames[good])
    diff = (recoded != data.reshape(-1, 4, 114)[good]).sum(axis=(1, 2))
    assert np.array_equal(diff, res.bit_errors[good])
    # gr-gsm's upstream fixture: 47 frames, all among ours
    fixture = set()
    with open(shared_file(FIXTURE)) as f:
        for line in f:
            head, _, hexpart = line.partition(":")
            if not hexpart.strip():
                continue
            fixture.add((int(head.split()[0]), "".join(hexpart.split())))
    assert len(fixture) == 47
    assert fixture <= ours


def test_sch_real_bursts() -> None:
    by_fn = _load()
    sch = [d for d in by_fn.values() if d["type"] == "SCH"]
    fns = np.array([d["fn"] for d in sch])
    assert set((fns % 51).tolist()) <= {1, 11, 21, 31, 41}
    e = bursts.sch_payload(np.stack([_bits(d["bits"]) for d in sch]))
    res = coding.sch_decode(2.0 * e - 1.0)
    assert res.ok.sum() >= 0.9 * len(sch)
    assert np.array_equal(res.fn[res.ok], fns[res.ok])
    assert set(res.bsic[res.ok].tolist()) == {48}  # NCC 6, BCC 0
    assert np.array_equal(coding.sch_encode(res.bsic[res.ok], fns[res.ok]), e[res.ok])
