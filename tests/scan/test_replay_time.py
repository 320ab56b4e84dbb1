"""A replayed recording is scanned at the time it was captured (review, session 4, #19): its observations
carry the SigMF core:datetime instant plus their offset into the file, so that a GPS log of that drive
gives them their positions. Before, they carried the clock of the re-scan and no fix matched."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from tests.conftest import shared_file


def _gpx() -> str:
    """A drive logged once a second from 08:29:50 to 08:30:20 UTC on the capture's day."""
    pts = "".join(f'<trkpt lat="{31.2 + k * 1e-4:.4f}" lon="{121.4 + k * 1e-4:.4f}">'
                  f"<time>2025-11-20T08:{29 + (50 + k) // 60:02d}:{(50 + k) % 60:02d}Z</time></trkpt>\n"
                  for k in range(31))
    return ('<?xml version="1.0"?>\n<gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n' + pts + "</trkseg></trk></gpx>\n")


def _recording(tmp_path: Path, when: str | None) -> Path:
    data = shared_file("refgen/pub2_multi_940M_2400k.cu8")
    (tmp_path / "cap.sigmf-data").symlink_to(data)
    cap: dict[str, object] = {"core:sample_start": 0, "core:frequency": 940000000}
    if when is not None:
        cap["core:datetime"] = when
    meta = {"global": {"core:datatype": "cu8", "core:sample_rate": 2400000, "core:version": "1.0.0"},
            "captures": [cap], "annotations": []}
    p = tmp_path / "cap.sigmf-meta"
    p.write_text(json.dumps(meta))
    return p


def _scan(tmp_path: Path, meta: Path, *extra: str) -> list[tuple[str, float | None, int | None]]:
    db = tmp_path / "r.db"
    code = main(["--db", f"sqlite:///{db}", "scan", "--source", f"file:{meta}", "--max-sweeps", "1",
                 "--quiet", *extra])
    assert code == 0
    con = sqlite3.connect(db)
    rows = con.execute("SELECT time, lat, gps_mode FROM observation ORDER BY time").fetchall()
    con.close()
    return rows


def test_a_recording_is_scanned_at_its_capture_time_and_a_gps_log_places_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "key"))
    meta = _recording(tmp_path, "2025-11-20T08:30:00Z")
    (tmp_path / "track.gpx").write_text(_gpx())
    rows = _scan(tmp_path, meta, "--gps", f"gpx:{tmp_path / 'track.gpx'}")
    assert rows, "the recording holds cells"
    assert all(t.startswith("2025-11-20 08:30:0") for t, _lat, _m in rows), rows
    assert all(lat is not None and mode is not None and mode >= 2 for _t, lat, mode in rows), rows


def test_a_recording_without_a_datetime_is_said_to_carry_the_scan_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "key"))
    meta = _recording(tmp_path, None)
    db = tmp_path / "r.db"
    assert main(["--db", f"sqlite:///{db}", "scan", "--source", f"file:{meta}", "--max-sweeps", "1"]) == 0
    assert "does not say when it was made" in capsys.readouterr().err
