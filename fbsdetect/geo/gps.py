"""GPS receivers: where the scanner was when it heard a cell.

`open_gps(spec, source=...)` turns a `--gps` spec into a `GpsReceiver`:

- `gpsd[:HOST:PORT]`: a running gpsd (default 127.0.0.1:2947), read by a
  background thread (`geo/gpsd.py`);
- `nmea:FILE_OR_DEVICE[@BAUD]`: NMEA 0183 from a serial device (live, a
  background thread) or from a log file (replayed by the log's own time)
  (`geo/nmea.py`);
- `gpx:FILE`: a GPX track replayed by its own time (`geo/gpx.py`);
- `fixed:LAT,LON[,ERROR_M]`: a sensor that does not move;
- `scene` or None with a `sim:` source: the scene receiver's route (exact,
  reported as mode 3 with `SCENE_ERROR_M`); None with any other source: no GPS
  (every fix mode 0).

`fix_at(t)` never blocks and never raises for lack of a fix: a live receiver
returns its latest fix (mode 0 once it is older than `STALE_S`, a dropout), or
for an instant of the last `LIVE_KEEP_S` the fix interpolated there by the fixes'
own time,
a log interpolates between the fixes around `t` (mode 0 outside the log or
across a gap longer than `MAX_GAP_S`).
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from fbsdetect.errors import BadUsage
from fbsdetect.i18n import _, gettext
from fbsdetect.types import GpsFix

STALE_S = 3.0
"""A live fix older than this (receiver time) is a dropout: mode 0."""
MAX_GAP_S = 10.0
LIVE_KEEP_S = 120.0  # a live receiver's fixes kept for instants in the recent past (a dwell's start)
"""A log gap longer than this is not interpolated across: mode 0 inside it."""
SCENE_ERROR_M = 2.5
"""Horizontal error reported for the scene route (exact, but a real GPS is not)."""


@runtime_checkable
class GpsReceiver(Protocol):
    def fix_at(self, t: datetime) -> GpsFix:
        """The fix for instant `t` (UTC, tz-aware); mode 0 when there is none. Never blocks."""
        ...

    def close(self) -> None: ...


def no_fix(t: datetime, source: str = "") -> GpsFix:
    return GpsFix(time=t, lat=None, lon=None, mode=0, source=source)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class NoGps:
    """No GPS: every fix is mode 0."""

    def fix_at(self, t: datetime) -> GpsFix:
        return no_fix(_utc(t))

    def close(self) -> None:
        pass


class FixedGps:
    """A sensor at a surveyed position (mode 3)."""

    def __init__(self, lat: float, lon: float, error_m: float | None = None) -> None:
        self.lat, self.lon, self.error_m = lat, lon, error_m

    def fix_at(self, t: datetime) -> GpsFix:
        return GpsFix(time=_utc(t), lat=self.lat, lon=self.lon, mode=3, error_m=self.error_m,
                      speed_m_s=0.0, source="fixed")

    def close(self) -> None:
        pass


class SceneGpsReceiver:
    """Fixes from a `SimSource`'s scene route (`SimSource.gps.fix(t_s)`), t mapped to
    scene time from the scene's start time."""

    def __init__(self, scene_gps: Any) -> None:
        self._gps = scene_gps
        self._start = _utc(scene_gps.start_time)

    def fix_at(self, t: datetime) -> GpsFix:
        t = _utc(t)
        f = self._gps.fix((t - self._start).total_seconds())
        return GpsFix(time=t, lat=f.lat, lon=f.lon, mode=3, error_m=SCENE_ERROR_M,
                      speed_m_s=f.speed_m_s, course_deg=f.course_deg, source="scene")

    def close(self) -> None:
        pass


def _lerp(a: float | None, b: float | None, w: float) -> float | None:
    if a is None or b is None:
        return a if w < 0.5 else b
    return a + (b - a) * w


def _lerp_angle(a: float | None, b: float | None, w: float) -> float | None:
    if a is None or b is None:
        return a if w < 0.5 else b
    d = (b - a + 540.0) % 360.0 - 180.0
    return (a + d * w) % 360.0


class TrackReplay:
    """A recorded track (NMEA log, GPX), replayed by its own time: `fix_at(t)`
    interpolates linearly between the two fixes around `t` (course on the circle,
    the larger error, the lower mode). Outside the track by more than `STALE_S`,
    or inside a gap longer than `max_gap_s`, the fix is mode 0."""

    def __init__(self, fixes: Sequence[GpsFix], *, source: str, max_gap_s: float = MAX_GAP_S,
                 stats: dict[str, int] | None = None) -> None:
        self.fixes = sorted(fixes, key=lambda f: f.time)
        self._t = [f.time.timestamp() for f in self.fixes]
        self.source = source
        self.max_gap_s = max_gap_s
        self.stats = dict(stats or {})

    @property
    def start(self) -> datetime | None:
        return self.fixes[0].time if self.fixes else None

    @property
    def end(self) -> datetime | None:
        return self.fixes[-1].time if self.fixes else None

    def fix_at(self, t: datetime) -> GpsFix:
        t = _utc(t)
        if not self.fixes:
            return no_fix(t, self.source)
        x = t.timestamp()
        i = bisect_right(self._t, x)
        if i == 0:
            return self._held(self.fixes[0], t, self._t[0] - x)
        if i == len(self._t):
            return self._held(self.fixes[-1], t, x - self._t[-1])
        a, b = self.fixes[i - 1], self.fixes[i]
        gap = self._t[i] - self._t[i - 1]
        if gap > self.max_gap_s:
            da, db = x - self._t[i - 1], self._t[i] - x
            return self._held(a, t, da) if da <= db else self._held(b, t, db)
        w = (x - self._t[i - 1]) / gap if gap > 0 else 0.0
        mode = min(a.mode, b.mode)
        if mode < 2 or a.lat is None or b.lat is None or a.lon is None or b.lon is None:
            return GpsFix(time=t, lat=None, lon=None, mode=min(mode, 1) if mode else 0, source=self.source)
        errs = [e for e in (a.error_m, b.error_m) if e is not None]
        return GpsFix(time=t, lat=_lerp(a.lat, b.lat, w), lon=_lerp(a.lon, b.lon, w), mode=mode,
                      error_m=max(errs) if errs else None, alt_m=_lerp(a.alt_m, b.alt_m, w),
                      speed_m_s=_lerp(a.speed_m_s, b.speed_m_s, w),
                      course_deg=_lerp_angle(a.course_deg, b.course_deg, w), source=self.source)

    def _held(self, f: GpsFix, t: datetime, dt_s: float) -> GpsFix:
        """The nearest fix, when it is within STALE_S of `t`; else mode 0."""
        if dt_s > STALE_S:
            return no_fix(t, self.source)
        return GpsFix(time=t, lat=f.lat, lon=f.lon, mode=f.mode, error_m=f.error_m, alt_m=f.alt_m,
                      speed_m_s=f.speed_m_s, course_deg=f.course_deg, source=self.source)

    def close(self) -> None:
        pass


