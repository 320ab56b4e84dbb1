"""Writes the detection scenario suite: `<case>/scene.toml`, `registry.csv`, `expected.json`.

Run `python tests/corpus/scenes/build.py` from the project root after changing a case here; the
generated files are committed (they are the suite; this script only keeps them consistent).
`python tests/corpus/scenes/build.py --powers` also prints the received power of every cell
(path loss only, no shadowing) at the start, middle and end of the scene, to tune EIRPs.

Realism (China): China Mobile (460-00) on E-GSM900 ARFCN 1-94, China Unicom (460-01) on 96-124;
legitimate cells broadcast SI2quater with their operator's EARFCNs (China Mobile: B39 38400,
B40 38950, B41 40936, B3 1300; China Unicom: B3 1650/1506, B8 3590, B1 100), BA lists naming
their real neighbours' ARFCNs (plus farther ones not heard here), T3212 20 (China Mobile) / 30
(China Unicom) decihours, CRO 0, RXLEV_ACCESS_MIN 8 / 10, NCC 2-5 (China Mobile) / 0-1
(China Unicom). Fake cells carry `label = "fake"` (truth only; the product never reads it).
Registry rows follow the OpenCellID CSV layout (lon before lat), with positions a little off the
true site (crowd-sourced estimates), plus unrelated rows (other cells of the LAC, LTE, UMTS).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
M_PER_DEG = 111_195.0  # metres per degree of latitude (mean Earth radius)

CMCC_EARFCN = [38400, 38950, 40936, 1300]
CU_EARFCN = [1650, 1506, 3590, 100]
OPS: dict[int, dict[str, Any]] = {
    0: dict(t3212=20, rxlev_access_min=8, cro=0, cell_reselect_hysteresis=2, ms_txpwr_max_cch=5,
            gprs=True, si2quater=True, eutran_neighbours=CMCC_EARFCN),
    1: dict(t3212=30, rxlev_access_min=10, cro=0, cell_reselect_hysteresis=3, ms_txpwr_max_cch=5,
            gprs=True, si2quater=True, eutran_neighbours=CU_EARFCN),
}
KEY_ORDER = ("name", "label", "arfcn", "mcc", "mnc", "lac", "cid", "bsic", "position", "route",
             "eirp_dbm", "active", "ccch", "neighbours", "si2ter", "si2quater", "eutran_neighbours",
             "gprs", "t3212", "att", "cro", "temporary_offset", "penalty_time",
             "cell_reselect_hysteresis", "rxlev_access_min", "ms_txpwr_max_cch", "cbq",
             "paging_rate", "freq_error_ppm")


def off(base: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat = base[0] + north_m / M_PER_DEG
    lon = base[1] + east_m / (M_PER_DEG * math.cos(math.radians(base[0])))
    return round(lat, 6), round(lon, 6)


def dist_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dn = (b[0] - a[0]) * M_PER_DEG
    de = (b[1] - a[1]) * M_PER_DEG * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dn, de)


@dataclass
class Cell:
    name: str
    arfcn: int
    mnc: int
    lac: int
    cid: int
    bsic: int
    at: tuple[float, float] | list[tuple[float, float, float]]  # position or route [(lat, lon, t)]
    eirp_dbm: float
    comment: str = ""
    label: str = "legit"
    params: dict[str, Any] = field(default_factory=dict)  # SI keys beyond the operator's defaults
    neighbours: list[int] | None = None  # None: the other legit cells of its operator + ba_extra
    # registry: "ok" (true site + 30-200 m), None (not in the registry), or a dict of overrides:
    # off_m/brg_deg (position error), range, samples, created, updated
    reg: str | dict[str, Any] | None = "ok"
    mcc: int = 460


@dataclass
class Case:
    key: str
    title: str
    header: str  # the explanation (comment lines)
    notes: str  # expected.json notes
    city: str
    base: tuple[float, float]
    start_time: str
    receiver: tuple[float, float] | list[tuple[float, float, float]]
    cells: list[Cell]
    duration_s: float = 45.0
    seed: int = 1
    gain_db: float = 20.0
    ppm: float = 0.0
    exponent: float = 3.5
    shadowing_db: float = 2.0
    ba_extra: dict[int, list[int]] = field(default_factory=dict)
    jammers: list[dict[str, Any]] = field(default_factory=list)
    extra_rows: list[dict[str, Any]] = field(default_factory=list)  # registry rows beyond the cells
    center_freq_hz: float | None = None
    # a learning run scanned first (`scan --learn`, learn.toml) into the same database: these
    # cells, for learn_duration_s, starting at learn_start_time
    learn_cells: list[Cell] | None = None
    learn_duration_s: float = 30.0
    learn_start_time: str = ""
    learn_header: str = ""


def arfcn_hz(arfcn: int) -> float:
    n = arfcn - 1024 if arfcn >= 975 else arfcn
    return 935e6 + 0.2e6 * n


# ------------------------------------------------------------------ TOML


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if v != 1e9 else "1e9"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def cell_keys(case: Case, c: Cell) -> dict[str, Any]:
    d: dict[str, Any] = {"name": c.name}
    if c.label != "legit":
        d["label"] = c.label
    d |= {"arfcn": c.arfcn, "mcc": c.mcc, "mnc": c.mnc, "lac": c.lac, "cid": c.cid, "bsic": c.bsic}
    if isinstance(c.at, tuple):
        d["position"] = [c.at[0], c.at[1]]
    else:
        d["route"] = [[a, b, float(t)] for a, b, t in c.at]
    d["eirp_dbm"] = float(c.eirp_dbm)
    p = dict(OPS.get(c.mnc, OPS[0])) | c.params
    if c.neighbours is None:
        nb = [o.arfcn for o in case.cells if o.label == "legit" and o.mnc == c.mnc and o is not c]
        nb += case.ba_extra.get(c.mnc, [])
        nb = sorted(set(nb) - {c.arfcn})
    else:
        nb = list(c.neighbours)
    p["neighbours"] = nb
    if not p.get("si2quater", True):
        p["eutran_neighbours"] = []
    for k in KEY_ORDER:
        if k in p:
            d[k] = p.pop(k)
    assert not p, f"{case.key}/{c.name}: unknown keys {p}"
    return d


def learn_case(case: Case) -> Case:
    """The learning run of a case as a Case of its own (written to learn.toml). Same seed: a cell
    at the same index draws the same oscillator error and shadowing field, as a real site keeps
    them from one day to the next."""
    assert case.learn_cells is not None
    return dataclasses.replace(
        case, key=f"{case.key}-learn", title=f"Learning run for {case.key}",
        header=case.learn_header, cells=case.learn_cells, duration_s=case.learn_duration_s,
        start_time=case.learn_start_time, learn_cells=None)


def scene_toml(case: Case) -> str:
    out = io.StringIO()
    w = out.write
    w(f"# {case.title}\n#\n")
    for line in case.header.strip("\n").splitlines():
        w(f"# {line}".rstrip() + "\n")
    w("#\n# Generated by tests/corpus/scenes/build.py (edit it there); registry.csv and\n"
      "# expected.json beside this file are the known cells and what a correct detector says.\n")
    if case.learn_cells is not None:
        w("# learn.toml beside it is scanned first with `scan --learn` into the same database.\n")
    w("\n")
    w("[scene]\n")
    w(f'name = "{case.key}"\nseed = {case.seed}\nduration_s = {float(case.duration_s)}\n')
    w(f'start_time = "{case.start_time}"\n\n')
    w("[receiver]\nsample_rate = 2400000\n")
    cf = case.center_freq_hz or _center(case)
    w(f"center_freq_hz = {int(cf)}\n")
    w(f'format = "cu8"\ngain_db = {float(case.gain_db)}\nnoise_figure_db = 7.0\nppm = {float(case.ppm)}\n')
    if isinstance(case.receiver, tuple):
        w(f"position = {_toml_value(list(case.receiver))}\n\n")
    else:
        w(f"route = {_toml_value([[a, b, float(t)] for a, b, t in case.receiver])}\n\n")
    w('[propagation]\nmodel = "log-distance"\n')
    w(f"exponent = {case.exponent}\nref_distance_m = 100.0\nshadowing_db = {case.shadowing_db}\n"
      'fading = "none"\n')
    for c in case.cells:
        w("\n")
        if c.comment:
            for line in c.comment.strip().splitlines():
                w(f"# {line}\n")
        w("[[cell]]\n")
        for k, v in cell_keys(case, c).items():
            w(f"{k} = {_toml_value(v)}\n")
    for j in case.jammers:
        w("\n")
        if j.get("comment"):
            w(f"# {j['comment']}\n")
        w("[[jammer]]\n")
        for k, v in j.items():
            if k != "comment":
                w(f"{k} = {_toml_value(v)}\n")
    return out.getvalue()


def _center(case: Case) -> float:
    """The fake cell's window if there is one (the decode sanity check), else the first cell's."""
    fakes = [c for c in case.cells if c.label == "fake"]
    c = fakes[0] if fakes else case.cells[0]
    return arfcn_hz(c.arfcn) + 100e3


# ------------------------------------------------------------------ registry


def _reg_row(rng: random.Random, case: Case, radio: str, mnc: int, lac: int, cid: int,
             site: tuple[float, float], o: dict[str, Any]) -> dict[str, Any]:
    off_m = o.get("off_m", rng.uniform(30, 200))
    brg = math.radians(o.get("brg_deg", rng.uniform(0, 360)))
    lat, lon = off(site, off_m * math.cos(brg), off_m * math.sin(brg))
    created = o.get("created", rng.randint(1_420_000_000, 1_650_000_000))
    updated = o.get("updated", rng.randint(max(created, 1_700_000_000), 1_770_000_000))
    return {"radio": radio, "mcc": 460, "net": mnc, "area": lac, "cell": cid,
            "unit": o.get("unit", 0 if radio == "GSM" else -1), "lon": f"{lon:.6f}",
            "lat": f"{lat:.6f}", "range": o.get("range", rng.choice([500, 600, 800, 1000, 1200])),
            "samples": o.get("samples", rng.randint(12, 320)), "changeable": 1,
            "created": created, "updated": updated, "averageSignal": 0}


def registry_rows(case: Case) -> list[dict[str, Any]]:
    rng = random.Random(f"registry:{case.key}")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, int, int]] = set()
    for c in case.cells + (case.learn_cells or []):
        if c.reg is None or c.label == "fake" or not isinstance(c.at, tuple):
            continue
        if (c.mnc, c.lac, c.cid) in seen:
            continue
        seen.add((c.mnc, c.lac, c.cid))
        rows.append(_reg_row(rng, case, "GSM", c.mnc, c.lac, c.cid, c.at,
                             {} if c.reg == "ok" else dict(c.reg)))  # type: ignore[arg-type]
    for e in case.extra_rows:
        e = dict(e)
        site = off(case.base, e.pop("north_m"), e.pop("east_m"))
        rows.append(_reg_row(rng, case, e.pop("radio", "GSM"), e.pop("mnc"), e.pop("lac"),
                             e.pop("cid"), site, e))
    # unrelated rows: other cells of the scene's legitimate LACs (not heard here), other LACs,
    # LTE and UMTS cells of both operators
    used = {(c.mnc, c.lac, c.cid) for c in case.cells}
    fake_lacs = {(c.mnc, c.lac) for c in case.cells if c.label == "fake"}
    legit_lacs = sorted({(c.mnc, c.lac) for c in case.cells if c.label == "legit"} - fake_lacs)
    for i in range(4):
        mnc, lac = legit_lacs[i % len(legit_lacs)]
        cid = rng.randint(1000, 60000)
        if (mnc, lac, cid) in used:
            continue
        d, b = rng.uniform(1500, 3500), rng.uniform(0, 2 * math.pi)
        rows.append(_reg_row(rng, case, "GSM", mnc, lac, cid,
                             off(case.base, d * math.cos(b), d * math.sin(b)), {}))
    for mnc in (0, 1):
        d, b = rng.uniform(4000, 9000), rng.uniform(0, 2 * math.pi)
        lac = rng.randint(2000, 60000)
        if (mnc, lac) in fake_lacs:
            lac += 1
        rows.append(_reg_row(rng, case, "GSM", mnc, lac, rng.randint(1000, 60000),
                             off(case.base, d * math.cos(b), d * math.sin(b)), {}))
    for mnc in (0, 1, 0):
        d, b = rng.uniform(200, 2500), rng.uniform(0, 2 * math.pi)
        rows.append(_reg_row(rng, case, "LTE", mnc, rng.randint(1000, 60000),
                             rng.randint(20000, 1_000_000) * 256 + rng.randint(0, 5),
                             off(case.base, d * math.cos(b), d * math.sin(b)), {"range": 1000}))
    d, b = rng.uniform(200, 2500), rng.uniform(0, 2 * math.pi)
    rows.append(_reg_row(rng, case, "UMTS", 1, rng.randint(1000, 60000),
                         rng.randint(1, 4000) * 65536 + rng.randint(1, 60000),
                         off(case.base, d * math.cos(b), d * math.sin(b)), {"range": 1000}))
    return rows


def registry_csv(case: Case) -> str:
    out = io.StringIO()
    fields_ = ["radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range", "samples",
               "changeable", "created", "updated", "averageSignal"]
    w = csv.DictWriter(out, fields_, lineterminator="\n")
    w.writeheader()
    for r in registry_rows(case):
        w.writerow(r)
    return out.getvalue()


def expected(case: Case) -> dict[str, Any]:
    def ident(c: Cell) -> dict[str, Any]:
        return {"mcc": c.mcc, "mnc": c.mnc, "lac": c.lac, "cid": c.cid, "arfcn": c.arfcn,
                "bsic": c.bsic, "name": c.name}
    return {"fake": [ident(c) for c in case.cells if c.label == "fake"],
            "legit": [ident(c) for c in case.cells if c.label == "legit"],
            "notes": " ".join(case.notes.split())}


# ------------------------------------------------------------------ the cases


def rx_route(base: tuple[float, float],
             pts: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    return [(*off(base, n, e), t) for n, e, t in pts]


def cases() -> list[Case]:
    out: list[Case] = []

    # (a) ------------------------------------------------------------------------------------
    b = (31.2352, 121.4760)  # Nanjing Road pedestrian street, Huangpu, Shanghai
    out.append(Case(
        key="cn-pattern-shanghai", seed=101, city="Shanghai",
        title="The Chinese SMS-blaster pattern: Nanjing Road, Shanghai",
        header="""
