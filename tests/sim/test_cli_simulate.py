"""`fbsdetect simulate`: outputs, and bad scenes as exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from tests.sim.test_scene import TWO_CELLS


def simulate_cli(tmp_path: Path, scene: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[
        int, str, str]:
    """`fbsdetect simulate tmp_path/scene.toml -o tmp_path/out`: exit code, stdout, stderr."""
    p = tmp_path / "scene.toml"
    p.write_bytes(scene.encode() if isinstance(scene, str) else scene)
    code = main(["simulate", str(p), "-o", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    return code, out, err.strip()


def test_cli_bad_scene_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = simulate_cli(tmp_path, TWO_CELLS.replace("eirp_dbm = 45.0", "eirp = 45.0"), capsys)
    assert code == 2
    assert err.count("\n") == 0 and "[[cell]] 2 'eirp': unknown key" in err and "scene.toml" in err


def test_cli_simulate_writes_the_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = simulate_cli(tmp_path, TWO_CELLS.replace("duration_s = 4.0", "duration_s = 0.1"),
                                   capsys)
    out = stdout.split()
    assert code == 0
    assert [Path(x).name for x in out] == ["scene.sigmf-meta", "scene.sigmf-data", "scene.truth.json"]
    assert all(Path(x).exists() for x in out)


def test_cli_missing_scene(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(tmp_path / "nope.toml"), "-o", str(tmp_path)])
    assert code == 2 and "nope.toml" in capsys.readouterr().err


def test_bundled_demo_scene_is_valid() -> None:
    from fbsdetect.sim.content import cell_frames
    from fbsdetect.sim.scene import load_scene
    from tests.conftest import ROOT

    s = load_scene(ROOT / "scanners" / "demo.toml")
    legit = [c for c in s.cells if c.label == "legit"]
    fake = [c for c in s.cells if c.label == "fake"]
    assert len(legit) == 8 and len(fake) == 1
    assert {(c.mcc, c.mnc) for c in legit} == {(460, 0), (460, 1)}
    f = fake[0]
    assert (f.mcc, f.mnc) in {(c.mcc, c.mnc) for c in legit}
    assert f.lac not in {c.lac for c in legit} and not f.si2quater and f.rxlev_access_min == 0
    assert f.eirp_dbm >= 45
    for c in s.cells:
        cell_frames(c)
        # inside the receiver's 2.4 MS/s band around 954.0 MHz (+-1.0 MHz), off its DC
        assert 1 <= abs(c.arfcn - 95) <= 5


@pytest.mark.parametrize("raw", [TWO_CELLS.encode()[:333], b"\x00\xff\x89PNG\r\n", b"[[cell]]\narfcn = 1_"])
def test_cli_malformed_scene_bytes_exit_2_one_line(raw: bytes, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = simulate_cli(tmp_path, raw, capsys)
    assert code == 2 and err.count("\n") == 0 and "scene.toml" in err, err
    assert "Traceback" not in err
