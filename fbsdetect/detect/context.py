"""What a rule may see about one observation: `RuleContext`.

A rule sees the observation (`Seen`: the `CellObservation` plus where and
when it came from), and through the context: the known-cell registry (H3's
`RegistryIndex`, or anything with the same methods), the learned baseline,
the profile (operators, allocations, typical SI parameters), and the `World`:
every observation the detector has been given so far (the other cells heard
in the same sweep and area, this cell's own history over time, the LTE-band
noise floors of the tunings). Rules never see signals, a scene or its truth.

Everything here is plain in-memory data with lookup methods, so that rules
stay pure functions and their tests build a context in a few lines.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple, Protocol

from fbsdetect.types import CellObservation

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def iso_to_unix(t: str | datetime | None) -> float | None:
    if t is None:
        return None
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    s = t.strip().replace("Z", "+00:00")
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def unix_to_iso(t: float | None) -> str | None:
    if t is None:
        return None
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


class CellKey(NamedTuple):
    """One suspect: the full identity `mcc, mnc, lac, cid, arfcn, bsic`."""

    mcc: int | None
    mnc: int | None
    lac: int | None
    cid: int | None
    arfcn: int | None
    bsic: int | None

    def cgi(self) -> str:
        return f"{_s(self.mcc)}-{_s(self.mnc)}-{_s(self.lac)}-{_s(self.cid)}"

    def text(self) -> str:
        return f"CGI {self.cgi()} on ARFCN {_s(self.arfcn)} BSIC {_s(self.bsic)}"


def _s(v: Any) -> str:
    return "?" if v is None else str(v)


# ---------------------------------------------------------------- paging, spectra


PAGING_TYPES = (0x21, 0x22, 0x24)  # Paging Request Type 1, 2, 3 (TS 44.018 9.1.22-9.1.24)


def tc_counts(fns: Iterable[int]) -> tuple[int, ...]:
    """BCCH blocks per TC position from their frame numbers."""
    c = [0] * 8
    for fn in fns:
        c[(int(fn) // 51) % 8] += 1
    return tuple(c)


@dataclass(frozen=True)
class PagingStats:
    """Paging seen on a cell's CCCH during one observation."""

    requests: int  # paging request messages that page someone
    imsi: int
    tmsi: int
    duration_s: float

    @property
    def rate_hz(self) -> float | None:
        return self.requests / self.duration_s if self.duration_s > 0 else None

    @property
    def imsi_share(self) -> float | None:
        n = self.imsi + self.tmsi
        return self.imsi / n if n else None

    @classmethod
    def from_frames(cls, frames: Iterable[tuple[str, bytes]], duration_s: float) -> PagingStats:
        """From (channel, 23-octet data) pairs; only CCCH paging requests count."""
        from fbsdetect.sysinfo import paging

        req = imsi = tmsi = 0
        for channel, data in frames:
            if channel not in ("CCCH", "PCH", "BCCH") or len(data) < 3 or data[2] not in PAGING_TYPES:
                continue
            m = paging.parse(bytes(data))
            if not isinstance(m, paging.PagingRequest) or m.is_empty:
                continue
            req += 1
            imsi += m.n_imsi
            tmsi += m.n_tmsi
        return cls(req, imsi, tmsi, float(duration_s))


@dataclass(frozen=True)
class LteSample:
    """The noise floor of one LTE-band tuning against the quietest floor seen
    at the same frequency before (this run, or a learn run)."""

    t_s: float
    band: str
    noise_floor_db: float
    reference_db: float | None  # None: the band was never seen quiet (no evidence of a rise)

    @property
    def rise_db(self) -> float | None:
        return None if self.reference_db is None else self.noise_floor_db - self.reference_db


# ---------------------------------------------------------------- observations