A parked van on Nanjing Road runs a fake base station of the kind Chinese police seize by the
hundred (SMS blasters): it clones China Mobile's PLMN (460-00) on a free China Mobile ARFCN
(70), uses a location area no cell around here has (LAC 9527: every phone that reselects must
register), transmits from 70 m away (about 12 dB above every real cell), announces no 3G/4G
neighbours (no SI2quater: phones cannot leave for LTE), sets RXLEV_ACCESS_MIN 0, a
CELL_RESELECT_OFFSET of 40 (80 dB) and the maximum hysteresis so that every phone takes it for
the best cell, T3212 3 (18 min), no GPRS, and pages heavily. Its LTE jammer (China Telecom's
band 5 downlink, 881.5 MHz) switches on with it at t = 3 s. Around it: three China Mobile and
two China Unicom cells, all in the registry, at 450-900 m. The receiver stands still (a
sensor in a shop window).""",
        notes="""The fake (ARFCN 70, 460-00-9527-1024) shows nearly every sign at once: unknown
cell, LAC used by no neighbour, power far above the others, no SI2quater where every
China Mobile cell has one, RXLEV_ACCESS_MIN 0, CRO 40, low T3212, no GPRS, in no neighbour's BA
list, LTE band-5 noise rise from t = 3 s. It must be high. The five real cells are in the
registry within 200 m of their sites and must stay below medium.""",
        base=b, start_time="2026-03-14T02:30:00Z", receiver=b, ppm=4.0, gain_db=20.0,
        ba_extra={0: [78, 81], 1: [111]},
        cells=[
            Cell("cmcc-sh-6360-24911", 60, 0, 6360, 24911, 26, off(b, 450, -300), 55.0),
            Cell("cmcc-sh-6360-24912", 63, 0, 6360, 24912, 29, off(b, -380, 520), 56.0),
            Cell("cmcc-sh-6361-24935", 66, 0, 6361, 24935, 34, off(b, 700, 650), 57.0,
                 params={"ccch": "combined"}),
            Cell("cu-sh-42310-31021", 104, 1, 42310, 31021, 10, off(b, -600, -400), 56.0),
            Cell("cu-sh-42310-31022", 107, 1, 42310, 31022, 13, off(b, 300, 800), 56.0),
            Cell("fake-sms-blaster", 70, 0, 9527, 1024, 27, off(b, 60, 40), 40.0, label="fake",
                 comment="the SMS blaster in a parked van, 70 m away; on from t = 3 s",
                 neighbours=[60, 63, 66],
                 params={"active": [3.0, 1e9], "si2quater": False, "gprs": False, "t3212": 3,
                         "rxlev_access_min": 0, "cro": 40, "cell_reselect_hysteresis": 7,
                         "paging_rate": 12.0}),
        ],
        jammers=[{"comment": "the van's LTE downgrade jammer (band 5 downlink, China Telecom)",
                  "name": "lte-b5-jammer", "center_freq_hz": 881500000.0,
                  "bandwidth_hz": 10000000.0, "position": list(off(b, 60, 40)),
                  "eirp_dbm": 33.0, "active": [3.0, 1e9]}],
    ))

    # (b) ------------------------------------------------------------------------------------
    b = (39.9139, 116.4103)  # Wangfujing, Dongcheng, Beijing
    out.append(Case(
        key="cgi-clone-beijing", seed=102, city="Beijing",
        title="A clone of a real cell's identity on an unusual ARFCN: Wangfujing, Beijing",
        header="""
