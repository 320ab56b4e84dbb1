"""Issue 6 acceptance, end to end: the pcapng that `fbsdetect decode --pcap`
writes opens in tshark and shows the same cells and parameters as
`decode --json` prints, and its GSMTAP headers carry ARFCN, frame number,
signal level and SNR. tshark is the independent reader here: nothing of ours
parses the capture."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.cli.main import main
from tests.conftest import require_program, shared_file
from tests.sysinfo.tshark import Dissected, dissect_file

RECORDING = "refgen/pub2_multi_940M_2400k.cu8"  # four cells, ARFCN 20, 23, 26, 29


@pytest.fixture(scope="module")
def decoded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[Dissected]]:
    """(cells of `decode --json`, tshark's dissection of `decode --pcap`) from one run."""
    tshark = require_program("tshark")
    rec = shared_file(RECORDING)
    pcap = tmp_path_factory.mktemp("pcap") / "decode.pcapng"
    out = io.StringIO()  # a module-scoped fixture cannot use capsys
    with contextlib.redirect_stdout(out):
        code = main(["decode", str(rec), "--rate", "2.4e6", "--freq", "940e6", "--json", "--pcap", str(pcap)])
    assert code == 0
    cells = [json.loads(line) for line in out.getvalue().splitlines()]
    return cells, dissect_file(tshark, Path(pcap))


def _one(packets: list[Dissected], arfcn: int, rr_type: int) -> Dissected:
    """A packet of this ARFCN carrying the RR message type (all copies agree: checked)."""
    found = [d for d in packets if d.int("gsmtap.arfcn") == arfcn
             and d.fields.get("gsm_a.dtap.msg_rr_type") == [f"0x{rr_type:02x}"]]
    assert found, (arfcn, hex(rr_type))
    return found[-1]


def test_pcap_shows_the_cells_and_parameters_of_decode_json(
        decoded: tuple[list[dict[str, Any]], list[Dissected]]) -> None:
    cells, packets = decoded
    assert sorted(c["arfcn"] for c in cells) == [20, 23, 26, 29]
    assert packets and all(not d.warnings for d in packets)
    assert {d.int("gsmtap.arfcn") for d in packets} == {c["arfcn"] for c in cells}
    for c in cells:
        p = c["params"]
        si3 = _one(packets, c["arfcn"], 0x1B)
        assert (si3.int("e212.lai.mcc"), si3.int("e212.lai.mnc"), si3.int("gsm_a.lac"),
                si3.int("gsm_a.bssmap.cell_ci")) == (c["mcc"], c["mnc"], c["lac"], c["cid"])
        assert si3.int("gsm_a.rr.t3212") == p["t3212"]
        assert bool(si3.int("gsm_a.rr.att")) == p["att"]
        assert si3.int("gsm_a.rr.cell_reselect_hyst") == p["cell_reselect_hysteresis"]
        assert si3.int("gsm_a.rr.rxlev_access_min") == p["rxlev_access_min"]
        assert si3.int("gsm_a.rr.ms_txpwr_max_cch") == p["ms_txpwr_max_cch"]
        assert bool(si3.int("gsm_a.rr.gprs_indicator")) == p["gprs"]
        assert bool(si3.int("gsm_a.rr.si2quater_indicator")) == p["si2quater"]
        assert bool(si3.int("gsm_a.rr.system_information_type_2ter")) == p["si2ter"]
        selection = bool(si3.int("gsm_a.rr.selection_parameters"))
        assert (si3.int("gsm_a.rr.cell_reselect_offset") if selection else 0) == p["cro"]
        si2 = _one(packets, c["arfcn"], 0x1A)
        assert si2.arfcn_lists()[0] == p["neighbours"]
        si2q = _one(packets, c["arfcn"], 0x07)
        assert si2q.ints("gsm_a.rr.earfcn") == p["eutran_neighbours"]


def test_gsmtap_headers_carry_frame_numbers_of_the_blocks(
        decoded: tuple[list[dict[str, Any]], list[Dissected]]) -> None:
    _, packets = decoded
    fns = [d.int("gsmtap.frame_nr") for d in packets]
    # BCCH/CCCH blocks start at T3 = 2, 6, 12, 16, 22, 26, 32, 36, 42, 46 (TS 45.002 clause 7)
    assert {fn % 51 for fn in fns} <= {2, 6, 12, 16, 22, 26, 32, 36, 42, 46}
    bcch = [d for d in packets if d.int("gsmtap.frame_nr") % 51 == 2]
    assert bcch and all(d.int("gsmtap.chan_type") == 1 for d in bcch)


def test_gsmtap_headers_carry_signal_level_and_snr(
        decoded: tuple[list[dict[str, Any]], list[Dissected]]) -> None:
    cells, packets = decoded
    for c in cells:
        mine = [d for d in packets if d.int("gsmtap.arfcn") == c["arfcn"]]
        signal = statistics.median(d.int("gsmtap.signal_dbm") for d in mine)
        snr = statistics.median(d.int("gsmtap.snr_db") for d in mine)
        assert abs(signal - c["power_dbm"]) <= 2.0, (c["arfcn"], signal, c["power_dbm"])
        assert abs(snr - c["snr_db"]) <= 3.0, (c["arfcn"], snr, c["snr_db"])