@dataclass(frozen=True)
class Seen:
    """One observation and where it came from."""

    obs: CellObservation
    t_s: float | None = None  # Unix seconds (from obs.time unless given)
    obs_id: int | None = None
    run_id: int | None = None
    tuning_id: int | None = None
    sweep: int | None = None
    paging: PagingStats | None = None
    learn: bool = False
    kind: str = "dwell"  # "dwell" | "revisit" (a short FCCH/SCH/power look; its SI is the cell's so far)
    # BCCH blocks decoded per TC position ((FN div 51) mod 8, TS 45.002 6.3.1.3); None: not known
    bcch_tc: tuple[int, ...] | None = None
    # followed dedicated channels (fbsdetect.traffic): TrafficCounts.to_json() and the SMS captured
    # ({"sender", "text", "encoding", "category", ...}); None / () when not followed
    traffic: Mapping[str, Any] | None = None
    sms: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, obs: CellObservation, **kw: Any) -> Seen:
        if kw.get("t_s") is None:
            kw["t_s"] = iso_to_unix(obs.time)
        return cls(obs, **kw)

    @cached_property
    def key(self) -> CellKey:
        o = self.obs
        return CellKey(o.mcc, o.mnc, o.lac, o.cid, o.arfcn, o.bsic)

    @property
    def plmn(self) -> tuple[int, int] | None:
        o = self.obs
        return None if o.mcc is None or o.mnc is None else (o.mcc, o.mnc)

    @property
    def cgi(self) -> tuple[int, int, int, int] | None:
        o = self.obs
        if o.mcc is None or o.mnc is None or o.lac is None or o.cid is None:
            return None
        return (o.mcc, o.mnc, o.lac, o.cid)

    @property
    def position(self) -> tuple[float, float] | None:
        o = self.obs
        if o.lat is None or o.lon is None or (o.gps_mode is not None and o.gps_mode < 2):
            return None
        return (o.lat, o.lon)

    @property
    def power_dbm(self) -> float | None:
        """Power in dBm referred to the antenna; None when only dBFS is known."""
        o = self.obs
        return o.power_dbm if o.power_ref == "dBm" else None

    def param(self, name: str) -> Any:
        return self.obs.params.get(name)


# ---------------------------------------------------------------- registry view


class RegistryView(Protocol):
    """What rules ask the known-cell registry (H3's `RegistryIndex`)."""

    def by_cgi(self, mcc: int, mnc: int, lac: int, cid: int) -> Any: ...
    def by_cid(self, mcc: int, mnc: int, cid: int) -> Any: ...
    def lacs(self, mcc: int, mnc: int) -> Any: ...
    def near(self, lat: float, lon: float, radius_m: float) -> Any: ...
    def has_operator_data(self, mcc: int, mnc: int) -> bool: ...


@dataclass(frozen=True)
class RegCell:
    """A registry record as rules read it (attribute names of `RegistryCell`)."""

    mcc: int
    mnc: int
    lac: int
    cid: int
    lat: float | None = None
    lon: float | None = None
    range_m: float | None = None
    samples: int | None = None
    updated: int | None = None  # Unix seconds
    arfcn: int | None = None
    bsic: int | None = None
    radio: str = "GSM"
    source: str = ""


class InMemoryRegistry:
    """A small registry with the `RegistryView` methods (tests, benches, and
    a fallback when no store is open)."""

    def __init__(self, cells: Iterable[RegCell] = ()) -> None:
        self.cells: list[RegCell] = list(cells)
        self._cgi: dict[tuple[int, int, int, int], list[RegCell]] = {}
        self._cid: dict[tuple[int, int, int], list[RegCell]] = {}
        self._lacs: dict[tuple[int, int], set[int]] = {}
        for c in self.cells:
            self._cgi.setdefault((c.mcc, c.mnc, c.lac, c.cid), []).append(c)
            self._cid.setdefault((c.mcc, c.mnc, c.cid), []).append(c)
            self._lacs.setdefault((c.mcc, c.mnc), set()).add(c.lac)

    def by_cgi(self, mcc: int, mnc: int, lac: int, cid: int) -> list[RegCell]:
        return list(self._cgi.get((mcc, mnc, lac, cid), []))

    def by_cid(self, mcc: int, mnc: int, cid: int) -> list[RegCell]:
        return list(self._cid.get((mcc, mnc, cid), []))

    def lacs(self, mcc: int, mnc: int) -> set[int]:
        return set(self._lacs.get((mcc, mnc), set()))

    def near(self, lat: float, lon: float, radius_m: float) -> list[RegCell]:
        return [c for c in self.cells if c.lat is not None and c.lon is not None
                and distance_m(lat, lon, c.lat, c.lon) <= radius_m]

    def has_operator_data(self, mcc: int, mnc: int) -> bool:
        return (mcc, mnc) in self._lacs

    @property
    def updated_max(self) -> int | None:
        u = [c.updated for c in self.cells if c.updated is not None]
        return max(u) if u else None


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, list | tuple | set | frozenset):
        return list(v)
    return [v]


