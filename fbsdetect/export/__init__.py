"""Exports: GeoJSON, KML, CSV, GPX, GSMTAP (UDP and pcap), evidence packages.

Every store export streams: rows come through one server-side cursor
(`stream_results`, `yield_per`) and are written as they come, so that a
month of a node's data never sits in memory. `ExportFilter` is the shared
selection (`--since --until --bbox --detection --run`); `observation_rows`
is the one query behind the CSV, GeoJSON and KML exports.

This package's `__init__` stays light (the decoder imports `export.gsmtap`):
database imports happen inside the functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

YIELD_PER = 2000


@dataclass(frozen=True)
class ExportFilter:
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None  # S, W, N, E (degrees)
    detection_id: int | None = None
    run_id: int | None = None


ALL = ExportFilter()  # no filter


def iso_utc(t: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and 'Z' (the observations' time format)."""
    if t is None:
        return None
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def valid_position(lat: float | None, lon: float | None) -> bool:
    return (lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
            and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0)


def in_bbox(pos: tuple[float, float] | None, bbox: tuple[float, float, float, float] | None) -> bool:
    """(lat, lon) inside S, W, N, E (True without a bbox; W > E crosses the antimeridian)."""
    if bbox is None:
        return True
    if pos is None:
        return False
    s, w, n, e = bbox
    lat, lon = pos
    return s <= lat <= n and ((w <= lon <= e) if w <= e else (lon >= w or lon <= e))


def _observation_where(stmt: Any, flt: ExportFilter) -> Any:
    from sqlalchemy import or_, select

    from fbsdetect.store.models import Finding, Observation

    o = Observation
    if flt.since is not None:
        stmt = stmt.where(o.time >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(o.time < flt.until)
    if flt.run_id is not None:
        stmt = stmt.where(o.run_id == flt.run_id)
    if flt.bbox is not None:
        s, w, n, e = flt.bbox
        stmt = stmt.where(o.lat >= s, o.lat <= n)
        stmt = stmt.where(o.lon >= w, o.lon <= e) if w <= e else stmt.where(or_(o.lon >= w, o.lon <= e))
    if flt.detection_id is not None:
        by_finding = select(Finding.observation_id).where(Finding.detection_id == flt.detection_id)
        stmt = stmt.where(or_(o.detection_id == flt.detection_id, o.id.in_(by_finding)))
    return stmt


def observation_rows(store: Any, flt: ExportFilter = ALL, *, full: bool = False) -> Iterator[Any]:
    """Observations (every column, plus `sensor` name and the detection's `severity`), in id
    order, streamed. For --detection: the observations linked to it directly or by a finding.
    Without `full`, the raw SI and params JSON columns are left out (a third of the cost)."""
    from sqlalchemy import select

    from fbsdetect.store.models import Detection, Observation, Sensor

    cols = [c for c in Observation.__table__.columns if full or c.name not in ("si", "params")]
    stmt = (select(*cols, Sensor.name.label("sensor"), Detection.severity.label("severity"))
            .select_from(Observation)
            .outerjoin(Sensor, Sensor.id == Observation.sensor_id)
            .outerjoin(Detection, Detection.id == Observation.detection_id))
    stmt = _observation_where(stmt, flt).order_by(Observation.id)
    with store.engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)


def detection_rows(store: Any, flt: ExportFilter = ALL) -> Iterator[Any]:
    """Detections (--detection: that one; --since/--until: those seen in the window), streamed."""
    from sqlalchemy import select

    from fbsdetect.store.models import Detection

    d = Detection
    stmt = select(d.__table__).order_by(d.id)
    if flt.detection_id is not None:
        stmt = stmt.where(d.id == flt.detection_id)
    if flt.since is not None:
        stmt = stmt.where(d.last_seen >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(d.first_seen < flt.until)
    if flt.run_id is not None:
        from fbsdetect.store.models import Observation

        stmt = stmt.where(d.id.in_(select(Observation.detection_id).where(Observation.run_id == flt.run_id)))
    with store.engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)


