"""Positions: GPS sources (gpsd, NMEA, GPX, a scene route) and geodesy helpers.

`open_gps(spec, source=...) -> GpsReceiver` is the entry point (`geo/gps.py`).
"""

from fbsdetect.geo.gps import GpsReceiver, open_gps

__all__ = ["GpsReceiver", "open_gps"]
