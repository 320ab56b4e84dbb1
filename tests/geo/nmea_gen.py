"""NMEA sentences for the tests, with real checksums."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import reduce


def checksum(body: str) -> str:
    return f"{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def sentence(body: str) -> str:
    return f"${body}*{checksum(body)}"


def _dm(value: float, deg_digits: int) -> str:
    d = int(abs(value))
    m = (abs(value) - d) * 60
    return f"{d:0{deg_digits}d}{m:07.4f}"


def epoch(t: datetime, lat: float, lon: float, *, hdop: float = 1.0, alt: float = 50.0,
          speed_kn: float = 10.0, course: float = 90.0, valid: bool = True) -> list[str]:
    """RMC + GGA + GSA of one second."""
    hms = t.strftime("%H%M%S") + ".00"
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    la, lo = _dm(lat, 2), _dm(lon, 3)
    rmc = (f"GPRMC,{hms},{'A' if valid else 'V'},{la},{ns},{lo},{ew},{speed_kn:.1f},{course:.1f},"
           f"{t.strftime('%d%m%y')},,,A")
    gga = f"GPGGA,{hms},{la},{ns},{lo},{ew},{1 if valid else 0},08,{hdop:.1f},{alt:.1f},M,0.0,M,,"
    gsa = f"GPGSA,A,{3 if valid else 1},04,05,09,12,24,,,,,,,,2.5,{hdop:.1f},2.1"
    return [sentence(rmc), sentence(gga), sentence(gsa)]


def track(start: datetime, n: int, lat0: float = 31.2, lon0: float = 121.4,
          dlon_per_s: float = 1e-4) -> list[str]:
    lines: list[str] = []
    for i in range(n):
        lines += epoch(start + timedelta(seconds=i), lat0, lon0 + i * dlon_per_s)
    return lines
