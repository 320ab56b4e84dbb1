"""Fixtures for rule tests: a small town of legitimate cells (like the demo
scene's), its registry, a profile, and a context builder."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from fbsdetect.detect.baseline import Baseline
from fbsdetect.detect.context import (
    InMemoryRegistry,
    LteSample,
    PagingStats,
    RegCell,
    RuleContext,
    Seen,
    World,
)
from fbsdetect.types import CellObservation

T0 = "2026-03-01T10:00:00.000Z"
POS = (36.6170, 101.7780)  # the receiver


def t_iso(s: float) -> str:
    from fbsdetect.detect.context import iso_to_unix, unix_to_iso

    base = iso_to_unix(T0)
    assert base is not None
    out = unix_to_iso(base + s)
    assert out is not None
    return out


def params(**kw: Any) -> dict[str, Any]:
    p = {"neighbours": [92, 93, 94, 98], "t3212": 20, "att": True, "cro": 0, "temporary_offset": 0,
         "penalty_time": 0, "cell_reselect_hysteresis": 2, "rxlev_access_min": 8, "ms_txpwr_max_cch": 5,
         "cbq": 0, "gprs": True, "si2ter": False, "si2quater": True, "eutran_neighbours": [1300, 38400]}
    p.update(kw)
    return p


def cell(arfcn: int, mcc: int = 460, mnc: int = 0, lac: int = 10290, cid: int = 41000, bsic: int = 35,
         power: float = -60.0, t: float = 0.0, pos: tuple[float, float] = POS, offset_hz: float | None = None,
         ppm: float = 12.5, si: dict[str, str] | None = None, blocks_ok: int = 20,
         **p: Any) -> CellObservation:
    from fbsdetect.gsm.bands import downlink_hz

    f = downlink_hz(arfcn)
    off = -ppm * 1e-6 * f + (offset_hz or 0.0)
    return CellObservation(arfcn=arfcn, band="E-GSM900", freq_hz=f, bsic=bsic, mcc=mcc, mnc=mnc, lac=lac,
                           cid=cid, power_dbm=power, snr_db=25.0, freq_offset_hz=round(off, 1),
                           blocks_ok=blocks_ok, blocks_bad=0, si=si or {}, params=params(**p), time=t_iso(t),
                           lat=pos[0], lon=pos[1], gps_mode=3, gps_error_m=2.5, sensor="s1")


# the legitimate town: China Mobile 92-94, China Unicom 96-100
CMCC = [
    dict(arfcn=92, lac=10290, cid=41021, bsic=35, power=-55.0, site=(36.6235, 101.7745)),
    dict(arfcn=93, lac=10291, cid=41033, bsic=42, power=-58.0, site=(36.6100, 101.7800)),
    dict(arfcn=94, lac=10291, cid=41047, bsic=19, power=-62.0, site=(36.6240, 101.7890)),
]
CU = [
    dict(arfcn=96, lac=42101, cid=12011, bsic=10, power=-60.0, site=(36.6080, 101.7690)),
    dict(arfcn=97, lac=42101, cid=12012, bsic=11, power=-57.0, site=(36.6255, 101.7680)),
    dict(arfcn=98, lac=42101, cid=12021, bsic=13, power=-61.0, site=(36.6090, 101.7900)),
]
CU_PARAMS = dict(neighbours=[96, 97, 98, 99, 100], t3212=30, rxlev_access_min=10)


def town(t: float = 0.0) -> list[CellObservation]:
    out = [cell(c["arfcn"], lac=c["lac"], cid=c["cid"], bsic=c["bsic"], power=c["power"], t=t) for c in CMCC]
    out += [cell(c["arfcn"], mnc=1, lac=c["lac"], cid=c["cid"], bsic=c["bsic"], power=c["power"], t=t,
                 **CU_PARAMS) for c in CU]
    return out


def registry(extra: list[RegCell] | None = None, drop: set[int] | None = None) -> InMemoryRegistry:
    recs = [RegCell(460, 0, c["lac"], c["cid"], c["site"][0], c["site"][1], 1000.0, 20, 1767225600,
                    c["arfcn"], c["bsic"]) for c in CMCC]
    recs += [RegCell(460, 1, c["lac"], c["cid"], c["site"][0], c["site"][1], 1000.0, 20, 1767225600,
                     c["arfcn"], c["bsic"]) for c in CU]
    recs = [r for r in recs if r.cid not in (drop or set())]
    return InMemoryRegistry(recs + list(extra or []))


def operator(mcc: int, mnc: int, **kw: Any) -> SimpleNamespace:
    base: dict[str, Any] = dict(mcc=mcc, mnc=mnc, name="China Mobile" if mnc == 0 else "China Unicom",
                                ncc=[2, 4, 5] if mnc == 0 else [1], si2quater_expected=True,
                                gprs_expected=True,
                                arfcns={"E-GSM900": [[1, 94]] if mnc == 0 else [[96, 124]]},
                                t3212_range=[10, 30], rxlev_access_min_range=[6, 12], cro_range=[0, 5],
                                ms_txpwr_max_cch_range=[5, 7], cell_reselect_hysteresis_range=[2, 4])
    base.update(kw)
    return SimpleNamespace(**base)


class Profile(SimpleNamespace):
    def operator(self, mcc: int, mnc: int) -> Any:
        for op in self.operators:
            if (op.mcc, op.mnc) == (mcc, mnc):
                return op
        return None


def profile(**op_kw: Any) -> Profile:
    return Profile(name="cn-test", operators=[operator(460, 0, **op_kw), operator(460, 1)], detect={},
                   lte_bands=[])


def context(target: CellObservation, others: list[CellObservation] | None = None, *,
            reg: InMemoryRegistry | bool | None = True, prof: Any = True, baseline: Baseline | None = None,
            lte: list[LteSample] | None = None, sweeps: dict[int, int] | None = None,
            paging: dict[int, PagingStats] | None = None, run_id: int | None = 1) -> tuple[Seen, RuleContext]:
    """The target's Seen and RuleContext in a world of `others` (default: the town).
    `sweeps` maps id(observation) -> sweep number; `paging` id(observation) -> stats."""
    world = World()
    others = town() if others is None else others
    target_seen = None
    for o in [*others, target]:
        s = Seen.of(o, run_id=run_id, sweep=(sweeps or {}).get(id(o)), paging=(paging or {}).get(id(o)))
        world.add(s)
        if o is target:
            target_seen = s
    for x in lte or []:
        world.add_lte(x)
    assert target_seen is not None
    r = registry() if reg is True else (reg or None)
    p = profile() if prof is True else (prof or None)
    return target_seen, RuleContext(target_seen, world, registry=r, baseline=baseline, profile=p)


def fake(**kw: Any) -> CellObservation:
    """A cell of China Mobile that looks ordinary (override to make it odd)."""
    d: dict[str, Any] = dict(arfcn=90, lac=10290, cid=41099, bsic=37, power=-50.0)
    d.update(kw)
    return cell(**d)


__all__ = ["CellObservation", "LteSample", "PagingStats", "RegCell", "replace"]
