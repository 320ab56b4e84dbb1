"""The virtual dongle: tuned to different frequencies it yields the cells
there (decoded by gr-gsm), time and position follow the scene, and it
implements the IqSource interface."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fbsdetect.errors import BadUsage
from fbsdetect.gsm.bands import downlink_hz
from fbsdetect.sim.scene import loads_scene
from fbsdetect.sources.base import IqSource
from fbsdetect.sources.sim import RETUNE_SETTLE_S, SimSource
from tests.sim.scenes import TWO_BANDS
from tests.support import grgsm


def _band_power_db(x: np.ndarray, fs: float, f0: float, half: float = 100e3) -> float:
    s = np.abs(np.fft.fft(x)) ** 2 / x.size**2
    f = np.fft.fftfreq(x.size, 1 / fs)
    return 10 * float(np.log10(s[np.abs(f - f0) < half].sum()))


def test_interface_time_and_position() -> None:
    src = SimSource(loads_scene(TWO_BANDS))
    assert isinstance(src, IqSource)
    assert src.sample_rate_hz == 1e6 and src.center_freq_hz == 939e6 and src.gain_db is None
    x = src.read(250000)
    assert x.dtype == np.complex64 and x.shape == (250000,)
    assert src.time_s == pytest.approx(0.25 / (1 - 4e-6))  # the dongle's clock is 4 ppm slow
    src.tune(947e6)
    assert src.time_s == pytest.approx(0.25 + RETUNE_SETTLE_S, abs=1e-5)
    lat, lon = src.position() or (0, 0)
    assert lat == pytest.approx(36.6171 + 0.002 * src.time_s / 30) and lon > 101.7782
    fix = src.gps.fix(15.0)
    assert fix.lat == pytest.approx(36.6181) and 0 < fix.speed_m_s < 20 and 0 < fix.course_deg < 90
    assert not src.exhausted
    with pytest.raises(BadUsage):
        src.set_sample_rate(50e3)
    with pytest.raises(BadUsage):
        src.tune(10e9)
    src.close()
    with pytest.raises(BadUsage):
        src.read(10)


def test_tuning_selects_the_cells_by_power() -> None:
    src = SimSource(loads_scene(TWO_BANDS))
    fs = src.sample_rate_hz
    x_low = src.read(200000)
    src.tune(downlink_hz(60) + 250e3)
    x_high = src.read(200000)
    # at 939 MHz: cell "low" at 0 Hz, nothing at +250 kHz; at ARFCN 60 + 250 kHz: "high" at -250 kHz
    assert _band_power_db(x_low, fs, -4.0 * -939.0) - _band_power_db(x_low, fs, 300e3) > 30
    assert _band_power_db(x_high, fs, -250e3) - _band_power_db(x_high, fs, 0.0) > 30
    src.set_gain(10.0)
    x_gain = src.read(200000)
    assert _band_power_db(x_high, fs, -250e3) - _band_power_db(x_gain, fs, -250e3) == pytest.approx(20, abs=1)


@pytest.mark.external
def test_tuned_source_decodes_to_the_right_cell() -> None:
    reason = grgsm.unavailable_reason()
    if reason:
        pytest.skip(reason)
    scene = loads_scene(TWO_BANDS)
    src = SimSource(scene)
    src.read(100000)
    src.tune(downlink_hz(60))
    x = src.read(2_500_000)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "tuned.cf32"
        x.astype(np.complex64).tofile(p)
        frames = grgsm.decode(p, sample_rate_hz=1e6, center_freq_hz=downlink_hz(60), fmt="cf32")
    from fbsdetect.sim.content import cell_frames

    high = cell_frames(scene.cells[1]).si
    low = cell_frames(scene.cells[0]).si
    got = {f.hex for f in frames}
    assert high["3"].hex() in got and high["4"].hex() in got
    assert low["3"].hex() not in got


def test_a_cell_heard_again_after_a_long_time_jumps_ahead() -> None:
    """A cell outside the tuned band is not rendered; when the receiver comes back
    after 25 s its frame numbers have run on and its state stays small."""
    from fbsdetect.sim.content import cell_frames
    from fbsdetect.sim.render import Renderer
    from fbsdetect.sim.transmitter import FRAME_BITS

    scene = loads_scene(TWO_BANDS)
    seen: list[tuple[int, float]] = []

    def log(st: Any, m: int, blocks: list[Any]) -> None:
        if st.cell.name == "high":
            seen.extend((b.fn, st.block_time_s(m, b.fn % 51)) for b in blocks)

    r = Renderer(scene, {c.index: cell_frames(c) for c in scene.cells}, on_blocks=log)
    r.next_block()
    assert not seen  # "high" (ARFCN 60, 947 MHz) is outside the 939 MHz capture
    r.retune(downlink_hz(60), 1e6, 30.0, t_s=25.0)
    y = r.next_block()
    assert seen and all(24.4 < t < 25.3 for _, t in seen)  # from two multiframes before
    high = r.cells[1]
    fn_at_0 = high.timing.start_fn
    fn, t = seen[0]
    frames_elapsed = (t + high.timing.frame_offset_s) * high.symbol_rate_hz / FRAME_BITS
    assert (fn - fn_at_0) % 2715648 == round(frames_elapsed)
    assert high.stream._hi - high.stream._lo < 200_000  # not 25 s of symbols
    assert 10 * np.log10(np.mean(np.abs(y) ** 2)) > -60
