"""Acceptance on the real Vodafone capture (all timeslots): the Immediate
Assignment at FN 862212 is followed to SDCCH/8 sub-channel 1 on TS1, whose 4
decodable blocks are exactly libosmocoding's; Paging Response and Ciphering
Mode Command (A5/1) recognised; later blocks counted as ciphered."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fbsdetect.gsm import dedicated
from tests.conftest import shared_file


@pytest.fixture(autouse=True)
def _key(tmp_path, monkeypatch):
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "key"))


def test_sdcch8_mapping() -> None:
    assert dedicated.sdcch8_channel(862210) == dedicated.DedSlot("SDCCH/8", 1, 0)
    assert dedicated.sdcch8_channel(862242) == dedicated.DedSlot("SACCH/8", 1, 0)
    assert dedicated.sdcch8_channel(862206 + 51 + 36).subchannel == 5
    assert dedicated.sdcch8_channel(862206 + 49).kind == "IDLE"
    assert dedicated.sdcch4_channel(22).subchannel == 0
    assert dedicated.sdcch4_channel(51 + 42) == dedicated.DedSlot("SACCH/4", 2, 0)
    assert dedicated.sdcch4_channel(3).kind == "OTHER"
    fns = dedicated.block_fns(1, True, 862210, 2)
    assert (862210, "SDCCH/8") in fns and (862242, "SACCH/8") in fns and len(fns) == 3


def _run(path: str, *extra: str) -> tuple[list[dict[str, object]], str]:
    # compared with gr-gsm's and libosmocoding's frames, which carry the identities as received
    env = {**os.environ, "FBSDETECT_CLEAR_IDENTITIES": "1"}
    p = subprocess.run([sys.executable, "-m", "fbsdetect", "decode-bursts", path, "--stats", *extra],
                       capture_output=True, text=True, check=True, env=env)
    return [json.loads(x) for x in p.stdout.splitlines()], p.stderr


def test_decode_bursts_follows_assignment() -> None:
    bursts = shared_file("real/vf262-02_a725_all_ts_bursts.jsonl")
    expected = [json.loads(x) for x in
                shared_file("real/vf262-02_a725_ts1_frames_osmocoding.jsonl").read_text().splitlines()]
    grgsm = [json.loads(x) for x in
             shared_file("real/vf262-02_a725_ts0_frames_grgsm.jsonl").read_text().splitlines()]
    frames, err = _run(str(bursts))
    ts1 = [f for f in frames if f["ts"] != 0]
    assert [(f["fn"], f["hex"]) for f in ts1] == [(e["fn"], e["hex"]) for e in expected]
    assert all(f["ts"] == 1 and f["channel"] == e["channel"].split()[0]
               for f, e in zip(ts1, expected, strict=True))
    ts0 = [f for f in frames if f["ts"] == 0]
    assert len(ts0) == 293 == len(grgsm)
    assert sorted((f["fn"], f["hex"]) for f in ts0) == sorted((g["fn"], g["hex"]) for g in grgsm)
    assert "543 duplicate bursts" in err and "5 ciphered" in err
    plain, _ = _run(str(bursts), "--no-follow")
    assert plain == ts0


def test_messages_recognised() -> None:
    from fbsdetect.cli.decode_bursts import read_bursts
    from fbsdetect.gsm.ts0decode import Ts0Decoder
    from fbsdetect.traffic.bursts import BurstFollower

    path = shared_file("real/vf262-02_a725_all_ts_bursts.jsonl")
    dec, fol = Ts0Decoder(), BurstFollower()
    with open(path) as fh:
        for fn, ts, soft in read_bursts(fh, str(path)):
            fol.push(fn, ts, soft, dec.push(fn, ts, soft))
    fol.flush(dec.flush())
    ev = fol.follower.events
    assert [e.name for e in ev] == ["Paging Response", "Ciphering Mode Command"]
    assert ev[1].fields["algorithm"] == "A5/1" and ev[1].fn == 862312
    assert ev[0].fields["identity_type"] == "tmsi"
    assert str(ev[0].fields["identity"]).startswith("tmsi:h")  # keyed hash, not the TMSI
    c = fol.follower.counts
    assert c.ciphered == 1 and c.ciphered_blocks >= 1 and c.other["blocks_bad"] == 0
    assert c.paging_responses == 1 and c.sms == 0
