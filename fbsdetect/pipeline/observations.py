"""One cell observation (contracts.md section 4) from what a decoder saw of a
carrier, the same way for every decoder: the native receiver
(`receiver.cell_observations`), gr-gsm's frames (`grgsm.observe`), the scan.
The cell's identity and parameters come from its SI frames through
`sysinfo.cell.CellParams`; SI types are listed in TS 44.018 order; the time is
ISO-8601 UTC with milliseconds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fbsdetect.types import CellObservation

SI_ORDER = ("1", "2", "2bis", "2ter", "2quater", "3", "4", "13")


def iso_ms(t: datetime | None) -> str | None:
    if t is None:
        return None
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _si_rank(k: str) -> int:
    return SI_ORDER.index(k) if k in SI_ORDER else len(SI_ORDER)


def build_observation(*, arfcn: int, band: str | None, freq_hz: float | None, bsic: int | None,
                      si_last: Mapping[str, bytes], si_all: Mapping[str, Sequence[bytes]],
                      power: float | None, power_ref: str, snr_db: float | None,
                      freq_offset_hz: float | None, blocks_ok: int, blocks_bad: int,
                      time: datetime | str | None = None, lat: float | None = None,
                      lon: float | None = None, stats: Mapping[str, int] | None = None,
                      gps_mode: int | None = None, gps_error_m: float | None = None,
                      sensor: str | None = None) -> CellObservation:
    """`power` in `power_ref` units ("dBm" at the antenna, "dBFS" when the
    gain is unknown), rounded to 0.1 dB like the SNR and the offset."""
    from fbsdetect.sysinfo.cell import CellParams

    frames: dict[str, Any] = {k: list(v) for k, v in si_all.items()}
    params = CellParams.from_frames(frames) if frames else CellParams()
    return CellObservation(
        arfcn=arfcn, band=band, freq_hz=freq_hz, bsic=bsic,
        mcc=params.mcc, mnc=params.mnc, lac=params.lac, cid=params.cid,
        power_dbm=None if power is None else round(power, 1), power_ref=power_ref,
        snr_db=None if snr_db is None else round(snr_db, 1),
        freq_offset_hz=None if freq_offset_hz is None else round(freq_offset_hz, 1),
        blocks_ok=blocks_ok, blocks_bad=blocks_bad,
        si={k: bytes(v).hex() for k, v in sorted(si_last.items(), key=lambda kv: _si_rank(kv[0]))},
        params=params.params() if frames else {},
        time=iso_ms(time) if isinstance(time, datetime) else time, lat=lat, lon=lon,
        stats=dict(stats or {}), gps_mode=gps_mode, gps_error_m=gps_error_m, sensor=sensor)
