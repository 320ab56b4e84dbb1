"""The simulator's dedicated-channel conversations (sim.dedicated): a fake
cell's Identity Request / LU Reject / SMS in clear and a legitimate cell's
ciphered traffic, read back by our own follower from the transmitter's bits,
and by gr-gsm (`grgsm_decode -m SDCCH8 -t 1`) from a rendered recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ
from fbsdetect.errors import BadInput
from fbsdetect.gsm.ts0decode import Ts0Decoder
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.dedicated import schedule_for, unsegment
from fbsdetect.sim.scene import load_scene
from fbsdetect.sim.transmitter import SLOT_START, CellTransmitter
from fbsdetect.traffic.follower import TrafficFollower

ZH = "【工商银行】尊敬的客户：您的账户积分将于今日清零，请登录 icbc-jf.cc 兑换现金，逾期作废。"
ZH_LONG = ("【中国建设银行】尊敬的用户您好，您的信用卡额度已提升至五万元，为保障您的资金安全，请在二十四"
           "小时内登录我行官方网站 ccb-vip.top 完成身份验证并领取提额礼包，逾期未验证将冻结账户，谢谢合作。")

SCENE = """
[scene]
name = "ded"
seed = 5
duration_s = {duration}
[receiver]
sample_rate = 1000000
center_freq_hz = 939000000
format = "cf32"
gain_db = 40.0
position = [36.6171, 101.7782]
[[cell]]
name = "fake"
arfcn = 20
mcc = 460
mnc = 0
lac = 6151
cid = 20015
bsic = 38
position = [36.62, 101.78]
eirp_dbm = 30.0
label = "fake"
ccch = "{ccch}"
dedicated = "{mode}"
ciphering = {ciphering}
identity_request = "imsi"
lu_reject_cause = 13
phones_per_min = {ppm}
[[cell.sms]]
at_s = 0.5
sender = "95588"
text = "{zh}"
[[cell.sms]]
at_s = 0.8
sender = "10086"
text = "{zh_long}"
[[cell.sms]]
at_s = 1.0
sender = "DHL"
text = "Parcel held: pay fee at http://dhl-x.top/?q=1 [today]"
"""


def scene_text(*, mode: str = "sdcch8", ccch: str = "non-combined", ciphering: bool = False,
               ppm: float = 30.0, duration: float = 8.0) -> str:
    return SCENE.format(mode=mode, ccch=ccch, ciphering=str(ciphering).lower(), ppm=ppm,
                        duration=duration, zh=ZH, zh_long=ZH_LONG)


def _load(tmp_path: Path, text: str) -> Any:
    p = tmp_path / "ded.toml"
    p.write_text(text)
    return load_scene(p)


def _follow(scene: Any, n_mf: int) -> tuple[TrafficFollower, Any]:
    cell = scene.cells[0]
    start_fn = 1000 * 51
    sched = schedule_for(scene, cell, start_fn, SYMBOL_RATE_HZ)
    tx = CellTransmitter(bsic=cell.bsic, combined=cell.combined, frames=cell_frames(cell),
                         start_fn=start_fn, paging_rate_hz=cell.paging_rate, seed=1, index=0,
                         mcc=cell.mcc, mnc=cell.mnc, symbol_rate_hz=SYMBOL_RATE_HZ, dedicated=sched)
    dec = Ts0Decoder(combined=cell.combined, batch_blocks=64)
    fol = TrafficFollower(cell.arfcn, combined=cell.combined, hasher=lambda k, v: k)
    for m in range(n_mf):
        bits, _ = tx.multiframe(m)
        frames = bits.reshape(51, 1250)
        for t3 in range(51):
            fn = tx.fn_of(m, t3)
            for ts in (0, 1):
                soft = 2.0 * frames[t3, SLOT_START[ts]:SLOT_START[ts] + 148].astype(np.float32) - 1.0
                got = dec.push(fn, ts, soft)
                fol.on_burst(fn, ts, soft)
                for g in got:
                    if hasattr(g, "channel"):
                        fol.on_ccch(g)
    for g in dec.flush():
        if hasattr(g, "channel"):
            fol.on_ccch(g)
    fol.flush()
    return fol, sched


@pytest.mark.parametrize(("mode", "ccch"), [("sdcch8", "non-combined"), ("sdcch4", "combined")])
def test_fake_cell_conversations(tmp_path: Path, mode: str, ccch: str) -> None:
    scene = _load(tmp_path, scene_text(mode=mode, ccch=ccch))
    fol, sched = _follow(scene, 34)
    got = sorted((s.sender, s.text, s.encoding, s.fn) for s in fol.sms)
    want = sorted((s["sender"], s["text"], s["encoding"], s["fn"]) for s in sched.truth_sms)
    assert got == want and len(got) == 3
    assert sorted(s.parts for s in fol.sms) == [1, 1, 2]
    c = fol.counts
    n_phones = sum(1 for x in sched.truth_conversations if x["kind"] == "phone" and x["blocks"])
    done = [x for x in sched.truth_conversations if x["ia_fn"] < 1000 * 51 + 51 * 33 - 51 * 12]
    assert c.assignments >= len(done) and c.hopping == 0 and c.ciphered == 0 and c.ciphered_blocks == 0
    assert c.identity_requests["imsi"] >= n_phones - 2 and c.lu_rejects >= n_phones - 2
    assert c.imsi_request_then_reject == c.lu_rejects and c.lu_reject_causes == {13: c.lu_rejects}
    assert c.sms == c.sms_unciphered == 3 and c.other["blocks_bad"] == 0


def test_legit_cell_is_ciphered(tmp_path: Path) -> None:
    scene = _load(tmp_path, scene_text(ciphering=True))
    fol, sched = _follow(scene, 34)
    assert fol.sms == [] and fol.counts.sms == 0
    assert fol.counts.ciphered >= 3 and fol.counts.ciphered_blocks >= 8 * 3
    assert fol.counts.other["blocks_bad"] == 0 and fol.counts.auth_requests == fol.counts.ciphered
    assert all(s["ciphered"] for s in sched.truth_sms)


def test_scene_keys(tmp_path: Path) -> None:
    s = _load(tmp_path, scene_text())
    assert s.cells[0].traffic.identity_request == "imsi"
    assert s.cells[0].params_json()["lu_reject_cause"] == 13
    with pytest.raises(BadInput, match="sdcch4 needs"):
        _load(tmp_path, scene_text(mode="sdcch4"))
    with pytest.raises(BadInput, match="'wrong': unknown key"):
        _load(tmp_path, scene_text() + 'wrong = 1\n')
    plain = _load(tmp_path, scene_text().split("label =")[0])
    assert plain.cells[0].traffic is None and "dedicated" not in plain.cells[0].params_json()
    assert unsegment("尊敬 的 客户 您好 , call DIGIT now") == "尊敬的客户您好, call DIGIT now"


@pytest.mark.slow
def test_grgsm_decodes_the_fake_sdcch(tmp_path: Path) -> None:
    from fbsdetect.sim.output import simulate
    from tests.support import grgsm

    reason = grgsm.unavailable_reason()
    if reason:
        pytest.skip(reason)
    import json

    scene = _load(tmp_path, scene_text(duration=4.0, ppm=20.0))
    out = simulate(scene, tmp_path)
    truth = json.loads(Path(out.truth_path).read_text())
    frames = grgsm.decode(out.data_path, sample_rate_hz=1e6, center_freq_hz=939e6, fmt="cf32",
                          mode="SDCCH8", timeslot=1)
    cell = truth["cells"][0]
    assert cell["sms"][0]["sender"] == "95588"
    sched = schedule_for(scene, scene.cells[0], cell["start_fn"],
                         SYMBOL_RATE_HZ * (1 + cell["freq_error_ppm"] * 1e-6))
    want = {(sched.fn_of(m, t3), data.hex()) for m, blocks in sched.blocks.items()
            for (t3, _, data) in blocks if data is not None}
    got = {(f.fn, f.hex) for f in frames}
    lo, hi = min(fn for fn, _ in got), max(fn for fn, _ in got)
    inside = {w for w in want if lo <= w[0] <= hi}
    assert len(inside) >= 40
    assert inside <= got, sorted(inside - got)[:5]


def test_sms_from_dataset(tmp_path: Path) -> None:
    """Texts drawn from the FBS Spam SMS Dataset (Zhang et al., ACM CCS 2020)."""
    from tests.conftest import shared_file

    shared_file("fbs_sms/fbs_sms_train.jsonl")
    text = scene_text(ppm=0.0).split("[[cell.sms]]")[0] + "sms_from_dataset = 4\n"
    scene = _load(tmp_path, text)
    fol, sched = _follow(scene, 34)
    assert len(sched.truth_sms) == 4 and all(" " not in s["text"][:4] for s in sched.truth_sms)
    got = sorted((s.sender, s.text) for s in fol.sms)
    assert got == sorted((s["sender"], s["text"]) for s in sched.truth_sms if s["fn"] < 1000 * 51 + 51 * 20)
