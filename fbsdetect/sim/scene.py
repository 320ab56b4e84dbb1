"""Scene files (TOML), exactly as contracts.md section 3 specifies them.

A scene is a small radio world: one receiver (fixed or on a route), GSM cells
(each a BCCH carrier) and jammers (band-limited noise). `load_scene(path)`
reads and checks it; every fault (TOML syntax, an unknown key, a value of the
wrong type or out of range) raises `BadInput` naming the file, the table and
the key, e.g. ``scene.toml: [[cell]] 2 'eirp': unknown key``. Cells and
jammers are numbered from 1 in messages.

Keys beyond the contract (allowed: "extend freely"):
- `[propagation] rician_k_db` (default 6.0): K factor of Rician fading.
- `[[cell]] freq_error_ppm` (default: a seeded draw within the +-0.05 ppm
  that TS 45.010 5.1 allows a BTS), `start_fn` (default: seeded draw).
- `[[jammer]] name`.
- `[propagation]` path extensions (localization benches, issue 12; all
  optional, a scene without them renders the same bytes and the same
  truth.json; `channel.Link` applies them):
  - `[[propagation.obstruction]]`: `position = [lat, lon]`, `radius_m` (> 0),
    `loss_db` (0..80), `cells = ["name", ...]` (default: every cell and
    jammer): `loss_db` more path loss on every path whose straight line from
    the emitter to the receiver passes through the disc (a building block, a
    hill);
  - `[[propagation.antenna]]`: `cell = "name"`, `azimuth_deg` (0..360,
    clockwise from north), `beamwidth_deg` (3 dB width, default 65),
    `front_back_db` (default 25): the cell's horizontal antenna pattern
    ``G = -min(12 (theta / beamwidth)^2, front_back_db)`` dB (3GPP TR 36.814
    A.2.1.1) at the angle theta between the azimuth and the bearing to the
    receiver; `eirp_dbm` is the boresight EIRP.
- `[receiver]` impairments of a real RTL-SDR (R820T/R828D tuner + RTL2832U),
  all off by default (a scene without them renders exactly as before);
  `channel.DongleImpairments` has the model:
  - `dc_offset_dbfs` (-120..0; default: none): the LO-leakage DC offset, power
    of the 0 Hz component relative to full scale (|dc|^2), wandering slowly
    (+-0.5 dB, +-0.3 rad over seconds), so it shows as a narrow spike at 0 Hz;
  - `iq_imbalance_db` (-6..6, default 0): gain of Q over I, and
    `iq_phase_deg` (-30..30, default 0): quadrature phase error of the Q
    branch; together they mirror every carrier around 0 Hz with the image
    rejection ratio ``|mu|^2 / |nu|^2`` (0.5 dB and 2 deg: about 29 dB);
  - `band_edge_rolloff_db` (0..60, default 0): attenuation at +-fs/2 of the
    anti-alias/IF filter, reached over the outer `band_edge_rolloff_fraction`
    (0 < f <= 0.5, default 0.1) of the sample rate at each edge (raised
    cosine in dB); it shapes cells, jammers and thermal noise alike.

Value ranges follow the fields they end up in: TS 44.018 10.5.2.4 (cell
selection parameters: CRH 3 bits, MS_TXPWR_MAX_CCH 5 bits, RXLEV_ACCESS_MIN
6 bits), 10.5.2.34 (SI3 rest octets: CBQ 1 bit, CRO 6 bits, temporary offset
3 bits, penalty time 5 bits), 10.5.2.11 (T3212 8 bits), 10.5.2.2 (BSIC 6 bits).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _
from fbsdetect.sim.dedicated import DEDICATED_KEYS
from fbsdetect.sim.dedicated import parse_config as parse_dedicated
from fbsdetect.sim.routes import Route
from fbsdetect.sysinfo.cell import CellSpec

FORMATS = ("cu8", "ci8", "cf32")
MODELS = ("log-distance", "free-space")
FADINGS = ("none", "rayleigh", "rician")
CCCH_KINDS = ("non-combined", "combined")
LABELS = ("legit", "fake")
DEFAULT_START = "2026-03-01T10:00:00Z"
_SI: dict[str, Any] = {f.name: f.default for f in fields(CellSpec)}
"""Defaults of the cell keys that go into System Information: written once, on
the SI builder's `CellSpec` (they are contracts.md section 3's)."""


@dataclass(frozen=True)
class SceneInfo:
    name: str
    seed: int
    duration_s: float
    start_time: datetime


@dataclass(frozen=True)
class ReceiverConfig:
    sample_rate_hz: float
    center_freq_hz: float
    format: str
    gain_db: float
    noise_figure_db: float
    ppm: float
    route: Route
    dc_offset_dbfs: float | None = None
    iq_imbalance_db: float = 0.0
    iq_phase_deg: float = 0.0
    band_edge_rolloff_db: float = 0.0
    band_edge_rolloff_fraction: float = 0.1


@dataclass(frozen=True)
class Obstruction:
    """Extra loss on paths through a disc (`[[propagation.obstruction]]`)."""

    lat: float
    lon: float
    radius_m: float
    loss_db: float
    cells: tuple[str, ...] = ()  # names of the cells it affects; empty: every emitter
    keys: tuple[int, ...] = ()  # their indices (channel.Link's `key`), resolved from `cells`

    def to_json(self) -> dict[str, Any]:
        return {"position": [self.lat, self.lon], "radius_m": self.radius_m,
                "loss_db": self.loss_db, "cells": list(self.cells)}


@dataclass(frozen=True)
class AntennaPattern:
    """A cell's horizontal antenna pattern (`[[propagation.antenna]]`)."""

    cell: str
    key: int  # the cell's index (channel.Link's `key`)
    azimuth_deg: float
    beamwidth_deg: float = 65.0
    front_back_db: float = 25.0

    def gain_db(self, bearing_deg: Any) -> Any:
        """Gain relative to boresight at the bearings (degrees) to the receiver."""
        import numpy as np

        theta = (np.asarray(bearing_deg, dtype=np.float64) - self.azimuth_deg + 180.0) % 360.0 - 180.0
        return -np.minimum(12.0 * (theta / self.beamwidth_deg) ** 2, self.front_back_db)

    def to_json(self) -> dict[str, Any]:
        return {"cell": self.cell, "azimuth_deg": self.azimuth_deg,
                "beamwidth_deg": self.beamwidth_deg, "front_back_db": self.front_back_db}


