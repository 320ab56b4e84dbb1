"""Hunt mode on a walking scene (scenes/walk-toward-fake.toml): the readings
rise as the walker closes in, the running estimate converges on the fake
cell within the scene, and `fbsdetect hunt` prints one JSON line per update.
Following the directions to the transmitter is walk_hunt's test
(test_guidance.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from fbsdetect.errors import BadUsage
from fbsdetect.locate.hunt import Hunt, parse_cell, plain_line
from fbsdetect.sim.routes import distance_m

SCENE = Path(__file__).parent / "scenes" / "walk-toward-fake.toml"
TX = (36.62, 101.78)  # the scene's fake cell (tests may read a scene's truth)


def _hunt(**kw: float) -> Hunt:
    from fbsdetect.geo import open_gps
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.sources.sim import SimSource

    src = SimSource.from_path(SCENE)
    return Hunt(src, load_profile("cn"), 60, gps=open_gps(None, source=src), **kw)


@pytest.mark.slow
def test_hunt_on_a_walk_converges_on_the_transmitter() -> None:
    h = _hunt()
    ups = h.run()
    assert len(ups) >= 70  # a dwell a second over the 80 s scene
    heard = [u for u in ups if u.reading.power_dbm is not None]
    assert len(heard) >= 0.9 * len(ups)
    assert all(u.reading.power_ref == "dBm" for u in heard)
    # walking north towards it (first 37 s): the power rises, the meter says so
    north = [u for u in heard if 12.0 <= u.reading.radio_s <= 35.0 and u.trend_db is not None]
    trends = [float(u.trend_db or 0.0) for u in north]
    assert trends and sum(trends) / len(trends) > 1.0 and sum(t > 0 for t in trends) >= 0.6 * len(trends)
    early = [u.reading.power_dbm for u in heard if u.reading.radio_s < 10.0]
    late = [u.reading.power_dbm for u in heard if 27.0 <= u.reading.radio_s <= 37.0]
    assert sum(late) / len(late) - sum(early) / len(early) > 4.0  # type: ignore[arg-type]
    ests = [u.estimate for u in ups if u.new_estimate and u.estimate is not None and u.estimate.ok]
    assert len(ests) >= 5
    first, last = ests[0], ests[-1]
    err_last = float(distance_m(last.lat, last.lon, *TX))
    assert err_last < 50.0, err_last
    assert last.error_m is not None and first.error_m is not None and last.error_m < 0.5 * first.error_m
    assert last.posterior is not None and last.posterior.contains(*TX, 0.95)
    assert ups[-1].guidance is not None
    line = plain_line(ups[-1])
    assert "dBm" in line and "estimate" in line and "go " in line
    js = ups[-1].to_json()
    assert {"time", "lat", "lon", "power_dbm", "estimate", "bearing_deg", "waypoint"} <= set(js)
    assert js["estimate"]["error_m"] > 0 and js["waypoint"]["distance_m"] > 0


def test_hunt_cli_json_lines_and_cell_lookup(capsys: pytest.CaptureFixture[str]) -> None:
    # --cell: one sweep of the profile finds ARFCN 60; then a dwell a second for 6 s
    rc = main(["hunt", "--source", f"sim:{SCENE}", "--cell", "460-0-4660-66", "--json", "--duration-s", "6"])
    out, err = capsys.readouterr()
    assert rc == 0
    lines = [json.loads(s) for s in out.splitlines()]
    assert 5 <= len(lines) <= 8
    for d in lines:
        assert {"time", "lat", "lon", "power_dbm", "estimate", "bearing_deg", "waypoint"} <= set(d)
        assert d["power_dbm"] is not None and -90 < d["power_dbm"] < -40
        assert math.isfinite(d["lat"]) and d["time"].endswith("Z")
    assert "ARFCN 60" in err and "hunt:" in err


def test_hunt_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BadUsage):
        parse_cell("460-0-4660")
    assert parse_cell("460-01-4660-66") == (460, 1, 4660, 66)
    assert main(["hunt", "--source", f"sim:{SCENE}", "--arfcn", "200"]) == 2  # not in cn's bands
    assert main(["hunt", "--source", f"sim:{SCENE}", "--cell", "x-1-2-3"]) == 2
    err = capsys.readouterr().err
    assert "ARFCN" in err or "arfcn" in err
    assert "MCC-MNC-LAC-CID" in err
