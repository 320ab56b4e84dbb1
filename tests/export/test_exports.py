"""Store exports (issue 11): GeoJSON passes RFC 7946 checks (lon/lat order,
ranges, closed counter-clockwise polygons), KML reads back in fastkml, GPX in
gpxpy, the CSV has the header of contracts.md section 8, and the GSMTAP
pcapng of stored frames dissects in tshark without warnings, with position
and sensor as packet comments. Test data goes in through the scan's
StoreSink; detections and findings are inserted as rows (the engine is
tested elsewhere)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.cli.main import main
from fbsdetect.export import ExportFilter, signed_area, uncertainty_ring
from fbsdetect.store import open_store
from fbsdetect.store.models import Detection, Finding, Observation
from fbsdetect.store.sink import StoreSink
from fbsdetect.sysinfo.cell import CellSpec, build_cell_si
from fbsdetect.types import CellObservation, GpsFix, L2Frame

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
LAT0, LON0 = 36.6171, 101.7782
CSV_HEADER = ("time,lat,lon,gps_mode,gps_error_m,sensor,mcc,mnc,lac,cid,arfcn,bsic,power_dbm,snr_db,"
              "freq_offset_hz,severity,detection_id")


@dataclass
class _Run:
    source: str = "sim:drive.toml"
    profile: str = "cn"
    sensor: str = "laptop-1"
    start_time: datetime = T0
    software_version: str = "test"
    learn: bool = False
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Built:
    url: str
    n_obs: int
    n_located: int
    n_frames: int
    n_fixes_located: int
    detection_id: int
    fake_obs_ids: list[int]


def _frames(cell: CellSpec, t_s: float) -> list[L2Frame]:
    si = build_cell_si(cell)
    return [L2Frame(cell.arfcn, 51 * 100 + 2 + 51 * i, 0, "BCCH", si[k], time_s=t_s, power_dbm=-60.0,
                    snr_db=25.0) for i, k in enumerate(sorted(si))]


def build_store(url: str, *, n: int = 24, params_extra: dict[str, Any] | None = None) -> Built:
    """A drive of `n` observations of two cells (the second one a 'fake' with a detection),
    GPS fixes each second with a dropout, frames with real System Information."""
    store = open_store(url)
    sink = StoreSink(store, sensor="laptop-1")
    sink.run_started(_Run())
    real = CellSpec(mcc=460, mnc=0, lac=10290, cid=41021, arfcn=62, bsic=35)
    fake = CellSpec(mcc=460, mnc=0, lac=10999, cid=41021, arfcn=70, bsic=7)
    ids: list[int] = []
    fake_ids: list[int] = []
    located = frames = fixes_located = 0
    for i in range(n):
        t = T0 + timedelta(seconds=i)
        dropout = 8 <= i < 11
        lat, lon = LAT0 + i * 1e-4, LON0 + i * 2e-4
        fix = GpsFix(t, None if dropout else lat, None if dropout else lon, 0 if dropout else 3,
                     None if dropout else 2.5, alt_m=2200.0, source="scene")
        sink.fix(fix)
        fixes_located += 0 if dropout else 1
        cell = fake if i % 3 == 2 else real
        fr = _frames(cell, float(i))
        params: dict[str, Any] = {"t3212": 20}
        if cell is fake and params_extra:
            params.update(params_extra)
        obs = CellObservation(
            arfcn=cell.arfcn, band="E-GSM900", freq_hz=935.2e6 + 0.2e6 * cell.arfcn, bsic=cell.bsic,
            mcc=cell.mcc, mnc=cell.mnc, lac=cell.lac, cid=cell.cid, power_dbm=-70.0 + i * 0.5, snr_db=20.0,
            freq_offset_hz=None if i == 0 else 100.0 + i, blocks_ok=len(fr), si={}, params=params,
            time=t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), lat=fix.lat, lon=fix.lon,
            gps_mode=fix.mode, gps_error_m=fix.error_m)
        oid = sink.observation(obs, radio_s=float(i), frames=fr)
        ids.append(oid)
        located += 0 if dropout else 1
        frames += len(fr)
        if cell is fake:
            fake_ids.append(oid)
    sink.run_ended({"observations": n})
    with store.session() as s:
        det = Detection(mcc=460, mnc=0, lac=10999, cid=41021, arfcn=70, bsic=7, severity="high", score=0.93,
                        first_seen=T0, last_seen=T0 + timedelta(seconds=n), n_observations=len(fake_ids),
                        sensors=["laptop-1"],
                        rules=[{"id": "lac_unknown", "version": 1, "title": "LAC unknown", "score": 0.6,
                                "evidence": "LAC 10999 is not in the registry"},
                               {"id": "cgi_multi_arfcn", "version": 1, "title": "CGI on two ARFCNs",
                                "score": 0.5, "evidence": "CID 41021 on ARFCN 62 and 70"}],
                        position={"lat": LAT0 + 0.002, "lon": LON0 + 0.003, "error_m": 85.0})
        s.add(det)
        s.flush()
        for oid in fake_ids:
            s.get(Observation, oid).detection_id = det.id  # type: ignore[union-attr]
            s.add(Finding(detection_id=det.id, observation_id=oid, rule_id="lac_unknown", rule_version=1,
                          score=0.6, severity="high", evidence="LAC 10999 is not in the registry"))
        # a second detection without a position (no map feature)
        s.add(Detection(mcc=460, mnc=1, lac=1, cid=2, arfcn=100, bsic=1, severity="low", score=0.2))
        det_id = det.id
    store.close()
    return Built(url, n, located, frames, fixes_located, det_id, fake_ids)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    d = tmp_path_factory.mktemp("exports")
    return build_store(f"sqlite:///{d / 'fbsdetect.db'}")


def _export(built: Built, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"out.{fmt}"
    assert main(["--db", built.url, "export", "--format", fmt, "-o", str(out), *extra]) == 0
    return out


# -- CSV --------------------------------------------------------------------------------

def test_csv_has_the_documented_header_and_one_row_per_observation(built: Built, tmp_path: Path) -> None:
    out = _export(built, tmp_path, "csv")
    text = out.read_text()
    assert text.splitlines()[0].startswith(CSV_HEADER + ",")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == built.n_obs
    by_id = {int(r["observation_id"]): r for r in rows}
    fake = by_id[built.fake_obs_ids[0]]
    assert fake["severity"] == "high" and fake["detection_id"] == str(built.detection_id)
    assert (fake["mcc"], fake["lac"], fake["arfcn"], fake["bsic"]) == ("460", "10999", "70", "7")
    assert fake["sensor"] == "laptop-1" and fake["gps_mode"] == "3" and fake["gps_error_m"] == "2.5"
    real = rows[0]
    assert real["severity"] == "" and real["detection_id"] == ""
    assert real["freq_offset_hz"] == ""  # unknown -> empty
    assert real["time"] == "2026-03-01T10:00:00.000Z"
    dropout = rows[9]
    assert dropout["lat"] == "" and dropout["lon"] == "" and dropout["gps_mode"] == "0"


def test_filters_select_time_box_detection_and_run(built: Built, tmp_path: Path) -> None:
    def n_rows(*extra: str) -> int:
        return len(list(csv.DictReader(io.StringIO(_export(built, tmp_path, "csv", *extra).read_text()))))

    assert n_rows("--since", "2026-03-01T10:00:05Z", "--until", "2026-03-01T10:00:10Z") == 5
    assert n_rows("--detection", str(built.detection_id)) == len(built.fake_obs_ids)
    assert n_rows("--run", "1") == built.n_obs
    assert n_rows("--run", "99") == 0
    # a box around the first 5 positions
    bbox = f"{LAT0 - 1e-5},{LON0 - 1e-5},{LAT0 + 4.5e-4},{LON0 + 9e-4}"
    assert n_rows("--bbox", bbox) == 5


@pytest.mark.parametrize("argv", [["--bbox", "1,2,3"], ["--since", "yesterday"], ["--bbox", "50,0,40,1"],
                                  ["--format", "evidence"]])
def test_bad_filters_are_one_line_exit_2(built: Built, tmp_path: Path, argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--db", built.url, "export", "-o", str(tmp_path / "x")]
    if "--format" not in argv:
        args += ["--format", "csv"]
    assert main([*args, *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["csv", "geojson", "kml", "gpx", "pcap"])
def test_output_that_is_a_folder_is_one_line_exit_2(built: Built, tmp_path: Path, fmt: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", built.url, "export", "--format", fmt, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a directory" in err and "internal error" not in err


# -- GeoJSON ----------------------------------------------------------------------------

def _check_position(pos: list[float]) -> None:
    assert len(pos) in (2, 3)
    lon, lat = pos[0], pos[1]
    assert -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0


def test_geojson_is_rfc7946(built: Built, tmp_path: Path) -> None:
    doc = json.loads(_export(built, tmp_path, "geojson").read_text())
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    feats = doc["features"]
    kinds = [f["properties"]["kind"] for f in feats]
    assert kinds.count("observation") == built.n_located
    assert kinds.count("detection") == 1 and kinds.count("uncertainty") == 1
    for f in feats:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        g = f["geometry"]
        if g["type"] == "Point":
            _check_position(g["coordinates"])
        else:
            assert g["type"] == "Polygon"
            for k, ring in enumerate(g["coordinates"]):
                assert len(ring) >= 4 and ring[0] == ring[-1]
                for p in ring:
                    _check_position(p)
                area = signed_area([(p[0], p[1]) for p in ring])
                assert (area > 0) if k == 0 else (area < 0)  # exterior counter-clockwise (right-hand rule)
    # lon/lat order: the first observation is at (LAT0, LON0); LON0 > 90 could not be a latitude
    first = next(f for f in feats if f["properties"]["kind"] == "observation")
    assert first["geometry"]["coordinates"] == [round(LON0, 7), round(LAT0, 7)]
    det = next(f for f in feats if f["properties"]["kind"] == "detection")
    assert det["geometry"]["coordinates"] == [round(LON0 + 0.003, 7), round(LAT0 + 0.002, 7)]
    # the 85 m circle: every vertex ~85 m from the centre
    region = next(f for f in feats if f["properties"]["kind"] == "uncertainty")
    for lon, lat in region["geometry"]["coordinates"][0]:
        dy = (lat - (LAT0 + 0.002)) * 111_320
        dx = (lon - (LON0 + 0.003)) * 111_320 * math.cos(math.radians(LAT0))
        assert abs(math.hypot(dx, dy) - 85.0) < 1.0


def test_uncertainty_regions_come_out_counter_clockwise_whatever_their_input() -> None:
    cw = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]  # [lat, lon]: N, then NE, E: clockwise
    ring = uncertainty_ring({"lat": 0.5, "lon": 0.5, "polygon": cw})
    assert ring is not None and ring[0] == ring[-1] and signed_area(ring) > 0
    ring2 = uncertainty_ring({"lat": 0.5, "lon": 0.5, "polygon": list(reversed(cw))})
    assert ring2 is not None and signed_area(ring2) > 0
    ell = uncertainty_ring({"lat": 10.0, "lon": 20.0,
                            "ellipse": {"semi_major_m": 300, "semi_minor_m": 100, "azimuth_deg": 90}})
    assert ell is not None and signed_area(ell) > 0
    lons = [p[0] for p in ell]
    lats = [p[1] for p in ell]
    # the major axis points east: the ring is ~3x wider (in metres) than tall
    width = (max(lons) - min(lons)) * 111_320 * math.cos(math.radians(10.0))
    height = (max(lats) - min(lats)) * 111_320
    assert width == pytest.approx(600, rel=0.02) and height == pytest.approx(200, rel=0.02)
    assert uncertainty_ring({"lat": 1.0, "lon": 2.0}) is None
    assert uncertainty_ring({"lat": 95.0, "lon": 2.0, "error_m": 5}) is None


# -- KML ------------------------------------------------------------------------------

def test_kml_round_trips_through_fastkml(built: Built, tmp_path: Path) -> None:
    pytest.importorskip("fastkml", reason="fastkml (the [dev] extra) reads the KML back")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastkml warns that lxml (pretty printing) is absent
        from fastkml import kml

    text = _export(built, tmp_path, "kml").read_text(encoding="utf-8")
    doc = kml.KML.from_string(text.encode("utf-8"))
    (document,) = doc.features
    folders = {f.name: f for f in document.features}
    assert set(folders) == {"Detections", "Observations"}
    obs = list(folders["Observations"].features)
    assert len(obs) == built.n_located
    p0 = obs[0]
    assert (p0.geometry.x, p0.geometry.y) == pytest.approx((LON0, LAT0))
    data = {d.name: d.value for d in p0.extended_data.elements}
    assert data["mcc"] == "460" and data["sensor"] == "laptop-1"
    assert p0.times.timestamp.dt == T0
    dets = list(folders["Detections"].features)
    assert len(dets) == 2  # the point and its uncertainty polygon
    poly = dets[1].geometry
    ring = [(c[0], c[1]) for c in poly.exterior.coords]
    assert ring[0] == ring[-1] and signed_area(ring) > 0


# -- GPX ------------------------------------------------------------------------------

def test_gpx_tracks_read_back_in_gpxpy(built: Built, tmp_path: Path) -> None:
    gpxpy = pytest.importorskip("gpxpy", reason="gpxpy (the [gps] extra) reads the GPX back")
    g = gpxpy.parse(_export(built, tmp_path, "gpx").read_text())
    (trk,) = g.tracks
    assert len(trk.segments) == 2  # split at the dropout
    pts = [p for s in trk.segments for p in s.points]
    assert len(pts) == built.n_fixes_located
    assert (pts[0].latitude, pts[0].longitude, pts[0].elevation) == pytest.approx((LAT0, LON0, 2200.0))
    assert pts[0].time == T0


# -- pcapng ---------------------------------------------------------------------------

def test_pcap_of_stored_frames_dissects_in_tshark_without_warnings(built: Built, tmp_path: Path) -> None:
    from tests.conftest import require_program
    from tests.sysinfo.tshark import dissect_file

    tshark = require_program("tshark")
    out = _export(built, tmp_path, "pcap")
    packets = dissect_file(tshark, out)
    assert len(packets) == built.n_frames
    assert all(not d.warnings for d in packets), [d.warnings for d in packets if d.warnings][:3]
    assert all("gsmtap" in d.protos and "gsm_a.ccch" in d.protos for d in packets)
    comments = [d.fields.get("frame.comment", [""])[0] for d in packets]
    assert all("sensor=laptop-1" in c for c in comments)
    located = [c for c in comments if "lat=" in c]
    assert f"lat={LAT0:.6f} lon={LON0:.6f}" in located[0]
    assert any("gps_mode=0" in c and "lat=" not in c for c in comments)  # frames during the dropout
    arfcns = {d.int("gsmtap.arfcn") for d in packets}
    assert arfcns == {62, 70}
    # the detection's frames only
    out2 = _export(built, tmp_path, "pcap", "--detection", str(built.detection_id))
    assert {d.int("gsmtap.arfcn") for d in dissect_file(tshark, out2)} == {70}


def test_exports_stream_rows_from_a_cursor(built: Built) -> None:
    """observation_rows is a generator over one cursor (nothing is collected first)."""
    import types

    from fbsdetect.export import observation_rows

    store = open_store(built.url)
    try:
        it = observation_rows(store, ExportFilter())
        assert isinstance(it, types.GeneratorType)
        assert next(it).id == 1
        it.close()
    finally:
        store.close()


def test_exports_on_both_backends(db_url: str, tmp_path: Path) -> None:
    """The same exports from SQLite and PostgreSQL (server-side cursors there)."""
    b = build_store(db_url, n=6)
    rows = list(csv.DictReader(io.StringIO(_export(b, tmp_path, "csv").read_text())))
    assert len(rows) == 6 and rows[2]["severity"] == "high"
    doc = json.loads(_export(b, tmp_path, "geojson").read_text())
    assert sum(f["properties"]["kind"] == "observation" for f in doc["features"]) == b.n_located
    assert main(["--db", b.url, "verify"]) == 0
