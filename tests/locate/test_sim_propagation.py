"""The simulator's optional path extensions (obstruction discs, a cell's
antenna pattern): applied where they should be, nowhere else, and a scene
without them keeps its truth.json keys."""

from __future__ import annotations

import numpy as np
import pytest

from fbsdetect.errors import BadInput
from fbsdetect.sim.channel import Link
from fbsdetect.sim.routes import Route
from fbsdetect.sim.scene import loads_scene

BASE = """
[receiver]
position = [36.60, 101.70]
[[cell]]
name = "a"
arfcn = 62
mcc = 460
mnc = 0
lac = 1
cid = 2
bsic = 35
position = [36.60, 101.70]
[[cell]]
name = "b"
arfcn = 64
mcc = 460
mnc = 0
lac = 1
cid = 3
bsic = 36
position = [36.60, 101.70]
"""


def _link(prop, key: int, rx: Route) -> Link:  # type: ignore[no-untyped-def]
    return Link(tx=Route.fixed(36.60, 101.70), rx=rx, eirp_dbm=40.0, freq_hz=947e6, active=(0, 1e9),
                prop=prop, origin=(36.60, 101.70), seed=1, key=key)


def test_defaults_leave_truth_keys_alone() -> None:
    prop = loads_scene(BASE).propagation
    assert not prop.has_path_extras
    assert set(prop.to_json()) == {"model", "exponent", "ref_distance_m", "shadowing_db", "fading",
                                   "rician_k_db"}


def test_antenna_pattern_and_obstruction() -> None:
    scene = loads_scene(BASE + """
[[propagation.antenna]]
cell = "a"
azimuth_deg = 90.0
beamwidth_deg = 60.0
front_back_db = 20.0
[[propagation.obstruction]]
position = [36.60, 101.7056]
radius_m = 100.0
loss_db = 15.0
cells = ["b"]
""")
    prop = scene.propagation
    plain = loads_scene(BASE).propagation
    # receivers 1 km east, north, west of the cells
    rx = Route((36.60, 36.609, 36.60, 36.6063), (101.7112, 101.70, 101.6888, 101.7079),
               (0.0, 1.0, 2.0, 3.0))  # east, north, west, north-east (~45 deg)
    t = np.array([0.0, 1.0, 2.0, 3.0])
    pa = _link(prop, 0, rx).gains(t).power_dbm - _link(plain, 0, rx).gains(t).power_dbm
    assert pa == pytest.approx([0.0, -20.0, -20.0, -12 * (45 / 60) ** 2], abs=0.3)  # 12 (90/60)^2 > 20
    pb = _link(prop, 1, rx).gains(t).power_dbm - _link(plain, 1, rx).gains(t).power_dbm
    assert pb == pytest.approx([-15.0, 0.0, 0.0, 0.0])  # only the eastward path crosses the disc
    j = prop.to_json()
    assert j["antennas"][0]["cell"] == "a" and j["obstructions"][0]["cells"] == ["b"]


@pytest.mark.parametrize("extra, msg", [
    ('[[propagation.antenna]]\ncell = "zz"\nazimuth_deg = 1.0\n', "not the name of a [[cell]]"),
    ('[[propagation.antenna]]\ncell = "a"\n', "'azimuth_deg': missing"),
    ('[[propagation.obstruction]]\nposition = [36.6, 101.7]\nradius_m = 0.0\nloss_db = 3.0\n',
     "out of range"),
    ('[[propagation.obstruction]]\nposition = [36.6, 101.7]\nradius_m = 5.0\nloss_db = 3.0\nx = 1\n',
     "'x': unknown key"),
])
def test_bad_keys(extra: str, msg: str) -> None:
    with pytest.raises(BadInput, match=msg.replace("[", r"\[").replace("]", r"\]")):
        loads_scene(BASE + extra)
