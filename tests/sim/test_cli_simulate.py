"""`fbsdetect simulate`: outputs, and bad scenes as exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from tests.sim.test_scene import TWO_CELLS


def test_cli_bad_scene_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "scene.toml"
    p.write_text(TWO_CELLS.replace("eirp_dbm = 45.0", "eirp = 45.0"))
    code = main(["simulate", str(p), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "[[cell]] 2 'eirp': unknown key" in err and "scene.toml" in err


