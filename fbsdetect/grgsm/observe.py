"""Cell observations from decoded L2 frames alone (gr-gsm's output): per
ARFCN, the SI frames (the last of each type, every SI2quater instance), the
cell identity and parameters from them (`sysinfo.cell.CellParams`, the same
parser the native path uses), the number of frames, and gr-gsm's signal
level. gr-gsm's frames carry no BSIC (its SCH decode is internal), so
`bsic` is null, as contracts.md section 4 asks for what was not decoded;
its `signal_dbm` is gr-gsm's own uncalibrated figure (10 log10 of the burst
power in its sample units), reported with `power_ref` "dBFS".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Any

from fbsdetect.types import CellObservation, L2Frame

SI_ORDER = ("1", "2", "2bis", "2ter", "2quater", "3", "4", "13")


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    from datetime import UTC

    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def observations_from_frames(frames: Iterable[L2Frame], *, time: datetime | None = None,
                             lat: float | None = None, lon: float | None = None,
                             gps_mode: int | None = None, gps_error_m: float | None = None,
                             sensor: str | None = None) -> list[CellObservation]:
    from fbsdetect.gsm.bands import band_of_arfcn, downlink_hz
    from fbsdetect.sysinfo.cell import CellParams
    from fbsdetect.sysinfo.dispatch import si_key

    by: dict[int, dict[str, Any]] = {}
    for f in frames:
        if f.arfcn is None:
            continue
        d = by.setdefault(f.arfcn, {"si": {}, "si_all": {}, "n": 0, "power": []})
        d["n"] += 1
        if f.power_dbm is not None:
            d["power"].append(f.power_dbm)
        k = si_key(f.data)
        if k is not None:
            d["si"][k] = f.data
            inst = d["si_all"].setdefault(k, [])
            if f.data not in inst:
                inst.append(f.data)
    out = []
    for arfcn in sorted(by):
        d = by[arfcn]
        if not d["si"]:
            continue  # frames but no SI: not enough to call it a cell
        params = CellParams.from_frames({k: list(v) for k, v in d["si_all"].items()})
        power = round(median(d["power"]), 1) if d["power"] else None
        out.append(CellObservation(
            arfcn=arfcn, band=band_of_arfcn(arfcn), freq_hz=downlink_hz(arfcn), bsic=None,
            mcc=params.mcc, mnc=params.mnc, lac=params.lac, cid=params.cid, power_dbm=power,
            power_ref="dBFS", snr_db=None, freq_offset_hz=None, blocks_ok=d["n"], blocks_bad=0,
            si={k: d["si"][k].hex() for k in SI_ORDER if k in d["si"]}, params=params.params(),
            time=_iso(time), lat=lat, lon=lon, gps_mode=gps_mode, gps_error_m=gps_error_m, sensor=sensor))
    return out
