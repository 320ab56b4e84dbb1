from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from fbsdetect.gsm import bursts as b
from tests.conftest import shared_file

REAL = "real/vf262-02_a725_ts0_bursts.jsonl"


def _real() -> list[dict]:
    with open(shared_file(REAL)) as f:
        return [json.loads(line) for line in f]


def _bits(s: str) -> np.ndarray:
    return np.frombuffer(s.encode(), dtype=np.uint8) - 48


def test_tables_shapes_and_distinct() -> None:
    assert b.TSC.shape == (8, 26)
    assert len({t.tobytes() for t in b.TSC}) == 8
    assert b.SCH_TRAINING.shape == (64,)
    assert b.DUMMY_BITS.shape == (148,) and not b.DUMMY_BITS[:3].any() and not b.DUMMY_BITS[-3:].any()
    assert not b.FCCH_BITS.any()
    # every TSC of set 1 has its 16 middle bits framed by a cyclic extension (5 + 16 + 5)
    for t in b.TSC:
        assert np.array_equal(t[:5], t[16:21]) and np.array_equal(t[21:], t[5:10])


def test_tables_match_real_network_bursts() -> None:
    real = _real()
    dummies = Counter(d["bits"] for d in real if d["type"] == "dummy")
    assert dummies.most_common(1)[0][0] == "".join(map(str, b.DUMMY_BITS))
    fcch = Counter(d["bits"] for d in real if d["type"] == "FCCH")
    assert fcch.most_common(1)[0][0] == "0" * 148
    sch = Counter(d["bits"][42:106] for d in real if d["type"] == "SCH")
    assert sch.most_common(1)[0][0] == "".join(map(str, b.SCH_TRAINING))
    # the cell's BCC is 0 (BSIC 48), so its normal bursts carry TSC 0
    tsc = Counter(d["bits"][61:87] for d in real if d["type"] == "normal")
    assert tsc.most_common(1)[0][0] == "".join(map(str, b.TSC[0]))


def test_normal_burst_round_trip_hard_and_soft() -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 2, (5, 114)).astype(np.uint8)
    burst = b.normal_burst(data, tsc=5)
    assert burst.shape == (5, 148)
    assert np.array_equal(burst[:, 61:87], np.tile(b.TSC[5], (5, 1)))
    assert (burst[:, [60, 87]] == 1).all() and not burst[:, :3].any() and not burst[:, 145:].any()
    d2, hl, hu = b.normal_payload(burst)
    assert np.array_equal(d2, data) and (hl == 1).all() and (hu == 1).all()
    soft = (2.0 * data - 1).astype(np.float32)
    d3, _, _ = b.normal_payload(b.normal_burst(soft, tsc=0, hl=0, hu=0))
    assert d3.dtype == np.float32 and np.array_equal(d3, soft)


def test_sch_burst_round_trip() -> None:
    e = np.random.default_rng(4).integers(0, 2, (3, 78)).astype(np.uint8)
    burst = b.sch_burst(e)
    assert np.array_equal(burst[0, 42:106], b.SCH_TRAINING)
    assert np.array_equal(b.sch_payload(burst), e)


def test_access_burst_layout() -> None:
    e = np.random.default_rng(5).integers(0, 2, (2, 36)).astype(np.uint8)
    burst = b.access_burst(e)
    assert burst.shape == (2, 88)
    assert burst[0, :8].tolist() == [0, 0, 1, 1, 1, 0, 1, 0]
    assert np.array_equal(burst[1, 8:49], b.ACCESS_SYNC) and not burst[:, 85:].any()
    assert np.array_equal(b.access_payload(burst), e)
    assert 8 + 41 + 36 + 3 == 88


def test_bad_shapes() -> None:
    with pytest.raises(ValueError):
        b.normal_burst(np.zeros((2, 113)), 0)
    with pytest.raises(ValueError):
        b.normal_burst(np.zeros((2, 114)), 8)
    with pytest.raises(ValueError):
        b.sch_payload(np.zeros((2, 147)))