A low-power fake cell copies the complete identity of a real China Mobile cell heard here
(460-00, LAC 4113, CID 24731, BSIC 34, on ARFCN 28 from a site 850 m south) and broadcasts it
on ARFCN 2, at the bottom edge of the band, a channel no cell around here uses and no BA list
names. Everything else is copied from the real cell: SI2quater with China Mobile's EARFCNs,
the BA list, T3212 20, CRO 0, RXLEV_ACCESS_MIN 8, GPRS. It is about 10 dB weaker at the
receiver than the original (25 dBm EIRP from a backpack 190 m away). The real cell, its
neighbours and two China Unicom cells are in the registry. Fixed receiver.""",
        notes="""The same CGI on two ARFCNs: the fake is the copy on ARFCN 2 (in no neighbour's BA
list; the real ARFCN 28 is named by its neighbours). The fake (460-00-4113-24731 on ARFCN 2)
must be >= medium; the real cell with the same CGI on ARFCN 28 and the other four must not.""",
        base=b, start_time="2026-04-02T06:10:00Z", receiver=b, ppm=-2.5, gain_db=22.0,
        ba_extra={0: [35, 39], 1: [119]},
        cells=[
            Cell("cmcc-bj-4113-24731", 28, 0, 4113, 24731, 34, off(b, -800, 300), 57.0,
                 comment="the real cell whose identity is cloned"),
            Cell("cmcc-bj-4113-24733", 24, 0, 4113, 24733, 21, off(b, 500, -600), 57.0),
            Cell("cmcc-bj-4114-24740", 31, 0, 4114, 24740, 43, off(b, 900, 700), 58.0),
            Cell("cu-bj-42201-5101", 110, 1, 42201, 5101, 8, off(b, -400, -700), 55.0),
            Cell("cu-bj-42201-5103", 114, 1, 42201, 5103, 12, off(b, 650, 250), 55.0),
            Cell("fake-clone-24731", 2, 0, 4113, 24731, 34, off(b, 150, -120), 25.0, label="fake",
                 comment="the clone: same CGI and BSIC, copied SI, on ARFCN 2",
                 neighbours=[24, 31, 35, 39]),
        ],
    ))

    b = (23.1291, 113.3240)  # Tianhe, Guangzhou
    out.append(Case(
        key="cgi-clone-distant-guangzhou", seed=103, city="Guangzhou",
        title="A clone of a distant real cell: Tianhe, Guangzhou",
        header="""
A fake cell in Tianhe broadcasts the identity of a real China Mobile cell whose registered site
is 7.5 km south-east, in Haizhu (460-00, LAC 9514, CID 38211; registry range 700 m, 180
samples, updated in 2026). That cell itself is too far to be heard. The fake copied its system
information, so its BA list names the Haizhu cell's neighbours (12, 15, 18, 21), none of which
is heard here, and its LAC is not that of any cell around. Parameters are otherwise China
Mobile's usual ones (SI2quater, T3212 20, CRO 0, RXLEV_ACCESS_MIN 8, GPRS); power is
ordinary (33 dBm EIRP, 130 m away). Three China Mobile and two China Unicom cells around,
all in the registry.""",
        notes="""The fake on ARFCN 85 (460-00-9514-38211) is a known CGI heard 7.5 km from its
registered place (range 700 m), with a LAC no neighbour shares, a BA list of carriers that are not
heard, and an ARFCN no neighbour lists: >= medium. The five local cells are registered and must
stay below medium.""",
        base=b, start_time="2026-05-20T03:00:00Z", receiver=b, ppm=1.5,
        ba_extra={0: [52], 1: [124]},
        extra_rows=[{"mnc": 0, "lac": 9514, "cid": 38211, "north_m": -6000, "east_m": 4500,
                     "off_m": 60, "range": 700, "samples": 180, "created": 1_480_000_000,
                     "updated": 1_768_000_000},
                    {"mnc": 0, "lac": 9514, "cid": 38212, "north_m": -6200, "east_m": 4100}],
        cells=[
            Cell("cmcc-gz-9530-40121", 40, 0, 9530, 40121, 28, off(b, 400, 300), 56.0),
            Cell("cmcc-gz-9530-40122", 43, 0, 9530, 40122, 31, off(b, -500, 200), 56.0),
            Cell("cmcc-gz-9530-40135", 47, 0, 9530, 40135, 36, off(b, 200, -650), 56.0),
            Cell("cu-gz-42801-7211", 118, 1, 42801, 7211, 9, off(b, -300, -500), 55.0),
            Cell("cu-gz-42801-7214", 121, 1, 42801, 7214, 14, off(b, 800, 100), 56.0),
            Cell("fake-clone-haizhu", 85, 0, 9514, 38211, 20, off(b, 120, 60), 33.0, label="fake",
                 comment="the clone of the Haizhu cell (system information copied, BA list too)",
                 neighbours=[12, 15, 18, 21]),
        ],
    ))

    # (c) ------------------------------------------------------------------------------------
    b = (22.5431, 114.0579)  # Futian, Shenzhen
    out.append(Case(
        key="vehicle-fake-shenzhen", seed=104, city="Shenzhen",
        title="A vehicle-mounted fake cell passing a fixed sensor: Futian, Shenzhen",
        header="""
