"""Cell observations (contracts.md section 4) from a `DecodeResult`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fbsdetect.receiver.results import DecodeResult
from fbsdetect.types import CellObservation


def _iso_ms(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def cell_observations(result: DecodeResult, *, start_time: datetime | None = None,
                      lat: float | None = None, lon: float | None = None,
                      gain_db: float | None = None,
                      position_at: Callable[[float], tuple[float | None, float | None]] | None = None,
                      ) -> list[CellObservation]:
    """One observation per cell whose SCH was decoded (contracts.md section 4).

    Power is referred to the antenna when `gain_db` (dBFS = dBm + gain_db) is
    known, else reported in dBFS. Fields the cell did not give are None. The
    position is `position_at(time of the cell's first SCH)` when given (a
    moving receiver), else `lat`/`lon`.
    """
    from fbsdetect.sysinfo.cell import CellParams

    out: list[CellObservation] = []
    for r in result.carriers:
        if not r.is_cell:
            continue
        frames: dict[str, Any] = {k: list(v) for k, v in r.si_all.items()}
        params = CellParams.from_frames(frames) if frames else CellParams()
        power: float | None = r.power_dbfs
        ref = "dBFS"
        if gain_db is not None and r.power_dbfs is not None:
            power, ref = r.power_dbfs - gain_db, "dBm"
        when = None
        if start_time is not None:
            when = _iso_ms(start_time + timedelta(seconds=r.first_seen_s or 0.0))
        c_lat, c_lon = position_at(r.first_seen_s or 0.0) if position_at is not None else (lat, lon)
        out.append(CellObservation(
            arfcn=r.arfcn, band=r.band, freq_hz=r.freq_hz, bsic=r.bsic,
            mcc=params.mcc, mnc=params.mnc, lac=params.lac, cid=params.cid,
            power_dbm=None if power is None else round(power, 1), power_ref=ref,
            snr_db=None if r.snr_db is None else round(r.snr_db, 1),
            freq_offset_hz=round(r.offset_hz, 1),
            blocks_ok=r.stats.blocks_ok, blocks_bad=r.stats.blocks_bad,
            si={k: v.hex() for k, v in sorted(r.si.items(), key=lambda kv: _SI_ORDER.index(kv[0]))},
            params=params.params() if frames else {},
            time=when, lat=c_lat, lon=c_lon, stats=r.stats.as_dict()))
    return out


_SI_ORDER = ("1", "2", "2bis", "2ter", "2quater", "3", "4", "13")
