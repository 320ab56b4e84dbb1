"""Channel and receiver models: path loss, noise, 8-bit sampling, and that
the rendered samples carry the powers truth.json states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fbsdetect.gsm.bands import downlink_hz
from fbsdetect.sim.channel import (
    Link,
    dequantise,
    fspl_db,
    path_loss_db,
    quantise,
    thermal_noise_dbm,
)
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.render import Renderer, make_plan
from fbsdetect.sim.routes import Route, distance_m
from fbsdetect.sim.scene import PropagationConfig, loads_scene
from fbsdetect.sim.truth import BlockLog, build_truth
from tests.sim.scenes import ONE_CELL


def test_free_space_and_log_distance() -> None:
    # Friis: 20 log10(4 pi d f / c); 1 km at 947 MHz is 91.97 dB
    assert float(fspl_db(1000.0, 947e6)) == pytest.approx(91.97, abs=0.01)
    p = PropagationConfig(model="log-distance", exponent=3.5, ref_distance_m=100.0)
    assert float(path_loss_db(50.0, 947e6, p)) == pytest.approx(float(fspl_db(50.0, 947e6)))
    assert float(path_loss_db(1000.0, 947e6, p)) == pytest.approx(float(fspl_db(100.0, 947e6)) + 35.0)
    assert float(path_loss_db(1000.0, 947e6, PropagationConfig(model="free-space"))) == pytest.approx(91.97,
                                                                                                     abs=0.01)


def test_thermal_noise() -> None:
    assert thermal_noise_dbm(1.0, 0.0) == pytest.approx(-173.98, abs=0.01)
    assert thermal_noise_dbm(2.4e6, 7.0) == pytest.approx(-173.98 + 63.80 + 7.0, abs=0.01)


def test_haversine() -> None:
    # one degree of latitude is ~111.2 km on the mean sphere
    assert float(distance_m(36.0, 101.0, 37.0, 101.0)) == pytest.approx(111195, rel=1e-3)


def test_quantise_cu8_ci8_and_clipping() -> None:
    y = np.array([0.5 + 0.25j, -1.2 + 0.0j, 2.0 - 2.0j, 0.0 + 0.999j], dtype=np.complex64)
    raw, clipped = quantise(y, "cu8")
    assert list(raw[:2]) == [round(127.5 + 63.75), round(127.5 + 31.875)]
    assert clipped == 3  # -1.2, 2.0, -2.0
    back = dequantise(raw, "cu8")
    assert np.abs(back[0] - y[0]) <= 0.5 / 127.5 * math.sqrt(2)
    assert back[2] == pytest.approx(1.0 - 1.0j)
    raw8, clipped8 = quantise(y, "ci8")
    assert np.frombuffer(raw8, np.int8)[0] == 64 and clipped8 == 4  # 0.999 * 128 rounds to 128 > 127
    raw32, c32 = quantise(y, "cf32")
    assert c32 == 0 and (np.frombuffer(raw32, np.complex64) == y).all()


def test_shadowing_statistics_and_fading_gain() -> None:
    rx = Route((36.60, 36.66), (101.70, 101.80), (0.0, 1000.0))
    tx = Route.fixed(36.63, 101.75)
    prop = PropagationConfig(shadowing_db=6.0)
    base = PropagationConfig()
    t = np.linspace(0, 1000, 4000)
    sh = [Link(tx=tx, rx=rx, eirp_dbm=40, freq_hz=947e6, active=(0, 1e9), prop=pr, origin=(36.6, 101.7),
               seed=s, key=0).gains(t).power_dbm for s in range(8) for pr in (prop, base)]
    diffs = np.concatenate([sh[2 * i] - sh[2 * i + 1] for i in range(8)])
    assert abs(diffs.std() - 6.0) < 1.5 and abs(diffs.mean()) < 1.5
    ray = PropagationConfig(fading="rayleigh")
    g = np.concatenate([Link(tx=tx, rx=rx, eirp_dbm=40, freq_hz=947e6, active=(0, 1e9), prop=ray,
                             origin=(36.6, 101.7), seed=s, key=1).gains(t).amplitude for s in range(4)])
    g0 = Link(tx=tx, rx=rx, eirp_dbm=40, freq_hz=947e6, active=(0, 1e9), prop=base, origin=(36.6, 101.7),
              seed=0, key=1).gains(t).amplitude
    ratio = np.abs(g) ** 2 / np.tile(np.abs(g0) ** 2, 4)
    assert ratio.mean() == pytest.approx(1.0, abs=0.15)  # unit mean power
    assert np.mean(ratio < 0.1) == pytest.approx(1 - math.exp(-0.1), abs=0.04)  # Rayleigh CDF


def _render(text: str, seconds: float) -> tuple[np.ndarray, dict, Renderer]:
    scene = loads_scene(text)
    frames = {c.index: cell_frames(c) for c in scene.cells}
    log = BlockLog(scene.info.duration_s)
    r = Renderer(scene, frames, on_blocks=log)
    n = round(seconds * scene.receiver.sample_rate_hz)
    parts, have = [], 0
    while have < n:
        y = r.next_block()
        parts.append(y)
        have += y.size
    y = np.concatenate(parts)[:n]
    truth = build_truth(scene, r, frames, log, n_samples=n, clipped_values=0)
    return y, truth, r


def test_rendered_power_noise_and_offset_match_truth() -> None:
    text = ONE_CELL.format(duration=1.0).replace('center_freq_hz = 939000000', 'center_freq_hz = 939200000')
    text = text.replace("[receiver]", "[receiver]\nppm = 10.0\nnoise_figure_db = 9.0")
    y, truth, _ = _render(text, 1.0)
    cell = truth["cells"][0]
    fs = 1e6
    spec = np.abs(np.fft.fftshift(np.fft.fft(y))) ** 2 / y.size**2
    f = np.fft.fftshift(np.fft.fftfreq(y.size, 1 / fs))
    in_cell = np.abs(f - cell["offset_from_center_hz"]) < 150e3
    far = (np.abs(f - cell["offset_from_center_hz"]) > 300e3) & (np.abs(f) < 0.45 * fs)
    noise_density = spec[far].mean()
    p_cell = spec[in_cell].sum() - noise_density * in_cell.sum()
    gain = 40.0
    assert 10 * math.log10(p_cell) - gain == pytest.approx(cell["power_dbm"], abs=0.3)
    noise_dbm = 10 * math.log10(noise_density * y.size) - gain
    assert noise_dbm == pytest.approx(truth["receiver"]["thermal_noise_dbm"], abs=0.3)
    assert truth["receiver"]["thermal_noise_dbm"] == pytest.approx(thermal_noise_dbm(1e6, 9.0), abs=0.01)
    # the FCCH tone (+67.7 kHz) sits where the dongle's 10 ppm error puts it
    expect = (downlink_hz(20) * (1 + cell["freq_error_ppm"] * 1e-6) - 939.2e6 * (1 + 1e-5)) / (1 + 1e-5)
    assert cell["offset_from_center_hz"] == pytest.approx(expect, abs=0.01)
    assert expect == pytest.approx(-200e3 - 9392, abs=60)
    assert cell["freq_offset_hz"] == pytest.approx(expect + 200e3, abs=0.01)
    # the FCCH tone (+67.7 kHz) where the dongle's 10 ppm error puts it
    assert fcch_tone_hz(y, fs, expect) == pytest.approx(expect + 1625000 / 24, abs=60)


def fcch_tone_hz(y: np.ndarray, fs: float, carrier_hz: float) -> float:
    """Mean frequency of the FCCH bursts (runs of >= 100 symbols of a steady tone
    near carrier + 67.7 kHz), from the instantaneous frequency."""
    t = np.arange(y.size) / fs
    z = np.fft.fft(y * np.exp(-2j * np.pi * carrier_hz * t))
    f = np.abs(np.fft.fftfreq(y.size, 1 / fs))
    z *= np.where(f < 120e3, 1.0, np.where(f > 220e3, 0.0, 0.5 + 0.5 * np.cos(np.pi * (f - 120e3) / 100e3)))
    z = np.fft.ifft(z)
    inst = np.angle(z[1:] * np.conj(z[:-1])) * fs / (2 * np.pi)
    near = (np.abs(inst - 1625000 / 24) < 3000).astype(np.int64)
    span = round(100 * fs / (1625000 / 6))
    run = np.convolve(near, np.ones(span, dtype=np.int64), "valid") == span
    tone = np.zeros(near.size, dtype=bool)
    for k in np.nonzero(run)[0][:: span // 10]:
        tone[k:k + span] = True
    assert tone.mean() == pytest.approx(5 / 51 / 8 * 142 / 156.25, rel=0.3)
    return carrier_hz + float(inst[tone].mean())


def test_doppler_of_a_moving_transmitter() -> None:
    base = ONE_CELL.format(duration=1.0).replace("[receiver]", "[receiver]\nnoise_figure_db = 0.0")
    base = base.replace("eirp_dbm = 30.0", "eirp_dbm = 50.0\nfreq_error_ppm = 0.0")
    fixed = base.replace("position = [36.62, 101.78]", "position = [36.6271, 101.7782]")
    # 30 m/s due north, away from the receiver 1.1 km south of it
    away = base.replace("position = [36.62, 101.78]",
                        "route = [[36.6271, 101.7782, 0.0], [36.6271 + 0.0026981, 101.7782, 10.0]]")
    away = away.replace("36.6271 + 0.0026981", str(36.6271 + 300 / 111195))
    y0, t0, _ = _render(fixed, 1.0)
    y1, t1, _ = _render(away, 1.0)
    f0 = fcch_tone_hz(y0, 1e6, t0["cells"][0]["offset_from_center_hz"])
    f1 = fcch_tone_hz(y1, 1e6, t1["cells"][0]["offset_from_center_hz"])
    assert f1 - f0 == pytest.approx(-30.0 * 939e6 / 299792458.0, abs=8)  # -94 Hz


def _jammer(center_freq_hz: float, bandwidth_hz: float, active: tuple[float, float]) -> str:
    """A 10 dBm jammer 50 m from ONE_CELL's receiver."""
    return f"""
[[jammer]]
center_freq_hz = {center_freq_hz}
bandwidth_hz = {bandwidth_hz}
position = [36.6175, 101.7785]
eirp_dbm = 10.0
active = {list(active)}
"""