A fixed sensor on a rooftop in Futian. A car carrying a fake China Unicom cell (460-01, LAC
2017, CID 101, ARFCN 120) drives east past it at 54 km/h, 60 m north of the sensor at t = 30 s:
the fake's received power rises by about 25 dB and falls again within a minute, while every
real cell's power stays flat (a fixed sensor sees fixed sites at constant power). The fake has
no SI2quater, no GPRS, an otherwise ordinary China Unicom configuration (T3212 30, CRO 0,
RXLEV_ACCESS_MIN 10) and a BA list naming two real China Unicom cells. Three China Mobile and
two China Unicom cells around, all in the registry. The sensor's position is fixed.""",
        notes="""The fake (ARFCN 120, 460-01-2017-101) is unknown, in a LAC nobody else uses, has no
SI2quater where China Unicom's cells have one, no GPRS, and its power changes by tens of dB at a
fixed sensor (a moving transmitter): >= medium. The five fixed real cells must stay below medium.""",
        base=b, start_time="2026-06-11T12:20:00Z", receiver=b, ppm=-6.0, duration_s=60.0,
        ba_extra={0: [6, 9], 1: [104]},
        cells=[
            Cell("cmcc-sz-9340-51201", 12, 0, 9340, 51201, 19, off(b, 600, -300), 56.0),
            Cell("cmcc-sz-9340-51202", 15, 0, 9340, 51202, 22, off(b, -450, 500), 56.0),
            Cell("cmcc-sz-9340-51230", 19, 0, 9340, 51230, 37, off(b, 300, 900), 57.0),
            Cell("cu-sz-42911-6601", 97, 1, 42911, 6601, 11, off(b, -700, -200), 56.0),
            Cell("cu-sz-42911-6605", 101, 1, 42911, 6605, 15, off(b, 500, 600), 56.0),
            Cell("fake-in-car", 120, 1, 2017, 101, 9,
                 rx_route(b, [(60, -450, 0.0), (60, 450, 60.0)]), 38.0, label="fake",
                 comment="the fake in a car driving east at 15 m/s, closest (60 m) at t = 30 s",
                 neighbours=[97, 101],
                 params={"si2quater": False, "gprs": False, "paging_rate": 8.0}),
        ],
    ))

    # (d) ------------------------------------------------------------------------------------
    b = (30.6586, 104.0648)  # Chunxi Road, Jinjiang, Chengdu
    out.append(Case(
        key="perfect-params-chengdu", seed=105, city="Chengdu",
        title="A fake cell with perfect operator parameters, off only in power and LAC: Chengdu",
        header="""
A careful fake on Chunxi Road copies China Mobile's configuration exactly: SI2quater with the
same EARFCNs, the neighbours' BA list, T3212 20, CRO 0, RXLEV_ACCESS_MIN 8, hysteresis 2, GPRS,
NCC 4, a plausible CID (20190) and a plausible-looking LAC (13499). What gives it away: that
LAC belongs to no cell around here (the real cells are in LAC 13401), and it is received about
14 dB above every real cell (37 dBm EIRP from 65 m). Its ARFCN (45) is in China Mobile's
allocation but in no neighbour's BA list. Three China Mobile and two China Unicom cells, all in
the registry. Fixed receiver.""",
        notes="""The fake (ARFCN 45, 460-00-13499-20190) differs from the real cells only in LAC
(used by no neighbour), power (far above the others, no registered site) and in being in no
neighbour's BA list: >= medium. The five real cells must stay below medium.""",
        base=b, start_time="2026-07-03T08:45:00Z", receiver=b, ppm=2.0,
        ba_extra={0: [62, 66], 1: [112]},
        cells=[
            Cell("cmcc-cd-13401-20101", 50, 0, 13401, 20101, 33, off(b, 500, 400), 56.0),
            Cell("cmcc-cd-13401-20102", 53, 0, 13401, 20102, 38, off(b, -600, 100), 56.0),
            Cell("cmcc-cd-13401-20115", 57, 0, 13401, 20115, 44, off(b, 200, -700), 57.0),
            Cell("cu-cd-42501-9901", 100, 1, 42501, 9901, 9, off(b, -500, -500), 55.0),
            Cell("cu-cd-42501-9902", 103, 1, 42501, 9902, 13, off(b, 700, -200), 56.0),
            Cell("fake-perfect", 45, 0, 13499, 20190, 35, off(b, 40, -50), 37.0, label="fake",
                 comment="the careful fake: China Mobile's parameters, odd LAC, strong",
                 neighbours=[50, 53, 57, 62, 66]),
        ],
    ))

    # (e) ------------------------------------------------------------------------------------
    b = (30.4950, 114.4100)  # Optics Valley (East Lake High-tech Zone), Wuhan
    out.append(Case(
        key="missing-from-registry-wuhan", seed=106, city="Wuhan",
        title="Hard negative: real cells missing from the registry: Optics Valley, Wuhan",
        header="""
A fast-growing district where OpenCellID's crowd has measured only some of the cells: of six
real cells around the receiver, three (two China Mobile, one China Unicom) are not in the
registry at all. They are ordinary cells: their operator's usual parameters, SI2quater, LACs
shared with registered neighbours (the registry also holds other cells of those LACs), named in
their neighbours' BA lists, at powers that fit sites 400-900 m away. No fake cell.""",
        notes="""All six cells are real. The three unregistered ones (ARFCN 33, 36, 115) may get a
low 'unknown cell' finding at most; nothing may reach medium.""",
        base=b, start_time="2026-08-19T01:15:00Z", receiver=b, ppm=-1.0,
        ba_extra={0: [41], 1: [121]},
        cells=[
            Cell("cmcc-wh-27001-33011", 30, 0, 27001, 33011, 20, off(b, 450, 350), 56.0),
            Cell("cmcc-wh-27001-33012", 33, 0, 27001, 33012, 27, off(b, -600, 300), 56.0, reg=None),
            Cell("cmcc-wh-27001-33025", 36, 0, 27001, 33025, 42, off(b, 100, -800), 57.0, reg=None),
            Cell("cu-wh-42601-8101", 112, 1, 42601, 8101, 8, off(b, -400, -450), 55.0),
            Cell("cu-wh-42601-8102", 115, 1, 42601, 8102, 11, off(b, 700, -100), 56.0, reg=None),
            Cell("cu-wh-42601-8110", 118, 1, 42601, 8110, 14, off(b, 300, 850), 56.0),
        ],
    ))

    # (f) ------------------------------------------------------------------------------------
    b = (34.2610, 108.9470)  # near the Bell Tower, Xi'an
    out.append(Case(
        key="stale-positions-xian", seed=107, city="Xi'an",
        title="Hard negative: stale registry positions: Bell Tower, Xi'an",
        header="""
Three of the five real cells here are in the registry at the wrong place: their OpenCellID
positions are 2.2, 3.6 and 4.8 km from the true sites (estimated years ago from a handful of
samples, never corrected: 3-7 samples, last updated in 2019, ranges 1.2-2.5 km). The cells
themselves are ordinary: operator-typical parameters, SI2quater, LACs shared with their
neighbours, in their neighbours' BA lists, at powers that fit their true sites 400-900 m away.
The other two are registered correctly. No fake cell.""",
        notes="""All five cells are real. ARFCN 70, 76 and 98 are heard where their registry
positions (2.2-4.8 km off, few samples, old) say they should be weak; a 'far from registered place'
or 'power above prediction' finding may be low at most, given the registry entry's age, samples
and range; nothing may reach medium.""",
        base=b, start_time="2026-09-05T04:40:00Z", receiver=b, ppm=3.0,
        ba_extra={0: [80, 84], 1: [106]},
        cells=[
            Cell("cmcc-xa-29301-17001", 70, 0, 29301, 17001, 18, off(b, 500, 300), 56.0,
                 reg={"off_m": 2200, "brg_deg": 40, "range": 1200, "samples": 5,
                      "created": 1_520_000_000, "updated": 1_560_000_000}),
            Cell("cmcc-xa-29301-17002", 73, 0, 29301, 17002, 25, off(b, -450, 400), 56.0),
            Cell("cmcc-xa-29301-17013", 76, 0, 29301, 17013, 41, off(b, 150, -850), 57.0,
                 reg={"off_m": 3600, "brg_deg": 250, "range": 2000, "samples": 3,
                      "created": 1_530_000_000, "updated": 1_555_000_000}),
            Cell("cu-xa-42401-4401", 98, 1, 42401, 4401, 9, off(b, -600, -350), 56.0,
                 reg={"off_m": 4800, "brg_deg": 160, "range": 2500, "samples": 7,
                      "created": 1_500_000_000, "updated": 1_565_000_000}),
            Cell("cu-xa-42401-4402", 102, 1, 42401, 4402, 12, off(b, 650, 600), 56.0),
        ],
    ))

    # (g) ------------------------------------------------------------------------------------
    b = (30.2741, 120.1551)  # Wulin, Hangzhou
    out.append(Case(
        key="new-site-hangzhou", seed=108, city="Hangzhou",
        title="Hard negative: a new legitimate site: Wulin, Hangzhou",
        header="""
China Mobile has just switched on a new site (460-00, LAC 22601, CID 61013, ARFCN 14) 350 m
from the receiver, in a well-measured area: every other cell here is in the registry, and the
new one is not yet. It is configured like its neighbours (SI2quater, T3212 20, CRO 0,
RXLEV_ACCESS_MIN 8, NCC 3), shares their LAC (which the registry knows from many cells), and the
operator has added its ARFCN to the neighbours' BA lists. Its power fits a site at that
distance. No fake cell.""",
        notes="""All five cells are real. The new site (ARFCN 14, 460-00-22601-61013) is unknown to
the registry but consistent in every other way: at most low. Nothing may reach medium.""",
        base=b, start_time="2026-10-08T07:05:00Z", receiver=b, ppm=-3.5,
        ba_extra={0: [3, 18], 1: [117]},
        cells=[
            Cell("cmcc-hz-22601-61001", 8, 0, 22601, 61001, 26, off(b, 550, 300), 56.0),
            Cell("cmcc-hz-22601-61002", 11, 0, 22601, 61002, 33, off(b, -500, 500), 56.0),
            Cell("cmcc-hz-22601-61013", 14, 0, 22601, 61013, 29, off(b, -150, -320), 52.0, reg=None,
                 comment="the new site, not in the registry yet"),
            Cell("cu-hz-42701-3301", 106, 1, 42701, 3301, 10, off(b, -650, -300), 55.0),
            Cell("cu-hz-42701-3302", 109, 1, 42701, 3302, 13, off(b, 600, -600), 56.0),
        ],
        extra_rows=[{"mnc": 0, "lac": 22601, "cid": 61003, "north_m": 1500, "east_m": -900},
                    {"mnc": 0, "lac": 22601, "cid": 61007, "north_m": -1300, "east_m": 1400},
                    {"mnc": 0, "lac": 22601, "cid": 61009, "north_m": 900, "east_m": 1800}],
    ))

    # (h) ------------------------------------------------------------------------------------
    b = (32.0603, 118.7969)  # Xinjiekou, Nanjing
    out.append(Case(
        key="unusual-params-nanjing", seed=109, city="Nanjing",
        title="Hard negative: a legitimate cell with unusual but operator-typical parameters: Nanjing",
        header="""
Xinjiekou's busiest China Unicom cell (460-01, LAC 43301, CID 2201, ARFCN 116) is tuned for
traffic: combined CCCH (BCCH + SDCCH/4 on timeslot 0), T3212 10 (1 h), CRO 4 (8 dB), a
temporary offset of 2 with a penalty time of 1, hysteresis 6, RXLEV_ACCESS_MIN 12,
MS_TXPWR_MAX_CCH 7, SI2ter, and heavy paging. Each value is within what China Unicom uses
elsewhere, none is what a fake would set (no RXLEV_ACCESS_MIN 0, no huge CRO, SI2quater present).
One China Mobile cell also runs CRO 3 and RXLEV_ACCESS_MIN 6. All cells are in the registry
at their true sites. No fake cell.""",
        notes="""All five cells are real. ARFCN 116's parameters are unusual among the cells heard
but within the operator's ranges; a parameter-outlier finding may be low at most; nothing may reach
medium.""",
        base=b, start_time="2026-11-12T09:30:00Z", receiver=b, ppm=0.5,
        ba_extra={0: [90], 1: [110]},
        cells=[
            Cell("cmcc-nj-24001-11101", 80, 0, 24001, 11101, 19, off(b, 450, -400), 56.0),
            Cell("cmcc-nj-24001-11102", 83, 0, 24001, 11102, 28, off(b, -550, 250), 56.0),
            Cell("cmcc-nj-24001-11120", 86, 0, 24001, 11120, 37, off(b, 300, 700), 57.0,
                 params={"cro": 3, "rxlev_access_min": 6}),
            Cell("cu-nj-43301-2201", 116, 1, 43301, 2201, 9, off(b, -250, -300), 54.0,
                 comment="the busy cell with unusual (but China Unicom-typical) parameters",
                 params={"ccch": "combined", "t3212": 10, "cro": 4, "temporary_offset": 2,
                         "penalty_time": 1, "cell_reselect_hysteresis": 6,
                         "rxlev_access_min": 12, "ms_txpwr_max_cch": 7, "si2ter": True,
                         "paging_rate": 6.0}),
            Cell("cu-nj-43301-2202", 120, 1, 43301, 2202, 14, off(b, 700, 500), 56.0),
        ],
    ))

    # (i) ------------------------------------------------------------------------------------
    b = (36.4040, 94.9030)  # Golmud, Qinghai
    out.append(Case(
        key="2g-only-golmud", seed=110, city="Golmud",
        title="Hard negative: 2G-only networks (no SI2quater anywhere): Golmud, Qinghai",
        header="""
On the edge of Golmud in the Qaidam basin the GSM sites have no LTE overlay: no cell of either
operator broadcasts SI2quater (nothing to announce), so 'SI2quater absent' is the norm here, not
the 2G-downgrade lure it is in a city. Large rural cells: sites 1.5-4 km away at 58-60 dBm EIRP,
path-loss exponent 3.0. All cells are in the registry, with the 4-6 km ranges of rural cells
measured far from their sites. No fake cell.""",
        notes="""All four cells are real and none of them has SI2quater: a rule comparing a cell
with its operator's cells heard here finds nothing; a rule that takes the profile's expectation
alone would cry wolf on every cell. Nothing may reach medium.""",
        base=b, start_time="2026-06-25T05:00:00Z", receiver=b, ppm=-4.0, exponent=3.0,
        gain_db=30.0, ba_extra={0: [17], 1: [103]},
        cells=[
            Cell("cmcc-gm-38101-1101", 5, 0, 38101, 1101, 21, off(b, 1500, -600), 58.0,
                 reg={"range": 4000},
                 params={"si2quater": False}),
            Cell("cmcc-gm-38101-1102", 9, 0, 38101, 1102, 26, off(b, -2200, 1100), 59.0,
                 reg={"range": 5000},
                 params={"si2quater": False}),
            Cell("cmcc-gm-38101-1115", 13, 0, 38101, 1115, 30, off(b, 600, 3800), 60.0,
                 reg={"range": 6000},
                 params={"si2quater": False}),
            Cell("cu-gm-43901-501", 99, 1, 43901, 501, 10, off(b, -1800, -1700), 59.0,
                 reg={"range": 5000},
                 params={"si2quater": False}),
        ],
    ))

    # (j) ------------------------------------------------------------------------------------
    b = (29.5630, 106.5516)  # Jiefangbei, Yuzhong, Chongqing
    out.append(Case(
        key="drive-many-lacs-chongqing", seed=111, city="Chongqing",
        title="Hard negative: a drive through many location areas: Chongqing",
        header="""
The receiver drives 1.6 km east along the riverside road at 27 m/s (a car with the sensor and
GPS), crossing location-area boundaries: China Mobile's LACs 23101, 23102, 23103 and China
Unicom's 43101 and 43102. Cells come and go and the serving LAC changes several times a minute:
AIMSICD's 'changing LAC' false alarm. One LAC (23101) is heard from one cell only. Every cell
is real, in the registry, with its operator's usual parameters, and its power follows the
distance to its registered site.""",
        notes="""All seven cells are real; LAC changes along a drive and a LAC heard from a single
cell at a boundary are normal. Nothing may reach medium.""",
        base=b, start_time="2026-04-27T10:10:00Z", duration_s=60.0, ppm=7.0,
        receiver=rx_route(b, [(0, -800, 0.0), (60, 0, 30.0), (0, 800, 60.0)]),
        ba_extra={0: [33], 1: [118]},
        cells=[
            Cell("cmcc-cq-23101-7101", 20, 0, 23101, 7101, 20, off(b, 250, -900), 56.0),
            Cell("cmcc-cq-23102-7201", 23, 0, 23102, 7201, 27, off(b, -300, -250), 56.0),
            Cell("cmcc-cq-23102-7202", 26, 0, 23102, 7202, 35, off(b, 350, 100), 56.0),
            Cell("cmcc-cq-23103-7301", 29, 0, 23103, 7301, 42, off(b, -200, 800), 56.0),
            Cell("cu-cq-43101-1201", 108, 1, 43101, 1201, 9, off(b, -350, -600), 55.0),
            Cell("cu-cq-43102-1301", 111, 1, 43102, 1301, 12, off(b, 300, 450), 55.0),
            Cell("cu-cq-43102-1302", 114, 1, 43102, 1302, 15, off(b, -400, 1000), 56.0),
        ],
    ))

    # extras ----------------------------------------------------------------------------------
    b = (39.1170, 117.2100)  # Heping, Tianjin
    out.append(Case(
        key="imsi-catcher-tianjin", seed=112, city="Tianjin",
        title="An IMSI catcher: low T3212, empty BA list: Heping, Tianjin",
        header="""
A classic IMSI catcher (an OpenBTS/YateBTS-style box) clones China Unicom's PLMN (460-01) on
ARFCN 123 with the software's defaults left in place: LAC 1000, CID 1, BSIC 63 (NCC 7, outside
China Unicom's set), T3212 1 (6 min: phones keep re-registering), an empty BA list (no
neighbours: phones that camp on it have nowhere to go), no SI2quater, no GPRS. Its power is
ordinary (30 dBm EIRP, 290 m away). Two China Mobile and three China Unicom cells around, all
registered. Fixed receiver.""",
        notes="""The fake (ARFCN 123, 460-01-1000-1) is unknown, in a LAC no neighbour uses, with an
empty BA list, T3212 1, NCC outside the operator's set, no SI2quater, no GPRS: >= medium. The
five real cells must stay below medium.""",
        base=b, start_time="2026-02-16T13:50:00Z", receiver=b, ppm=-8.0,
        ba_extra={0: [41, 44], 1: [117]},
        cells=[
            Cell("cmcc-tj-10801-2301", 34, 0, 10801, 2301, 22, off(b, 500, -300), 56.0),
            Cell("cmcc-tj-10801-2302", 37, 0, 10801, 2302, 29, off(b, -450, 600), 56.0),
            Cell("cu-tj-42901-9101", 105, 1, 42901, 9101, 8, off(b, -550, -400), 55.0),
            Cell("cu-tj-42901-9102", 108, 1, 42901, 9102, 11, off(b, 400, 550), 56.0),
            Cell("cu-tj-42901-9115", 111, 1, 42901, 9115, 14, off(b, 800, -100), 56.0),
            Cell("fake-imsi-catcher", 123, 1, 1000, 1, 63, off(b, 250, 150), 30.0, label="fake",
                 comment="the IMSI catcher with its software's defaults",
                 neighbours=[],
                 params={"si2quater": False, "gprs": False, "t3212": 1, "paging_rate": 1.0}),
        ],
    ))

    b = (45.7570, 126.6250)  # Nangang, Harbin
    out.append(Case(
        key="freq-offset-harbin", seed=113, city="Harbin",
        title="A fake cell with a large carrier frequency offset: Nangang, Harbin",
        header="""
A fake China Mobile cell (460-00, LAC 45109, CID 8890, ARFCN 58) on a cheap software-radio BTS
without a disciplined oscillator: its carrier is 0.62 ppm (about 580 Hz) off, while licensed
BTSs hold 0.05 ppm (TS 45.010; field data: fake BTSs 229-719 Hz off, licensed ones within about
45 Hz). The receiving dongle itself is 9 ppm off (uncalibrated), so only the offset relative to
the other cells tells. The fake copied China Mobile's SI (SI2quater, T3212 20, CRO 0,
RXLEV_ACCESS_MIN 8) and the neighbours' BA list but runs no GPRS; its LAC looks plausible but no
cell around uses it. Ordinary power (32 dBm EIRP, 180 m). Three China Mobile and two China
Unicom cells, all registered.""",
        notes="""The fake (ARFCN 58, 460-00-45109-8890) is unknown, its carrier about 580 Hz away
from where the other cells put the dongle's error, in a LAC no neighbour shares, without GPRS where
China Mobile has it, and in no neighbour's BA list: >= medium. The five real cells must stay below
medium.""",
        base=b, start_time="2026-01-21T02:00:00Z", receiver=b, ppm=9.0,
        ba_extra={0: [72, 75], 1: [121]},
        cells=[
            Cell("cmcc-hrb-45101-8801", 62, 0, 45101, 8801, 27, off(b, 450, 400), 56.0),
            Cell("cmcc-hrb-45101-8802", 65, 0, 45101, 8802, 34, off(b, -550, 200), 56.0),
            Cell("cmcc-hrb-45101-8815", 68, 0, 45101, 8815, 40, off(b, 250, -700), 57.0),
            Cell("cu-hrb-42151-6101", 113, 1, 42151, 6101, 10, off(b, -500, -450), 55.0),
            Cell("cu-hrb-42151-6102", 117, 1, 42151, 6102, 13, off(b, 650, -250), 56.0),
            Cell("fake-drifting-osc", 58, 0, 45109, 8890, 37, off(b, 150, 100), 32.0, label="fake",
                 comment="the fake with a free-running oscillator (0.62 ppm)",
                 neighbours=[62, 65, 68, 72, 75],
                 params={"gprs": False, "freq_error_ppm": 0.62}),
        ],
    ))

    b = (25.0389, 102.7183)  # Wuhua, Kunming
    out.append(Case(
        key="next-to-mast-kunming", seed=114, city="Kunming",
        title="Hard negative: a receiver at the foot of a mast: Wuhua, Kunming",
        header="""
The sensor sits on a balcony 70 m from a China Mobile rooftop site (460-00, LAC 8710, CIDs
14401 and 14402: two sectors on ARFCN 88 and 91). The sector facing it is received at about
-22 dBm, 25 dB above any other cell (the receiver's gain is low to avoid clipping). A
path-loss prediction from a site hundreds of metres away would call that impossible; from the
registered position (within 40 m of the true one, range 300 m, 400 samples) it is expected.
The other sector is weaker (it points away). Everything is real and in the registry.""",
        notes="""All five cells are real. ARFCN 88 is very strong because the receiver is next to
its mast; its registered position is accurate, so a power-vs-prediction rule must account for the
short distance. Nothing may reach medium.""",
        base=b, start_time="2026-12-03T03:25:00Z", receiver=b, ppm=1.0, gain_db=12.0,
        ba_extra={0: [76], 1: [120]},
        cells=[
            Cell("cmcc-km-8710-14401", 88, 0, 8710, 14401, 29, off(b, 50, 45), 47.0,
                 comment="the sector of the mast that faces the receiver (70 m away)",
                 reg={"off_m": 35, "range": 300, "samples": 400}),
            Cell("cmcc-km-8710-14402", 91, 0, 8710, 14402, 30, off(b, 50, 45), 35.0,
                 comment="the same mast's sector that points away",
                 reg={"off_m": 35, "range": 300, "samples": 380}),
            Cell("cmcc-km-8710-14420", 84, 0, 8710, 14420, 43, off(b, -700, 400), 57.0),
            Cell("cu-km-43801-5501", 110, 1, 43801, 5501, 8, off(b, 600, -500), 56.0),
            Cell("cu-km-43801-5502", 113, 1, 43801, 5502, 12, off(b, -300, -800), 56.0),
        ],
    ))

    b = (31.2990, 120.5853)  # Guanqian Street, Gusu, Suzhou
    out.append(Case(
        key="fake-after-learning-suzhou", seed=115, city="Suzhou",
        title="A fake cell that appears after the area was learned: Guanqian Street, Suzhou",
        header="""
For the first 30 s only the five real cells are on the air (the sensor's first sweep learns
them). Then a fake switches on 120 m away on China Mobile's ARFCN 5, which was empty: it copies
the neighbours' LAC (20501) with a new CID (9399), so no LAC change gives it away, but it is
strong (38 dBm EIRP, about 8 dB above the real cells), broadcasts no SI2quater where every China
Mobile cell does, and lures phones with CRO 20 (40 dB) and RXLEV_ACCESS_MIN 2. All real cells
are registered. Fixed receiver.""",
        notes="""The fake (ARFCN 5, 460-00-20501-9399) is new after a quiet first sweep, unknown,
strong, without SI2quater, with aggressive reselection (CRO 20, RXLEV_ACCESS_MIN 2), in no
neighbour's BA list: >= medium. The five real cells must stay below medium.""",
        base=b, start_time="2026-05-01T11:40:00Z", receiver=b, ppm=-5.0, duration_s=60.0,
        ba_extra={0: [27, 30], 1: [118]},
        cells=[
            Cell("cmcc-su-20501-9301", 16, 0, 20501, 9301, 21, off(b, 500, 300), 56.0),
            Cell("cmcc-su-20501-9302", 19, 0, 20501, 9302, 28, off(b, -500, 350), 56.0),
            Cell("cmcc-su-20501-9315", 22, 0, 20501, 9315, 36, off(b, 150, -700), 57.0),
            Cell("cu-su-42551-4101", 110, 1, 42551, 4101, 9, off(b, -600, -400), 55.0),
            Cell("cu-su-42551-4102", 113, 1, 42551, 4102, 13, off(b, 650, -350), 56.0),
            Cell("fake-late-starter", 5, 0, 20501, 9399, 19, off(b, 80, -90), 38.0, label="fake",
                 comment="the fake, on the air from t = 30 s",
                 neighbours=[16, 19, 22, 27, 30],
                 params={"active": [30.0, 1e9], "si2quater": False, "cro": 20,
                         "rxlev_access_min": 2, "paging_rate": 6.0}),
        ],
    ))
    b = (41.8057, 123.4315)  # Taiyuan Street, Heping, Shenyang
    out.append(Case(
        key="lte-carrier-new-site-shenyang", seed=117, city="Shenyang",
        title="Hard negative: a busy LTE band and a new strong legitimate site: Shenyang",
        header="""
China Telecom's LTE carrier in band 5 (870-880 MHz downlink, from a site 600 m away) fills the
band the jamming check watches, as it does all day in every Chinese city: to a power detector an
LTE downlink looks just like a noise jammer, so it is modelled here as band-limited noise, on the
air from the start and throughout. At the same time China Mobile has a new site 200 m from the
receiver (460-00, LAC 4501, CID 30115, ARFCN 77), not yet in the registry and the strongest
GSM cell heard, configured like its neighbours (SI2quater, T3212 20, CRO 0, RXLEV_ACCESS_MIN 8),
in their LAC and BA lists. Every other cell is registered. Fixed receiver. No fake cell, no
jammer.""",
        notes="""All five cells are real and the band-5 energy is a legitimate LTE carrier, present
from the first sweep. The new site (ARFCN 77) is unknown and strong, but nothing about it is
wrong; 'LTE noise rise with a new strong cell' must not turn a band that was never quiet into
evidence. Nothing may reach medium.""",
        base=b, start_time="2026-10-30T01:45:00Z", receiver=b, ppm=-2.0,
        ba_extra={0: [83], 1: [112]},
        cells=[
            Cell("cmcc-sy-4501-30101", 71, 0, 4501, 30101, 20, off(b, 500, 400), 56.0),
            Cell("cmcc-sy-4501-30102", 74, 0, 4501, 30102, 27, off(b, -600, 250), 56.0),
            Cell("cmcc-sy-4501-30115", 77, 0, 4501, 30115, 36, off(b, 150, -130), 50.0, reg=None,
                 comment="the new site, not in the registry yet, 200 m away"),
            Cell("cu-sy-42181-2601", 117, 1, 42181, 2601, 9, off(b, -450, -500), 55.0),
            Cell("cu-sy-42181-2602", 120, 1, 42181, 2602, 13, off(b, 700, -300), 56.0),
        ],
        jammers=[{"comment": "China Telecom's LTE downlink in band 5 (legitimate; noise-like to a "
                             "power detector)",
                  "name": "ct-lte-b5-carrier", "center_freq_hz": 875000000.0,
                  "bandwidth_hz": 9000000.0, "position": list(off(b, -400, 450)),
                  "eirp_dbm": 60.0}],
    ))

    b = (36.0671, 120.3826)  # Shinan, Qingdao
    out.append(Case(
        key="back-from-maintenance-qingdao", seed=118, city="Qingdao",
        title="Hard negative: a real cell back on the air after maintenance: Shinan, Qingdao",
        header="""
The counterpart of fake-after-learning-suzhou: for the first 25 s a registered China Mobile cell
(460-00, LAC 16201, CID 5507, ARFCN 9, 300 m away) is off the air for maintenance, and another
one (CID 5512, ARFCN 15) goes off at t = 35 s for its own. The cell that comes back is new to
the sensor's first sweeps and strong, but it is in the registry at its site, in its neighbours'
LAC and BA lists, with China Mobile's usual parameters. The three other cells (one China Mobile,
two China Unicom) stay on. Fixed receiver. No fake cell.""",
        notes="""All five cells are real. ARFCN 9 appears after the first sweeps and ARFCN 15
disappears before the end: on-air changes of registered, consistent cells are maintenance, not
attacks. Nothing may reach medium.""",
        base=b, start_time="2026-07-19T18:20:00Z", receiver=b, ppm=5.5, duration_s=60.0,
        ba_extra={0: [21], 1: [115]},
        cells=[
            Cell("cmcc-qd-16201-5507", 9, 0, 16201, 5507, 25, off(b, 200, -230), 54.0,
                 comment="back on the air at t = 25 s", params={"active": [25.0, 1e9]}),
            Cell("cmcc-qd-16201-5508", 12, 0, 16201, 5508, 30, off(b, -550, 300), 56.0),
            Cell("cmcc-qd-16201-5512", 15, 0, 16201, 5512, 38, off(b, 450, 500), 56.0,
                 comment="off the air from t = 35 s", params={"active": [0.0, 35.0]}),
            Cell("cu-qd-42301-1801", 106, 1, 42301, 1801, 9, off(b, -400, -550), 55.0),
            Cell("cu-qd-42301-1802", 110, 1, 42301, 1802, 14, off(b, 650, -100), 56.0),
        ],
    ))

    b = (37.3700, 97.3700)  # Delingha, Haixi, Qinghai
    out.append(Case(
        key="fake-in-2g-area-delingha", seed=119, city="Delingha",
        title="A fake cell where the real network is 2G-only: Delingha, Qinghai",
        header="""
The counterpart of 2g-only-golmud: in Delingha no real cell broadcasts SI2quater, so the fake's
missing SI2quater proves nothing here. It gives itself away otherwise: it clones China Mobile
(460-00) on ARFCN 60 with LAC 8888 (no cell around has it), from a car parked 150 m away
(12-19 dB above the real cells, whose sites are 1.5-4 km away), with CRO 30 (60 dB),
RXLEV_ACCESS_MIN 0 and T3212 5. Three China Mobile cells and one China Unicom cell, all 2G-only
and registered (rural ranges of 4-6 km). Fixed receiver.""",
        notes="""The fake (ARFCN 60, 460-00-8888-2468) must be >= medium without help from
'SI2quater absent' (no real cell here has it): unknown cell, LAC no neighbour uses, CRO 30,
RXLEV_ACCESS_MIN 0, low T3212, power far above the rural sites, in no BA list. The four real
cells must stay below medium.""",
        base=b, start_time="2026-08-08T04:10:00Z", receiver=b, ppm=3.5, exponent=3.0,
        gain_db=30.0, ba_extra={0: [52], 1: [113]},
        cells=[
            Cell("cmcc-dlh-38301-2101", 44, 0, 38301, 2101, 18, off(b, 1800, 700), 59.0,
                 reg={"range": 5000}, params={"si2quater": False}),
            Cell("cmcc-dlh-38301-2102", 48, 0, 38301, 2102, 29, off(b, -1500, -1200), 58.0,
                 reg={"range": 4000}, params={"si2quater": False}),
            Cell("cmcc-dlh-38301-2110", 56, 0, 38301, 2110, 37, off(b, -900, 3300), 60.0,
                 reg={"range": 6000}, params={"si2quater": False}),
            Cell("cu-dlh-43911-701", 107, 1, 43911, 701, 11, off(b, 2500, -1500), 59.0,
                 reg={"range": 5000}, params={"si2quater": False}),
            Cell("fake-rural-blaster", 60, 0, 8888, 2468, 33, off(b, 100, -110), 38.0,
                 label="fake", comment="the fake in a parked car, 150 m away",
                 neighbours=[44, 48, 56],
                 params={"si2quater": False, "cro": 30, "rxlev_access_min": 0, "t3212": 5,
                         "paging_rate": 8.0}),
        ],
    ))

    b = (34.7466, 113.6253)  # Erqi, Zhengzhou
    out.append(Case(
        key="drive-with-blaster-zhengzhou", seed=120, city="Zhengzhou",
        title="A drive with an SMS blaster car driving alongside: Zhengzhou",
        header="""
The receiver drives 1.5 km east on Jiefang Road at 25 m/s through China Mobile's LACs 37101 and
37102 (drive-many-lacs-chongqing's situation). An SMS blaster car drives the same way 120 m
ahead, so its power stays nearly constant while every real cell rises and falls. It clones
China Mobile's PLMN and even takes the LAC of the area it starts in (37101), with a new CID;
it broadcasts no SI2quater where every China Mobile cell does, CRO 30 and RXLEV_ACCESS_MIN 2.
Three China Mobile and two China Unicom cells, all registered.""",
        notes="""The fake (ARFCN 82, 460-00-37101-4999) must be >= medium on its own signs (no
SI2quater where the operator has it, CRO 30, RXLEV_ACCESS_MIN 2, unknown, in no BA list) while
the receiver moves and the real cells' LACs change; no real cell may reach medium.""",
        base=b, start_time="2026-03-30T00:50:00Z", duration_s=60.0, ppm=-7.5,
        receiver=rx_route(b, [(0, -750, 0.0), (40, 0, 30.0), (0, 750, 60.0)]),
        ba_extra={0: [91], 1: [123]},
        cells=[
            Cell("cmcc-zz-37101-4101", 73, 0, 37101, 4101, 19, off(b, 300, -800), 56.0),
            Cell("cmcc-zz-37101-4102", 76, 0, 37101, 4102, 26, off(b, -350, -150), 56.0),
            Cell("cmcc-zz-37102-4201", 79, 0, 37102, 4201, 34, off(b, 250, 700), 56.0),
            Cell("cu-zz-42331-901", 100, 1, 42331, 901, 8, off(b, -300, -500), 55.0),
            Cell("cu-zz-42331-902", 104, 1, 42331, 902, 13, off(b, 350, 550), 55.0),
            Cell("fake-blaster-car", 82, 0, 37101, 4999, 21,
                 rx_route(b, [(0, -630, 0.0), (40, 120, 30.0), (0, 870, 60.0)]), 36.0,
                 label="fake", comment="the blaster car, 120 m ahead of the receiver",
                 neighbours=[73, 76, 79],
                 params={"si2quater": False, "cro": 30, "rxlev_access_min": 2,
                         "paging_rate": 10.0}),
        ],
    ))

    b = (24.4798, 118.0894)  # Zhongshan Road, Siming, Xiamen
    real = [  # the cell the clone replaces last, so that the others keep their index (and draws)
        Cell("cmcc-xm-5901-22312", 36, 0, 5901, 22312, 34, off(b, 450, 400), 56.0),
        Cell("cmcc-xm-5901-22320", 39, 0, 5901, 22320, 41, off(b, 300, -650), 57.0),
        Cell("cu-xm-42051-3101", 100, 1, 42051, 3101, 9, off(b, -500, -450), 55.0),
        Cell("cu-xm-42051-3102", 104, 1, 42051, 3102, 12, off(b, 650, 200), 56.0),
        Cell("cmcc-xm-5901-22311", 33, 0, 5901, 22311, 27, off(b, -700, 500), 56.0,
             comment="the real cell whose identity and ARFCN the clone takes over"),
    ]
    out.append(Case(
        key="learned-clone-power-jump-xiamen", seed=116, city="Xiamen",
        title="A clone that takes over a real cell's identity and ARFCN, after a learning run: Xiamen",
        header="""
A fixed sensor on Zhongshan Road learned the area the day before (learn.toml: a `scan --learn`
run with the five real cells). Today the China Mobile cell 460-00-5901-22311 on ARFCN 33 (site
860 m south-east, in the registry) is off the air, and a clone has taken its place: same CGI,
same ARFCN, same BSIC, every SI copied (SI2quater, BA list, T3212 20, CRO 0), transmitting from
80 m away. At the sensor the cell now reads about 18 dB above what it read yesterday and above
what its registered site predicts, and its carrier sits 0.3 ppm (about 280 Hz) off, where
yesterday it was within 0.05 ppm. Nothing else changed.""",
        learn_header="""
The day before: the five real cells of learned-clone-power-jump-xiamen, as the sensor learned
them (`fbsdetect scan --learn`). No fake cell.""",
        notes="""The cell on ARFCN 33 (460-00-5901-22311) is the clone: its identity, ARFCN and
parameters are the learned ones, but it is received about 18 dB above the baseline learned
yesterday and above its registered site's prediction, at a carrier offset it never had: >= medium.
The four other real cells are unchanged and must stay below medium.""",
        base=b, start_time="2026-09-23T06:00:00Z", receiver=b, ppm=2.5,
        ba_extra={0: [33, 44], 1: [109]},  # the operator's BA lists still name the real ARFCN 33
        learn_cells=real, learn_start_time="2026-09-22T06:00:00Z",
        cells=[*real[:-1],
               Cell("fake-clone-22311", 33, 0, 5901, 22311, 27, off(b, 60, 50), 39.0,
                    label="fake", comment="the clone of 460-00-5901-22311, on its ARFCN, 80 m away",
                    neighbours=[36, 39, 44], params={"freq_error_ppm": 0.3})],
    ))
    return out


