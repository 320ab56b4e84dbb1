"""Position estimates: enough fixes or a reason, the grid posterior's point
and honest regions on channel-model drives, the JSON of contracts.md
section 5, the baselines, and multi-sensor fusion with a gain offset."""

from __future__ import annotations

import math

import pytest

from fbsdetect.locate import (
    PowerSample,
    centroid,
    fixed_exponent_lsq,
    locate,
    lsq_fit,
    samples_from_observations,
)
from fbsdetect.locate.estimate import ellipse_contains
from fbsdetect.locate.polygons import signed_area
from fbsdetect.sim.routes import distance_m
from fbsdetect.types import CellObservation
from tests.locate.helpers import LAT0, LON0, drive_samples


def _err(est, truth) -> float:  # type: ignore[no-untyped-def]
    return float(distance_m(est.lat, est.lon, *truth))


def test_too_few_or_too_close_fixes_are_insufficient() -> None:
    s = [PowerSample(float(i), LAT0, LON0 + i * 1e-5, -60.0) for i in range(2)]
    e = locate(s)
    assert e.method == "insufficient" and "2 usable fixes" in (e.reason or "")
    assert e.position_json() is None and e.to_json()["lat"] is None
    near = [PowerSample(float(i), LAT0 + i * 1e-5, LON0, -60.0) for i in range(10)]  # ~10 m apart in all
    e = locate(near)
    assert e.method == "insufficient" and "span" in (e.reason or "")
    nofix = [PowerSample(float(i), LAT0 + i * 1e-3, LON0, -60.0, gps_mode=1) for i in range(10)]
    assert locate(nofix).reason == "0 usable fixes (GPS mode >= 2), need at least 3"


def test_observations_need_a_2d_fix() -> None:
    base = dict(arfcn=62, band="E-GSM900", freq_hz=947.4e6, bsic=35, power_dbm=-70.0,
                time="2026-03-01T10:00:00.000Z", lat=LAT0, lon=LON0)
    obs = [CellObservation(**base, gps_mode=3, gps_error_m=3.0, sensor="a"),  # type: ignore[arg-type]
           CellObservation(**base, gps_mode=1),  # type: ignore[arg-type]
           CellObservation(**base),  # no GPS mode: the position may be a guess  # type: ignore[arg-type]
           CellObservation(**(base | {"power_dbm": None}), gps_mode=3)]  # type: ignore[arg-type]
    s = samples_from_observations(obs)
    assert len(s) == 1 and s[0].sensor == "a" and s[0].gps_error_m == 3.0
    assert s[0].time == pytest.approx(1772359200.0)


def test_drive_around_the_transmitter() -> None:
    s, tx = drive_samples((120.0, -80.0), seed=3)
    e = locate(s, moving="never", cells=40)
    assert e.method == "grid" and e.ok
    assert _err(e, tx) < 60.0
    assert e.posterior is not None and e.posterior.contains(*tx, 0.95)
    assert 5.0 < (e.error_m or 0) < 150.0
    j = e.to_json()
    assert {"lat", "lon", "error_m", "method", "n_fixes", "region50", "region95", "fit"} <= set(j)
    assert {"exponent", "eirp_dbm", "sigma_db", "rms_db"} <= set(j["fit"])
    assert 2.0 <= j["fit"]["exponent"] <= 4.5
    r95 = j["region95"]
    assert r95["type"] == "MultiPolygon"
    ext = r95["coordinates"][0][0]
    assert ext[0] == ext[-1] and signed_area([(a, b) for a, b in ext]) > 0  # closed, counter-clockwise
    assert e.posterior.area_m2(0.5) < e.posterior.area_m2(0.95)


def test_baselines_run_on_the_same_samples() -> None:
    s, tx = drive_samples((120.0, -80.0), seed=3)
    c, ls, f = centroid(s), lsq_fit(s), fixed_exponent_lsq(s)
    assert (c.method, ls.method, f.method) == ("centroid", "lsq", "fixed-2.2-lsq")
    assert c.region95 is None and ls.region95 is not None
    assert _err(ls, tx) < 100.0
    assert 2.0 <= ls.fit["exponent"] <= 4.5 and f.fit["exponent"] == 2.2
    assert isinstance(ellipse_contains(ls, *tx), bool)


def test_two_sensors_with_a_gain_offset_fuse() -> None:
    half = 2 * math.pi * 500 / 10.0 / 2
    a, tx = drive_samples((-150.0, 100.0), seed=5, sensor="a")
    b, _ = drive_samples((-150.0, 100.0), seed=5, sensor="b", offset_db=12.0)
    s = [q for q in a if q.time < half] + [q for q in b if q.time >= half]  # each covers half the ring
    e = locate(s, moving="never", cells=40, antenna=False)
    assert _err(e, tx) < 80.0 and e.posterior is not None and e.posterior.contains(*tx, 0.95)
    g, k, j = e.posterior.mode_index()
    offs = e.posterior.terms.offsets[g, k, j]
    assert offs[1] - offs[0] == pytest.approx(12.0, abs=4.0)  # sensor b reads 12 dB high
