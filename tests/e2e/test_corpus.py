"""The scenario suite itself (tests/corpus/scenes/): every case is complete and consistent, and
the committed files are what build.py writes. Fast: no rendering."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from fbsdetect.sim.scene import load_scene

SCENES = Path(__file__).resolve().parents[1] / "corpus" / "scenes"
CASES = sorted(p.parent for p in SCENES.glob("*/scene.toml"))
HEADER = ["radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range", "samples",
          "changeable", "created", "updated", "averageSignal"]
IDENT = ("mcc", "mnc", "lac", "cid", "arfcn")


def _ids(case: Path) -> list[str]:
    return [p.name for p in case]


def test_at_least_twelve_cases_with_fakes_and_hard_negatives() -> None:
    assert len(CASES) >= 12
    exp = [json.loads((c / "expected.json").read_text()) for c in CASES]
    assert sum(1 for e in exp if e["fake"]) >= 6
    assert sum(1 for e in exp if not e["fake"]) >= 6


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_case_is_consistent(case: Path) -> None:
    text = (case / "scene.toml").read_text(encoding="utf-8")
    assert text.startswith("# "), "each scene starts with a comment explaining the case"
    scene = load_scene(case / "scene.toml")
    assert scene.info.name == case.name
    assert 20.0 <= scene.info.duration_s <= 60.0
    assert scene.receiver.sample_rate_hz == 2400000 and scene.receiver.format == "cu8"
    assert 3 <= len(scene.cells) <= 8

    exp = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert set(exp) == {"fake", "legit", "notes"} and exp["notes"]
    for label in ("fake", "legit"):
        want = sorted(tuple(e[k] for k in IDENT) for e in exp[label])
        have = sorted((c.mcc, c.mnc, c.lac, c.cid, c.arfcn) for c in scene.cells if c.label == label)
        assert want == have, label

    # realistic allocations: China Mobile 1-94, China Unicom 96-124 (E-GSM900)
    for c in scene.cells:
        assert c.mcc == 460
        lo, hi = {0: (1, 94), 1: (96, 124)}[c.mnc]
        assert lo <= c.arfcn <= hi, c.name
        if c.label == "legit":
            assert c.arfcn not in c.neighbours
            # a fake is in no real BA list, unless it took over a real cell's ARFCN (learn.toml)
            taken = ({o.arfcn for o in load_scene(case / "learn.toml").cells}
                     if (case / "learn.toml").exists() else set())
            fakes = {o.arfcn for o in scene.cells if o.label == "fake"} - taken
            assert fakes.isdisjoint(c.neighbours)

    with open(case / "registry.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER
    start = scene.info.start_time.timestamp()
    for r in rows[1:]:
        d = dict(zip(HEADER, r, strict=True))
        assert d["radio"] in ("GSM", "UMTS", "LTE", "NR")
        lon, lat = float(d["lon"]), float(d["lat"])
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        # lon before lat: every row is near the scene (China: lon 73..135, lat 18..54)
        assert 73 < lon < 135 and 18 < lat < 54
        assert int(d["created"]) <= int(d["updated"]) <= start
        if d["radio"] == "GSM":
            assert 0 <= int(d["area"]) <= 65535 and 0 <= int(d["cell"]) <= 65535
    # the registry knows most of the real cells (hard negatives leave some out on purpose)
    gsm = {(int(r[2]), int(r[3]), int(r[4])) for r in rows[1:] if r[0] == "GSM"}
    legit = [c for c in scene.cells if c.label == "legit"]
    assert sum((c.mnc, c.lac, c.cid) in gsm for c in legit) >= len(legit) / 2
    rx = scene.receiver.route.position(0.0)
    for c in scene.cells:
        lat, lon = c.route.position(0.0)
        dist = math.hypot((lat - rx[0]) * 111e3, (lon - rx[1]) * 111e3 * math.cos(math.radians(lat)))
        assert dist < 5000, c.name

def test_committed_files_are_what_build_writes() -> None:
    spec = importlib.util.spec_from_file_location("scenes_build", SCENES / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    sys.modules["scenes_build"] = build  # dataclasses look their module up
    try:
        spec.loader.exec_module(build)
    finally:
        del sys.modules["scenes_build"]
    assert (SCENES / "README.md").read_text(encoding="utf-8") == build.readme(build.cases())
    for case in build.cases():
        d = SCENES / case.key
        assert (d / "scene.toml").read_text(encoding="utf-8") == build.scene_toml(case), case.key
        assert (d / "registry.csv").read_text(encoding="utf-8") == build.registry_csv(case), case.key
        assert json.loads((d / "expected.json").read_text()) == build.expected(case), case.key
        if case.learn_cells is not None:
            assert (d / "learn.toml").read_text(encoding="utf-8") == \
                build.scene_toml(build.learn_case(case)), case.key
        else:
            assert not (d / "learn.toml").exists(), case.key


@pytest.mark.parametrize("case", [c for c in CASES if (c / "learn.toml").exists()],
                         ids=lambda c: c.name)
def test_learning_run_is_plausible(case: Path) -> None:
    learn = load_scene(case / "learn.toml")
    scene = load_scene(case / "scene.toml")
    assert all(c.label == "legit" for c in learn.cells)
    assert learn.info.start_time < scene.info.start_time
    assert learn.receiver.route == scene.receiver.route  # the same sensor, where it stood
