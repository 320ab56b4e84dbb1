"""Acceptance: Debian's gr-gsm, written by other people, decodes what the
simulator renders. Every BCCH block and paging block listed in truth.json
(after the first 0.25 s, which a receiver starting cold spends finding the
FCCH and SCH) of every cell above 10 dB Eb/N0 is decoded bit-exact at its
frame number, every SI type of truth.json's "si" is among them, and nothing
gr-gsm decodes contradicts the truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fbsdetect.sim.output import simulate
from fbsdetect.sim.scene import loads_scene
from tests.conftest import shared_file
from tests.sim.scenes import FOUR_CELLS, ONE_CELL
from tests.support import grgsm

pytestmark = pytest.mark.external
SYNC_S = 0.25


@pytest.fixture(scope="module")
def have_grgsm() -> None:
    reason = grgsm.unavailable_reason()
    if reason:
        pytest.skip(reason)


def check_cell(cell: dict[str, Any], frames: list[grgsm.GrgsmFrame], duration_s: float) -> dict[str, int]:
    decoded: dict[int, set[str]] = {}
    for f in frames:
        decoded.setdefault(f.fn, set()).add(f.hex)
    truth = {b["fn"]: b for b in cell["blocks"]}
    expected = [b for b in cell["blocks"] if b["t_s"] >= SYNC_S]
    missing = [b for b in expected if b["hex"] not in decoded.get(b["fn"], set())]
    assert not missing, f"{cell['name']}: gr-gsm missed {len(missing)} of {len(expected)} blocks, " \
                        f"first {missing[0]}"
    contradicting = [(fn, h) for fn, hs in decoded.items() for h in hs
                     if h != (truth[fn]["hex"] if fn in truth else cell["ccch_fill"])]
    assert not contradicting, f"{cell['name']}: decoded frames not in the truth: {contradicting[:3]}"
    seen = {h for hs in decoded.values() for h in hs}
    for si_type, hexstr in cell["si"].items():
        assert hexstr in seen, f"{cell['name']}: SI{si_type} never decoded by gr-gsm"
    bcch = [b for b in expected if b["channel"] == "BCCH"]
    assert len(bcch) >= 0.9 * (duration_s - SYNC_S) / 0.2354 - 1
    return {"blocks": len(expected), "bcch": len(bcch), "decoded": len(frames)}


def test_harness_decodes_the_independent_reference(have_grgsm: None) -> None:
    """The harness itself, on refgen's recording (osmocom coder + gr-gsm modulator):
    every complete BCCH block after the first multiframe comes back bit-exact."""
    import json

    rec = shared_file("refgen/pub1_single_939M_1000k.cf32")
    truth = json.loads(shared_file("refgen/pub1_single_939M_1000k.cf32.truth.json").read_text())
    frames = grgsm.decode(rec, sample_rate_hz=1e6, center_freq_hz=939e6, fmt="cf32")
    got = {(f.fn, f.hex) for f in frames}
    bcch = [b for b in truth["cells"][0]["blocks"]
            if b["channel"] == "BCCH" and b["complete"] and b["t_start_s"] > SYNC_S]
    assert len(bcch) >= 8
    assert all((b["fn"], b["hex"]) in got for b in bcch)


def test_one_cell_1msps_cf32(tmp_path: Path, have_grgsm: None) -> None:
    scene = loads_scene(ONE_CELL.format(duration=3.5), source="one.toml")
    out = simulate(scene, tmp_path)
    cell = out.truth["cells"][0]
    assert cell["snr_db"] > 10
    frames = grgsm.decode(out.data_path, sample_rate_hz=1e6, center_freq_hz=939e6, fmt="cf32",
                          freq_hz=cell["freq_hz"])
    stats = check_cell(cell, frames, scene.info.duration_s)
    assert any(b["type"] == "PAGING_REQ_1" for b in cell["blocks"] if b["t_s"] >= SYNC_S)
    assert stats["bcch"] >= 13


@pytest.mark.slow
def test_four_cells_2p4msps_cu8_weak_cell_and_ppm(tmp_path: Path, have_grgsm: None) -> None:
    scene = loads_scene(FOUR_CELLS.format(duration=3.5), source="four.toml")
    out = simulate(scene, tmp_path)
    cells = out.truth["cells"]
    assert out.clipped_values == 0
    weak = next(c for c in cells if c["name"] == "weak")
    assert 10 < weak["snr_db"] < 18, weak["snr_db"]  # the test is only meaningful with a weak cell
    assert "2ter" in next(c for c in cells if c["name"] == "si2ter")["si"]
    strong = [c for c in cells if c["snr_db"] > 10]
    by_arfcn = grgsm.decode_channels(out.data_path, [c["arfcn"] for c in strong], sample_rate_hz=2.4e6,
                                     center_freq_hz=940e6, fmt="cu8")
    for cell in strong:
        check_cell(cell, by_arfcn[cell["arfcn"]], scene.info.duration_s)
    assert len(strong) == 4