class LatestFix:
    """The fixes a background reader thread has seen (live receivers: gpsd, an NMEA
    serial device), handed to `fix_at` without waiting. The newest fix older than
    `stale_s` on the monotonic clock is a dropout (mode 0). The last `keep_s` seconds
    of fixes are kept, so that an instant in the recent past (the start of a dwell that
    has just ended, seconds ago in a moving car) gets the position the receiver had
    then, interpolated between the fixes around it by their own time as a replayed
    track is (`TrackReplay`), not the position it has now."""

    def __init__(self, source: str, stale_s: float = STALE_S, keep_s: float = LIVE_KEEP_S) -> None:
        self.source = source
        self.stale_s = stale_s
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._fix: GpsFix | None = None
        self._at = -math.inf
        self._recent: deque[GpsFix] = deque()
        self.stats: dict[str, int] = {}

    def put(self, fix: GpsFix) -> None:
        with self._lock:
            self._fix, self._at = fix, time.monotonic()
            r = self._recent
            if r and fix.time < r[-1].time:  # the receiver's clock went back: start the history again
                r.clear()
            r.append(fix)
            while r and (fix.time - r[0].time).total_seconds() > self.keep_s:
                r.popleft()

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.stats[what] = self.stats.get(what, 0) + n

    def fix_at(self, t: datetime) -> GpsFix:
        t = _utc(t)
        with self._lock:
            f, at = self._fix, self._at
            recent = list(self._recent) if self._recent and t < _utc(self._recent[-1].time) else None
        if f is None or time.monotonic() - at > self.stale_s:
            return no_fix(t, self.source)
        if recent is not None and len(recent) >= 2 and t >= _utc(recent[0].time):
            return TrackReplay(recent, source=self.source).fix_at(t)
        return GpsFix(time=t, lat=f.lat, lon=f.lon, mode=f.mode, error_m=f.error_m, alt_m=f.alt_m,
                      speed_m_s=f.speed_m_s, course_deg=f.course_deg, source=self.source)

    def latest(self) -> GpsFix | None:
        with self._lock:
            return self._fix

    def close(self) -> None:
        pass


def _parse_fixed(rest: str, spec: str) -> FixedGps:
    try:
        parts = [float(v) for v in rest.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3) or not (-90 <= parts[0] <= 90 and -180 <= parts[1] <= 180) or \
            (len(parts) == 3 and not 0 <= parts[2] < math.inf):  # an error is a finite distance
        raise BadUsage(_("--gps {spec!r}: expected fixed:LAT,LON[,ERROR_M] in degrees").format(spec=spec))
    return FixedGps(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def open_gps(spec: str | None, *, source: object = None) -> GpsReceiver:
    """The GPS receiver a `--gps` spec names (module docstring)."""
    if spec is None or spec.strip().lower() in ("", "scene", "auto"):
        scene_gps = getattr(source, "gps", None)
        if scene_gps is not None and hasattr(scene_gps, "fix") and hasattr(scene_gps, "start_time"):
            return SceneGpsReceiver(scene_gps)
        if spec is not None and spec.strip().lower() == "scene":
            raise BadUsage(gettext("--gps scene needs a sim: source"))
        return NoGps()
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "fixed":
        return _parse_fixed(rest, spec)
    if kind == "gpsd":
        from fbsdetect.geo.gpsd import DEFAULT_PORT, GpsdReceiver
        from fbsdetect.sources.open import parse_host_port

        try:
            host, port = parse_host_port(rest, spec, default_port=DEFAULT_PORT)
        except BadUsage:
            raise BadUsage(gettext("--gps {spec!r}: expected gpsd[:HOST:PORT]").format(spec=spec)) from None
        return GpsdReceiver(host, port)
    if kind == "nmea":
        from fbsdetect.geo.nmea import open_nmea

        if not rest:
            raise BadUsage(gettext("--gps {spec!r}: expected nmea:FILE_OR_DEVICE").format(spec=spec))
        return open_nmea(rest)
    if kind == "gpx":
        from fbsdetect.geo.gpx import read_gpx

        if not rest:
            raise BadUsage(gettext("--gps {spec!r}: expected gpx:FILE").format(spec=spec))
        return read_gpx(rest)
    raise BadUsage(gettext("--gps {spec!r} is not a GPS: expected gpsd[:HOST:PORT], nmea:FILE_OR_DEVICE, "
                           "gpx:FILE or fixed:LAT,LON").format(
        spec=spec))
