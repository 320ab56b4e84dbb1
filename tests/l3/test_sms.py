"""SMS-DELIVER / RP-DATA / CP-DATA build and parse round trips, concatenation,
and tshark's dissection of what we build (GSMTAP on SDCCH/8, SAPI 3)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from fbsdetect.export.pcap import PcapngWriter
from fbsdetect.l3 import lapdm, messages, sms
from fbsdetect.types import L2Frame
from tests.conftest import require_program

T = datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone(timedelta(hours=8)))
ZH = "【工商银行】尊敬的客户您好，您的积分即将清零，请登录 wap.icbc-jf.cc 兑换现金礼品，逾期作废。"
EN = "Your parcel is held at customs [fee 2 EUR]: pay at http://dhl-fee.top/x?id=77 today"


def _deliver(sender: str, text: str, enc: str) -> list[bytes]:
    parts = sms.split_text(text, enc)
    out = []
    for i, p in enumerate(parts, 1):
        concat = (0x42, len(parts), i) if len(parts) > 1 else None
        out.append(sms.build_cp_data(sms.build_rp_data(sms.build_deliver(sender, p, enc, T, concat=concat),
                                                        i, "+8613800100500")))
    return out


@pytest.mark.parametrize(("sender", "text", "enc"), [
    ("95588", ZH, "ucs2"), ("+8613912345678", EN, "gsm7"), ("ICBC", "Hi {you} €5 @home", "gsm7"),
    ("10086", ZH * 3, "ucs2"), ("1069", EN * 3, "gsm7")])
def test_round_trip(sender: str, text: str, enc: str) -> None:
    cat = sms.Concatenator()
    got = []
    for cp in _deliver(sender, text, enc):
        name, d = sms.parse_cp(cp)
        assert name == "CP-DATA" and d is not None
        assert d.sender == sender and d.encoding == enc and d.scts == T and d.smsc == "+8613800100500"
        got += cat.push(d)
    assert len(got) == 1 and got[0][1] == text


def test_lapdm_segmentation_round_trip() -> None:
    cp = _deliver("95588", ZH, "ucs2")[0]
    frames = lapdm.build_frames(3, cp, ns0=2)
    assert len(frames) == (len(cp) + 19) // 20 and all(len(f) == 23 for f in frames)
    r = lapdm.Reassembler()
    out = [m for f in frames for m in r.push(f)]
    assert out == [(3, cp)]
    r2 = lapdm.Reassembler()  # a retransmission is dropped, a gap drops the partial message
    assert [m for f in [frames[0], frames[0], *frames[1:]] for m in r2.push(f)] == [(3, cp)]
    assert r2.stats["lapdm_retransmission"] == 1
    r3 = lapdm.Reassembler()
    assert [m for f in [frames[0], *frames[2:]] for m in r3.push(f)] == []
    assert r3.stats["lapdm_gap"] == 1


def test_messages() -> None:
    m = messages.parse_l3(messages.build_identity_request("imsi"))
    assert not isinstance(m, str) and m.name == "Identity Request" and m.fields["identity_type"] == "imsi"
    m = messages.parse_l3(messages.build_lu_reject(13))
    assert not isinstance(m, str) and m.fields["cause"] == 13
    m = messages.parse_l3(messages.build_ciphering_mode_command(3))
    assert not isinstance(m, str) and m.fields["algorithm"] == "A5/3"
    assert isinstance(messages.parse_l3(b"\x05"), str)


def test_tshark_dissects_sms(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tshark = require_program("tshark")
    path = tmp_path / "sms.pcapng"
    fn = 862206
    with PcapngWriter(path) as w:
        w.write_frame(L2Frame(725, fn, 1, "SDCCH/8", lapdm.build_u(3, lapdm.U_SABM)), 1.0)
        k = 0
        for cp in _deliver("95588", ZH, "ucs2") + _deliver("+8613912345678", EN, "gsm7"):
            for f in lapdm.build_frames(3, cp, ns0=k):
                fn += 51
                w.write_frame(L2Frame(725, fn + 4, 1, "SDCCH/8", f), 1.0 + fn / 216.0)
            k += len(lapdm.build_frames(3, cp))
    p = subprocess.run([tshark, "-r", str(path), "-Y", "gsm_sms", "-T", "fields", "-E", "separator=|",
                        "-e", "gsm_sms.tp-oa", "-e", "gsm_sms.sms_text"],
                       capture_output=True, text=True, check=True)
    rows = [ln.split("|") for ln in p.stdout.splitlines()]
    assert [r[0] for r in rows] == ["95588", "8613912345678"]
    assert rows[0][1] == ZH and rows[1][1] == EN


def test_pycrate_reads_what_we_build() -> None:
    """pycrate's TS 23.040 codec (independent of ours) decodes our SMS-DELIVER."""
    from pycrate_mobile.TS23040_SMS import SMS_DELIVER

    for sender, text, enc in (("95588", ZH, "ucs2"), ("+8613912345678", EN, "gsm7")):
        tp = sms.build_deliver(sender, text, enc, T)
        m = SMS_DELIVER()
        m.from_bytes(tp)
        assert m["TP_OA"]["Num"].decode() == sender.lstrip("+")
        assert m.to_bytes() == tp
