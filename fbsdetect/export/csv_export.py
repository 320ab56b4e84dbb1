"""`export --format csv`: one row per observation (contracts.md section 8).

Header, in this order, then a few more columns::

    time,lat,lon,gps_mode,gps_error_m,sensor,mcc,mnc,lac,cid,arfcn,bsic,power_dbm,snr_db,
    freq_offset_hz,severity,detection_id,observation_id,run_id,kind,band,freq_hz,power_ref

`time` ISO-8601 UTC with milliseconds; unknown values are empty fields;
`severity`/`detection_id` come from the observation's detection (empty
without one). Streamed: rows are written as the cursor yields them.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from fbsdetect.export import ALL, ExportFilter, iso_utc, observation_rows

HEADER = ("time", "lat", "lon", "gps_mode", "gps_error_m", "sensor", "mcc", "mnc", "lac", "cid", "arfcn",
          "bsic", "power_dbm", "snr_db", "freq_offset_hz", "severity", "detection_id")
EXTRA = ("observation_id", "run_id", "kind", "band", "freq_hz", "power_ref")


_INF = (float("inf"), float("-inf"))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if v.__class__ is float:
        return repr(v) if v == v and v not in _INF else ""
    return str(v)


def csv_row(r: Any) -> list[str]:
    """The CSV fields of one `observation_rows` row."""
    det = r.detection_id
    return [iso_utc(r.time) or "", _cell(r.lat), _cell(r.lon), _cell(r.gps_mode), _cell(r.gps_error_m),
            _cell(r.sensor), _cell(r.mcc), _cell(r.mnc), _cell(r.lac), _cell(r.cid), _cell(r.arfcn),
            _cell(r.bsic), _cell(r.power_dbm), _cell(r.snr_db), _cell(r.freq_offset_hz),
            _cell(r.severity if det is not None else None), _cell(det),
            _cell(r.id), _cell(r.run_id), _cell(r.kind), _cell(r.band), _cell(r.freq_hz), _cell(r.power_ref)]


def write_csv(store: Any, out: TextIO, flt: ExportFilter = ALL) -> int:
    """Writes the CSV to `out` (opened with newline=''); returns the number of rows."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER + EXTRA)
    n = 0
    for r in observation_rows(store, flt):
        w.writerow(csv_row(r))
        n += 1
    return n
