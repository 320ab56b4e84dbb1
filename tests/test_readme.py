"""Issue 17: README's two commands, taken from README.md itself.

The first (`scripts/demo`) runs in a clean clone of this repository's HEAD in a
temporary directory, with no database and no output from an earlier run, and
builds its own `.venv` exactly as a new user's first command does
(`scripts/setup`: the package's own dependencies, with uv; its cache makes a
second run quick). FBSDETECT_TEST_FRESH_VENV=0 runs the clone against this
checkout's environment instead (`FBSDETECT_VENV`, which also skips
`scripts/setup`): for a machine without a package index. The second (the whole
test suite) cannot run inside the suite: the test checks that `.ci/run` calls
exactly it.

The demo's result is checked against the scene's ground truth (the test reads the
scene's `label` and positions; the product never does): the fake cell is flagged
with a position within a few hundred metres of where it is, its SMS are among
those it sent, and no legitimate cell reaches medium."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

POSITION_TOLERANCE_M = 150.0


def readme_commands() -> list[str]:
    """The commands of README's "The two commands" section (its first sh block), comments cut."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## The two commands\n(.*?)^## ", text, re.S | re.M)
    assert m, "README.md has no '## The two commands' section"
    block = re.search(r"```sh\n(.*?)```", m.group(1), re.S)
    assert block, "the section has no ```sh block"
    cmds = [ln.split("#", 1)[0].strip() for ln in block.group(1).splitlines()]
    return [c for c in cmds if c]


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dn = math.radians(b[0] - a[0]) * 6_371_000.0
    de = math.radians(b[1] - a[1]) * 6_371_000.0 * math.cos(math.radians(a[0]))
    return math.hypot(dn, de)


def test_readme_has_exactly_two_commands() -> None:
    cmds = readme_commands()
    assert len(cmds) == 2, cmds
    assert cmds[0] == "scripts/demo" and cmds[1] == "scripts/test", cmds


def test_ci_calls_exactly_the_readme_test_command() -> None:
    test_cmd = readme_commands()[1]
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    steps = [ln for ln in lines if ln and not ln.startswith("#") and not ln.startswith("set ")
             and not ln.startswith("cd ")]
    assert steps == [f"exec {test_cmd}"], steps
    assert os.access(ROOT / test_cmd, os.X_OK)


def _clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot clone HEAD")
    dest = tmp_path / "fbsdetect"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)], check=True,
                   capture_output=True, timeout=300)
    assert not (dest / "out").exists() and not (dest / ".venv").exists()
    return dest


@pytest.mark.slow
def test_readme_first_command_in_a_clean_clone(tmp_path: Path) -> None:
    cmd = readme_commands()[0]
    clone = _clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FBSDETECT_")}
    env["FBSDETECT_KEY_FILE"] = str(tmp_path / "signing.key")  # not the user's own key
    env.pop("PYTHONPATH", None)
    fresh = os.environ.get("FBSDETECT_TEST_FRESH_VENV", "1") != "0"
    if not fresh:
        env["FBSDETECT_VENV"] = str(Path(sys.executable).parent.parent)
    t0 = time.monotonic()
    run = subprocess.run(cmd, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.monotonic() - t0
    assert run.returncode == 0, run.stderr[-4000:]
    out = clone / "out" / "demo"
    for name in ("fbsdetect.db", "detections.jsonl", "map.html", "scan-summary.json",
                 "report/report-2026-03.html"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    packages = list(out.glob("evidence-*.zip"))
    assert len(packages) == 1, packages
    assert "OK" in run.stderr and str(out.resolve()) in run.stderr  # verified, and says where it wrote

    from fbsdetect.sim.scene import load_scene

    scene = load_scene(clone / "scanners" / "demo.toml")
    fakes = [c for c in scene.cells if c.label == "fake"]
    assert len(fakes) == 1
    fake = fakes[0]
    truth = fake.route.position(50.0)  # parked: the same all scene long
    sent = {(s.sender, s.text) for s in fake.traffic.sms} if fake.traffic else set()
    assert sent, "the demo's fake sends SMS"
    legit = {(c.arfcn, c.lac, c.cid) for c in scene.cells if c.label == "legit"}

    dets = [json.loads(ln) for ln in (out / "detections.jsonl").read_text(encoding="utf-8").splitlines()]
    mine = [d for d in dets if (d["cell"]["arfcn"], d["cell"]["bsic"], d["cell"]["lac"], d["cell"]["cid"])
            == (fake.arfcn, fake.bsic, fake.lac, fake.cid)]
    assert len(mine) == 1, dets
    d = mine[0]
    assert d["severity"] == "high", d["severity"]
    assert packages[0].name == f"evidence-{d['id']}.zip"
    assert d["position"] is not None
    err = _distance_m(truth, (d["position"]["lat"], d["position"]["lon"]))
    assert err <= POSITION_TOLERANCE_M, f"estimated {err:.0f} m from the fake"
    got = {(s["sender"], s["text"]) for s in d.get("sms") or []}
    assert got and got <= sent, (got, sent)
    for other in dets:
        if (other["cell"]["arfcn"], other["cell"]["lac"], other["cell"]["cid"]) in legit:
            assert other["severity"] == "low", other
    # what the newcomer reads: the detections with explanations, SMS and the position
    assert "reselect-offset-high" in run.stdout and "Innocent causes" in run.stdout
    assert f"{d['position']['lat']:.5f}" in run.stdout
    assert any(text in run.stdout for _, text in got)
    if fresh:  # the new environment holds what the demo needs, and no more
        assert (clone / ".venv" / ".fbsdetect-installed").is_file()
        assert "[setup] installing fbsdetect into .venv" in run.stderr
    print(f"demo in a clean clone ({'new .venv' if fresh else 'this environment'}): {wall:.1f} s wall, fake "
          f"estimated {err:.0f} m from the truth, {len(d.get('sms') or [])} SMS captured")


RULES_BEGIN = "<!-- rules table: generated (python -m tests.test_readme) -->"
RULES_END = "<!-- end of rules table -->"


def rules_table() -> str:
    """README's rules table, from the registered rules (id, family, meaning, innocent causes)."""
    from fbsdetect.detect.rules import all_rules

    rows = ["| id | family | what it means | innocent causes |", "| --- | --- | --- | --- |"]
    for r in sorted(all_rules(), key=lambda r: (r.family, r.id)):
        text = " ".join(r.explanation.split())
        m = re.search(r"Innocent causes?:\s*(.*?)(?:\.\s|\.?$)", text)
        innocent = m.group(1).replace("|", "/") if m else "see docs/heuristics.md"
        rows.append(f"| `{r.id}` | {r.family} | {r.title} | {innocent} |")
    return "\n".join(rows)


def test_readme_rules_table_is_the_registered_rules() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert RULES_BEGIN in text and RULES_END in text, "README.md lacks the generated rules table"
    got = text.split(RULES_BEGIN, 1)[1].split(RULES_END, 1)[0].strip()
    assert got == rules_table(), "README's rules table drifted; replace it with:\n" + rules_table()


if __name__ == "__main__":  # python -m tests.test_readme: the table to paste between the markers
    print(rules_table())
