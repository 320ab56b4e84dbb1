"""open_gps specs, the track replay's interpolation and dropouts, the scene route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fbsdetect.errors import BadUsage
from fbsdetect.geo import GpsReceiver, open_gps
from fbsdetect.geo.gps import SCENE_ERROR_M, TrackReplay
from fbsdetect.sources.sim import SimSource
from fbsdetect.types import GpsFix
from tests.sim.scenes import ONE_CELL

T0 = datetime(2026, 11, 30, 8, 0, 0, tzinfo=UTC)


def test_no_spec_without_a_scene_is_no_gps() -> None:
    g = open_gps(None)
    f = g.fix_at(T0)
    assert isinstance(g, GpsReceiver) and f.mode == 0 and f.lat is None and f.time == T0


def test_fixed() -> None:
    f = open_gps("fixed:31.23,121.47,4").fix_at(T0)
    assert (f.lat, f.lon, f.mode, f.error_m, f.source) == (31.23, 121.47, 3, 4.0, "fixed")


@pytest.mark.parametrize("spec", ["fixed:91,0", "fixed:1", "fixed:a,b", "gps:x", "nmea:", "gpx:",
                                  "gpsd:h:notaport", "scene", "fixed:1,2,-5", "fixed:1,2,nan",
                                  "fixed:1,2,inf"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(BadUsage) as err:
        open_gps(spec)
    assert "\n" not in str(err.value)


def test_scene_route(tmp_path: Path) -> None:
    scene = tmp_path / "one.toml"
    scene.write_text(ONE_CELL.format(duration=1.0))
    src = SimSource.from_path(scene)
    g = open_gps(None, source=src)
    start = src.scene.info.start_time
    f = g.fix_at(start + timedelta(seconds=0.5))
    assert f.mode == 3 and f.error_m == SCENE_ERROR_M and f.source == "scene"
    assert (f.lat, f.lon) == pytest.approx((36.6171, 101.7782))


def fix(s: float, lat: float, lon: float, mode: int = 3, err: float | None = 5.0,
        course: float | None = None) -> GpsFix:
    return GpsFix(time=T0 + timedelta(seconds=s), lat=lat, lon=lon, mode=mode, error_m=err,
                  course_deg=course, source="nmea")


def test_track_interpolates_by_its_own_time() -> None:
    tr = TrackReplay([fix(0, 30.0, 120.0, course=350), fix(2, 30.002, 120.004, err=7.0, course=10)],
                     source="nmea")
    f = tr.fix_at(T0 + timedelta(seconds=0.5))
    assert f.lat == pytest.approx(30.0005) and f.lon == pytest.approx(120.001)
    assert f.error_m == 7.0 and f.mode == 3
    assert tr.fix_at(T0 + timedelta(seconds=1)).course_deg == pytest.approx(0.0, abs=1e-9)


def test_track_dropouts_are_mode_0() -> None:
    tr = TrackReplay([fix(0, 30, 120), fix(1, 30, 120), fix(60, 30.1, 120)], source="nmea")
    assert tr.fix_at(T0 - timedelta(seconds=10)).mode == 0  # before the log
    assert tr.fix_at(T0 + timedelta(seconds=30)).mode == 0  # inside a 59 s gap
    assert tr.fix_at(T0 + timedelta(seconds=2)).mode == 3  # held briefly after a fix
    assert tr.fix_at(T0 + timedelta(seconds=100)).mode == 0  # after it
    no = TrackReplay([fix(0, 30, 120), GpsFix(T0 + timedelta(seconds=1), None, None, 1)], source="nmea")
    assert no.fix_at(T0 + timedelta(seconds=0.5)).lat is None


def test_naive_times_are_utc() -> None:
    f = open_gps("fixed:1,2").fix_at(datetime(2026, 1, 1))
    assert f.time.tzinfo is not None


def test_a_live_receiver_gives_the_position_of_the_instant_asked_not_the_latest() -> None:
    """Review (session 4) #20: an observation is stamped with the start of its dwell, asked for after the
    dwell; a live receiver (gpsd, an NMEA device) answered with the position of that later moment, ~400 m
    along the road for a 30 s followed dwell at 50 km/h. Recent fixes are kept and interpolated by their
    own time; the latest stays the answer for now and later, and a dropout is still mode 0."""
    from fbsdetect.geo.gps import LatestFix

    t0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
    live = LatestFix("gpsd")
    for k in range(31):  # 31 fixes a second apart, 15 m/s north (1.35e-4 degrees a second)
        live.put(GpsFix(time=t0 + timedelta(seconds=k), lat=31.0 + k * 1.35e-4, lon=121.0, mode=3,
                        error_m=4.0, source="gpsd"))
    then = live.fix_at(t0 + timedelta(seconds=10.5))
    assert then.mode == 3 and then.lat == pytest.approx(31.0 + 10.5 * 1.35e-4, abs=1e-9)
    now = live.fix_at(t0 + timedelta(seconds=31))
    assert now.lat == pytest.approx(31.0 + 30 * 1.35e-4)
    old = live.fix_at(t0 - timedelta(seconds=600))  # before what is kept: the latest, as before
    assert old.lat == pytest.approx(31.0 + 30 * 1.35e-4)
    live._at -= 60  # the receiver went quiet a minute ago
    assert live.fix_at(t0 + timedelta(seconds=10)).mode == 0
