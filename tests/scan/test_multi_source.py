"""Several dongles at once (`scan --source A --source B`, fbsdetect.scan.multi):
each sweeps its share of the plan into one scan run of one store."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect.scan.plan import plan_sweep
from fbsdetect.scan.profile import load_profile
from fbsdetect.scan.runner import share_of

SMALL = Path(__file__).resolve().parents[1] / "corpus" / "sweep" / "small.toml"


def test_shares_split_the_grid_without_overlap_or_gap() -> None:
    plan = plan_sweep(load_profile("cn"), sample_rate_hz=2166666.6666666665)
    for n in (2, 3):
        parts = [share_of(plan, k, n) for k in range(n)]
        grid = [t.center_freq_hz for p in parts for t in p.tunings]
        assert sorted(grid) == sorted(t.center_freq_hz for t in plan.tunings) and len(set(grid)) == len(grid)
        assert all(max(t.center_freq_hz for t in a.tunings) < min(t.center_freq_hz for t in b.tunings)
                   for a, b in itertools.pairwise(parts))  # contiguous runs
        assert sum(len(p.lte_tunings) for p in parts) == len(plan.lte_tunings)


@pytest.mark.slow
def test_two_sim_sources_sweep_half_the_plan_each_into_one_run(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "FBSDETECT_KEY_FILE": str(tmp_path / "idkey")}
    a, b = tmp_path / "dongle-a.toml", tmp_path / "dongle-b.toml"  # the same world, two virtual dongles
    shutil.copy(SMALL, a)
    # ... with clocks 30 ppm apart, as two uncalibrated RTL-SDRs are (review, session 4, #10)
    text = SMALL.read_text()
    assert "ppm = 3.5" in text
    b.write_text(text.replace("ppm = 3.5", "ppm = 33.5", 1))
    db = tmp_path / "m.db"
    out = tmp_path / "m.json"
    subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"sim:{a}", "--source", f"sim:{b}",
                    "--profile", "cn", "--max-sweeps", "1", "--db", f"sqlite:///{db}", "--summary-json",
                    str(out)], check=True, capture_output=True, text=True, env=env, timeout=900)
    s = json.loads(out.read_text())
    assert {c["arfcn"] for c in s["cells"]} == {980, 30, 71, 118}  # every cell of the scene
    assert all(c["si_complete_s"] is not None for c in s["cells"])
    one, two = s["sources"]
    g1 = {t["center_freq_hz"] for t in one["tunings"]}
    g2 = {t["center_freq_hz"] for t in two["tunings"]}
    assert g1 and g2 and not g1 & g2 and max(g1) < min(g2)  # disjoint shares, low band / high band
    assert {c["arfcn"] for c in one["cells"]} == {980, 30} and {c["arfcn"] for c in two["cells"]} == {71, 118}
    # one sweep of the band in about half the radio time one dongle needs (15.6 s alone)
    assert s["sweeps"] == 1 and s["radio_s"] < 11.0
    con = sqlite3.connect(db)
    runs = con.execute("SELECT id, source FROM scan_run").fetchall()
    per_run = con.execute("SELECT run_id, count(DISTINCT arfcn) FROM observation GROUP BY run_id").fetchall()
    receivers = dict(con.execute("SELECT arfcn, min(receiver) FROM observation GROUP BY arfcn").fetchall())
    con.close()
    assert len(runs) == 1 and runs[0][1] == f"sim:{a} + sim:{b}"
    assert per_run == [(runs[0][0], 4)]
    # each observation says which dongle measured it, and no cell's offset is judged against the
    # other dongle's clock: the scene's cells are all licensed
    assert receivers == {980: f"sim:{a}", 30: f"sim:{a}", 71: f"sim:{b}", 118: f"sim:{b}"}
    det = subprocess.run([sys.executable, "-m", "fbsdetect", "--db", f"sqlite:///{db}", "detections",
                          "--json"], check=True, capture_output=True, text=True, env=env, timeout=300).stdout
    rules = {r["id"] for line in det.splitlines() for r in json.loads(line).get("rules", [])}
    assert not rules & {"freq-offset-outlier", "freq-offset-changed"}, det


def test_the_same_source_twice_is_bad_usage(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"sim:{SMALL}", "--source",
                        f"sim:{SMALL}", "--no-store"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "twice" in r.stderr and "Traceback" not in r.stderr
