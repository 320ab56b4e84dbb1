"""`fbsdetect simulate` outputs: determinism, SigMF metadata (read back by
the sigmf package and by our recording reader), no ground truth in the
recording, a moving receiver's captures, and the truth file's contents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sigmf

from fbsdetect.sim.channel import dequantise
from fbsdetect.sim.output import simulate
from fbsdetect.sim.scene import loads_scene
from fbsdetect.sources import recording
from fbsdetect.sources.sim import SimSource
from tests.sim.scenes import FOUR_CELLS, ONE_CELL, TWO_BANDS

MOVING_FADING_JAMMED = TWO_BANDS.replace("duration_s = 30.0", "duration_s = 0.3") + """
[propagation]
fading = "rayleigh"
shadowing_db = 6.0
[[jammer]]
center_freq_hz = 939100000
bandwidth_hz = 300000
route = [[36.6175, 101.7785, 0.0], [36.62, 101.78, 0.2]]
eirp_dbm = 10.0
active = [0.1, 0.2]
"""


@pytest.mark.parametrize(("text", "seed"), [(FOUR_CELLS.format(duration=0.3), "seed = 11"),
                                            (MOVING_FADING_JAMMED, "seed = 5")])
def test_same_scene_same_bytes_other_seed_other_bytes(tmp_path: Path, text: str, seed: str) -> None:
    a = simulate(loads_scene(text), tmp_path / "a")
    b = simulate(loads_scene(text), tmp_path / "b")
    c = simulate(loads_scene(text.replace(seed, "seed = 12")), tmp_path / "c")
    assert a.data_path.read_bytes() == b.data_path.read_bytes()
    assert a.truth_path.read_text() == b.truth_path.read_text()
    assert a.meta_path.read_text() == b.meta_path.read_text()
    assert a.data_path.read_bytes() != c.data_path.read_bytes()


def test_virtual_dongle_gives_the_recordings_samples_whatever_the_read_sizes(tmp_path: Path) -> None:
    text = FOUR_CELLS.format(duration=0.2)
    out = simulate(loads_scene(text), tmp_path)
    want = dequantise(out.data_path.read_bytes(), "cu8")
    src = SimSource(loads_scene(text))
    sizes = [1, 1000, 65536, 12345, 100000, 7]
    got: list[np.ndarray] = []
    i = 0
    while sum(g.size for g in got) < want.size:
        got.append(src.read(min(sizes[i % len(sizes)], want.size - sum(g.size for g in got))))
        i += 1
    assert np.array_equal(np.concatenate(got), want)


def test_sigmf_metadata_and_no_truth_in_it(tmp_path: Path) -> None:
    out = simulate(loads_scene(ONE_CELL.format(duration=0.2)), tmp_path)
    meta_text = out.meta_path.read_text()
    meta = json.loads(meta_text)
    g = meta["global"]
    assert g["core:datatype"] == "cf32_le" and g["core:sample_rate"] == 1e6
    assert g["core:geolocation"] == {"type": "Point", "coordinates": [101.7782, 36.6171]}
    assert g["fbsdetect:gain_db"] == 40.0
    assert meta["captures"] == [{"core:datetime": "2026-03-01T10:00:00.000Z",
                                 "core:frequency": 939e6, "core:sample_start": 0}]
    for secret in ("legit", "fake", "label", "bsic", "cmcc-a", "6151", "20015", "truth", "\"si\""):
        assert secret not in meta_text
    # the sigmf package reads it back and checks the data's SHA-512
    f = sigmf.sigmffile.fromfile(str(out.meta_path))
    assert f.read_samples(0, 10).shape == (10,)
    info = recording.inspect(out.meta_path)
    assert info.n_samples == 200000 and info.gain_db == 40.0 and (info.lat, info.lon) == (36.6171, 101.7782)


def test_moving_receiver_has_a_capture_per_second_with_its_position(tmp_path: Path) -> None:
    text = TWO_BANDS.replace("duration_s = 30.0", "duration_s = 2.5")
    out = simulate(loads_scene(text), tmp_path)
    info = recording.inspect(out.meta_path)
    assert [c.sample_start for c in info.captures] == [0, 1000000, 2000000]
    lat1 = 36.6171 + (36.6191 - 36.6171) * (1.0 / (1 - 4e-6)) / 30.0
    assert info.captures[1].lat == pytest.approx(lat1, abs=1e-7)
    assert info.captures[2].datetime is not None
    assert out.truth["receiver"]["route"][0] == [36.6171, 101.7782, 0.0]


def test_truth_contents(tmp_path: Path) -> None:
    out = simulate(loads_scene(FOUR_CELLS.format(duration=1.0)), tmp_path)
    def no_constants(name: str) -> None:
        raise AssertionError(f"truth.json is not strict JSON: {name}")

    t = json.loads(out.truth_path.read_text(), parse_constant=no_constants)
    assert set(t) >= {"cells", "jammers", "receiver", "scene"}
    c = t["cells"][1]
    assert c["ccch"] == "combined" and c["label"] == "legit"
    for key in ("power_dbm", "snr_db", "freq_hz", "freq_offset_hz", "start_fn", "si", "blocks"):
        assert key in c
    assert all(cell["in_band"] for cell in t["cells"])
    assert all(len(bytes.fromhex(h)) == 23 for h in c["si"].values())
    assert set(c["si"]) == {"1", "2", "3", "4", "2quater", "13"}
    bcch = [b for b in c["blocks"] if b["channel"] == "BCCH"]
    assert len(bcch) in (3, 4)  # 1 s: four 51-multiframes, one may straddle an edge
    for b in bcch:
        assert b["hex"] == c["si"][b["type"][2:]]
        assert 0 <= b["t_s"] <= 1.0
        assert b["fn"] % 51 == 2


def test_truth_lists_only_blocks_on_the_air(tmp_path: Path) -> None:
    text = ONE_CELL.format(duration=1.0).replace("paging_rate = 4.0",
                                                 "paging_rate = 4.0\nactive = [0.5, 0.9]")
    out = simulate(loads_scene(text), tmp_path)
    blocks = out.truth["cells"][0]["blocks"]
    assert blocks and all(0.5 <= b["t_s"] <= 0.9 for b in blocks)
    x = np.fromfile(out.data_path, dtype=np.complex64)
    on, off = x[600_000:850_000], x[50_000:450_000]
    assert np.mean(np.abs(on) ** 2) > 1e4 * np.mean(np.abs(off) ** 2)


def test_memory_stays_bounded_for_long_scenes(tmp_path: Path) -> None:
    """Rendering is block by block: a scene 12 times longer needs no more memory
    (numpy's buffers are traced by tracemalloc), and far less than its recording."""
    import tracemalloc

    def peak_bytes(duration_s: float) -> tuple[int, int]:
        text = ONE_CELL.format(duration=duration_s).replace('format = "cf32"', 'format = "cu8"')
        scene = loads_scene(text)
        tracemalloc.start()
        try:
            out = simulate(scene, tmp_path / str(duration_s))
            return tracemalloc.get_traced_memory()[1], out.data_path.stat().st_size
        finally:
            tracemalloc.stop()

    short, _ = peak_bytes(0.5)
    long, size = peak_bytes(6.0)
    assert size == 12_000_000
    assert long < 1.2 * short and long < size / 2, (short, long)
