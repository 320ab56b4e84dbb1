"""The azimuth-gain nuisance (posterior.azimuth_loglik): its closed-form
marginal is the Gaussian marginal of the powers (checked by brute force), it
reduces to the omnidirectional likelihood when the gain's prior shrinks to
nothing, and on a drive around a sector antenna it keeps the truth inside
the 95 % region where the omnidirectional model alone misses it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from fbsdetect.locate import locate
from fbsdetect.locate.posterior import (
    ANTENNA_HEIGHT_M,
    SENSOR_OFFSET_SD_DB,
    Grid,
    azimuth_basis,
    azimuth_loglik,
    azimuth_prior_var,
    candidate_geometry,
    loglik,
)
from fbsdetect.locate.samples import DB, Bins, PowerSample, make_bins
from fbsdetect.locate.simsamples import make_link, offset, power_samples, route_from_xy
from fbsdetect.sim.routes import Route, distance_m
from fbsdetect.sim.scene import AntennaPattern, PropagationConfig
from tests.locate.helpers import LAT0, LON0, drive_samples, ring_drive


def _two_sensor_bins() -> Bins:
    a, _ = drive_samples((100.0, 50.0), seed=7, sensor="a", every_s=6.0)
    b, _ = drive_samples((100.0, 50.0), seed=7, sensor="b", offset_db=5.0, every_s=6.0)
    return make_bins([q for q in a if q.time < 150] + [q for q in b if q.time >= 150])


def test_marginal_matches_the_gaussian_integral() -> None:
    bins = _two_sensor_bins()
    grid = Grid.around(-600.0, 600.0, -600.0, 600.0, 4)
    gx, gy = grid.points()
    exps, sigs = np.array([2.5, 3.5]), np.array([4.0, 7.0])
    t = azimuth_loglik(bins, gx, gy, exponents=exps, sigmas=sigs, gps_dist_m=150.0, tempering=1.0)
    dlog, brg = candidate_geometry(bins, gx, gy, True)
    assert brg is not None
    gvar = (DB * 3.0 * bins.gps_error_m / 150.0) ** 2
    big = 1e7  # a (nearly) flat intercept
    m = len(bins)
    cols = [np.ones(m)] + [(bins.sensor == s).astype(float) for s in range(len(bins.sensors))]
    for g in (0, 5, 11):
        x = np.column_stack([*cols, azimuth_basis(brg[g], 3)])
        lam = np.diag([big] + [SENSOR_OFFSET_SD_DB ** 2] * len(bins.sensors) + list(azimuth_prior_var()))
        for k, n in enumerate(exps):
            for j, sg in enumerate(sigs):
                cov = np.diag(sg ** 2 + bins.var_db2 + gvar) + x @ lam @ x.T
                ref = multivariate_normal(np.zeros(m), cov).logpdf(bins.power_db + n * dlog[g])
                # the closed form drops the 2 pi factors and the flat intercept's density
                ref += 0.5 * math.log(2 * math.pi * big) + (m - 1) / 2 * math.log(2 * math.pi)
                assert t.ll[g, k, j] == pytest.approx(ref, abs=1e-3)


def test_no_gain_freedom_is_the_omnidirectional_model() -> None:
    bins = _two_sensor_bins()
    gx, gy = Grid.around(-600.0, 600.0, -600.0, 600.0, 8).points()
    omni = loglik(bins, gx, gy)
    az = azimuth_loglik(bins, gx, gy, prior_var=np.full(6, 1e-9))
    assert np.max(np.abs(omni.ll - az.ll)) < 1e-2
    assert np.max(np.abs(omni.a - az.a)) < 1e-3
    assert np.max(np.abs(omni.offsets - az.offsets)) < 1e-3
    d = np.hypot(gx[0] - bins.x, gy[0] - bins.y)
    assert np.all(np.isfinite(d)) and ANTENNA_HEIGHT_M > 0


def _sector_drive(seed: int) -> tuple[list[PowerSample], tuple[float, float]]:
    tx = offset(LAT0, LON0, 80.0, -60.0)
    prop = PropagationConfig(exponent=3.3, shadowing_db=5.0, fading="rayleigh",
                             antennas=(AntennaPattern("tx", 0, 70.0, 65.0, 20.0),))
    rx = route_from_xy(LAT0, LON0, ring_drive(), 10.0)
    link = make_link(Route.fixed(*tx), rx, eirp_dbm=45.0, prop=prop, origin=(LAT0, LON0), seed=seed)
    return power_samples(link, np.arange(0.0, rx.t_s[-1], 1.0), rng=np.random.default_rng(seed),
                         sensor="car"), tx


def test_sector_antenna_keeps_an_honest_region() -> None:
    s, tx = _sector_drive(4)
    e = locate(s, moving="never", cells=40)
    lat, lon = tx
    assert e.posterior is not None and e.posterior.contains(lat, lon, 0.95)
    assert e.lat is not None and e.lon is not None
    assert float(distance_m(e.lat, e.lon, lat, lon)) < 250.0  # pulled along the boresight, inside the ring
    assert e.fit["p_sector"] > 0.5
    ant = e.fit["antenna"]
    assert isinstance(ant, dict) and ant["front_back_db"] > 5.0
    diff = (ant["azimuth_deg"] - 70.0 + 180.0) % 360.0 - 180.0
    assert abs(diff) < 60.0  # the strongest bearing points the antenna's way
    omni = locate(s, moving="never", cells=40, antenna=False)
    assert omni.posterior is not None
    # the omnidirectional model alone is confidently wrong here
    wider = e.posterior.area_m2(0.95) > omni.posterior.area_m2(0.95)
    assert not omni.posterior.contains(lat, lon, 0.95) or wider
