"""Issue 17: a stored region is drawn as it is: every polygon of a MultiPolygon
(the HPD set of a two-lobed posterior is two polygons, never one hull) and a
polygon's holes as holes (a ring-shaped region filled in would show as likely
the area it leaves out)."""

from __future__ import annotations

import folium

from fbsdetect.mapping.build import _region_polygons, _region_rings

OUTER = [[101.0, 36.0], [101.01, 36.0], [101.01, 36.01], [101.0, 36.01], [101.0, 36.0]]
HOLE = [[101.004, 36.004], [101.004, 36.006], [101.006, 36.006], [101.006, 36.004], [101.004, 36.004]]
LOBE = [[101.02, 36.0], [101.03, 36.0], [101.03, 36.01], [101.02, 36.0]]


def test_polygons_keep_their_holes_and_lobes_stay_apart() -> None:
    region = {"type": "MultiPolygon", "coordinates": [[OUTER, HOLE], [LOBE]]}
    polys = _region_polygons(region)
    assert len(polys) == 2
    assert [len(p) for p in polys] == [2, 1]
    assert polys[0][1][1] == [36.006, 101.004]  # [lat, lon], the hole's own vertices
    assert _region_rings(region) == [polys[0][0], polys[1][0]]
    assert _region_polygons({"type": "Polygon", "coordinates": [OUTER, HOLE]})[0][1] == polys[0][1]
    assert _region_polygons(None) == [] and _region_polygons({"type": "Point"}) == []


def test_a_hole_reaches_leaflet_as_a_hole() -> None:
    m = folium.Map(location=[36.005, 101.005], zoom_start=15)
    rings = _region_polygons({"type": "MultiPolygon", "coordinates": [[OUTER, HOLE]]})[0]
    folium.Polygon(rings, fill=True).add_to(m)
    html = m.get_root().render()
    # L.polygon([[outer...], [hole...]]): the rings nested, the hole's vertices inside the same call
    assert "[[[36.0, 101.0], [36.0, 101.01]" in html.replace("\n", "").replace("  ", "")
    assert "[36.006, 101.004]" in html
