"""Cell observations (contracts.md section 4) from a `DecodeResult`, built by
`pipeline.observations.build_observation` (the one builder every decoder uses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fbsdetect.receiver.results import CarrierResult, DecodeResult
from fbsdetect.types import CellObservation


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
    out: list[CellObservation] = []
    for r in result.carriers:
        if not r.is_cell:
            continue
        c_lat, c_lon = position_at(r.first_seen_s or 0.0) if position_at is not None else (lat, lon)
        out.append(carrier_observation(r, start_time=start_time, lat=c_lat, lon=c_lon, gain_db=gain_db))
    return out


def carrier_observation(r: CarrierResult, *, start_time: datetime | None = None, lat: float | None = None,
                        lon: float | None = None, gain_db: float | None = None) -> CellObservation:
    """The observation of one decoded carrier (a cell: `r.is_cell`), as `cell_observations`
    makes it; the scan's revisits use it for the one carrier they look at."""
    from fbsdetect.pipeline.observations import build_observation, iso_ms

    power: float | None = r.power_dbfs
    ref = "dBFS"
    if gain_db is not None and r.power_dbfs is not None:
        power, ref = r.power_dbfs - gain_db, "dBm"
    when = None
    if start_time is not None:
        when = iso_ms(start_time + timedelta(seconds=r.first_seen_s or 0.0))
    return build_observation(
        arfcn=r.arfcn, band=r.band, freq_hz=r.freq_hz, bsic=r.bsic, si_last=r.si, si_all=r.si_all,
        power=power, power_ref=ref, snr_db=r.snr_db, freq_offset_hz=r.offset_hz,
        blocks_ok=r.stats.blocks_ok, blocks_bad=r.stats.blocks_bad,
        time=when, lat=lat, lon=lon, stats=r.stats.as_dict())