def test_jammer_is_band_limited_noise_during_its_interval() -> None:
    text = ONE_CELL.format(duration=1.0) + _jammer(939.3e6, 200e3, (0.5, 2.0))
    y, truth, _ = _render(text, 1.0)
    fs = 1e6
    n = y.size // 2
    before, during = y[: n - 10000], y[n + 10000:]

    def band_power(x: np.ndarray, lo: float, hi: float) -> float:
        s = np.abs(np.fft.fft(x)) ** 2 / x.size**2
        f = np.fft.fftfreq(x.size, 1 / fs)
        return float(s[(f > lo) & (f < hi)].sum())

    j_dbm = truth["jammers"][0]["power_dbm"]
    p_during = band_power(during, 210e3, 390e3) - band_power(before, 210e3, 390e3)
    assert 10 * math.log10(p_during / 0.9) - 40.0 == pytest.approx(j_dbm, abs=0.5)
    # outside its band only a trace of it (block joints), far below the jammer itself
    splatter = band_power(during, -390e3, -300e3) - band_power(before, -390e3, -300e3)
    assert splatter < 1e-5 * p_during


@pytest.mark.parametrize("fs", [225e3, 1e6, 2.048e6, 2166666.67, 2.4e6, 3.2e6])
def test_block_plans(fs: float) -> None:
    p = make_plan(fs)
    assert 2 * 1625000 / 6 * 0.999 <= p.fs_c_hz <= 730e3
    assert p.M * p.c == p.L * p.d and p.H_o * p.c == p.H_c * p.d
    assert p.margin_c >= 128 and p.L - p.H_c == 2 * p.margin_c and p.M - p.H_o == 2 * p.margin_o