def position_of(position: dict[str, Any] | None) -> tuple[float, float] | None:
    """(lat, lon) of a detection's stored position, when valid."""
    if not isinstance(position, dict):
        return None
    try:
        lat, lon = float(position["lat"]), float(position["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lat, lon) if valid_position(lat, lon) else None


REGION_LEVELS = (("region95", 0.95), ("region50", 0.5))  # the locator's regions (fbsdetect.locate)


Polygons = list[list[list[tuple[float, float]]]]  # polygons, each a list of rings of (lon, lat)


def position_regions(position: dict[str, Any] | None) -> list[tuple[float, Polygons]]:
    """The stored probability regions of a position: [(level, polygons)], each polygon a list of rings
    of (lon, lat) (the first the outer boundary, the others holes), from the locator's GeoJSON
    MultiPolygons `region95` / `region50`. Rings that are not closed lists of valid positions are
    left out; an empty list when there are none (the caller may then draw `uncertainty_ring`)."""
    out: list[tuple[float, Polygons]] = []
    if not isinstance(position, dict):
        return out
    for key, level in REGION_LEVELS:
        geo = position.get(key)
        if not isinstance(geo, dict) or geo.get("type") not in ("MultiPolygon", "Polygon"):
            continue
        coords = geo.get("coordinates")
        polys = [coords] if geo.get("type") == "Polygon" else coords
        kept: Polygons = []
        for poly in polys if isinstance(polys, list) else []:
            rings: list[list[tuple[float, float]]] = []
            for ring in poly if isinstance(poly, list) else []:
                try:
                    pts = [(float(p[0]), float(p[1])) for p in ring]
                except (TypeError, ValueError, IndexError):
                    pts = []
                if len(pts) >= 4 and all(valid_position(la, lo) for lo, la in pts):
                    rings.append(pts)
                elif not rings:  # no usable outer boundary: the polygon goes
                    break
            if rings:
                kept.append(rings)
        if kept:
            out.append((level, kept))
    return out


def uncertainty_ring(position: dict[str, Any] | None, n: int = 48) -> list[tuple[float, float]] | None:
    """The uncertainty region of a position as a closed ring of (lon, lat), counter-clockwise
    (RFC 7946's right-hand rule for exterior rings), or None.

    Understood forms: `polygon` / `region` = [[lat, lon], ...] (the project's order), an
    `ellipse` = {semi_major_m, semi_minor_m, azimuth_deg (of the major axis, from north)}, or a
    circle of `error_m` / `radius_m` / `cep_m` metres around (lat, lon)."""
    if not isinstance(position, dict):
        return None
    ring: list[tuple[float, float]] | None = None
    poly = position.get("polygon") or position.get("region")
    if isinstance(poly, list) and len(poly) >= 3:
        try:
            ring = [(float(p[1]), float(p[0])) for p in poly]
        except (TypeError, ValueError, IndexError):
            ring = None
        if ring is not None and not all(valid_position(la, lo) for lo, la in ring):
            ring = None
    centre = position_of(position)
    if ring is None and centre is not None:
        lat0, lon0 = centre
        ell = position.get("ellipse")
        a = b = None
        az = 0.0
        if isinstance(ell, dict):
            try:
                a, b = float(ell["semi_major_m"]), float(ell["semi_minor_m"])
                az = math.radians(float(ell.get("azimuth_deg", 0.0)))
            except (KeyError, TypeError, ValueError):
                a = b = None
        if a is None:
            for k in ("error_m", "radius_m", "cep_m"):
                v = position.get(k)
                if isinstance(v, int | float) and math.isfinite(v) and v > 0:
                    a = b = float(v)
                    break
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        m_lat = 111_320.0
        m_lon = max(1e-9, 111_320.0 * math.cos(math.radians(lat0)))
        ring = []
        for i in range(n):
            t = 2 * math.pi * i / n
            x, y = a * math.cos(t), b * math.sin(t)  # along/across the major axis
            north = x * math.cos(az) - y * math.sin(az)
            east = x * math.sin(az) + y * math.cos(az)
            lat = max(-90.0, min(90.0, lat0 + north / m_lat))
            lon = lon0 + east / m_lon
            lon = (lon + 180.0) % 360.0 - 180.0
            ring.append((lon, lat))
    if ring is None:
        return None
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        return None
    if signed_area(ring) < 0:
        ring.reverse()
    return ring


def signed_area(ring: list[tuple[float, float]]) -> float:
    """Shoelace area of a (lon, lat) ring: > 0 counter-clockwise."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))
