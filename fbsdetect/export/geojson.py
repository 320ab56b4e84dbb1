"""`export --format geojson`: RFC 7946 FeatureCollection, streamed.

- one Point feature per located observation (`"kind": "observation"`;
  coordinates `[lon, lat]` in that order, WGS-84, 7 decimals ~ 1 cm);
  observations without a valid position are left out (counted);
- one Point feature per detection with a position (`"kind": "detection"`),
  and, when the position has an uncertainty region (a circle of `error_m`,
  an ellipse or a polygon: `export.uncertainty_ring`), a Polygon feature
  (`"kind": "uncertainty"`) whose exterior ring is counter-clockwise (the
  right-hand rule of RFC 7946 section 3.1.6) and closed.

No `crs` member (RFC 7946 removed it), no NaN (JSON has none: unknown values
are null). Regions crossing the antimeridian are not split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO

from fbsdetect.export import (
    ALL,
    ExportFilter,
    detection_rows,
    finite,
    in_bbox,
    iso_utc,
    observation_rows,
    position_of,
    position_regions,
    uncertainty_ring,
    valid_position,
)

PRECISION = 7


@dataclass
class GeoJsonStats:
    observations: int = 0
    unlocated: int = 0
    detections: int = 0
    regions: int = 0

    @property
    def features(self) -> int:
        return self.observations + self.detections + self.regions


def _num(v: Any) -> Any:
    return finite(float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v


def observation_feature(r: Any) -> dict[str, Any] | None:
    if not valid_position(r.lat, r.lon):
        return None
    props = {"kind": "observation", "observation_id": r.id, "time": iso_utc(r.time), "sensor": r.sensor,
             "run_id": r.run_id, "mcc": r.mcc, "mnc": r.mnc, "lac": r.lac, "cid": r.cid, "arfcn": r.arfcn,
             "bsic": r.bsic, "power_dbm": _num(r.power_dbm), "power_ref": r.power_ref,
             "snr_db": _num(r.snr_db), "freq_offset_hz": _num(r.freq_offset_hz), "gps_mode": r.gps_mode,
             "gps_error_m": _num(r.gps_error_m), "detection_id": r.detection_id,
             "severity": r.severity if r.detection_id is not None else None}
    return {"type": "Feature", "id": f"obs-{r.id}",
            "geometry": {"type": "Point",
                         "coordinates": [round(r.lon, PRECISION), round(r.lat, PRECISION)]},
            "properties": props}


def detection_properties(d: Any) -> dict[str, Any]:
    return {"detection_id": d.id, "severity": d.severity, "score": _num(d.score), "mcc": d.mcc,
            "mnc": d.mnc, "lac": d.lac, "cid": d.cid, "arfcn": d.arfcn, "bsic": d.bsic,
            "first_seen": iso_utc(d.first_seen), "last_seen": iso_utc(d.last_seen),
            "n_observations": d.n_observations, "sensors": list(d.sensors or []),
            "rules": [r.get("id") for r in (d.rules or []) if isinstance(r, dict)], "status": d.status}


def detection_features(d: Any, bbox: tuple[float, float, float, float] | None = None
                       ) -> list[dict[str, Any]]:
    pos = position_of(d.position)
    if pos is None or not in_bbox(pos, bbox):
        return []
    props = detection_properties(d)
    err = d.position.get("error_m") if isinstance(d.position, dict) else None
    feats: list[dict[str, Any]] = [{
        "type": "Feature", "id": f"det-{d.id}",
        "geometry": {"type": "Point", "coordinates": [round(pos[1], PRECISION), round(pos[0], PRECISION)]},
        "properties": {"kind": "detection", **props, "error_m": _num(err)}}]
    # the locator's probability regions as they are (several polygons, holes): the 95 % region is where
    # to search; the circle of error_m (the 50 % radius) only when an estimate has no regions
    regions = position_regions(d.position)
    for level, polys in regions:
        feats.append({"type": "Feature", "id": f"det-{d.id}-region{round(level * 100)}",
                      "geometry": {"type": "MultiPolygon",
                                   "coordinates": [[[[round(x, PRECISION), round(y, PRECISION)]
                                                     for x, y in ring] for ring in poly] for poly in polys]},
                      "properties": {"kind": "region", "level": level, **props}})
    ring = None if regions else uncertainty_ring(d.position)
    if ring is not None:
        feats.append({"type": "Feature", "id": f"det-{d.id}-region",
                      "geometry": {"type": "Polygon",
                                   "coordinates": [[[round(x, PRECISION), round(y, PRECISION)]
                                                    for x, y in ring]]},
                      "properties": {"kind": "uncertainty", "radius": "error_m (50 %)", **props}})
    return feats


def write_geojson(store: Any, out: TextIO, flt: ExportFilter = ALL) -> GeoJsonStats:
    st = GeoJsonStats()
    out.write('{"type": "FeatureCollection", "features": [\n')
    first = True

    def emit(f: dict[str, Any]) -> None:
        nonlocal first
        if not first:
            out.write(",\n")
        out.write(json.dumps(f, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
        first = False

    for d in detection_rows(store, flt):
        for f in detection_features(d, flt.bbox):
            emit(f)
            if f["properties"]["kind"] == "detection":
                st.detections += 1
            else:
                st.regions += 1
    for r in observation_rows(store, flt):
        of = observation_feature(r)
        if of is None:
            st.unlocated += 1
            continue
        emit(of)
        st.observations += 1
    out.write("\n]}\n")
    return st