def test_jammer_switches_on_and_off_at_its_interval_edges() -> None:
    """The on-air interval holds to the sample, not to the renderer's ~25 ms
    segments: the jammer's power steps up at 0.51 s and down at 0.73 s."""
    text = ONE_CELL.format(duration=1.0).replace("eirp_dbm = 30.0", "eirp_dbm = -40.0")
    text += _jammer(939e6, 400e3, (0.51, 0.73))
    _assert_on_air_edges(text, 0.51, 0.73)


def test_cell_switches_on_and_off_at_its_interval_edges() -> None:
    text = ONE_CELL.format(duration=1.0).replace("eirp_dbm = 30.0", "eirp_dbm = 30.0\nactive = [0.51, 0.73]")
    _assert_on_air_edges(text, 0.51, 0.73)


def _assert_on_air_edges(text: str, start_s: float, end_s: float) -> None:
    y, _, r = _render(text, 1.0)
    p = np.abs(y) ** 2
    ms = round(1e-3 * 1e6 * r.clock)

    def level(t: float) -> float:  # mean power in the millisecond starting at t
        n = round(t * 1e6 * r.clock)
        return float(p[n:n + ms].mean())

    floor, on = level(0.2), level(0.6)
    assert on > 1e3 * floor
    for edge, rising in ((start_s, True), (end_s, False)):
        before, after = level(edge - 1.5e-3), level(edge + 0.5e-3)
        assert (after if rising else before) > 0.5 * on, edge
        assert (before if rising else after) < 10 * floor, edge
