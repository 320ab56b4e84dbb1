"""A GPX track replayed as a `GpsReceiver` (`gpx:FILE`), read with gpxpy.

Every track point with a time becomes a fix (points without a time are
counted in `stats["no_time"]` and skipped); the replay follows the file's own
time (`TrackReplay`). Mode: the point's `<fix>` (none -> 1, 2d -> 2, 3d, dgps,
pps -> 3), else 3 with an elevation and 2 without; horizontal error: `<hdop>` x
`UERE_M` when given. Speed and course come from the point when it has them,
else from its neighbours. A file that is not GPX XML is `BadInput` (exit 2).
"""

from __future__ import annotations

import math
import os
from datetime import UTC
from pathlib import Path

from fbsdetect.errors import BadInput, NotAvailable
from fbsdetect.geo.geodesy import bearing_deg, haversine_m
from fbsdetect.geo.gps import TrackReplay
from fbsdetect.i18n import _
from fbsdetect.types import GpsFix

UERE_M = 5.0
_FIX_MODE = {"none": 1, "2d": 2, "3d": 3, "dgps": 3, "pps": 3}


def valid_position(lat: float | None, lon: float | None) -> bool:
    return (lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
            and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0)


def _finite(v: float | None) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def read_gpx(path: str | os.PathLike[str]) -> TrackReplay:
    try:
        import gpxpy
        import gpxpy.gpx
    except ImportError:
        raise NotAvailable(_("GPX needs the gpxpy package: pip install 'fbsdetect[gps]'")) from None
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise BadInput(_("no such GPX file"), source=str(p)) from None
    except OSError as exc:
        raise BadInput(_("cannot read the GPX file: {error}").format(
            error=exc.strerror), source=str(p)) from None
    try:
        doc = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(_("not a GPX file (XML): {first}").format(first=first), source=str(p)) from None
    stats = {"points": 0, "no_time": 0}
    pts = []
    bad: list[GpsFix] = []
    for track in doc.tracks:
        for seg in track.segments:
            for pt in seg.points:
                stats["points"] += 1
                if pt.time is None:
                    stats["no_time"] += 1
                    continue
                t = pt.time
                t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
                if not valid_position(pt.latitude, pt.longitude):  # lat 95, NaN: no position then
                    stats["bad_position"] = stats.get("bad_position", 0) + 1
                    bad.append(GpsFix(time=t, lat=None, lon=None, mode=1, source="gpx"))
                    continue
                pts.append((t, pt))
    if stats["points"] and not pts and not bad:
        raise BadInput(_("the GPX track has no timestamps: it cannot be replayed by time"), source=str(p))
    pts.sort(key=lambda q: q[0])
    fixes = bad
    for i, (t, pt) in enumerate(pts):
        fix_kind = (pt.type_of_gpx_fix or "").lower()
        ele, hdop = _finite(pt.elevation), _finite(pt.horizontal_dilution)
        mode = _FIX_MODE.get(fix_kind, 3 if ele is not None else 2)
        speed, course = pt.speed, getattr(pt, "course", None)
        if (speed is None or course is None) and len(pts) > 1:
            (ta, a), (tb, b) = (pts[i - 1], (t, pt)) if i > 0 else ((t, pt), pts[1])
            dt = (tb - ta).total_seconds()
            if dt > 0:
                d = haversine_m(a.latitude, a.longitude, b.latitude, b.longitude)
                speed = d / dt if speed is None else speed
                if course is None and d > 0:
                    course = bearing_deg(a.latitude, a.longitude, b.latitude, b.longitude)
        if mode < 2:
            fixes.append(GpsFix(time=t, lat=None, lon=None, mode=1, source="gpx"))
            continue
        fixes.append(GpsFix(time=t, lat=float(pt.latitude), lon=float(pt.longitude), mode=mode,
                            error_m=hdop * UERE_M if hdop is not None else None,
                            alt_m=ele, speed_m_s=_finite(speed), course_deg=_finite(course), source="gpx"))
    return TrackReplay(fixes, source="gpx", stats=stats)