# ---------------------------------------------------------------- the world


@dataclass
class World:
    """Every observation given to the detector, indexed for the rules."""

    area_radius_m: float = 10_000.0
    area_window_s: float = 7200.0
    sweep_window_s: float = 120.0
    by_key: dict[CellKey, list[Seen]] = field(default_factory=dict)
    _times: dict[CellKey, list[float]] = field(default_factory=dict)
    _full: dict[CellKey, tuple[list[float], list[Seen]]] = field(default_factory=dict)
    by_cid: dict[tuple[int | None, int | None, int | None], list[Seen]] = field(default_factory=dict)
    by_arfcn: dict[int | None, list[Seen]] = field(default_factory=dict)
    lte: list[LteSample] = field(default_factory=list)
    sweeps: dict[tuple[int | None, str | None], list[set[int]]] = field(default_factory=dict)
    by_sweep: dict[tuple[int | None, str | None, int], list[Seen]] = field(default_factory=dict)
    n: int = 0

    def add(self, s: Seen) -> None:
        k = s.key
        t = s.t_s if s.t_s is not None else float(self.n)
        lst, times = self.by_key.setdefault(k, []), self._times.setdefault(k, [])
        i = bisect_left(times, t)
        while i < len(times) and times[i] == t:
            i += 1
        lst.insert(i, s)
        times.insert(i, t)
        if s.obs.params:  # observations that carry SI parameters, for comparisons between cells
            ft, fl = self._full.setdefault(k, ([], []))
            j = bisect_left(ft, t)
            while j < len(ft) and ft[j] == t:
                j += 1
            ft.insert(j, t)
            fl.insert(j, s)
        self.by_cid.setdefault((k.mcc, k.mnc, k.cid), []).append(s)
        self.by_arfcn.setdefault(k.arfcn, []).append(s)
        if s.sweep is not None:
            self.by_sweep.setdefault((s.run_id, s.obs.sensor, s.sweep), []).append(s)
            sw = self.sweeps.setdefault((s.run_id, s.obs.sensor), [])
            while len(sw) <= s.sweep:
                sw.append(set())
            if s.obs.arfcn is not None:
                sw[s.sweep].add(s.obs.arfcn)
        self.n += 1

    def add_lte(self, sample: LteSample) -> None:
        self.lte.append(sample)

    def nearest_in_time(self, k: CellKey, t: float | None) -> Seen | None:
        """The observation of `k` nearest to `t`, preferring one with SI parameters."""
        if k in self._full:
            times, lst = self._full[k]
        else:
            lst, times = self.by_key.get(k, []), self._times.get(k, [])
        if not lst:
            return None
        if t is None:
            return lst[-1]
        i = bisect_left(times, t)
        cands = [j for j in (i - 1, i) if 0 <= j < len(lst)]
        return lst[min(cands, key=lambda j: abs(times[j] - t))]

    def sweep_count(self, run_id: int | None, sensor: str | None) -> int:
        return len(self.sweeps.get((run_id, sensor), []))


# ---------------------------------------------------------------- the context


