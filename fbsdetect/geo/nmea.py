"""NMEA 0183 as a `GpsReceiver` (`nmea:FILE_OR_DEVICE[@BAUD]`), parsed with pynmea2.

Sentences used (any talker, GP/GN/GL/BD...): RMC (date, time, status,
position, speed in knots, course), GGA (time, position, fix quality, HDOP,
altitude) and GSA (fix type 1/2/3, HDOP). Sentences of one time of day make
one fix; the mode is GSA's fix type when a GSA was seen, else 3 from a GGA
with a valid fix and an altitude (2 without), else 2 from an RMC with status
A; the horizontal error is HDOP x `UERE_M` (a consumer receiver's usual user
range error). A GGA-only log takes its date from the file's modification time
(no RMC says it); a time of day that steps back by more than 12 hours is the
next day.

A sentence whose checksum does not match (`bad_checksum`), that lacks its
checksum or fields (`truncated`), or that is not NMEA (`unparsed`) is skipped
and counted in `stats`; a log is never rejected for them.

A regular file is a log: replayed by its own time (`TrackReplay`). A character
device or FIFO (`/dev/ttyUSB0`, `/dev/ttyACM0`, a pty) is live: a daemon
thread reads it (at `@BAUD` when given, via termios) and keeps the latest fix
(`LatestFix`; mode 0 after `STALE_S` without one).
"""

from __future__ import annotations

import logging
import math
import os
import select
import stat
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fbsdetect.errors import BadInput, NotAvailable
from fbsdetect.geo.gps import STALE_S, LatestFix, TrackReplay
from fbsdetect.i18n import _
from fbsdetect.types import GpsFix

log = logging.getLogger(__name__)

UERE_M = 5.0
KNOT_M_S = 1852.0 / 3600.0


def _finite(field: Any) -> float | None:
    """A numeric field as a finite float; None when empty or not finite (raises ValueError when
    not a number: a truncated sentence)."""
    if field in (None, ""):
        return None
    v = float(field)
    return v if math.isfinite(v) else None


def _pynmea2() -> Any:
    try:
        import pynmea2
    except ImportError:
        raise NotAvailable(_("NMEA needs the pynmea2 package: pip install 'fbsdetect[gps]'")) from None
    return pynmea2


class NmeaAssembler:
    """Turns NMEA lines into fixes, one per time of day (module docstring)."""

    def __init__(self, default_date: date | None = None) -> None:
        self._nm = _pynmea2()
        self.stats: dict[str, int] = {}
        self.date = default_date
        self._gsa_mode: int | None = None
        self._epoch: dict[str, Any] | None = None
        self._last_dt: datetime | None = None

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def feed(self, line: str) -> list[GpsFix]:
        """Fixes completed by this line (the previous epoch, when this one starts a new one)."""
        line = line.strip()
        if not line:
            return []
        if not line.startswith(("$", "!")):
            self._count("unparsed")
            return []
        nm = self._nm
        try:
            msg = nm.parse(line, check=True)
        except nm.ChecksumError as exc:
            self._count("truncated" if "missing" in str(exc) else "bad_checksum")
            return []
        except nm.ParseError:
            self._count("unparsed")
            return []
        kind = type(msg).__name__
        try:
            if kind == "GSA":
                fix_type = int(msg.mode_fix_type) if msg.mode_fix_type else None
                self._gsa_mode = fix_type if fix_type in (1, 2, 3) else None
                if _finite(msg.hdop) is not None and self._epoch is not None:
                    self._epoch.setdefault("hdop", _finite(msg.hdop))
                self._count("GSA")
                return []
            if kind not in ("RMC", "GGA"):
                self._count("ignored")
                return []
            tod = msg.timestamp
            if not isinstance(tod, time):
                self._count("truncated")
                return []
            fields = self._fields(kind, msg)
        except (AttributeError, TypeError, ValueError, IndexError):
            self._count("truncated")
            return []
        self._count(kind)
        out: list[GpsFix] = []
        if self._epoch is not None and self._epoch["tod"] != tod:
            out.extend(self._emit())
        if self._epoch is None:
            self._epoch = {"tod": tod}
        for k, v in fields.items():
            if v is not None:
                self._epoch[k] = v
        return out

    def _fields(self, kind: str, msg: Any) -> dict[str, Any]:
        lat = msg.latitude if msg.lat else None
        lon = msg.longitude if msg.lon else None
        if kind == "RMC":
            spd = _finite(msg.spd_over_grnd)
            spd = spd * KNOT_M_S if spd is not None else None
            crs = _finite(msg.true_course)
            return {"date": msg.datestamp or None, "rmc_ok": msg.status == "A", "lat": lat, "lon": lon,
                    "speed": spd, "course": crs}
        qual = int(msg.gps_qual) if msg.gps_qual not in (None, "") else 0
        hdop = _finite(msg.horizontal_dil)
        alt = _finite(msg.altitude)
        return {"gga_qual": qual, "lat": lat, "lon": lon, "hdop": hdop, "alt": alt}

    def flush(self) -> list[GpsFix]:
        return self._emit()

    def _emit(self) -> list[GpsFix]:
        e, self._epoch = self._epoch, None
        if e is None:
            return []
        if e.get("date") is not None:
            self.date = e["date"]
        d = self.date or datetime.now(UTC).date()
        dt = datetime.combine(d, e["tod"].replace(tzinfo=None), tzinfo=UTC)
        if e.get("date") is None and self._last_dt is not None and dt < self._last_dt - timedelta(hours=12):
            dt += timedelta(days=1)
            self.date = dt.date()
        self._last_dt = dt
        lat, lon = e.get("lat"), e.get("lon")
        has_pos = (lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
                   and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0)  # a good checksum lets 95 N by
        if "gga_qual" in e:
            valid = e["gga_qual"] > 0
        else:
            valid = bool(e.get("rmc_ok"))
        if self._gsa_mode is not None:
            mode = self._gsa_mode if valid else 1
        elif valid:
            mode = 3 if e.get("alt") is not None else 2
        else:
            mode = 1
        if mode < 2 or not has_pos:
            return [GpsFix(time=dt, lat=None, lon=None, mode=min(mode, 1), source="nmea")]
        hdop = e.get("hdop")
        return [GpsFix(time=dt, lat=float(e["lat"]), lon=float(e["lon"]), mode=mode,
                       error_m=hdop * UERE_M if hdop is not None else None, alt_m=e.get("alt"),
                       speed_m_s=e.get("speed"), course_deg=e.get("course"), source="nmea")]


