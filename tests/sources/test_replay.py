"""`file:PATH`: a recording replayed as a tunable live source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fbsdetect.errors import BadInput
from fbsdetect.sources.base import RETUNE_SETTLE_S, IqSource
from fbsdetect.sources.replay import ReplaySource, raw_parameters_from_name

FS = 1_000_000.0
FC = 950e6


def write_tones(tmp_path: Path, tones_hz: list[float], seconds: float = 0.5) -> Path:
    n = np.arange(int(FS * seconds))
    x = sum(0.3 * np.exp(2j * np.pi * f / FS * n) for f in tones_hz)
    p = tmp_path / "tones_950.0M_1000k.cfile"
    np.asarray(x, np.complex64).tofile(p)
    return p


def power_at(x: np.ndarray, f_hz: float) -> float:
    n = np.arange(x.size)
    return float(np.abs(np.mean(x * np.exp(-2j * np.pi * f_hz / FS * n))) ** 2)


def test_name_states_rate_and_freq() -> None:
    assert raw_parameters_from_name("a/b_947.4M_2400k.cu8") == (947.4e6, 2.4e6)
    assert raw_parameters_from_name("x.cu8") is None


def test_raw_file_without_parameters_is_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "x.cu8"
    p.write_bytes(b"\x80" * 64)
    with pytest.raises(BadInput, match=r"NAME_947\.4M_2400k"):
        ReplaySource.open(p)


def test_a_missing_raw_file_is_reported_missing(tmp_path: Path) -> None:
    # a typo in the path must not send the user renaming the file
    with pytest.raises(BadInput, match="no such file"):
        ReplaySource.open(tmp_path / "x.cu8")


def test_untuned_reads_are_the_recording_and_advance_the_clock(tmp_path: Path) -> None:
    p = write_tones(tmp_path, [100e3])
    src = ReplaySource.open(p)
    assert isinstance(src, IqSource) and src.serial is None
    whole = np.fromfile(p, np.complex64)
    a = src.read(1000)
    assert np.array_equal(a, whole[:1000])
    assert src.time_s == pytest.approx(1000 / FS)
    assert not src.exhausted


def test_retune_costs_settling_time_and_moves_the_centre_to_dc(tmp_path: Path) -> None:
    p = write_tones(tmp_path, [200e3, -400e3])
    src = ReplaySource.open(p)
    src.tune(FC + 400e3)
    assert src.time_s == pytest.approx(RETUNE_SETTLE_S)
    assert src.center_freq_hz == FC + 400e3
    assert src.covers(FC + 400e3) == pytest.approx(0.6)
    x = src.read(50_000)
    # the +200 kHz tone is now at -200 kHz; the -400 kHz one (RF 949.6 MHz) lies outside what a
    # dongle at 950.4 MHz sees with 1 MS/s: a plain mix would wrap it to +200 kHz, the filter removes it
    assert power_at(x, -200e3) == pytest.approx(0.09, rel=0.05)
    assert power_at(x, +200e3) < 1e-5 * 0.09
    # reads stay continuous across read boundaries (phase and filter state carried)
    y = np.concatenate([src.read(777), src.read(1223)])
    assert power_at(y, -200e3) == pytest.approx(0.09, rel=0.05)
    assert np.max(np.abs(np.abs(y[10:]) - 0.3)) < 0.02


def test_tuning_outside_the_band_reads_zeros_and_the_end_is_exhausted(tmp_path: Path) -> None:
    p = write_tones(tmp_path, [0.0], seconds=0.1)
    src = ReplaySource.open(p)
    src.tune(FC + 5e6)
    assert src.covers(FC + 5e6) == 0
    assert not np.any(src.read(1000))
    src.tune(FC)
    rest = src.read(200_000)
    assert src.exhausted and rest.size == 200_000 and not np.any(rest[-1000:])


def test_sample_rate_is_the_recordings(tmp_path: Path) -> None:
    src = ReplaySource.open(write_tones(tmp_path, [0.0], seconds=0.1))
    src.set_sample_rate(2.4e6)
    assert src.sample_rate_hz == FS


@pytest.mark.slow
def test_a_cell_replayed_off_centre_still_decodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A SigMF scene recording replayed through file: tuned 250 kHz away: the cell,
    now at -250 kHz, decodes with its identity and SI as from the recording itself."""
    import json

    from fbsdetect.cli.main import main
    from fbsdetect.sim.output import simulate
    from fbsdetect.sim.scene import load_scene
    from fbsdetect.sources.open import open_source
    from tests.sim.scenes import ONE_CELL

    scene = tmp_path / "one.toml"
    scene.write_text(ONE_CELL.format(duration=2.5))
    rendered = simulate(load_scene(scene), tmp_path / "out")
    src = open_source(f"file:{rendered.meta_path}")
    src.tune(939.25e6)
    x = src.read(int(2.3e6))
    out = tmp_path / "shifted.cfile"
    x.tofile(out)
    assert main(["decode", str(out), "--rate", "1e6", "--freq", "939.25e6", "--json"]) == 0
    cells = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(c["arfcn"], c["bsic"], c["cid"]) for c in cells] == [(20, 38, 20015)]
    assert {"1", "2", "3", "4"} <= set(cells[0]["si"])


def test_start_time_from_sigmf(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime

    data = tmp_path / "r.sigmf-data"
    np.zeros(1000, np.complex64).tofile(data)
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": 1e6, "core:version": "1.0.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": 950e6,
                          "core:datetime": "2026-11-30T08:00:00Z"}], "annotations": []}
    (tmp_path / "r.sigmf-meta").write_text(json.dumps(meta))
    src = ReplaySource.open(tmp_path / "r.sigmf-meta")
    assert src.start_time == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert ReplaySource.open(write_tones(tmp_path, [0.0], seconds=0.01)).start_time is None
