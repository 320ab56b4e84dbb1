"""GIS exports carry the locator's probability regions as they are (review, session 4, #22): the 95 % and
50 % regions as MultiPolygons, holes included, not a circle of the 50 % radius, which made the search area
look ~20x smaller than it is. The circle stays for an estimate that has no regions."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

import pytest

from fbsdetect.export import position_regions, signed_area
from fbsdetect.export.geojson import detection_features

LAT, LON = 36.62, 101.78


def _square(cx: float, cy: float, h: float, ccw: bool = True) -> list[list[float]]:
    pts = [[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]]
    if not ccw:
        pts.reverse()
    return [*pts, pts[0]]


def _position() -> dict[str, Any]:
    # the 95 % region: a block with a hole, and a second patch 300 m south; the 50 % region inside
    r95 = {"type": "MultiPolygon", "coordinates": [
        [_square(LON, LAT, 0.003), _square(LON, LAT, 0.0005, ccw=False)],
        [_square(LON, LAT - 0.003, 0.0008)]]}
    r50 = {"type": "MultiPolygon", "coordinates": [[_square(LON + 0.001, LAT, 0.0004)]]}
    return {"lat": LAT, "lon": LON, "error_m": 29.0, "method": "grid", "region95": r95, "region50": r50}


def _det(position: dict[str, Any] | None) -> Any:
    return SimpleNamespace(id=1, severity="high", score=0.97, mcc=460, mnc=0, lac=9999, cid=1, arfcn=62,
                           bsic=35, first_seen=None, last_seen=None, n_observations=10, sensors=["car"],
                           rules=[], status=None, position=position)


def test_geojson_carries_both_regions_with_their_holes() -> None:
    feats = detection_features(_det(_position()))
    kinds = [f["properties"]["kind"] for f in feats]
    assert kinds == ["detection", "region", "region"]  # no 29 m circle when the regions are there
    r95 = next(f for f in feats if f["properties"].get("level") == 0.95)
    polys = r95["geometry"]["coordinates"]
    assert r95["geometry"]["type"] == "MultiPolygon" and len(polys) == 2 and len(polys[0]) == 2
    assert signed_area([tuple(p) for p in polys[0][0]]) > 0 > signed_area([tuple(p) for p in polys[0][1]])
    south = min(p[1] for poly in polys for ring in poly for p in ring)
    assert (LAT - south) * 111_320 > 300  # the southern patch is there: ~400 m, not 29
    assert [f["properties"]["level"] for f in feats[1:]] == [0.95, 0.5]


def test_without_regions_the_circle_of_the_50_percent_radius_remains() -> None:
    feats = detection_features(_det({"lat": LAT, "lon": LON, "error_m": 85.0}))
    assert [f["properties"]["kind"] for f in feats] == ["detection", "uncertainty"]
    assert feats[1]["properties"]["radius"] == "error_m (50 %)"


def test_malformed_regions_are_left_out_not_fatal() -> None:
    bad = {"lat": LAT, "lon": LON, "error_m": 30.0,
           "region95": {"type": "MultiPolygon", "coordinates": [[[[999, 999], [1, 2]]], "x", [[["a", "b"]]]]},
           "region50": {"type": "Point", "coordinates": [LON, LAT]}}
    assert position_regions(bad) == []
    assert [f["properties"]["kind"] for f in detection_features(_det(bad))] == ["detection", "uncertainty"]


def test_kml_writes_the_regions_as_multigeometry_with_inner_boundaries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from fbsdetect.export import kml

    monkeypatch.setattr(kml, "detection_rows", lambda *_a, **_k: iter([_det(_position())]))
    monkeypatch.setattr(kml, "observation_rows", lambda *_a, **_k: iter([]))
    out = io.StringIO()
    counts = kml.write_kml(object(), out)
    doc = ET.fromstring(out.getvalue())
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = doc.findall(".//k:Placemark", ns)
    names = [m.findtext("k:name", namespaces=ns) for m in marks]
    assert "detection 1 95 % region" in names and "detection 1 50 % region" in names
    r95 = marks[names.index("detection 1 95 % region")]
    assert len(r95.findall(".//k:Polygon", ns)) == 2 and len(r95.findall(".//k:innerBoundaryIs", ns)) == 1
    assert counts["regions"] == 2 and not any("uncertainty" in (n or "") for n in names)
