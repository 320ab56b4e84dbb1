"""Cell observations from decoded L2 frames alone (gr-gsm's output): per
ARFCN, the SI frames (the last of each type, every SI2quater instance), the
cell identity and parameters from them (`sysinfo.cell.CellParams`, the same
parser the native path uses), the number of frames, and gr-gsm's signal
level. gr-gsm's frames carry no BSIC (its SCH decode is internal), so
`bsic` is null, as contracts.md section 4 asks for what was not decoded;
its `signal_dbm` is gr-gsm's own uncalibrated figure (10 log10 of the burst
power in its sample units), reported with `power_ref` "dBFS". The observation
itself is built by `pipeline.observations.build_observation`, as the native
receiver's is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Any

from fbsdetect.types import CellObservation, L2Frame


def observations_from_frames(frames: Iterable[L2Frame], *, time: datetime | None = None,
                             lat: float | None = None, lon: float | None = None,
                             gps_mode: int | None = None, gps_error_m: float | None = None,
                             sensor: str | None = None) -> list[CellObservation]:
    from fbsdetect.gsm.bands import band_of_arfcn, downlink_hz
    from fbsdetect.pipeline.observations import SI_ORDER, build_observation
    from fbsdetect.sysinfo.cell import remember_instance
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
            remember_instance(d["si_all"], k, bytes(f.data))
    out = []
    for arfcn in sorted(by):
        d = by[arfcn]
        if not d["si"]:
            continue  # frames but no SI: not enough to call it a cell
        out.append(build_observation(
            arfcn=arfcn, band=band_of_arfcn(arfcn), freq_hz=downlink_hz(arfcn), bsic=None,
            si_last={k: v for k, v in d["si"].items() if k in SI_ORDER}, si_all=d["si_all"],
            power=round(median(d["power"]), 1) if d["power"] else None, power_ref="dBFS", snr_db=None,
            freq_offset_hz=None, blocks_ok=d["n"], blocks_bad=0, time=time, lat=lat, lon=lon,
            gps_mode=gps_mode, gps_error_m=gps_error_m, sensor=sensor))
    return out
