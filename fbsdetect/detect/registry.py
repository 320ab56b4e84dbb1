"""The known-cell registry: import (OpenCellID/MLS CSV, licensed-site lists)
and the in-memory lookup the rules use.

- `import_registry(store, path, ...) -> ImportReport`: streaming import
  (`registry_import.py`; parsing in `registry_csv.py`).
- `RegistryIndex.load(store, mccs=..., bbox=...)`: the registry cells of a scan
  area in memory, loaded with one query, as frozen `RegistryEntry` values (no
  ORM object reaches the rules). Lookups:
  `by_cgi(mcc, mnc, lac, cid)` and `by_cid(mcc, mnc, cid)` (GSM rows),
  `lacs(mcc, mnc)`, `near(lat, lon, radius_m)`, `has_operator_data(mcc, mnc)`,
  `updated_max` (the newest `updated` time: how fresh the registry is),
  `sources` (names, licences and attributions, to cite in reports).
  `RegistryIndex.from_entries(...)` builds one without a database (tests).

Several sources may list the same cell (OpenCellID and an operator's list):
the lookups return every entry, each naming its source and kind.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fbsdetect.detect.registry_csv import BBox
from fbsdetect.detect.registry_import import (
    MLS_ATTRIBUTION,
    OPENCELLID_ATTRIBUTION,
    ImportReport,
    import_registry,
)

if TYPE_CHECKING:
    from fbsdetect.store.db import Store

__all__ = [
    "MLS_ATTRIBUTION",
    "OPENCELLID_ATTRIBUTION",
    "BBox",
    "ImportReport",
    "RegistryEntry",
    "RegistryIndex",
    "RegistrySourceInfo",
    "haversine_m",
    "import_registry",
]

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _utc(ts: int | None) -> datetime | None:
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class RegistrySourceInfo:
    id: int
    name: str
    kind: str                      # "opencellid" | "licensed"
    attribution: str | None
    licence: str | None
    imported_at: datetime | None
    cells: int = 0                 # cells of this source in the index (not the whole store)


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One registry row. Positions in WGS-84 degrees; `range_m` is OpenCellID's
    estimate of the cell's coverage radius; `created`/`updated` UTC."""

    source: str
    kind: str                      # "opencellid" | "licensed"
    radio: str                     # GSM | UMTS | LTE | NR | CDMA
    mcc: int
    mnc: int
    lac: int                       # LAC (GSM/UMTS) or TAC
    cid: int
    lat: float | None
    lon: float | None
    range_m: float | None = None
    samples: int | None = None
    created: datetime | None = None
    updated: datetime | None = None
    arfcn: int | None = None
    bsic: int | None = None
    azimuth_deg: float | None = None
    date_start: str | None = None  # licensed lists: ISO date (or date-time) the licence starts / ends
    date_end: str | None = None
    average_signal_dbm: float | None = None

    @property
    def cgi(self) -> tuple[int, int, int, int]:
        return (self.mcc, self.mnc, self.lac, self.cid)

    def distance_m(self, lat: float, lon: float) -> float | None:
        if self.lat is None or self.lon is None:
            return None
        return haversine_m(self.lat, self.lon, lat, lon)

    def active_at(self, t: datetime) -> bool:
        """False when a licensed entry's date range excludes `t` (entries without dates: True)."""
        day = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.date_start is not None and day < self.date_start:
            return False
        if self.date_end is not None:
            end = self.date_end if "T" in self.date_end else self.date_end + "T23:59:59Z"
            if day > end:
                return False
        return True


_GRID_DEG = 0.05   # ~5.5 km of latitude per bucket of the `near` index