def parse_nmea_lines(lines: Iterable[str], *, default_date: date | None = None) -> tuple[list[GpsFix],
                                                                                       dict[str, int]]:
    """Every fix of a log, and the counted outcomes. A GGA before the log's first
    RMC takes that RMC's date."""
    lines = list(lines)
    first_date = default_date
    probe = NmeaAssembler()
    for line in lines:
        if "RMC," in line:
            probe.feed(line)
            probe.flush()
            if probe.date is not None:
                first_date = probe.date
                break
    asm = NmeaAssembler(first_date)
    fixes: list[GpsFix] = []
    for line in lines:
        fixes.extend(asm.feed(line))
    fixes.extend(asm.flush())
    return fixes, asm.stats


def read_nmea_log(path: str | os.PathLike[str]) -> TrackReplay:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise BadInput(_("cannot read the NMEA log: {error}").format(
            error=exc.strerror), source=str(p)) from None
    text = raw.decode("ascii", errors="replace")
    mdate = datetime.fromtimestamp(p.stat().st_mtime, UTC).date()
    fixes, stats = parse_nmea_lines(text.splitlines(), default_date=mdate)
    if not any(stats.get(k) for k in ("RMC", "GGA")):
        raise BadInput(_("not an NMEA log: no RMC or GGA sentence"), source=str(p))
    skipped = sum(stats.get(k, 0) for k in ("bad_checksum", "truncated", "unparsed"))
    if skipped:
        log.warning("%s: skipped %d NMEA sentences (%s)", p, skipped,
                    ", ".join(f"{k} {stats[k]}" for k in ("bad_checksum", "truncated", "unparsed")
                              if stats.get(k)))
    return TrackReplay(fixes, source="nmea", stats=stats)


class NmeaDevice(LatestFix):
    """A live NMEA serial device (module docstring)."""

    def __init__(self, path: str, baud: int | None = None, *, stale_s: float = STALE_S) -> None:
        super().__init__("nmea", stale_s)
        self._asm = NmeaAssembler(None)
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise NotAvailable(_("{path}: cannot open the GPS device: {error} (plugged in? in the dialout "
                                "group?)").format(
                path=path, error=exc.strerror)) from None
        if baud and os.isatty(self._fd):
            self._set_baud(baud)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"nmea {path}", daemon=True)
        self._thread.start()

    def _set_baud(self, baud: int) -> None:
        import termios
        import tty

        speed = getattr(termios, f"B{baud}", None)
        if speed is None:
            raise BadInput(_("unsupported baud rate {baud}").format(baud=baud))
        tty.setraw(self._fd)
        attrs = termios.tcgetattr(self._fd)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self._fd, termios.TCSANOW, attrs)

    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.25)
                if not ready:
                    continue
                chunk = os.read(self._fd, 4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:  # unplugged
                self.count("read_errors")
                log.warning("NMEA device: %s", exc)
                self._stop.wait(1.0)
                continue
            if not chunk:
                self._stop.wait(0.1)  # a FIFO with no writer, or EOF: keep waiting
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            if len(buf) > 4096:  # no newline for ages: not NMEA
                buf = b""
            for line in lines:
                for fix in self._asm.feed(line.decode("ascii", errors="replace")):
                    self.put(fix)
            with self._lock:
                self.stats = dict(self._asm.stats)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        try:
            os.close(self._fd)
        except OSError:
            pass


def open_nmea(target: str) -> LatestFix | TrackReplay:
    """`nmea:` spec body: a log file (replayed) or a device (live), `PATH[@BAUD]`."""
    path, baud = target, None
    head, at, tail = target.rpartition("@")
    if at and tail.isdigit():
        path, baud = head, int(tail)
    try:
        st = os.stat(path)
    except OSError:
        raise BadInput(_("no such NMEA log or GPS device"), source=path) from None
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return NmeaDevice(path, baud)
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(_("is a directory, expected an NMEA log or a GPS device"), source=path)
    return read_nmea_log(path)
