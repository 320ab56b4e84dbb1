"""`export --format gpx`: the receiver's tracks (`gps_fix` rows), one GPX 1.1
`<trk>` per scan run, a new `<trkseg>` after every dropout (fixes with mode
< 2 or no position are left out and end the segment). Streamed (gpxpy builds
documents in memory; it reads them back in the tests). `<ele>` from alt_m,
`<fix>` 2d/3d. gpsd's error estimate (metres, not a dilution of precision),
speed and course have no GPX 1.1 element and are left out, so that every
reader accepts the file.
"""

from __future__ import annotations

from typing import Any, TextIO
from xml.sax.saxutils import escape

from fbsdetect.export import ALL, YIELD_PER, ExportFilter, in_bbox, iso_utc, valid_position

GPX_NS = "http://www.topografix.com/GPX/1/1"


def write_gpx(store: Any, out: TextIO, flt: ExportFilter = ALL) -> dict[str, int]:
    from sqlalchemy import select

    from fbsdetect.store.models import GpsFixRow, ScanRun, Sensor

    g = GpsFixRow
    stmt = (select(g.run_id, g.time, g.lat, g.lon, g.mode, g.alt_m, ScanRun.source, ScanRun.started_at,
                   Sensor.name.label("sensor"))
            .select_from(g).outerjoin(ScanRun, ScanRun.id == g.run_id)
            .outerjoin(Sensor, Sensor.id == ScanRun.sensor_id)
            .order_by(g.run_id, g.time, g.id))
    if flt.run_id is not None:
        stmt = stmt.where(g.run_id == flt.run_id)
    if flt.since is not None:
        stmt = stmt.where(g.time >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(g.time < flt.until)
    if flt.detection_id is not None:
        from fbsdetect.store.models import Observation

        stmt = stmt.where(g.run_id.in_(select(Observation.run_id)
                                       .where(Observation.detection_id == flt.detection_id)))
    counts = {"tracks": 0, "points": 0, "skipped": 0}
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="fbsdetect" '
              f'xmlns="{GPX_NS}">\n')
    run: object = object()
    in_seg = False
    open_trk = False
    with store.engine.connect() as conn:
        for r in conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt):
            if r.run_id != run:
                if in_seg:
                    out.write("</trkseg>")
                if open_trk:
                    out.write("</trk>\n")
                run, in_seg, open_trk = r.run_id, False, True
                name = f"run {r.run_id}" + (f" ({r.sensor})" if r.sensor else "")
                desc = f"source {r.source}, started {iso_utc(r.started_at)}" if r.source else ""
                out.write(f"<trk><name>{escape(name)}</name>"
                          + (f"<desc>{escape(desc)}</desc>" if desc else ""))
                counts["tracks"] += 1
            good = (r.mode or 0) >= 2 and valid_position(r.lat, r.lon) and in_bbox((r.lat, r.lon), flt.bbox)
            if not good:
                counts["skipped"] += 1
                if in_seg:
                    out.write("</trkseg>")
                    in_seg = False
                continue
            if not in_seg:
                out.write("<trkseg>")
                in_seg = True
            ele = f"<ele>{r.alt_m:.2f}</ele>" if r.alt_m is not None else ""
            fix = "<fix>3d</fix>" if r.mode >= 3 else "<fix>2d</fix>"
            out.write(f'<trkpt lat="{r.lat:.7f}" lon="{r.lon:.7f}">{ele}<time>{iso_utc(r.time)}</time>'
                      f"{fix}</trkpt>\n")
            counts["points"] += 1
    if in_seg:
        out.write("</trkseg>")
    if open_trk:
        out.write("</trk>\n")
    out.write("</gpx>\n")
    return counts
