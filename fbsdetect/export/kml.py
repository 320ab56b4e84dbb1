"""`export --format kml`: KML 2.2 for Google Earth and GIS, streamed.

Written element by element (a KML library builds the whole document in
memory; a month of observations must not be): a Document with one style per
severity, a "Detections" folder (a placemark per located detection, and its
uncertainty region as a polygon, counter-clockwise) and an "Observations"
folder (a placemark per located observation, with its time as a TimeStamp so
Google Earth's time slider works, and its values as ExtendedData). The tests
read the file back with fastkml.
"""

from __future__ import annotations

from typing import Any, TextIO
from xml.sax.saxutils import escape

from fbsdetect.export import (
    ALL,
    ExportFilter,
    detection_rows,
    in_bbox,
    iso_utc,
    observation_rows,
    position_of,
    position_regions,
    uncertainty_ring,
    valid_position,
)

KML_NS = "http://www.opengis.net/kml/2.2"
# aabbggrr
STYLES = {"obs": "ffd28c3c", "low": "ff00d7ff", "medium": "ff008cff", "high": "ff0000ff"}


def _t(s: Any) -> str:
    return escape(str(s))


def _data(items: dict[str, Any]) -> str:
    parts = ["<ExtendedData>"]
    for k, v in items.items():
        if v is None:
            continue
        parts.append(f'<Data name="{_t(k)}"><value>{_t(v)}</value></Data>')
    parts.append("</ExtendedData>")
    return "".join(parts)


def _cell_name(r: Any) -> str:
    cgi = "-".join("?" if x is None else str(x) for x in (r.mcc, r.mnc, r.lac, r.cid))
    return f"{cgi} ARFCN {r.arfcn if r.arfcn is not None else '?'}"


def _styles() -> str:
    out = []
    for name, colour in STYLES.items():
        scale = "0.6" if name == "obs" else "1.2"
        out.append(f'<Style id="{name}"><IconStyle><color>{colour}</color><scale>{scale}</scale></IconStyle>'
                   f'<LineStyle><color>{colour}</color><width>2</width></LineStyle>'
                   f'<PolyStyle><color>40{colour[2:]}</color></PolyStyle></Style>')
    return "".join(out)


def write_kml(store: Any, out: TextIO, flt: ExportFilter = ALL) -> dict[str, int]:
    counts = {"observations": 0, "unlocated": 0, "detections": 0, "regions": 0}
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}">\n<Document>'
              f"<name>fbsdetect export</name>{_styles()}\n")
    out.write("<Folder><name>Detections</name>\n")
    for d in detection_rows(store, flt):
        pos = position_of(d.position)
        if pos is None or not in_bbox(pos, flt.bbox):
            continue
        sev = d.severity if d.severity in STYLES else "high"
        rules = ", ".join(str(r.get("id")) for r in (d.rules or []) if isinstance(r, dict))
        desc = f"severity {d.severity}, score {d.score}; rules: {rules}"
        props = {"detection_id": d.id, "severity": d.severity, "score": d.score, "mcc": d.mcc,
                 "mnc": d.mnc, "lac": d.lac, "cid": d.cid, "arfcn": d.arfcn, "bsic": d.bsic,
                 "first_seen": iso_utc(d.first_seen), "last_seen": iso_utc(d.last_seen),
                 "n_observations": d.n_observations, "rules": rules}
        out.write(f"<Placemark><name>detection {d.id}: {_t(_cell_name(d))}</name>"
                  f"<description>{_t(desc)}</description><styleUrl>#{sev}</styleUrl>{_data(props)}"
                  f"<Point><coordinates>{pos[1]:.7f},{pos[0]:.7f}</coordinates></Point></Placemark>\n")
        counts["detections"] += 1
        regions = position_regions(d.position)
        for level, polys in regions:  # the locator's regions as they are (holes as inner boundaries)
            geoms = "".join("<Polygon>" + "".join(_boundary(ring, inner=k > 0) for k, ring in enumerate(poly))
                            + "</Polygon>" for poly in polys)
            out.write(f"<Placemark><name>detection {d.id} {round(level * 100)} % region</name>"
                      f"<styleUrl>#{sev}</styleUrl>{_data({'detection_id': d.id, 'level': level})}"
                      f"<MultiGeometry>{geoms}</MultiGeometry></Placemark>\n")
            counts["regions"] += 1
        ring = None if regions else uncertainty_ring(d.position)
        if ring is not None:
            coords = " ".join(f"{x:.7f},{y:.7f}" for x, y in ring)
            out.write(f"<Placemark><name>detection {d.id} uncertainty</name><styleUrl>#{sev}</styleUrl>"
                      f"{_data({'detection_id': d.id})}<Polygon><outerBoundaryIs><LinearRing>"
                      f"<coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
                      "</Placemark>\n")
            counts["regions"] += 1
    out.write("</Folder>\n<Folder><name>Observations</name>\n")
    for r in observation_rows(store, flt):
        if not valid_position(r.lat, r.lon):
            counts["unlocated"] += 1
            continue
        when = iso_utc(r.time)
        ts = f"<TimeStamp><when>{when}</when></TimeStamp>" if when else ""
        props = {"observation_id": r.id, "time": when, "sensor": r.sensor, "mcc": r.mcc, "mnc": r.mnc,
                 "lac": r.lac, "cid": r.cid, "arfcn": r.arfcn, "bsic": r.bsic, "power_dbm": r.power_dbm,
                 "power_ref": r.power_ref, "snr_db": r.snr_db, "gps_mode": r.gps_mode,
                 "gps_error_m": r.gps_error_m, "detection_id": r.detection_id,
                 "severity": r.severity if r.detection_id is not None else None}
        out.write(f"<Placemark><name>{_t(_cell_name(r))}</name>{ts}<styleUrl>#obs</styleUrl>"
                  f"{_data(props)}<Point><coordinates>{r.lon:.7f},{r.lat:.7f}</coordinates></Point>"
                  "</Placemark>\n")
        counts["observations"] += 1
    out.write("</Folder>\n</Document>\n</kml>\n")
    return counts


def _boundary(ring: list[tuple[float, float]], *, inner: bool) -> str:
    tag = "innerBoundaryIs" if inner else "outerBoundaryIs"
    coords = " ".join(f"{x:.7f},{y:.7f}" for x, y in ring)
    return f"<{tag}><LinearRing><coordinates>{coords}</coordinates></LinearRing></{tag}>"
