"""GSMTAP v2 header, UDP sender and pcap/pcapng writers, read back by tshark."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from fbsdetect.export.gsmtap import (
    CHANNEL_SUBTYPE,
    GsmtapSender,
    gsmtap_header,
    gsmtap_packet,
    parse_address,
    subtype_for_channel,
)
from fbsdetect.export.pcap import PcapngWriter, PcapWriter
from fbsdetect.types import L2Frame
from tests.conftest import require_program

SI3 = bytes.fromhex("49061b3b2d72f2203aa8d0033c546506b900008020420b")
FILL = bytes.fromhex("1506210001f02b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b")
FRAMES = [
    L2Frame(93, 857108, 0, "BCCH", SI3, power_dbm=-61.4, snr_db=24.6),
    L2Frame(725, 2715647, 0, "CCCH", FILL, power_dbm=-120.0, snr_db=-3.0),
    L2Frame(1023, 5, 0, "SACCH/4", FILL),
]


def test_header_layout() -> None:
    h = gsmtap_header(725, 3, 860933, 0x01, signal_dbm=-61.6, snr_db=20.2, uplink=True, sub_slot=2)
    assert h.hex() == "0204010342d5c214000d2305010002" "00"
    assert subtype_for_channel("CCCH") == CHANNEL_SUBTYPE["CCCH"] == 0x02
    assert subtype_for_channel("SACCH/4") == 0x87
    assert gsmtap_packet(FRAMES[0])[16:] == SI3


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:4729") == ("127.0.0.1", 4729)
    assert parse_address("host") == ("host", 4729)
    assert parse_address(":5000") == ("127.0.0.1", 5000)
    with pytest.raises(ValueError):
        parse_address("h:0")


def test_udp_sender_delivers() -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    port = rx.getsockname()[1]
    with GsmtapSender("127.0.0.1", port) as tx:
        for f in FRAMES:
            tx.send(f)
    got = [rx.recv(100) for _ in FRAMES]
    rx.close()
    assert got == [gsmtap_packet(f) for f in FRAMES]


def _fields(tshark: str, path: Path, *fields: str) -> list[list[str]]:
    args = [tshark, "-n", "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


def test_pcapng_in_tshark(tmp_path: Path) -> None:
    tshark = require_program("tshark")
    p = tmp_path / "f.pcapng"
    with PcapngWriter(p) as w:
        for i, f in enumerate(FRAMES):
            w.write_frame(f, 1772359200.125 + i, 36.6171, 101.7782)
    assert w.packets == 3
    rows = _fields(tshark, p, "gsmtap.arfcn", "gsmtap.frame_nr", "gsmtap.signal_dbm", "gsmtap.snr_db",
                   "gsmtap.chan_type", "udp.dstport", "frame.comment", "gsm_a.bssmap.cell_ci",
                   "frame.time_epoch")
    assert [r[:6] for r in rows] == [
        ["93", "857108", "-61", "25", "1", "4729"],
        ["725", "2715647", "-120", "-3", "2", "4729"],
        ["1023", "5", "0", "0", "135", "4729"],
    ]
    assert rows[0][6] == ("time=2026-03-01T10:00:00.125Z lat=36.617100 lon=101.778200 "
                          "arfcn=93 fn=857108 channel=BCCH")
    assert rows[0][7] == "0x3b2d"
    assert float(rows[2][8]) == pytest.approx(1772359202.125)


def test_plain_pcap_in_tshark(tmp_path: Path) -> None:
    tshark = require_program("tshark")
    p = tmp_path / "f.pcap"
    with PcapWriter(p) as w:
        for f in FRAMES:
            w.write_frame(f, 1772359200.0)
    rows = _fields(tshark, p, "gsmtap.arfcn", "gsm_a.dtap.msg_rr_type")
    # the SACCH sub-type makes tshark expect an L1 header, so only the first two are CCCH
    assert rows[:2] == [["93", "0x1b"], ["725", "0x21"]] and rows[2][0] == "1023"


def test_pcap_of_cells_shows_the_same_cells_in_tshark(tmp_path: Path) -> None:
    """The SI frames of the refgen cells, written as a pcapng, read back by
    tshark: the same identity and parameters as CellParams gives."""
    import json

    from fbsdetect.sysinfo.cell import CellParams
    from tests.conftest import shared_file

    tshark = require_program("tshark")
    truth = json.loads(shared_file("refgen/pub2_multi_940M_2400k.cu8.truth.json").read_text())
    p = tmp_path / "cells.pcapng"
    expected = []
    with PcapngWriter(p) as w:
        for cell in truth["cells"]:
            si = {k.removeprefix("SI"): bytes.fromhex(v) for k, v in cell["si"].items()}
            cp = CellParams.from_frames(si)
            expected.append((cell["arfcn"], cp.mcc, cp.mnc, cp.lac, cp.cid, cp.t3212))
            w.write_frame(L2Frame(cell["arfcn"], 0, 0, "BCCH", si["3"]), 1772359200.0)
    rows = _fields(tshark, p, "gsmtap.arfcn", "e212.lai.mcc", "e212.lai.mnc", "gsm_a.lac",
                   "gsm_a.bssmap.cell_ci", "gsm_a.rr.t3212")
    got = [(int(a), int(mcc), int(mnc), int(lac, 16), int(ci, 16), int(t))
           for a, mcc, mnc, lac, ci, t in rows]
    assert got == expected and len(got) == 4


def test_sdcch4_and_sacch4_frames_carry_their_sub_slot(tmp_path: Path) -> None:
    """GSMTAP sub_slot of a combined TS0's SDCCH/4 and SACCH/4 blocks is the
    sub-channel (TS 45.002 clause 7 table 3: SDCCH/4 0..3 at T3 22, 26, 32, 36;
    SACCH/4 0, 1 at T3 42, 46 of even 51-multiframes, 2, 3 of odd ones), read
    back by tshark; other channels keep 0."""
    tshark = require_program("tshark")
    mf = 51 * 1000  # an even 51-multiframe
    cases = [(mf + 22, "SDCCH/4", 0), (mf + 26, "SDCCH/4", 1), (mf + 32, "SDCCH/4", 2),
             (mf + 36, "SDCCH/4", 3), (mf + 42, "SACCH/4", 0), (mf + 46, "SACCH/4", 1),
             (mf + 51 + 42, "SACCH/4", 2), (mf + 51 + 46, "SACCH/4", 3), (mf + 6, "CCCH", 0),
             (mf + 2, "BCCH", 0)]
    p = tmp_path / "sub.pcapng"
    with PcapngWriter(p) as w:
        for fn, channel, _ in cases:
            w.write_frame(L2Frame(62, fn, 0, channel, FILL), 1772359200.0)
    rows = _fields(tshark, p, "gsmtap.frame_nr", "gsmtap.sub_slot")
    assert [(int(fn), int(sub)) for fn, sub in rows] == [(fn, sub) for fn, _, sub in cases]


def test_parse_address_ipv6() -> None:
    """A bare IPv6 literal is a host, not HOST:PORT; brackets carry a port."""
    assert parse_address("::1") == ("::1", 4729)
    assert parse_address("fe80::1") == ("fe80::1", 4729)
    assert parse_address("[::1]:5000") == ("::1", 5000)
    assert parse_address("[::1]") == ("::1", 4729)
