"""Drive guidance: a hunt that follows the suggested bearings, one 40 m step
at a time (a reading a second, walking pace), reaches the transmitter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fbsdetect.locate import locate
from fbsdetect.locate.guidance import suggest
from fbsdetect.locate.samples import PowerSample
from fbsdetect.locate.simsamples import make_link, offset, power_samples, route_from_xy
from fbsdetect.sim.routes import Route, distance_m
from fbsdetect.sim.scene import PropagationConfig
from tests.locate.helpers import LAT0, LON0, drive_samples


def test_guidance_points_somewhere_sensible() -> None:
    s, _tx = drive_samples((150.0, 150.0), seed=4, pts=[(-600.0, -300.0), (-600.0, 300.0)])
    est = locate(s, moving="never", cells=40, antenna=False)
    assert est.posterior is not None
    here = offset(LAT0, LON0, -600.0, 300.0)
    g = suggest(est.posterior, *here)
    assert 0.0 <= g.bearing_deg < 360.0 and 50.0 <= g.distance_m <= 300.0
    assert float(distance_m(g.lat, g.lon, *here)) == pytest.approx(g.distance_m, rel=0.02)
    assert {"bearing_deg", "lat", "lon", "distance_m", "reason"} <= set(g.to_json())
    # the transmitter is east of this road: the suggestion should not go west
    assert not 200.0 < g.bearing_deg < 340.0, g


@pytest.mark.slow
def test_hunt_following_the_guidance_reaches_the_transmitter() -> None:
    seed = 0
    rng = np.random.default_rng([seed, 6])
    tx = offset(LAT0, LON0, 300.0 * math.cos(4.0), 300.0 * math.sin(4.0))  # 300 m away
    prop = PropagationConfig(exponent=3.3, shadowing_db=4.0, fading="rayleigh")
    pts = [(0.0, 0.0), (100.0, 0.0)]  # a first leg before there is anything to go on
    samples: list[PowerSample] = []
    t = 0.0
    closest = math.inf
    for _ in range(40):
        r = route_from_xy(LAT0, LON0, pts[-2:], 1.4, t0_s=t)
        link = make_link(Route.fixed(*tx), r, eirp_dbm=37.0, prop=prop, origin=(LAT0, LON0), seed=seed)
        samples += power_samples(link, np.arange(t, r.t_s[-1], 1.0), rng=rng, sensor="walker")
        t = r.t_s[-1]
        x, y = pts[-1]
        here = offset(LAT0, LON0, x, y)
        closest = min(closest, float(distance_m(*here, *tx)))
        if closest <= 50.0:
            break
        est = locate(samples, moving="never", cells=40, antenna=False)
        assert est.ok and est.posterior is not None
        g = suggest(est.posterior, *here)
        step = min(40.0, g.distance_m) if g.distance_m > 5.0 else 40.0
        pts.append((x + step * math.sin(math.radians(g.bearing_deg)),
                    y + step * math.cos(math.radians(g.bearing_deg))))
    assert closest <= 50.0
