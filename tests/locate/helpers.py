"""Power samples for the localization tests, from the simulator's channel model."""

from __future__ import annotations

import math

import numpy as np

from fbsdetect.locate.samples import PowerSample
from fbsdetect.locate.simsamples import make_link, offset, power_samples, route_from_xy
from fbsdetect.sim.routes import Route
from fbsdetect.sim.scene import PropagationConfig

LAT0, LON0 = 36.60, 101.70


def ring_drive(radius_m: float = 500.0, legs: int = 24) -> list[tuple[float, float]]:
    """A polygonal loop with a cross through the middle (streets that pass near the centre)."""
    loop = [(radius_m * math.cos(a), radius_m * math.sin(a)) for a in np.linspace(0, 2 * math.pi, legs)]
    return [*loop, (0.0, 0.0), (0.0, -radius_m), (0.0, radius_m)]


def drive_samples(tx_xy: tuple[float, float], *, seed: int = 1, shadowing_db: float = 6.0,
                  exponent: float = 3.3, sensor: str = "car", eirp_dbm: float = 40.0,
                  pts: list[tuple[float, float]] | None = None, offset_db: float = 0.0,
                  every_s: float = 1.0) -> tuple[list[PowerSample], tuple[float, float]]:
    tx = offset(LAT0, LON0, *tx_xy)
    rx = route_from_xy(LAT0, LON0, pts if pts is not None else ring_drive(), 10.0)
    prop = PropagationConfig(exponent=exponent, shadowing_db=shadowing_db, fading="rayleigh")
    link = make_link(Route.fixed(*tx), rx, eirp_dbm=eirp_dbm, prop=prop, origin=(LAT0, LON0), seed=seed)
    s = power_samples(link, np.arange(0.0, rx.t_s[-1], every_s), rng=np.random.default_rng(seed),
                      sensor=sensor)
    if offset_db:
        s = [PowerSample(q.time, q.lat, q.lon, q.power_dbm + offset_db, q.gps_mode, q.gps_error_m, q.sensor)
             for q in s]
    return s, tx
