"""Small geodesy on the WGS-84 sphere approximation (what localization and
the field survey need over a few kilometres): great-circle distance, initial
bearing, destination point, and a local east-north projection around a
reference point.

Distances use the mean Earth radius (IUGG, 6 371 008.8 m); over the tens of
kilometres of a drive the spherical error is below 0.5 %, well inside a GPS
fix's and a propagation model's uncertainty.
"""

from __future__ import annotations

import math

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two (lat, lon) points in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from true north, [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def destination(lat: float, lon: float, bearing: float, distance_m: float) -> tuple[float, float]:
    """The point `distance_m` from (lat, lon) along the initial bearing `bearing` (degrees)."""
    d = distance_m / EARTH_RADIUS_M
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1),
                         math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


class LocalFrame:
    """East/north metres around a reference point (azimuthal equidistant, exact
    in distance and bearing from the reference; within 0.1 % over 20 km).
    Up is not modelled: cell localisation works on the ground plane."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = float(lat0), float(lon0)
        self._p0 = math.radians(self.lat0)
        self._l0 = math.radians(self.lon0)

    def to_en(self, lat: np.ndarray | float, lon: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(east_m, north_m) of points given in degrees (vectorised)."""
        p = np.radians(np.asarray(lat, dtype=np.float64))
        dl = np.radians(np.asarray(lon, dtype=np.float64)) - self._l0
        p0 = self._p0
        cos_c = np.sin(p0) * np.sin(p) + np.cos(p0) * np.cos(p) * np.cos(dl)
        c = np.arccos(np.clip(cos_c, -1.0, 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            k = np.where(c > 1e-12, c / np.sin(c), 1.0)
        east = EARTH_RADIUS_M * k * np.cos(p) * np.sin(dl)
        north = EARTH_RADIUS_M * k * (np.cos(p0) * np.sin(p) - np.sin(p0) * np.cos(p) * np.cos(dl))
        return east, north

    def to_latlon(self, east_m: np.ndarray | float,
                  north_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) in degrees of local (east_m, north_m) (vectorised inverse of `to_en`)."""
        x = np.asarray(east_m, dtype=np.float64)
        y = np.asarray(north_m, dtype=np.float64)
        rho = np.hypot(x, y)
        c = rho / EARTH_RADIUS_M
        p0 = self._p0
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(rho > 0, y * np.sin(c) / np.where(rho > 0, rho, 1.0), 0.0)
        p = np.arcsin(np.clip(np.cos(c) * np.sin(p0) + ratio * np.cos(p0), -1.0, 1.0))
        lam = self._l0 + np.arctan2(x * np.sin(c),
                                    rho * np.cos(p0) * np.cos(c) - y * np.sin(p0) * np.sin(c))
        lon = (np.degrees(lam) + 540.0) % 360.0 - 180.0
        return np.degrees(p), lon