@dataclass
class RuleContext:
    """The view of one rule on one observation (built per observation)."""

    cell: Seen
    world: World
    registry: RegistryView | None = None
    baseline: Any = None  # fbsdetect.detect.baseline.Baseline
    profile: Any = None   # fbsdetect.scan.profile.Profile
    config: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ profile
    @cached_property
    def operator(self) -> Any:
        """The profile's operator of this cell's PLMN, or None."""
        p = self.cell.plmn
        if p is None or self.profile is None:
            return None
        find = getattr(self.profile, "operator", None)
        if callable(find):
            return find(*p)
        for op in getattr(self.profile, "operators", None) or []:
            if (getattr(op, "mcc", None), getattr(op, "mnc", None)) == p:
                return op
        return None

    def op_attr(self, name: str, default: Any = None) -> Any:
        """An attribute of the profile's operator; `<param>_range` also from
        `Operator.ranges` (how scan/profile.py keeps the `*_range` keys)."""
        op = self.operator
        if op is None:
            return default
        if isinstance(op, Mapping):
            return op.get(name, default)
        v = getattr(op, name, None)
        if v is None and name.endswith("_range"):
            ranges = getattr(op, "ranges", None)
            if isinstance(ranges, Mapping):
                v = ranges.get(name[: -len("_range")])
        return default if v is None else v

    @property
    def profile_operators(self) -> list[Any]:
        return list(getattr(self.profile, "operators", None) or []) if self.profile is not None else []

    # ------------------------------------------------------------ registry
    @property
    def has_registry(self) -> bool:
        p = self.cell.plmn
        return self.registry is not None and p is not None and bool(self.registry.has_operator_data(*p))

    @cached_property
    def registry_cgi(self) -> list[Any]:
        c = self.cell.cgi
        if self.registry is None or c is None:
            return []
        return _as_list(self.registry.by_cgi(*c))

    @cached_property
    def registry_cid(self) -> list[Any]:
        """Registry cells of this PLMN with this CID, any LAC."""
        o = self.cell.obs
        if self.registry is None or o.mcc is None or o.mnc is None or o.cid is None:
            return []
        return _as_list(self.registry.by_cid(o.mcc, o.mnc, o.cid))

    @cached_property
    def registry_lacs(self) -> set[int]:
        p = self.cell.plmn
        if self.registry is None or p is None:
            return set()
        return {int(x) for x in _as_list(self.registry.lacs(*p))}

    def registry_near(self, radius_m: float) -> list[Any]:
        pos = self.cell.position
        if self.registry is None or pos is None:
            return []
        return _as_list(self.registry.near(pos[0], pos[1], radius_m))

    @property
    def registry_updated(self) -> str:
        """The registry's last update as 'YYYY-MM-DD', or '' (the rules put it into their
        explanations, in the user's language)."""
        u = getattr(self.registry, "updated_max", None) if self.registry is not None else None
        if callable(u):
            u = u()
        if u is None:
            return ""
        if isinstance(u, int | float):
            u = datetime.fromtimestamp(u, UTC)
        if isinstance(u, datetime):
            return f"{u:%Y-%m-%d}"
        return str(u)

    # ------------------------------------------------------------ the world
    @cached_property
    def history(self) -> list[Seen]:
        """Every observation of this exact cell (identity incl. ARFCN/BSIC), in time order."""
        return list(self.world.by_key.get(self.cell.key, [self.cell]))

    def _near(self, s: Seen) -> bool:
        a, b = self.cell.position, s.position
        if a is not None and b is not None and distance_m(a[0], a[1], b[0], b[1]) > self.world.area_radius_m:
            return False
        t0, t1 = self.cell.t_s, s.t_s
        return not (t0 is not None and t1 is not None and abs(t0 - t1) > self.world.area_window_s)

    @cached_property
    def area(self) -> list[Seen]:
        """One observation (the nearest in time) per other cell heard in this area
        and time window; cells whose identity was not decoded are left out."""
        out = []
        for k in self.world.by_key:
            if k == self.cell.key or k.mcc is None or k.cid is None:
                continue
            s = self.world.nearest_in_time(k, self.cell.t_s)
            if s is not None and self._near(s):
                out.append(s)
        return out

    @cached_property
    def peers(self) -> list[Seen]:
        """The `area` cells of the same operator (PLMN), other CGIs."""
        p, c = self.cell.plmn, self.cell.cgi
        return [s for s in self.area if s.plmn == p and s.cgi != c]

    @cached_property
    def sweep(self) -> list[Seen]:
        """The other cells of the same sweep of the same sensor (or within
        `sweep_window_s` when sweeps are not numbered), any identity."""
        me = self.cell
        if me.sweep is not None:
            return [s for s in self.world.by_sweep.get((me.run_id, me.obs.sensor, me.sweep), [])
                    if s is not me and s.key != me.key]
        out = []
        for lst in self.world.by_key.values():
            for s in lst:
                if s is me or s.key == me.key or s.obs.sensor != me.obs.sensor or s.run_id != me.run_id:
                    continue
                if me.sweep is not None and s.sweep is not None:
                    if s.sweep == me.sweep:
                        out.append(s)
                elif (me.t_s is not None and s.t_s is not None
                      and abs(s.t_s - me.t_s) <= self.world.sweep_window_s):
                    out.append(s)
        return out

    @cached_property
    def receiver_speed_m_s(self) -> float:
        """The receiver's speed around this observation along its path: the
        positions of its observations within +-30 s, averaged per 5 s (GPS
        jitter would add path), the path through them over its duration (a lap
        round a block has moved little from where it started: the straight-line
        displacement read half the speed); 0 when it cannot be told."""
        me = self.cell
        if me.t_s is None:
            return 0.0
        bins: dict[int, list[tuple[float, float, float]]] = {}
        for s in [*self.sweep, *self.history, me]:
            p = s.position
            if s.t_s is None or p is None or s.obs.sensor != me.obs.sensor or abs(s.t_s - me.t_s) > 30.0:
                continue
            bins.setdefault(int(s.t_s // 5.0), []).append((s.t_s, p[0], p[1]))
        pts = [tuple(sum(x[i] for x in b) / len(b) for i in range(3)) for _, b in sorted(bins.items())]
        if len(pts) < 2 or pts[-1][0] - pts[0][0] < 2.0:
            return 0.0
        path = sum(distance_m(a[1], a[2], b[1], b[2]) for a, b in itertools.pairwise(pts))
        return path / (pts[-1][0] - pts[0][0])

    def same_cgi_elsewhere(self) -> list[Seen]:
        """Observations of the same CGI on another ARFCN or BSIC, in this area."""
        c = self.cell.cgi
        if c is None:
            return []
        out = []
        for s in self.world.by_cid.get((c[0], c[1], c[3]), []):
            if s.cgi == c and s.key != self.cell.key and self._near(s):
                out.append(s)
        return out

    def same_cid_other_lac(self) -> list[Seen]:
        o = self.cell.obs
        return [s for s in self.world.by_cid.get((o.mcc, o.mnc, o.cid), [])
                if s.obs.lac is not None and s.obs.lac != o.lac and self._near(s)]

    def operator_values(self, name: str) -> list[Any]:
        """The values of SI parameter `name` among this operator's other cells:
        one per heard peer (its observation nearest in time), then the
        baseline's per-cell values. Empty when nothing is known."""
        vals = [s.param(name) for s in self.peers]
        out = [v for v in vals if v is not None]
        if self.baseline is not None and self.cell.plmn is not None:
            out.extend(self.baseline.operator_values(self.cell.plmn, name, exclude=self.cell.cgi))
        return out

    def lte_samples(self, window_s: float = 300.0) -> list[LteSample]:
        t = self.cell.t_s
        return [x for x in self.world.lte if t is None or abs(x.t_s - t) <= window_s]

    def setting(self, name: str, default: Any) -> Any:
        """A `[detect]` setting (e.g. `unknown_cell_min_samples`), else the default."""
        return self.config.get(name, default)


def fmt_list(values: Sequence[Any], limit: int = 8) -> str:
    vals = list(values)
    s = ", ".join(str(v) for v in vals[:limit])
    return s + (f" (+{len(vals) - limit} more)" if len(vals) > limit else "")
