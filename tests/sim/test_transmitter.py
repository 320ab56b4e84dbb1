"""The cell's bit stream: TS0 structure per TS 45.002 (FCCH, SCH with the
running frame number, BCCH by TC, CCCH paging), checked by decoding the
bursts back with the project's decoders and libosmocoding-verified coder."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fbsdetect.gsm import mapping
from fbsdetect.gsm.bursts import DUMMY_BITS, FCCH_BITS, SCH_TRAINING, TSC, normal_payload, sch_payload
from fbsdetect.gsm.coding import sch_decode, xcch_decode
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.scene import loads_scene
from fbsdetect.sim.transmitter import FRAME_BITS, MF_BITS, SLOT_START, CellTransmitter
from fbsdetect.sysinfo import paging
from tests.sim.scenes import FOUR_CELLS


def _tx(index: int, rate: float = 2.0, start_fn: int = 2715648 - 51 * 3 + 7) -> CellTransmitter:
    scene = loads_scene(FOUR_CELLS.format(duration=1.0))
    c = scene.cells[index]
    return CellTransmitter(bsic=c.bsic, combined=c.combined, frames=cell_frames(c), start_fn=start_fn,
                           paging_rate_hz=rate, seed=1, index=index, mcc=c.mcc, mnc=c.mnc,
                           symbol_rate_hz=1625000 / 6)


def _soft(bits: np.ndarray) -> np.ndarray:
    return (2.0 * bits.astype(np.float32) - 1.0)


@pytest.mark.parametrize("index", [0, 1])  # non-combined, combined
def test_multiframes_decode_back(index: int) -> None:
    tx = _tx(index)
    seen_si = set()
    for m in range(-1, 9):  # crosses the hyperframe boundary
        bits, blocks = tx.multiframe(m)
        assert bits.shape == (MF_BITS,)
        frames = bits.reshape(51, FRAME_BITS)
        fn0 = tx.fn_of(m)
        assert fn0 % 51 == 0
        for ts in range(1, 8):  # TS1..7: dummy bursts
            assert (frames[:, SLOT_START[ts]:SLOT_START[ts] + 148] == DUMMY_BITS).all()
        ts0 = frames[:, :148]
        for t3 in range(51):
            slot = mapping.ts0_channel(fn0 + t3, tx.combined)
            if slot.kind == mapping.FCCH:
                assert (ts0[t3] == FCCH_BITS).all()
            elif slot.kind == mapping.SCH:
                assert (ts0[t3, 42:106] == SCH_TRAINING).all()
                d = sch_decode(_soft(sch_payload(ts0[t3])))
                assert d.ok[0] and d.bsic[0] == tx.bsic and d.fn[0] == fn0 + t3
            elif slot.kind in (mapping.SDCCH4, mapping.SACCH4, mapping.IDLE):
                assert (ts0[t3] == DUMMY_BITS).all()
            else:
                assert (ts0[t3, 61:87] == TSC[tx.bsic & 7]).all()
        by_fn = {b.fn: b for b in blocks}
        for t3, kind, _idx in mapping.block_starts(tx.combined):
            if kind not in (mapping.BCCH, mapping.CCCH):
                continue
            data, hl, hu = normal_payload(ts0[t3:t3 + 4])
            assert (hl == 1).all() and (hu == 1).all()
            dec = xcch_decode(_soft(data.reshape(1, 4, 114)))
            assert dec.ok[0]
            frame = bytes(dec.frames[0])
            assert by_fn[fn0 + t3].data == frame
            if kind == mapping.BCCH:
                want = mapping.si_for_tc(mapping.bcch_tc(fn0), set(tx.frames.si), fn0 // 408)
                assert frame == tx.frames.si[want]
                seen_si.add(want)
    assert seen_si == set(tx.frames.si)


def test_paging_rate_and_agch() -> None:
    tx = _tx(0, rate=20.0)
    n_ids = 0
    n_mf = 60
    for m in range(n_mf):
        _, blocks = tx.multiframe(m)
        for b in blocks:
            if b.channel != mapping.CCCH:
                continue
            msg = paging.parse(b.data)
            assert isinstance(msg, paging.PagingRequest)
            real = [i for i in msg.identities if i.kind != "none"]
            assert len(real) == b.identities
            n_ids += len(real)
            if (b.fn % 51) == 6:  # CCCH block 0 is reserved for AGCH (BS_AG_BLKS_RES = 1)
                assert b.identities == 0
    expected = 20.0 * n_mf * MF_BITS / (1625000 / 6)
    assert abs(n_ids - expected) < 4 * expected**0.5


def test_same_multiframe_whatever_came_before() -> None:
    a, b = _tx(0), _tx(0)
    for m in range(3):
        a.multiframe(m)
    bits_a, blocks_a = a.multiframe(5)
    bits_b, blocks_b = b.multiframe(5)
    assert (bits_a == bits_b).all() and blocks_a == blocks_b


def test_paging_near_capacity_is_not_lost() -> None:
    """At 50 pages/s (11.8 per multiframe, capacity 8 blocks x 2 identities) a page
    drawn for a full block goes to another with room: the count sent per
    multiframe is min(Poisson draw, 16), not 18% fewer."""
    tx = _tx(0, rate=50.0)
    n_mf = 80
    sent = sum(b.identities for m in range(n_mf) for b in tx.multiframe(m)[1])
    lam = 50.0 * MF_BITS / (1625000 / 6)
    pmf = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(60)]
    mean = sum(min(k, 16) * p for k, p in enumerate(pmf))
    var = sum((min(k, 16) - mean) ** 2 * p for k, p in enumerate(pmf))
    assert abs(sent - n_mf * mean) < 4 * math.sqrt(n_mf * var), (sent, n_mf * mean)
