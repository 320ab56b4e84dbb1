"""The scan pipeline end to end on a small sweep scene (4 cells spread over E-GSM900,
a moving receiver) through MemorySink, and `fbsdetect scan` into SQLite."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.geo import open_gps
from fbsdetect.scan.profile import load_profile
from fbsdetect.scan.runner import ScanRunner
from fbsdetect.scan.sink import MemorySink
from fbsdetect.sim.channel import quantisation_noise_fullscale, thermal_noise_dbm
from fbsdetect.sources.sim import SimSource

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "corpus" / "sweep" / "small.toml"


def _snr_by_arfcn(src: SimSource) -> dict[int, float]:
    """The scene's mean SNR per cell (truth.json's definition): for the test only."""
    r = src.scene.receiver
    th = thermal_noise_dbm(r.sample_rate_hz, r.noise_figure_db)
    q = 10 * math.log10(quantisation_noise_fullscale(r.format)) - r.gain_db
    noise = 10 * math.log10(10 ** (th / 10) + 10 ** (q / 10)) - 10 * math.log10(r.sample_rate_hz / 270833.33)
    out = {}
    for st in src._renderer.cells:
        p = st.link.mean_power_dbm(0.0, src.scene.info.duration_s)
        out[st.cell.arfcn] = p - noise
    return out


Scanned = tuple[MemorySink, dict[str, Any], dict[int, float], SimSource]


@pytest.fixture(scope="module")
def scanned() -> Scanned:
    src = SimSource.from_path(SMALL)
    truth_snr = _snr_by_arfcn(SimSource.from_path(SMALL))
    sink = MemorySink()
    runner = ScanRunner(src, load_profile("cn"), sink, source_spec=f"sim:{SMALL}",
                        gps=open_gps(None, source=src), sensor="test-1")
    summary = runner.run()
    return sink, summary, truth_snr, src


def test_every_cell_above_9db_found_with_identity(scanned: Scanned) -> None:
    _sink, summary, truth_snr, src = scanned
    cells = {(c["arfcn"], c["bsic"]): c for c in summary["cells"]}
    scene_cells = {(c.arfcn, c.bsic): c for c in src.scene.cells}
    for key, c in scene_cells.items():
        if truth_snr[c.arfcn] <= 9.0:
            continue
        got = cells.get(key)
        assert got is not None, f"cell {key} ({truth_snr[c.arfcn]:.1f} dB) not found"
        assert (got["mcc"], got["mnc"], got["lac"], got["cid"]) == (c.mcc, c.mnc, c.lac, c.cid)
        assert got["identity_s"] is not None and got["identity_s"] < 10.0
    assert set(cells) <= set(scene_cells), "a cell that is not in the scene"
    assert summary["radio_s"] <= src.scene.info.duration_s + 0.5  # a sim: scan ends with the scene
    assert summary["overflows"] == 0 and summary["stale_reads"] == 0 and summary["dropped_s"] == 0
    assert summary["sweeps"] >= 1
    assert any(c["si_complete_s"] is not None for c in summary["cells"])


def test_observations_carry_positions_of_a_moving_receiver(scanned: Scanned) -> None:
    sink, summary, _snr, src = scanned
    obs = [o for o in sink.observations if o.kind == "dwell"]
    assert obs and sink.info is not None and sink.info.profile == "cn"
    positions = set()
    for o in obs:
        c = o.obs
        assert c.sensor == "test-1" and c.gps_mode == 3 and c.lat is not None and c.lon is not None
        assert c.time is not None and c.time.startswith("2026-03-02T09:00:")
        lat, lon = src.scene.receiver.route.position(o.radio_s)
        assert abs(lat - c.lat) < 1e-6 and abs(lon - c.lon) < 1e-6  # the fix at the cell's instant
        positions.add((round(c.lat, 5), round(c.lon, 5)))
        assert o.frames and all(f.arfcn == c.arfcn for f in o.frames)
    assert len(positions) >= 3
    kinds = {t.kind for t in sink.tunings}
    assert {"power", "decode", "lte"} <= kinds
    p = next(t for t in sink.tunings if t.kind == "power")
    assert p.spectrum_db.size > 0 and p.noise_floor_db is not None
    assert sink.fixes and sink.summary is summary and sink.flushes >= 1


def test_cli_scan_into_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    out = tmp_path / "summary.json"
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"sim:{SMALL}",
                        "--max-sweeps", "1", "--db", f"sqlite:///{db}", "--summary-json", str(out),
                        "--sensor", "cli-1",
                        "--duration-s", "8"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    s = json.loads(out.read_text())
    for k in ("source", "profile", "start_time", "radio_s", "cpu_s", "overflows", "sweeps", "tunings",
              "cells"):
        assert k in s
    assert s["profile"] == "cn" and s["cells"]
    for t in s["tunings"]:
        assert set(t["outcome"]) == {"no_energy", "no_fcch", "no_sch", "crc_fail", "decoded"}
    con = sqlite3.connect(db)
    n = con.execute("select count(*) from observation where lat is not null").fetchone()[0]
    assert n >= 1
    assert con.execute("select count(*) from tuning").fetchone()[0] >= 18


def test_cli_bad_profile_is_exit_2(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"sim:{SMALL}",
                        "--profile", "nope", "--no-store"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_every_tuning_has_a_spectrum(scanned: Scanned) -> None:
    sink, _summary, _snr, _src = scanned
    for t in sink.tunings:
        if t.kind in ("power", "lte", "decode"):
            assert t.spectrum_db.size == 256 and t.spectrum_step_hz > 0, t.kind
            assert abs(t.spectrum_start_hz + t.spectrum_step_hz * 128 - t.center_freq_hz) < 1.0


def test_file_source_is_swept_within_its_band(tmp_path: Path) -> None:
    """A recording replayed as `file:` keeps its rate; the plan stays inside the band it holds."""
    from tests.conftest import shared_file

    rec = shared_file("refgen/pub2_multi_940M_2400k.cu8")
    out = tmp_path / "f.json"
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"file:{rec}", "--no-store",
                        "--summary-json", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    s = json.loads(out.read_text())
    assert {c["arfcn"] for c in s["cells"]} == {20, 23, 26, 29}  # the four cells of refgen's pub2
    assert all(c["mcc"] is not None for c in s["cells"])
    assert any("outside the recording's band" in u for u in s["unreachable"])