# ------------------------------------------------------------------ powers / main


def powers(case: Case) -> list[str]:
    import numpy as np

    from fbsdetect.sim.channel import path_loss_db
    from fbsdetect.sim.scene import PropagationConfig

    prop = PropagationConfig(model="log-distance", exponent=case.exponent)
    ts = [0.0, case.duration_s / 2, case.duration_s]

    def pos(at: Any, t: float) -> tuple[float, float]:
        if isinstance(at, tuple):
            return at
        return (float(np.interp(t, [w[2] for w in at], [w[0] for w in at])),
                float(np.interp(t, [w[2] for w in at], [w[1] for w in at])))

    lines = [f"{case.key} (gain {case.gain_db} dB)"]
    for c in case.cells:
        ps = []
        for t in ts:
            d = dist_m(pos(case.receiver, t), pos(c.at, t))
            ps.append(c.eirp_dbm - float(path_loss_db(d, arfcn_hz(c.arfcn), prop)))
        lines.append(f"  {c.arfcn:4d} {c.label:5s} {c.name:28s} "
                     + " ".join(f"{p:6.1f}" for p in ps) + " dBm  "
                     + " ".join(f"{p + case.gain_db:6.1f}" for p in ps) + " dBFS")
    return lines


def readme(all_cases: list[Case]) -> str:
    lines = [
        "# Detection scenario suite",
        "",
        "The public acceptance scenes of issue 10: each `<case>/` holds `scene.toml` (a simulator scene",
        "whose header comment explains the case; fake cells carry `label = \"fake\"`, which only the",
        "tests read), `registry.csv` (the known cells, OpenCellID layout: lon before lat) and",
        "`expected.json` (`fake` / `legit` cells by mcc, mnc, lac, cid, arfcn: every fake must be",
        "reported at severity >= medium, no real cell at >= medium), and for a case with a learning run",
        "`learn.toml`, scanned first with `scan --learn`.",
        "",
        "Run end to end: `.venv/bin/python -m pytest tests/e2e/test_scenarios.py` (slow) or",
        "`.venv/bin/python bench/bench_detection_quality.py [CASE ...] [--details] [--seeds K]`.",
        "Every cell of every scene decodes with its identity: `tests/e2e/test_scene_render.py`.",
        "The files are written by `build.py` (edit the cases there, run it, commit its output).",
        "",
        "| case | fakes | real | s | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in all_cases:
        n_fake = sum(x.label == "fake" for x in c.cells)
        n_real = sum(x.label == "legit" for x in c.cells)
        lines.append(f"| `{c.key}` | {n_fake} | {n_real} | {c.duration_s:g} | {c.title} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if "--powers" not in argv:
        (HERE / "README.md").write_text(readme(cases()), encoding="utf-8")
    for case in cases():
        if "--powers" in argv:
            print("\n".join(powers(case)))
            continue
        d = HERE / case.key
        d.mkdir(exist_ok=True)
        (d / "scene.toml").write_text(scene_toml(case), encoding="utf-8")
        (d / "registry.csv").write_text(registry_csv(case), encoding="utf-8")
        (d / "expected.json").write_text(json.dumps(expected(case), indent=2, ensure_ascii=False)
                                         + "\n", encoding="utf-8")
        if case.learn_cells is not None:
            (d / "learn.toml").write_text(scene_toml(learn_case(case)), encoding="utf-8")
        print(d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
