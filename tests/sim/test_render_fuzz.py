"""Any scene that passes the checks renders (short) without an exception
other than BadInput: random receivers, cells anywhere in the GSM bands,
routes, jammers, formats and rates."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbsdetect.errors import BadInput
from fbsdetect.sim.output import simulate
from fbsdetect.sim.scene import loads_scene

ARFCNS = st.one_of(st.integers(0, 124), st.integers(128, 251), st.integers(512, 885),
                   st.integers(975, 1023))


@st.composite
def scenes(draw: st.DrawFn) -> str:
    rate = draw(st.sampled_from([225000, 1000000, 2048000, 2166666.67, 2400000, 3200000]))
    center = draw(st.floats(930e6, 960e6))
    fmt = draw(st.sampled_from(["cu8", "ci8", "cf32"]))
    moving = draw(st.booleans())
    rx = ("route = [[36.60, 101.77, 0.0], [36.61, 101.78, 0.05]]" if moving
          else "position = [36.6171, 101.7782]")
    text = f"""
[scene]
seed = {draw(st.integers(0, 2**40))}
duration_s = {draw(st.floats(0.001, 0.08))}
[receiver]
sample_rate = {rate}
center_freq_hz = {center}
format = "{fmt}"
gain_db = {draw(st.floats(-10, 70))}
ppm = {draw(st.floats(-80, 80))}
{rx}
[propagation]
model = "{draw(st.sampled_from(["log-distance", "free-space"]))}"
shadowing_db = {draw(st.floats(0, 10))}
fading = "{draw(st.sampled_from(["none", "rayleigh", "rician"]))}"
"""
    for _ in range(draw(st.integers(0, 4))):
        lat = draw(st.floats(36.55, 36.68))
        text += f"""
[[cell]]
arfcn = {draw(ARFCNS)}
mcc = {draw(st.integers(0, 999))}
mnc = {draw(st.integers(0, 999))}
lac = {draw(st.integers(0, 65535))}
cid = {draw(st.integers(0, 65535))}
bsic = {draw(st.integers(0, 63))}
route = [[{lat}, 101.77, 0.0], [{lat}, 101.79, 0.03]]
eirp_dbm = {draw(st.floats(-40, 90))}
active = [{draw(st.floats(-1, 0.05))}, {draw(st.floats(0.06, 10))}]
ccch = "{draw(st.sampled_from(["combined", "non-combined"]))}"
neighbours = {draw(st.lists(st.integers(1, 124), max_size=8, unique=True))}
eutran_neighbours = {draw(st.lists(st.integers(0, 65535), max_size=4, unique=True))}
si2ter = {str(draw(st.booleans())).lower()}
si2quater = {str(draw(st.booleans())).lower()}
gprs = {str(draw(st.booleans())).lower()}
cro = {draw(st.integers(0, 63))}
paging_rate = {draw(st.floats(0, 200))}
"""
    if draw(st.booleans()):
        text += f"""
[[jammer]]
center_freq_hz = {draw(st.floats(900e6, 1000e6))}
bandwidth_hz = {draw(st.floats(1e3, 50e6))}
position = [36.62, 101.78]
eirp_dbm = {draw(st.floats(-40, 90))}
"""
    return text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(scenes())
def test_random_scenes_render(tmp_path: Path, text: str) -> None:
    try:
        out = simulate(loads_scene(text), tmp_path)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    assert out.data_path.stat().st_size == out.n_samples * (8 if "cf32" in text else 2)
