"""Moving transmitters: the fixed-site fit holds for a fixed one and fails
for a moving one, and the track follows it."""

from __future__ import annotations

import numpy as np
import pytest

from fbsdetect.locate import locate
from fbsdetect.locate.moving import fixed_site_fit_quality, track
from fbsdetect.locate.samples import PowerSample
from fbsdetect.locate.simsamples import make_link, offset, power_samples, route_from_xy
from fbsdetect.sim.routes import Route, distance_m
from fbsdetect.sim.scene import PropagationConfig
from tests.locate.helpers import LAT0, LON0

NODES = [(-700.0, -700.0), (700.0, -700.0), (700.0, 700.0), (-700.0, 700.0), (0.0, 0.0)]
PROP = PropagationConfig(exponent=3.2, shadowing_db=5.0, fading="rayleigh")


def _nodes(tx: Route, t_end: float, seed: int) -> list[PowerSample]:
    rng = np.random.default_rng(seed)
    out: list[PowerSample] = []
    for i, (e, n) in enumerate(NODES):
        rx = Route.fixed(*offset(LAT0, LON0, e, n))
        link = make_link(tx, rx, eirp_dbm=43.0, prop=PROP, origin=(LAT0, LON0), seed=seed)
        out += power_samples(link, np.arange(0.0, t_end, 3.0), rng=rng, sensor=f"node{i}")
    return out


def test_fixed_transmitter_fits_one_site() -> None:
    tx = Route.fixed(*offset(LAT0, LON0, 200.0, -100.0))
    q = fixed_site_fit_quality(_nodes(tx, 300.0, 2))
    assert not q.moving, q.reason
    assert q.node_variation_db is not None and q.node_variation_db < 2.0


@pytest.mark.slow
def test_moving_transmitter_is_flagged_and_tracked() -> None:
    txr = route_from_xy(LAT0, LON0, [(-500.0, -400.0), (500.0, -400.0), (500.0, 400.0)], 6.0)
    s = _nodes(txr, txr.t_s[-1], 3)
    q = fixed_site_fit_quality(s)
    assert q.moving, q.reason
    tr = track(s, window_s=30.0, cells=48, passes=3)
    assert len(tr.points) >= 20  # a point per 10 s step (the drive takes 300 s)
    errs = [float(distance_m(p.lat, p.lon, *txr.position(p.time_s))) for p in tr.points]
    assert float(np.median(errs)) < 200.0  # 146 m; 174 m with 60 s windows and one exponent fit
    cover = [p.density is not None and p.density.contains(*txr.position(p.time_s), 0.95) for p in tr.points]
    assert np.mean(cover) >= 0.9
    first, last = tr.points[0], tr.points[-1]
    moved = float(distance_m(first.lat, first.lon, last.lat, last.lon))
    assert moved > 400.0  # the track goes somewhere (truth: ~1.1 km from start to end)
    j = tr.to_json()[0]
    assert {"time", "lat", "lon", "error_m"} <= set(j)
    est = locate(s, window_s=30.0)
    assert est.moving and est.method == "track" and est.track