class RegistryIndex:
    """Registry cells of an area, in memory, with the lookups the rules need."""

    def __init__(self, entries: Iterable[RegistryEntry], sources: Sequence[RegistrySourceInfo] = ()) -> None:
        self._entries: list[RegistryEntry] = list(entries)
        counts: dict[str, int] = defaultdict(int)
        self._cgi: dict[tuple[int, int, int, int], list[RegistryEntry]] = defaultdict(list)
        self._cid: dict[tuple[int, int, int], list[RegistryEntry]] = defaultdict(list)
        self._lacs: dict[tuple[int, int], set[int]] = defaultdict(set)
        self._plmn: dict[tuple[int, int], int] = defaultdict(int)
        self._grid: dict[tuple[int, int], list[RegistryEntry]] = defaultdict(list)
        upd: datetime | None = None
        for e in self._entries:
            counts[e.source] += 1
            if e.radio == "GSM":
                self._cgi[(e.mcc, e.mnc, e.lac, e.cid)].append(e)
                self._cid[(e.mcc, e.mnc, e.cid)].append(e)
                self._lacs[(e.mcc, e.mnc)].add(e.lac)
                self._plmn[(e.mcc, e.mnc)] += 1
            if e.lat is not None and e.lon is not None:
                self._grid[_bucket(e.lat, e.lon)].append(e)
            if e.updated is not None and (upd is None or e.updated > upd):
                upd = e.updated
        self.updated_max: datetime | None = upd
        self.sources: list[RegistrySourceInfo] = [
            RegistrySourceInfo(s.id, s.name, s.kind, s.attribution, s.licence, s.imported_at,
                               counts.get(s.name, 0))
            for s in sources]

    # -- construction ---------------------------------------------------------------------------------------

    @classmethod
    def from_entries(cls, entries: Iterable[RegistryEntry],
                     sources: Sequence[RegistrySourceInfo] | None = None) -> RegistryIndex:
        """An index over given entries (tests; data not from a store). Without `sources`,
        one source per distinct entry source name, with no attribution."""
        entries = list(entries)
        if sources is None:
            names: dict[str, str] = {}
            for e in entries:
                names.setdefault(e.source, e.kind)
            sources = [RegistrySourceInfo(i + 1, n, k, None, None, None)
                       for i, (n, k) in enumerate(names.items())]
        return cls(entries, sources)

    @classmethod
    def empty(cls) -> RegistryIndex:
        return cls([], [])

    @classmethod
    def load(cls, store: Store, *, mccs: Iterable[int] | None = None, bbox: BBox | None = None,
             radios: Iterable[str] | None = None, margin_m: float = 0.0) -> RegistryIndex:
        """The registry cells with one of `mccs` (all when None), inside `bbox` widened by
        `margin_m` (everywhere when None), of `radios` (all when None), in one query."""
        from sqlalchemy import and_, or_, select

        from fbsdetect.store.models import RegistryCell, RegistrySource

        c = RegistryCell.__table__
        s = RegistrySource.__table__
        q = select(s.c.name, s.c.kind, c.c.radio, c.c.mcc, c.c.mnc, c.c.lac, c.c.cid, c.c.lat, c.c.lon,
                   c.c.range_m, c.c.samples, c.c.created, c.c.updated, c.c.arfcn, c.c.bsic, c.c.azimuth_deg,
                   c.c.date_start, c.c.date_end, c.c.average_signal).join(s, s.c.id == c.c.source_id)
        if mccs is not None:
            q = q.where(c.c.mcc.in_(sorted({int(m) for m in mccs})))
        if radios is not None:
            q = q.where(c.c.radio.in_(sorted({r.upper() for r in radios})))
        if bbox is not None:
            dlat = margin_m / 111_195.0
            mid = math.radians((bbox.south + bbox.north) / 2)
            dlon = dlat / max(math.cos(mid), 0.01)
            south, north = max(-90.0, bbox.south - dlat), min(90.0, bbox.north + dlat)
            west, east = bbox.west - dlon, bbox.east + dlon
            lat_ok = c.c.lat.between(south, north)
            if west < -180 or east > 180 or bbox.west > bbox.east:
                w = west + 360 if west < -180 else west
                e = east - 360 if east > 180 else east
                lon_ok = or_(c.c.lon >= w, c.c.lon <= e)
            else:
                lon_ok = c.c.lon.between(west, east)
            q = q.where(and_(lat_ok, lon_ok))
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
            srcs = conn.execute(select(s.c.id, s.c.name, s.c.kind, s.c.attribution, s.c.licence,
                                       s.c.imported_at).order_by(s.c.id)).all()
        entries = [RegistryEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                                 _utc(r[11]), _utc(r[12]), r[13], r[14], r[15], r[16], r[17], r[18])
                   for r in rows]
        sources = [RegistrySourceInfo(int(x[0]), x[1], x[2], x[3], x[4], x[5]) for x in srcs]
        return cls(entries, sources)

    # -- lookups --------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RegistryEntry]:
        return iter(self._entries)

    def by_cgi(self, mcc: int, mnc: int, lac: int, cid: int) -> list[RegistryEntry]:
        """GSM entries with this cell global identity (one per source that lists it)."""
        return list(self._cgi.get((mcc, mnc, lac, cid), ()))

    def by_cid(self, mcc: int, mnc: int, cid: int) -> list[RegistryEntry]:
        """GSM entries of this operator with this cell id, in any LAC."""
        return list(self._cid.get((mcc, mnc, cid), ()))

    def lacs(self, mcc: int, mnc: int) -> set[int]:
        """The LACs the registry lists for this operator's GSM cells (in the loaded area)."""
        return set(self._lacs.get((mcc, mnc), ()))

    def has_operator_data(self, mcc: int, mnc: int) -> bool:
        """True when the loaded area holds GSM cells of this operator: without them, a cell
        missing from the registry says nothing."""
        return self._plmn.get((mcc, mnc), 0) > 0

    def operator_cells(self, mcc: int, mnc: int) -> int:
        return self._plmn.get((mcc, mnc), 0)

    def near(self, lat: float, lon: float, radius_m: float, *, radio: str | None = None,
             mcc: int | None = None, mnc: int | None = None) -> list[RegistryEntry]:
        """Entries within `radius_m` of (lat, lon), nearest first."""
        if not (math.isfinite(lat) and math.isfinite(lon) and radius_m >= 0):
            return []
        dlat = radius_m / 111_195.0
        coslat = max(math.cos(math.radians(lat)), 1e-6)
        dlon = min(180.0, dlat / coslat)
        i0, i1 = math.floor((lat - dlat) / _GRID_DEG), math.floor((lat + dlat) / _GRID_DEG)
        n_lon = round(360 / _GRID_DEG)
        j0, j1 = math.floor((lon - dlon) / _GRID_DEG), math.floor((lon + dlon) / _GRID_DEG)
        if j1 - j0 >= n_lon:
            j0, j1 = 0, n_lon - 1
        found: list[tuple[float, RegistryEntry]] = []
        seen: set[int] = set()
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                for e in self._grid.get((i, _wrap_j(j, n_lon)), ()):
                    if id(e) in seen:
                        continue
                    if radio is not None and e.radio != radio:
                        continue
                    if (mcc is not None and e.mcc != mcc) or (mnc is not None and e.mnc != mnc):
                        continue
                    assert e.lat is not None and e.lon is not None
                    d = haversine_m(lat, lon, e.lat, e.lon)
                    if d <= radius_m:
                        seen.add(id(e))
                        found.append((d, e))
        found.sort(key=lambda de: de[0])
        return [e for _, e in found]

    def attribution_text(self) -> str:
        """One line per source with its attribution (for reports and exports)."""
        return "\n".join(f"{s.name}: {s.attribution or 'no attribution recorded'}"
                         + (f" [{s.licence}]" if s.licence else "") for s in self.sources)


def _bucket(lat: float, lon: float) -> tuple[int, int]:
    n_lon = round(360 / _GRID_DEG)
    return (math.floor(lat / _GRID_DEG), _wrap_j(math.floor(lon / _GRID_DEG), n_lon))


def _wrap_j(j: int, n_lon: int) -> int:
    # buckets of longitude numbered from -180: j in [-n/2, n/2)
    half = n_lon // 2
    return (j + half) % n_lon - half
