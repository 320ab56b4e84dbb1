"""Drive guidance: a hunt that follows the suggested bearings, one 40 m step
at a time (a reading a second, walking pace), reaches the transmitter."""

from __future__ import annotations

import pytest

from fbsdetect.locate import locate
from fbsdetect.locate.guidance import suggest
from fbsdetect.locate.simsamples import offset, walk_hunt
from fbsdetect.sim.routes import distance_m
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
    # 300 m away, 4 dB shadowing, Rayleigh fading; re-planned every 40 m (the
    # bench runs 8 of these walks: see bench/bench_locate.py's hunt line)
    reached, final_m, steps = walk_hunt(5)
    assert reached and final_m <= 50.0, (final_m, steps)