@dataclass(frozen=True)
class PropagationConfig:
    model: str = "log-distance"
    exponent: float = 3.2
    ref_distance_m: float = 100.0
    shadowing_db: float = 0.0
    fading: str = "none"
    rician_k_db: float = 6.0
    obstructions: tuple[Obstruction, ...] = ()
    antennas: tuple[AntennaPattern, ...] = ()

    @property
    def has_path_extras(self) -> bool:
        return bool(self.obstructions or self.antennas)

    def to_json(self) -> dict[str, Any]:
        """The resolved keys for truth.json; the path extensions only when given,
        so that a scene without them has the truth it always had."""
        d: dict[str, Any] = {"model": self.model, "exponent": self.exponent,
                             "ref_distance_m": self.ref_distance_m,
                             "shadowing_db": self.shadowing_db, "fading": self.fading,
                             "rician_k_db": self.rician_k_db}
        if self.obstructions:
            d["obstructions"] = [o.to_json() for o in self.obstructions]
        if self.antennas:
            d["antennas"] = [a.to_json() for a in self.antennas]
        return d


@dataclass(frozen=True)
class CellConfig:
    """One `[[cell]]` with every default resolved (the truth.json parameters)."""

    index: int  # 0-based position in the file
    name: str
    arfcn: int
    mcc: int
    mnc: int
    lac: int
    cid: int
    bsic: int
    route: Route
    eirp_dbm: float = 45.0
    active: tuple[float, float] = (0.0, 1e9)
    ccch: str = _SI["ccch"]
    neighbours: tuple[int, ...] = _SI["neighbours"]
    si2ter: bool = _SI["si2ter"]
    si2quater: bool = _SI["si2quater"]
    eutran_neighbours: tuple[int, ...] = _SI["eutran_neighbours"]
    gprs: bool = _SI["gprs"]
    t3212: int = _SI["t3212"]
    att: bool = _SI["att"]
    cro: int = _SI["cro"]
    temporary_offset: int = _SI["temporary_offset"]
    penalty_time: int = _SI["penalty_time"]
    cell_reselect_hysteresis: int = _SI["cell_reselect_hysteresis"]
    rxlev_access_min: int = _SI["rxlev_access_min"]
    ms_txpwr_max_cch: int = _SI["ms_txpwr_max_cch"]
    cbq: int = _SI["cbq"]
    bs_ag_blks_res: int = _SI["bs_ag_blks_res"]
    bs_pa_mfrms: int = _SI["bs_pa_mfrms"]
    mscr: int = _SI["mscr"]
    paging_rate: float = 2.0
    label: str = "legit"
    freq_error_ppm: float | None = None
    start_fn: int | None = None
    traffic: Any = None  # sim.dedicated.DedicatedConfig when any dedicated-channel key is given

    @property
    def combined(self) -> bool:
        return self.ccch == "combined"

    def params_json(self) -> dict[str, Any]:
        """The resolved scene keys, as truth.json lists them (the seeded
        `freq_error_ppm` and `start_fn` are added by truth.py)."""
        d = _params_json(self, skip=("index", "route", "freq_error_ppm", "start_fn", "traffic"))
        return d if self.traffic is None else d | self.traffic.to_json()


