"""Positions over time: a fixed point or a route of `[lat, lon, t]` waypoints
(contracts.md section 3), linearly interpolated in latitude/longitude.

Before the first waypoint an object stays at the first point, after the last
one at the last point. Distances use a local flat-earth (equirectangular)
projection around a reference point, which is accurate to well below a metre
over the few kilometres of a scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

EARTH_RADIUS_M = 6371008.8  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class Route:
    """Waypoints (lat, lon in degrees; t in seconds from the scene start)."""

    lat_deg: tuple[float, ...]
    lon_deg: tuple[float, ...]
    t_s: tuple[float, ...]

    @classmethod
    def fixed(cls, lat: float, lon: float) -> Route:
        return cls((float(lat),), (float(lon),), (0.0,))

    @property
    def is_static(self) -> bool:
        return len(self.t_s) == 1 or (len(set(self.lat_deg)) == 1 and len(set(self.lon_deg)) == 1)

    def position(self, t_s: float) -> tuple[float, float]:
        lat, lon = self.positions(np.array([t_s], dtype=np.float64))
        return float(lat[0]), float(lon[0])

    def positions(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) arrays at the times `t_s` (vectorised)."""
        t = np.asarray(t_s, dtype=np.float64)
        if len(self.t_s) == 1:
            return np.full(t.shape, self.lat_deg[0]), np.full(t.shape, self.lon_deg[0])
        return (np.interp(t, self.t_s, self.lat_deg), np.interp(t, self.t_s, self.lon_deg))

    def to_json(self) -> list[list[float]]:
        return [[a, b, c] for a, b, c in zip(self.lat_deg, self.lon_deg, self.t_s, strict=True)]

    def place_json(self) -> dict[str, Any]:
        """The scene key this route was (or could have been) given as:
        `{"position": [lat, lon]}` when static, else `{"route": [[lat, lon, t], ...]}`."""
        if self.is_static:
            return {"position": [self.lat_deg[0], self.lon_deg[0]]}
        return {"route": self.to_json()}


def local_xy_m(lat_deg: np.ndarray, lon_deg: np.ndarray, ref_lat_deg: float,
               ref_lon_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """East and north offsets in metres from a reference point (equirectangular)."""
    k = np.pi / 180.0 * EARTH_RADIUS_M
    east = (np.asarray(lon_deg) - ref_lon_deg) * k * np.cos(np.radians(ref_lat_deg))
    north = (np.asarray(lat_deg) - ref_lat_deg) * k
    return east, north


def distance_m(lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float,
               lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance in metres (haversine), vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))
