"""gpsd as a `GpsReceiver` (`gpsd[:HOST:PORT]`), through `gpsdclient`.

A daemon thread keeps a watch on gpsd and holds the latest TPV report; the
scan's `fix_at` reads it without waiting. TPV fields used: `mode` (0/1 no fix,
2 2D, 3 3D), `time`, `lat`, `lon`, `altHAE`/`altMSL`/`alt`, `speed`, `track`,
and for the horizontal error `eph` (gpsd's estimated horizontal position error,
metres), else the hypotenuse of `epx`/`epy` (longitude/latitude errors). A
lost connection or a gpsd that stops reporting is a dropout: fixes go to mode
0 after `STALE_S` and the thread reconnects with a back-off (0.5 s doubling to
`MAX_BACKOFF_S`), counted in `stats["reconnects"]`.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime
from typing import Any

from fbsdetect.errors import NotAvailable
from fbsdetect.geo.gps import STALE_S, LatestFix
from fbsdetect.i18n import _
from fbsdetect.types import GpsFix

log = logging.getLogger(__name__)

DEFAULT_PORT = 2947
READ_TIMEOUT_S = 2.0
MAX_BACKOFF_S = 5.0


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def tpv_to_fix(tpv: dict[str, Any]) -> GpsFix:
    """A gpsd TPV report (its `time` a datetime or ISO string) as a GpsFix."""
    mode = int(tpv.get("mode") or 0)
    t = tpv.get("time")
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            t = None
    if not isinstance(t, datetime):
        t = datetime.now(UTC)
    lat, lon = _num(tpv.get("lat")), _num(tpv.get("lon"))
    if mode < 2 or lat is None or lon is None:
        return GpsFix(time=t, lat=None, lon=None, mode=min(mode, 1), source="gpsd")
    err = _num(tpv.get("eph"))
    if err is None:
        epx, epy = _num(tpv.get("epx")), _num(tpv.get("epy"))
        err = math.hypot(epx, epy) if epx is not None and epy is not None else None
    alt = next((v for v in (_num(tpv.get(k)) for k in ("altHAE", "altMSL", "alt")) if v is not None), None)
    return GpsFix(time=t, lat=lat, lon=lon, mode=mode, error_m=err, alt_m=alt,
                  speed_m_s=_num(tpv.get("speed")), course_deg=_num(tpv.get("track")), source="gpsd")


class GpsdReceiver(LatestFix):
    """The latest gpsd fix, kept by a background thread (module docstring)."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 stale_s: float = STALE_S) -> None:
        try:
            from gpsdclient import GPSDClient
        except ImportError:
            raise NotAvailable(_("gpsd needs the gpsdclient package: pip install 'fbsdetect[gps]'")) from None
        super().__init__("gpsd", stale_s)
        self.host, self.port = host, port
        self._client_cls = GPSDClient
        self._client: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"gpsd {host}:{port}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._client = self._client_cls(self.host, self.port, timeout=READ_TIMEOUT_S)
                for report in self._client.dict_stream(filter=["TPV"]):
                    if self._stop.is_set():
                        return
                    self.put(tpv_to_fix(report))
                    self.count("reports")
                    backoff = 0.5
            except (OSError, ValueError) as exc:  # refused, reset, timeout, not gpsd, bad JSON
                if self._stop.is_set():
                    return
                log.debug("gpsd %s:%d: %s", self.host, self.port, exc)
            if self._stop.is_set():
                return
            self.count("reconnects")
            self._stop.wait(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)

    def close(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            try:
                client.close()
            except OSError:
                pass
        self._thread.join(timeout=READ_TIMEOUT_S + 1)
