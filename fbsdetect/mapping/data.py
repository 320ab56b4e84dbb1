"""What a map draws, read from the store in one streaming pass and
aggregated as it goes (a month of a node's observations never sits in
memory: power points are binned on a grid per cell, tracks decimated).

Outputs read the store (design.md): nothing here knows the rules; a
detection's rules and position are shown as stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fbsdetect.store.db import Store
from fbsdetect.store.models import Detection, GpsFixRow, Observation, RegistryCell, ScanRun

SEVERITIES = ("low", "medium", "high")

CellKey = tuple[int | None, int | None, int | None, int | None, int | None]  # mcc, mnc, lac, cid, arfcn

HEAT_BIN_DEG = 2e-4  # ~20 m: power points of a suspect cell, max per bin
COVER_BIN_DEG = 1e-3  # ~100 m: where anything was observed
MAX_TRACK_POINTS = 4000  # per run
MAX_SLIDER_POINTS = 3000  # per suspect cell
MAX_REGISTRY = 5000


@dataclass(frozen=True)
class MapFilter:
    since: datetime | None = None
    until: datetime | None = None
    min_severity: str | None = None  # low | medium | high
    operators: frozenset[tuple[int, int]] | None = None  # (mcc, mnc)
    run_id: int | None = None
    detection_id: int | None = None  # only this detection (and the data of its time span)


@dataclass
class CellAgg:
    key: CellKey
    n: int = 0
    best_power: float | None = None
    best_lat: float | None = None
    best_lon: float | None = None
    first: datetime | None = None
    last: datetime | None = None
    bsic: int | None = None
    power_ref: str = "dBm"
    heat: dict[tuple[int, int], float] = field(default_factory=dict)  # bin -> max power
    slider: list[tuple[float, float, float, float]] = field(default_factory=list)  # lat, lon, t_ms, power
    detection_id: int | None = None


@dataclass
class MapData:
    detections: list[dict[str, Any]]
    cells: dict[CellKey, CellAgg]
    tracks: dict[int, list[tuple[float, float]]]
    coverage: dict[tuple[int, int], int]
    registry: list[dict[str, Any]]
    bbox: tuple[float, float, float, float] | None  # S, W, N, E
    n_observations: int


def _cell_key(o: Any) -> CellKey:
    return (o.mcc, o.mnc, o.lac, o.cid, o.arfcn)


def _severity_ok(sev: str, minimum: str | None) -> bool:
    return minimum is None or SEVERITIES.index(sev) >= SEVERITIES.index(minimum)


def detection_dict(d: Detection) -> dict[str, Any]:
    return {"id": d.id, "severity": d.severity, "score": d.score,
            "cell": {"arfcn": d.arfcn, "bsic": d.bsic, "mcc": d.mcc, "mnc": d.mnc, "lac": d.lac,
                     "cid": d.cid},
            "rules": list(d.rules or []), "first_seen": d.first_seen, "last_seen": d.last_seen,
            "observations": d.n_observations, "sensors": list(d.sensors or []), "position": d.position}


def _time_filters(stmt: Any, col: Any, flt: MapFilter) -> Any:
    if flt.since is not None:
        stmt = stmt.where(col >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(col <= flt.until)
    return stmt


def _decimate(points: list[tuple[float, float]], cap: int) -> list[tuple[float, float]]:
    if len(points) <= cap:
        return points
    step = len(points) / cap
    return [points[int(i * step)] for i in range(cap)] + [points[-1]]


def load_map_data(store: Store, flt: MapFilter = MapFilter()) -> MapData:
    with store.session() as s:
        dstmt = select(Detection).order_by(Detection.id)
        if flt.detection_id is not None:
            dstmt = dstmt.where(Detection.id == flt.detection_id)
        dets = [detection_dict(d) for d in s.scalars(dstmt)
                if _severity_ok(d.severity, flt.min_severity)
                and (flt.operators is None or (d.mcc, d.mnc) in flt.operators)]
        if flt.detection_id is not None and dets:
            from dataclasses import replace

            first, last = dets[0]["first_seen"], dets[0]["last_seen"]
            flt = replace(flt, since=flt.since or first, until=flt.until or last)
        det_by_key: dict[CellKey, int] = {}
        for d in dets:
            c = d["cell"]
            det_by_key[(c["mcc"], c["mnc"], c["lac"], c["cid"], c["arfcn"])] = d["id"]
        det_ids = {d["id"] for d in dets}
        from fbsdetect.traffic.store import detection_extras

        for det_id, extra in detection_extras(s, sorted(det_ids)).items():  # SMS and traffic (issue 13)
            for d in dets:
                if d["id"] == det_id:
                    d.update(extra)

        cells: dict[CellKey, CellAgg] = {}
        coverage: dict[tuple[int, int], int] = {}
        lats: list[float] = []
        lons: list[float] = []
        n_obs = 0
        stmt = select(Observation.mcc, Observation.mnc, Observation.lac, Observation.cid, Observation.arfcn,
                      Observation.bsic, Observation.power_dbm, Observation.power_ref, Observation.lat,
                      Observation.lon, Observation.time, Observation.gps_mode, Observation.detection_id)
        stmt = _time_filters(stmt, Observation.time, flt)
        if flt.run_id is not None:
            stmt = stmt.where(Observation.run_id == flt.run_id)
        slider_seen: dict[CellKey, int] = {}
        for o in s.execute(stmt.execution_options(yield_per=5000)):
            if flt.operators is not None and (o.mcc, o.mnc) not in flt.operators:
                continue
            n_obs += 1
            key = _cell_key(o)
            agg = cells.get(key)
            if agg is None:
                agg = cells[key] = CellAgg(key=key, bsic=o.bsic, power_ref=o.power_ref)
            agg.n += 1
            if o.time is not None:
                agg.first = o.time if agg.first is None or o.time < agg.first else agg.first
                agg.last = o.time if agg.last is None or o.time > agg.last else agg.last
            did = o.detection_id if o.detection_id in det_ids else det_by_key.get(key)
            if did is not None:
                agg.detection_id = did
            has_pos = o.lat is not None and o.lon is not None and (o.gps_mode is None or o.gps_mode >= 2)
            if not has_pos:
                continue
            lats.append(o.lat)
            lons.append(o.lon)
            if len(lats) > 10000:  # keep only the running extremes
                lats[:] = [min(lats), max(lats)]
                lons[:] = [min(lons), max(lons)]
            b = (round(o.lat / COVER_BIN_DEG), round(o.lon / COVER_BIN_DEG))
            coverage[b] = coverage.get(b, 0) + 1
            if o.power_dbm is not None and (agg.best_power is None or o.power_dbm > agg.best_power):
                agg.best_power, agg.best_lat, agg.best_lon = o.power_dbm, o.lat, o.lon
            if agg.detection_id is not None and o.power_dbm is not None:
                hb = (round(o.lat / HEAT_BIN_DEG), round(o.lon / HEAT_BIN_DEG))
                if o.power_dbm > agg.heat.get(hb, -1e9):
                    agg.heat[hb] = o.power_dbm
                k = slider_seen.get(key, 0)
                slider_seen[key] = k + 1
                if o.time is not None and len(agg.slider) < MAX_SLIDER_POINTS:
                    agg.slider.append((o.lat, o.lon, o.time.timestamp() * 1000.0, o.power_dbm))

        tracks: dict[int, list[tuple[float, float]]] = {}
        fstmt = select(GpsFixRow.run_id, GpsFixRow.lat, GpsFixRow.lon, GpsFixRow.mode).order_by(
            GpsFixRow.run_id, GpsFixRow.time)
        fstmt = _time_filters(fstmt, GpsFixRow.time, flt)
        if flt.run_id is not None:
            fstmt = fstmt.where(GpsFixRow.run_id == flt.run_id)
        for f in s.execute(fstmt.execution_options(yield_per=5000)):
            if f.lat is None or f.lon is None or f.mode < 2 or f.run_id is None:
                continue
            tracks.setdefault(f.run_id, []).append((f.lat, f.lon))
            lats.append(f.lat)
            lons.append(f.lon)
            if len(lats) > 10000:
                lats[:] = [min(lats), max(lats)]
                lons[:] = [min(lons), max(lons)]
        tracks = {r: _decimate(p, MAX_TRACK_POINTS) for r, p in tracks.items()}
        for d in dets:
            pos = d.get("position") or {}
            if pos.get("lat") is not None and pos.get("lon") is not None:
                lats.append(float(pos["lat"]))
                lons.append(float(pos["lon"]))
        bbox = (min(lats), min(lons), max(lats), max(lons)) if lats else None
        registry: list[dict[str, Any]] = []
        if bbox is not None:
            pad = 0.02
            rstmt = select(RegistryCell).where(
                RegistryCell.lat >= bbox[0] - pad, RegistryCell.lat <= bbox[2] + pad,
                RegistryCell.lon >= bbox[1] - pad, RegistryCell.lon <= bbox[3] + pad,
                RegistryCell.radio == "GSM").limit(MAX_REGISTRY)
            for r in s.scalars(rstmt):
                if flt.operators is not None and (r.mcc, r.mnc) not in flt.operators:
                    continue
                registry.append({"mcc": r.mcc, "mnc": r.mnc, "lac": r.lac, "cid": r.cid, "lat": r.lat,
                                 "lon": r.lon, "range_m": r.range_m, "samples": r.samples,
                                 "updated": r.updated, "arfcn": r.arfcn})
    return MapData(dets, cells, tracks, coverage, registry, bbox, n_obs)


def runs(store: Store) -> Iterable[ScanRun]:
    with store.session() as s:
        return list(s.scalars(select(ScanRun)))
