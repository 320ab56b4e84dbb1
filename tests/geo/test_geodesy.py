"""Geodesy helpers against known values."""

from __future__ import annotations

import numpy as np
import pytest

from fbsdetect.geo.geodesy import LocalFrame, bearing_deg, destination, haversine_m


def test_haversine_known_distances() -> None:
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-4)  # one degree on the equator
    # Shanghai People's Square -> Beijing Tiananmen, about 1 068 km
    assert haversine_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(1_067_000, rel=0.01)
    assert haversine_m(10, 20, 10, 20) == 0.0


def test_bearing_cardinal_directions() -> None:
    assert bearing_deg(0, 0, 1, 0) == pytest.approx(0)
    assert bearing_deg(0, 0, 0, 1) == pytest.approx(90)
    assert bearing_deg(0, 0, -1, 0) == pytest.approx(180)
    assert bearing_deg(0, 0, 0, -1) == pytest.approx(270)


def test_destination_inverts_distance_and_bearing() -> None:
    lat, lon = destination(31.2, 121.4, 37.0, 5_000.0)
    assert haversine_m(31.2, 121.4, lat, lon) == pytest.approx(5_000.0, rel=1e-9)
    assert bearing_deg(31.2, 121.4, lat, lon) == pytest.approx(37.0, abs=1e-6)


def test_local_frame_round_trip_and_scale() -> None:
    f = LocalFrame(31.2, 121.4)
    lat, lon = destination(31.2, 121.4, 90.0, 1_000.0)
    e, n = f.to_en(lat, lon)
    assert float(e) == pytest.approx(1_000.0, rel=1e-6) and abs(float(n)) < 1e-6 * 1_000
    pts_e = np.array([0.0, 150.0, -20_000.0])
    pts_n = np.array([0.0, -300.0, 12_000.0])
    la, lo = f.to_latlon(pts_e, pts_n)
    e2, n2 = f.to_en(la, lo)
    assert np.allclose(e2, pts_e, atol=1e-6) and np.allclose(n2, pts_n, atol=1e-6)
    d = haversine_m(31.2, 121.4, float(la[2]), float(lo[2]))
    assert d == pytest.approx(float(np.hypot(-20_000, 12_000)), rel=1e-9)
