"""`fbsdetect calibrate`: the virtual dongle's ppm from its cells' FCCH, stored per key, used by scans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect.errors import BadInput
from fbsdetect.scan.calibration import load_ppm, store_ppm

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "corpus" / "sweep" / "small.toml"


def test_calibrate_measures_the_scene_ppm_and_stores_it(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "calibrate", "--source", f"sim:{SMALL}",
                        "--tunings", "2"], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert abs(res["ppm"] - 3.5) < 0.2 and res["n_cells"] >= 1  # the scene's dongle is 3.5 ppm off
    stored = json.loads((tmp_path / "fbsdetect" / "calibration.json").read_text())
    assert abs(stored["dongles"][f"sim:{SMALL}"]["ppm"] - res["ppm"]) < 1e-6


def test_store_and_load(tmp_path: Path) -> None:
    p = tmp_path / "c.json"
    assert load_ppm("x", p) is None
    store_ppm("00000001", -31.25, n_cells=4, spread_ppm=0.1, source="rtlsdr:00000001", path=p)
    assert load_ppm("00000001", p) == -31.25
    p.write_text("{nope")
    with pytest.raises(BadInput, match="calibration"):
        load_ppm("00000001", p)
