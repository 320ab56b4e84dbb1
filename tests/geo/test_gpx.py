"""GPX replay; a file that is not GPX XML is one line and exit 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fbsdetect.errors import BadInput
from fbsdetect.geo import open_gps

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><trkseg>
  <trkpt lat="31.2000" lon="121.4000"><ele>5</ele><time>2026-11-30T08:00:00Z</time><hdop>1.2</hdop></trkpt>
  <trkpt lat="31.2010" lon="121.4000"><ele>5</ele><time>2026-11-30T08:00:10Z</time><fix>3d</fix></trkpt>
  <trkpt lat="31.2020" lon="121.4000"><time>2026-11-30T08:00:20Z</time><fix>none</fix></trkpt>
  <trkpt lat="31.2030" lon="121.4000"></trkpt>
 </trkseg></trk>
</gpx>
"""
T0 = datetime(2026, 11, 30, 8, 0, 0, tzinfo=UTC)


def test_replay_by_the_files_time(tmp_path: Path) -> None:
    p = tmp_path / "drive.gpx"
    p.write_text(GPX)
    g = open_gps(f"gpx:{p}")
    f = g.fix_at(T0 + timedelta(seconds=5))
    assert f.source == "gpx" and f.mode == 3
    assert f.lat == pytest.approx(31.2005) and f.error_m == pytest.approx(6.0)
    assert f.speed_m_s == pytest.approx(11.1, rel=0.01)  # 111 m in 10 s, from the neighbours
    assert f.course_deg == pytest.approx(0.0, abs=0.01)
    assert g.fix_at(T0 + timedelta(seconds=15)).mode == 1  # towards a <fix>none</fix> point
    assert g.stats["no_time"] == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["this is not xml at all", "{\"json\": true}", "<gpx><trk>"])
def test_not_xml_is_bad_input_one_line(tmp_path: Path, text: str) -> None:
    p = tmp_path / "bad.gpx"
    p.write_text(text)
    with pytest.raises(BadInput) as err:
        open_gps(f"gpx:{p}")
    assert err.value.exit_code == 2
    assert "\n" not in str(err.value) and str(p) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such GPX"):
        open_gps(f"gpx:{tmp_path / 'nope.gpx'}")


def test_points_with_impossible_values_give_no_position(tmp_path: Path) -> None:
    # a latitude of 95 or NaN must not become every observation's position, nor NaN its error
    p = tmp_path / "bad.gpx"
    p.write_text("""<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
<trkpt lat="95" lon="10"><time>2026-11-30T08:00:00Z</time></trkpt>
<trkpt lat="nan" lon="10"><time>2026-11-30T08:00:01Z</time></trkpt>
<trkpt lat="31.2" lon="121.4"><time>2026-11-30T08:00:02Z</time><hdop>nan</hdop><ele>inf</ele></trkpt>
<trkpt lat="31.2001" lon="121.4"><time>2026-11-30T08:00:03Z</time></trkpt>
</trkseg></trk></gpx>""")
    g = open_gps(f"gpx:{p}")
    fixes = g.fixes  # type: ignore[attr-defined]
    assert [(f.lat, f.mode) for f in fixes[:2]] == [(None, 1), (None, 1)]
    good = fixes[2]
    assert (good.lat, good.error_m, good.alt_m, good.mode) == (31.2, None, None, 2)
    assert good.speed_m_s == pytest.approx(11.1, rel=0.01)  # from its valid neighbour only
    assert g.stats["bad_position"] == 2  # type: ignore[attr-defined]