@dataclass(frozen=True)
class JammerConfig:
    index: int
    name: str
    center_freq_hz: float
    bandwidth_hz: float
    route: Route
    eirp_dbm: float
    active: tuple[float, float]

    def params_json(self) -> dict[str, Any]:
        return _params_json(self, skip=("index", "route"))


def _params_json(config: CellConfig | JammerConfig, skip: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a config in declaration order, tuples as lists, then its place."""
    d = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in skip}
    d = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
    return d | config.route.place_json()


@dataclass(frozen=True)
class Scene:
    path: str
    info: SceneInfo
    receiver: ReceiverConfig
    propagation: PropagationConfig
    cells: tuple[CellConfig, ...] = field(default_factory=tuple)
    jammers: tuple[JammerConfig, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------ checking


class _Table:
    """Takes the keys of one TOML table one by one, checking each; whatever is
    left at the end is an unknown key."""

    def __init__(self, data: object, where: str, source: str, known: tuple[str, ...]) -> None:
        self.where = where
        self.source = source
        if not isinstance(data, dict):
            raise BadInput(_("{where}: must be a table").format(where=where), source=source)
        self.data = dict(data)
        for key in self.data:  # a misspelt key is reported as such, before anything it hides
            if key not in known:
                raise BadInput(_("{where} '{key}': unknown key").format(where=where, key=key), source=source)

    def fail(self, key: str, what: str) -> BadInput:
        return BadInput(f"{self.where} '{key}': {what}", source=self.source)

    def _take(self, key: str, default: Any, required: bool) -> Any:
        if key in self.data:
            return self.data.pop(key)
        if required:
            raise BadInput(_("{where} '{key}': missing (required)").format(
                where=self.where, key=key), source=self.source)
        return default

    def number(self, key: str, default: float | None = None, *, lo: float = -math.inf,
               hi: float = math.inf, lo_open: bool = False, required: bool = False) -> float:
        v = self._take(key, default, required or default is None)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(key, f"must be a number, got {v!r}")
        v = float(v)
        if not math.isfinite(v):
            raise self.fail(key, f"must be finite, got {v!r}")
        if v < lo or v > hi or (lo_open and v == lo):
            raise self.fail(key, f"{v:g} is out of range ({'>' if lo_open else '>='} {lo:g}, <= {hi:g})")
        return v

    def integer(self, key: str, default: int | None = None, *, lo: int, hi: int,
                required: bool = False) -> int:
        v = self._take(key, default, required or default is None)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(key, f"must be an integer, got {v!r}")
        if not lo <= v <= hi:
            raise self.fail(key, f"{v} is out of range ({lo}..{hi})")
        return int(v)

    def boolean(self, key: str, default: bool) -> bool:
        v = self._take(key, default, False)
        if not isinstance(v, bool):
            raise self.fail(key, f"must be true or false, got {v!r}")
        return v

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        v = self._take(key, default, False)
        if not isinstance(v, str) or v not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {v!r}")
        return v

    def string(self, key: str, default: str) -> str:
        v = self._take(key, default, False)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, f"must be a non-empty string, got {v!r}")
        return v

    def int_list(self, key: str, default: tuple[int, ...], *, lo: int, hi: int,
                 max_len: int) -> tuple[int, ...]:
        v = self._take(key, list(default), False)
        if not isinstance(v, list):
            raise self.fail(key, f"must be a list of integers, got {v!r}")
        if len(v) > max_len:
            raise self.fail(key, f"has {len(v)} entries, at most {max_len} are allowed")
        for x in v:
            if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
                raise self.fail(key, f"entry {x!r} is not an integer in {lo}..{hi}")
        if len(set(v)) != len(v):
            raise self.fail(key, "has duplicate entries")
        return tuple(int(x) for x in v)

    def interval(self, key: str, default: tuple[float, float]) -> tuple[float, float]:
        v = self._take(key, list(default), False)
        if (not isinstance(v, list) or len(v) != 2
                or any(isinstance(x, bool) or not isinstance(x, int | float) for x in v)):
            raise self.fail(key, f"must be [start_s, end_s], got {v!r}")
        a, b = float(v[0]), float(v[1])
        if not (math.isfinite(a) and math.isfinite(b)):  # truth.json is strict JSON
            raise self.fail(key, f"must be finite (1e9 for 'always'), got {v!r}")
        if b <= a:
            raise self.fail(key, f"must be [start_s, end_s] with start < end, got {v!r}")
        return a, b

    def place(self) -> Route:
        """`position = [lat, lon]` or `route = [[lat, lon, t], ...]` (exactly one)."""
        has_pos, has_route = "position" in self.data, "route" in self.data
        if has_pos and has_route:
            raise self.fail("route", "give either 'position' or 'route', not both")
        if not has_pos and not has_route:
            raise BadInput(_("{where} 'position': missing (give 'position' or 'route')").format(
                where=self.where),
                           source=self.source)
        if has_pos:
            p = self.data.pop("position")
            if not isinstance(p, list) or len(p) != 2:
                raise self.fail("position", f"must be [lat, lon], got {p!r}")
            lat, lon = self._latlon("position", p[0], p[1])
            return Route.fixed(lat, lon)
        r = self.data.pop("route")
        if not isinstance(r, list) or not r:
            raise self.fail("route", "must be a non-empty list of [lat, lon, t] waypoints")
        lats: list[float] = []
        lons: list[float] = []
        ts: list[float] = []
        for i, w in enumerate(r):
            if not isinstance(w, list) or len(w) != 3:
                raise self.fail("route", f"waypoint {i + 1} must be [lat, lon, t], got {w!r}")
            lat, lon = self._latlon("route", w[0], w[1])
            t = w[2]
            if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
                raise self.fail("route", f"waypoint {i + 1}: t must be a number of seconds, got {t!r}")
            if ts and float(t) <= ts[-1]:
                raise self.fail("route", f"waypoint {i + 1}: times must increase ({t} after {ts[-1]})")
            lats.append(lat)
            lons.append(lon)
            ts.append(float(t))
        return Route(tuple(lats), tuple(lons), tuple(ts))

    def _latlon(self, key: str, lat: object, lon: object) -> tuple[float, float]:
        for v in (lat, lon):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise self.fail(key, f"coordinates must be numbers, got {v!r}")
        assert isinstance(lat, int | float) and isinstance(lon, int | float)
        if not -90.0 <= lat <= 90.0:
            raise self.fail(key, f"latitude {lat} is out of range (-90..90)")
        if not -180.0 <= lon <= 180.0:
            raise self.fail(key, f"longitude {lon} is out of range (-180..180)")
        return float(lat), float(lon)

    def done(self) -> None:
        for key in self.data:
            raise BadInput(_("{where} '{key}': unknown key").format(
                where=self.where, key=key), source=self.source)


def _arfcn_ok(arfcn: int) -> bool:
    try:
        from fbsdetect.gsm.bands import downlink_hz
    except ImportError:  # bands.py not present: the ARFCN ranges of TS 45.005 2
        return any(a <= arfcn <= b for a, b in ((0, 124), (128, 251), (259, 293), (306, 340),
                                                 (512, 885), (955, 1023)))
    try:
        downlink_hz(arfcn)
    except (ValueError, KeyError):
        return False
    return True


def _check_arfcn(t: _Table, key: str, arfcn: int) -> None:
    if not _arfcn_ok(arfcn):
        raise t.fail(key, f"{arfcn} is not a GSM ARFCN")


def _parse_time(t: _Table, key: str) -> datetime:
    v = t._take(key, DEFAULT_START, False)
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise t.fail(key, f"not an ISO-8601 time: {v!r}") from None
    else:
        raise t.fail(key, f"must be an ISO-8601 time such as {DEFAULT_START!r}, got {v!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _scene(data: dict[str, Any], src: str, stem: str) -> SceneInfo:
    t = _Table(data.get("scene", {}), "[scene]", src, ("name", "seed", "duration_s", "start_time"))
    name = t.string("name", stem)
    if any(c in name for c in "/\\\0") or name in (".", ".."):
        raise t.fail("name", f"{name!r} cannot be a file stem")
    info = SceneInfo(
        name=name,
        seed=t.integer("seed", 1, lo=0, hi=2**63 - 1),
        duration_s=t.number("duration_s", 4.0, lo=0.0, hi=7 * 86400.0, lo_open=True),
        start_time=_parse_time(t, "start_time"),
    )
    t.done()
    return info


def _receiver(data: dict[str, Any], src: str) -> ReceiverConfig:
    if "receiver" not in data:
        raise BadInput(_("[receiver]: missing (the scene needs a receiver position or route)"), source=src)
    t = _Table(data["receiver"], "[receiver]", src,
               ("sample_rate", "center_freq_hz", "format", "gain_db", "noise_figure_db", "ppm",
                "position", "route", "dc_offset_dbfs", "iq_imbalance_db", "iq_phase_deg",
                "band_edge_rolloff_db", "band_edge_rolloff_fraction"))
    r = ReceiverConfig(
        sample_rate_hz=t.number("sample_rate", 2400000.0, lo=200e3, hi=20e6),
        center_freq_hz=t.number("center_freq_hz", 947000000.0, lo=1e6, hi=6e9),
        format=t.choice("format", "cu8", FORMATS),
        gain_db=t.number("gain_db", 30.0, lo=-20.0, hi=80.0),
        noise_figure_db=t.number("noise_figure_db", 7.0, lo=0.0, hi=40.0),
        ppm=t.number("ppm", 0.0, lo=-500.0, hi=500.0),
        route=t.place(),
        dc_offset_dbfs=(t.number("dc_offset_dbfs", lo=-120.0, hi=0.0)
                        if "dc_offset_dbfs" in t.data else None),
        iq_imbalance_db=t.number("iq_imbalance_db", 0.0, lo=-6.0, hi=6.0),
        iq_phase_deg=t.number("iq_phase_deg", 0.0, lo=-30.0, hi=30.0),
        band_edge_rolloff_db=t.number("band_edge_rolloff_db", 0.0, lo=0.0, hi=60.0),
        band_edge_rolloff_fraction=t.number("band_edge_rolloff_fraction", 0.1, lo=0.0, hi=0.5,
                                            lo_open=True),
    )
    t.done()
    return r


def _propagation(data: dict[str, Any], src: str, cells: tuple[CellConfig, ...]) -> PropagationConfig:
    t = _Table(data.get("propagation", {}), "[propagation]", src,
               ("model", "exponent", "ref_distance_m", "shadowing_db", "fading", "rician_k_db",
                "obstruction", "antenna"))
    by_name = {c.name: c.index for c in cells}

    def tables(key: str) -> list[object]:
        v = t.data.pop(key, [])
        if not isinstance(v, list):
            raise t.fail(key, f"must be an array of tables ([[propagation.{key}]])")
        return v

    def cell_index(u: _Table, name: object, key: str) -> int:
        if not isinstance(name, str) or name not in by_name:
            raise u.fail(key, f"{name!r} is not the name of a [[cell]]")
        return by_name[name]

    obstructions: list[Obstruction] = []
    for i, raw in enumerate(tables("obstruction")):
        u = _Table(raw, f"[[propagation.obstruction]] {i + 1}", src,
                   ("position", "radius_m", "loss_db", "cells"))
        names = u._take("cells", [], False)
        if not isinstance(names, list):
            raise u.fail("cells", f"must be a list of cell names, got {names!r}")
        keys = tuple(cell_index(u, n, "cells") for n in names)
        place = u.place()
        obstructions.append(Obstruction(
            lat=place.lat_deg[0], lon=place.lon_deg[0],
            radius_m=u.number("radius_m", lo=0.0, hi=1e5, lo_open=True, required=True),
            loss_db=u.number("loss_db", lo=0.0, hi=80.0, required=True),
            cells=tuple(str(n) for n in names), keys=keys))
        u.done()
    antennas: list[AntennaPattern] = []
    for i, raw in enumerate(tables("antenna")):
        u = _Table(raw, f"[[propagation.antenna]] {i + 1}", src,
                   ("cell", "azimuth_deg", "beamwidth_deg", "front_back_db"))
        name = u._take("cell", None, True)
        key = cell_index(u, name, "cell")
        if any(a.key == key for a in antennas):
            raise u.fail("cell", f"{name!r} already has an antenna pattern")
        antennas.append(AntennaPattern(
            cell=str(name), key=key,
            azimuth_deg=u.number("azimuth_deg", lo=0.0, hi=360.0, required=True),
            beamwidth_deg=u.number("beamwidth_deg", 65.0, lo=1.0, hi=360.0),
            front_back_db=u.number("front_back_db", 25.0, lo=0.0, hi=60.0)))
        u.done()
    p = PropagationConfig(
        model=t.choice("model", "log-distance", MODELS),
        exponent=t.number("exponent", 3.2, lo=1.0, hi=8.0),
        ref_distance_m=t.number("ref_distance_m", 100.0, lo=0.0, hi=1e5, lo_open=True),
        shadowing_db=t.number("shadowing_db", 0.0, lo=0.0, hi=30.0),
        fading=t.choice("fading", "none", FADINGS),
        rician_k_db=t.number("rician_k_db", 6.0, lo=-30.0, hi=40.0),
        obstructions=tuple(obstructions),
        antennas=tuple(antennas),
    )
    t.done()
    return p


_CELL_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(CellConfig)}
CELL_KEYS = (*(f.name for f in fields(CellConfig) if f.name not in ("index", "traffic")), "position",
             *DEDICATED_KEYS)


def _cell(raw: object, index: int, src: str) -> CellConfig:
    t = _Table(raw, f"[[cell]] {index + 1}", src, CELL_KEYS)
    dflt = _CELL_DEFAULTS
    arfcn = t.integer("arfcn", lo=0, hi=1023, required=True)
    _check_arfcn(t, "arfcn", arfcn)
    neighbours = t.int_list("neighbours", dflt["neighbours"], lo=0, hi=1023, max_len=32)
    for a in neighbours:
        _check_arfcn(t, "neighbours", a)
    c = CellConfig(
        index=index,
        name=t.string("name", f"cell{index + 1}"),
        arfcn=arfcn,
        mcc=t.integer("mcc", lo=0, hi=999, required=True),
        mnc=t.integer("mnc", lo=0, hi=999, required=True),
        lac=t.integer("lac", lo=0, hi=65535, required=True),
        cid=t.integer("cid", lo=0, hi=65535, required=True),
        bsic=t.integer("bsic", lo=0, hi=63, required=True),
        route=t.place(),
        eirp_dbm=t.number("eirp_dbm", dflt["eirp_dbm"], lo=-40.0, hi=90.0),
        active=t.interval("active", dflt["active"]),
        ccch=t.choice("ccch", dflt["ccch"], CCCH_KINDS),
        neighbours=neighbours,
        si2ter=t.boolean("si2ter", dflt["si2ter"]),
        si2quater=t.boolean("si2quater", dflt["si2quater"]),
        eutran_neighbours=t.int_list("eutran_neighbours", dflt["eutran_neighbours"], lo=0, hi=65535,
                                     max_len=4),
        gprs=t.boolean("gprs", dflt["gprs"]),
        t3212=t.integer("t3212", dflt["t3212"], lo=0, hi=255),
        att=t.boolean("att", dflt["att"]),
        cro=t.integer("cro", dflt["cro"], lo=0, hi=63),
        temporary_offset=t.integer("temporary_offset", dflt["temporary_offset"], lo=0, hi=7),
        penalty_time=t.integer("penalty_time", dflt["penalty_time"], lo=0, hi=31),
        cell_reselect_hysteresis=t.integer("cell_reselect_hysteresis",
                                           dflt["cell_reselect_hysteresis"], lo=0, hi=7),
        rxlev_access_min=t.integer("rxlev_access_min", dflt["rxlev_access_min"], lo=0, hi=63),
        ms_txpwr_max_cch=t.integer("ms_txpwr_max_cch", dflt["ms_txpwr_max_cch"], lo=0, hi=31),
        cbq=t.integer("cbq", dflt["cbq"], lo=0, hi=1),
        bs_ag_blks_res=t.integer("bs_ag_blks_res", dflt["bs_ag_blks_res"], lo=0, hi=7),
        bs_pa_mfrms=t.integer("bs_pa_mfrms", dflt["bs_pa_mfrms"], lo=2, hi=9),
        mscr=t.integer("mscr", dflt["mscr"], lo=0, hi=1),
        paging_rate=t.number("paging_rate", dflt["paging_rate"], lo=0.0, hi=200.0),
        label=t.choice("label", dflt["label"], LABELS),
        freq_error_ppm=(t.number("freq_error_ppm", lo=-10.0, hi=10.0)
                        if "freq_error_ppm" in t.data else None),
        start_fn=(t.integer("start_fn", lo=0, hi=2715647) if "start_fn" in t.data else None),
    )
    traffic = parse_dedicated(t, combined=c.combined, where=t.where, source=src)
    if traffic is not None:
        c = replace(c, traffic=traffic)
    t.done()
    return c


def _jammer(raw: object, index: int, src: str) -> JammerConfig:
    t = _Table(raw, f"[[jammer]] {index + 1}", src,
               ("name", "center_freq_hz", "bandwidth_hz", "position", "route", "eirp_dbm", "active"))
    j = JammerConfig(
        index=index,
        name=t.string("name", f"jammer{index + 1}"),
        center_freq_hz=t.number("center_freq_hz", lo=1e6, hi=6e9, required=True),
        bandwidth_hz=t.number("bandwidth_hz", lo=1e3, hi=200e6, required=True),
        route=t.place(),
        eirp_dbm=t.number("eirp_dbm", lo=-40.0, hi=90.0, required=True),
        active=t.interval("active", (0.0, 1e9)),
    )
    t.done()
    return j


def _array_of_tables(data: dict[str, Any], key: str, src: str) -> list[object]:
    v = data.get(key, [])
    if not isinstance(v, list):
        raise BadInput(_("'{key}': must be an array of tables ([[{key}]])").format(key=key), source=src)
    return v


def parse_scene(data: dict[str, Any], *, source: str = "scene.toml", stem: str = "scene") -> Scene:
    """Checks an already-parsed TOML document; BadInput on any fault."""
    for key in data:
        if key not in ("scene", "receiver", "propagation", "cell", "jammer"):
            raise BadInput(_("'{key}': unknown key (expected [scene], [receiver], [propagation], [[cell]], "
                            "[[jammer]])").format(
                key=key), source=source)
    info = _scene(data, source, stem)
    receiver = _receiver(data, source)
    cells = tuple(_cell(c, i, source) for i, c in enumerate(_array_of_tables(data, "cell", source)))
    jammers = tuple(_jammer(j, i, source)
                    for i, j in enumerate(_array_of_tables(data, "jammer", source)))
    seen: dict[str, int] = {}
    for c in cells:
        if c.name in seen:
            raise BadInput(_("[[cell]] {n} 'name': {name!r} is already the name of [[cell]] {other}").format(
                n=c.index + 1, name=c.name, other=seen[c.name] + 1), source=source)
        seen[c.name] = c.index
    prop = _propagation(data, source, cells)
    return Scene(path=source, info=info, receiver=receiver, propagation=prop, cells=cells,
                 jammers=jammers)


def load_scene(path: str | os.PathLike[str]) -> Scene:
    """Reads and checks a scene file; BadInput (exit 2, one line) on any fault."""
    p = Path(path)
    src = os.fspath(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BadInput(_("no such scene file"), source=src) from None
    except IsADirectoryError:
        raise BadInput(_("is a directory, expected a scene file"), source=src) from None
    except OSError as exc:
        raise BadInput(_("cannot read scene file: {error}").format(error=exc.strerror), source=src) from None
    return loads_scene(raw, source=src, stem=p.stem)


def loads_scene(raw: bytes | str, *, source: str = "scene.toml", stem: str = "scene") -> Scene:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(_("not UTF-8 text (byte {start})").format(
                start=exc.start), source=source) from None
    else:
        text = raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(_("not valid TOML: {error}").format(error=exc), source=source) from None
    return parse_scene(data, source=source, stem=stem)

