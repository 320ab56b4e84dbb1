"""Runs one scenario case end to end through the command line, as a user would, and scores the
detections against its expected.json.

Per case, in a fresh directory with a fresh SQLite database:
  1. `fbsdetect --db URL registry import <case>/registry.csv`
  2. `fbsdetect --db URL scan --source sim:<case>/scene.toml --profile cn --summary-json FILE`
  3. `fbsdetect --db URL detections --json`
A case with a `learn.toml` first has it scanned as a learning run (`scan --learn`) into the same
database (the same sensor: the default one), before step 2.
A correct detector reports every fake cell of expected.json at severity >= medium and no real
cell (and nothing else) at >= medium. A detection's cell matches an expected cell on
(mcc, mnc, lac, cid, arfcn); a detection without an identity matches by ARFCN.

Used by tests/e2e/test_scenarios.py and bench/bench_detection_quality.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENES_DIR = ROOT / "tests" / "corpus" / "scenes"
SEVERE = ("medium", "high")
NOT_BUILT = "is not built yet"
STEP_TIMEOUT_S = 1200.0


def case_dirs() -> list[Path]:
    return sorted(p.parent for p in SCENES_DIR.glob("*/scene.toml"))


class NotBuilt(Exception):
    """A subcommand the pipeline needs says it is not built yet (exit 1, 'is not built yet')."""


class StepFailed(Exception):
    """A step exited with an error."""


@dataclass
class Step:
    name: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float


@dataclass
class CaseResult:
    case: str
    expected: dict[str, Any]
    detections: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    steps: list[Step] = field(default_factory=list)
    found: list[dict[str, Any]] = field(default_factory=list)  # expected fakes at >= medium
    missed: list[dict[str, Any]] = field(default_factory=list)  # expected fakes not at >= medium
    false_alarms: list[dict[str, Any]] = field(default_factory=list)  # detections >= medium not of a fake

    @property
    def passed(self) -> bool:
        return not self.missed and not self.false_alarms

    def wall_s(self) -> float:
        return sum(s.wall_s for s in self.steps)


def _ident(d: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(d.get(k) for k in ("mcc", "mnc", "lac", "cid", "arfcn"))


def matches(det_cell: dict[str, Any], want: dict[str, Any]) -> bool:
    if det_cell.get("cid") is None:
        return det_cell.get("arfcn") == want["arfcn"]
    return _ident(det_cell) == _ident(want)


def score(expected: dict[str, Any],
          detections: list[dict[str, Any]]) -> tuple[list[Any], list[Any], list[Any]]:
    """(fakes found at >= medium, fakes missed, detections at >= medium that are no fake)."""
    severe = [d for d in detections if d.get("severity") in SEVERE]
    found = [f for f in expected["fake"] if any(matches(d.get("cell", {}), f) for d in severe)]
    missed = [f for f in expected["fake"] if f not in found]
    false_alarms = [d for d in severe
                    if not any(matches(d.get("cell", {}), f) for f in expected["fake"])]
    return found, missed, false_alarms


def fbsdetect(*args: str, db_url: str, cwd: Path, timeout_s: float = STEP_TIMEOUT_S) -> Step:
    argv = [sys.executable, "-m", "fbsdetect", "--db", db_url, *args]
    env = dict(os.environ, FBSDETECT_DB=db_url)
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout_s,
                       check=False)
    return Step(args[0], argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def _check(step: Step) -> Step:
    if step.returncode == 1 and NOT_BUILT in step.stderr:
        raise NotBuilt(step.stderr.strip().splitlines()[-1])
    if step.returncode != 0:
        tail = "\n".join(step.stderr.strip().splitlines()[-15:])
        raise StepFailed(f"`{' '.join(step.argv[2:])}` exited {step.returncode}:\n{tail}")
    return step


def run_case(case_dir: Path, work: Path, *, profile: str = "cn",
             case_name: str | None = None) -> CaseResult:
    """Runs the three steps for `case_dir` in `work` (created; holds the DB and the summary)."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "fbsdetect.db"
    if db.exists():
        db.unlink()
    url = f"sqlite:///{db}"
    expected = json.loads((case_dir / "expected.json").read_text(encoding="utf-8"))
    res = CaseResult(case_name or case_dir.name, expected)
    res.steps.append(_check(fbsdetect("registry", "import", str(case_dir / "registry.csv"),
                                      db_url=url, cwd=ROOT)))
    if (case_dir / "learn.toml").exists():
        res.steps.append(_check(fbsdetect("scan", "--source", f"sim:{case_dir / 'learn.toml'}",
                                          "--profile", profile, "--learn",
                                          "--summary-json", str(work / "learn-summary.json"),
                                          db_url=url, cwd=ROOT)))
    summary = work / "summary.json"
    res.steps.append(_check(fbsdetect("scan", "--source", f"sim:{case_dir / 'scene.toml'}",
                                      "--profile", profile, "--summary-json", str(summary),
                                      db_url=url, cwd=ROOT)))
    if summary.exists():
        res.summary = json.loads(summary.read_text(encoding="utf-8"))
    step = _check(fbsdetect("detections", "--json", db_url=url, cwd=ROOT))
    res.steps.append(step)
    res.detections = [json.loads(line) for line in step.stdout.splitlines() if line.strip()]
    res.found, res.missed, res.false_alarms = score(expected, res.detections)
    return res


def flip_labels(text: str) -> str:
    """The scene text with every cell's `label` flipped (fake <-> legit; no label = legit)."""
    out: list[str] = []
    in_cell = False
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s.startswith("["):
            in_cell = s == "[[cell]]"
            out.append(line)
            if in_cell:
                out.append('label = "fake"\n')  # replaced below if the cell had its own label
            continue
        if in_cell and s.replace(" ", "").startswith("label="):
            value = s.split("=", 1)[1].split("#")[0].strip().strip('"')
            flipped = "legit" if value == "fake" else "fake"
            # the cell has its own label: drop the one inserted after [[cell]], keep its place
            for i in range(len(out) - 1, -1, -1):
                if out[i] == 'label = "fake"\n':
                    del out[i]
                    break
            out.append(f'label = "{flipped}"\n')
            continue
        out.append(line)
    return "".join(out)


def copy_case_flipped(case_dir: Path, dest: Path) -> Path:
    """A copy of the case with the scene's labels flipped (expected.json left as it is)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("registry.csv", "expected.json"):
        shutil.copy(case_dir / name, dest / name)
    for name in ("scene.toml", "learn.toml"):
        if (case_dir / name).exists():
            text = (case_dir / name).read_text(encoding="utf-8")
            (dest / name).write_text(flip_labels(text), encoding="utf-8")
    return dest


def copy_case_reseeded(case_dir: Path, dest: Path, delta: int) -> Path:
    """A copy of the case whose scene (and learning run) seeds are shifted by `delta`: the same
    world with other shadowing, oscillator errors, frame numbers and noise."""
    import re

    dest.mkdir(parents=True, exist_ok=True)
    for name in ("registry.csv", "expected.json"):
        shutil.copy(case_dir / name, dest / name)
    for name in ("scene.toml", "learn.toml"):
        if (case_dir / name).exists():
            text = (case_dir / name).read_text(encoding="utf-8")
            text = re.sub(r"(?m)^seed = (\d+)$", lambda m: f"seed = {int(m.group(1)) + delta}", text,
                          count=1)
            (dest / name).write_text(text, encoding="utf-8")
    return dest


def detection_view(d: dict[str, Any]) -> dict[str, Any]:
    """What must not change when the truth does: the detection minus nothing a label could leak
    into (ids, severity, score, cell, rules with their evidence, counts, times)."""
    keys = ("id", "severity", "score", "cell", "rules", "observations", "first_seen", "last_seen",
            "position")
    return {k: d.get(k) for k in keys}


def top_rules(res: CaseResult, n: int = 3) -> list[str]:
    counts: dict[str, float] = {}
    for d in res.detections:
        if d.get("severity") not in SEVERE:
            continue
        for r in d.get("rules", []):
            counts[r.get("id", "?")] = counts.get(r.get("id", "?"), 0.0) + float(r.get("score") or 0)
    return [k for k, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:n]]


def describe_detection(d: dict[str, Any]) -> str:
    c = d.get("cell", {})
    rules = ", ".join(f"{r.get('id')}={r.get('score')}" for r in d.get("rules", []))
    return (f"#{d.get('id')} {d.get('severity')} {d.get('score')} "
            f"{c.get('mcc')}-{c.get('mnc')}-{c.get('lac')}-{c.get('cid')} ARFCN {c.get('arfcn')} "
            f"[{rules}]")


def margins(res: CaseResult) -> tuple[float | None, float | None]:
    """(lowest score among the expected fakes, 0 for one without a detection; highest score of a
    detection that is not a fake): how far each side is from the severity thresholds."""
    fmin = None
    for f in res.expected["fake"]:
        sc = max((float(d.get("score") or 0) for d in res.detections
                  if matches(d.get("cell", {}), f)), default=0.0)
        fmin = sc if fmin is None else min(fmin, sc)
    others = [float(d.get("score") or 0) for d in res.detections
              if not any(matches(d.get("cell", {}), f) for f in res.expected["fake"])]
    return fmin, max(others, default=None)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def table(results: list[CaseResult | tuple[str, str]]) -> str:
    """One line per case: fakes found / expected, false alarms, top rules (or why not run)."""
    lines = [f"{'case':40s} {'fakes>=med':>10s} {'false>=med':>10s} {'dets':>4s} {'fake_min':>8s} "
             f"{'real_max':>8s} {'sweeps':>6s} {'wall_s':>7s}  result / top rules"]
    tot_f = tot_e = tot_fa = 0
    for r in results:
        if isinstance(r, tuple):
            lines.append(f"{r[0]:40s} {'-':>10s} {'-':>10s} {'-':>4s} {'-':>8s} {'-':>8s} {'-':>6s} "
                         f"{'-':>7s}  {r[1]}")
            continue
        n_fake = len(r.expected["fake"])
        tot_f += len(r.found)
        tot_e += n_fake
        tot_fa += len(r.false_alarms)
        sweeps = (r.summary or {}).get("sweeps", "-")
        verdict = "PASS" if r.passed else "FAIL"
        fmin, rmax = margins(r)
        lines.append(f"{r.case:40s} {len(r.found):>4d} / {n_fake:<3d} {len(r.false_alarms):>10d} "
                     f"{len(r.detections):>4d} {_num(fmin):>8s} {_num(rmax):>8s} {sweeps!s:>6s} "
                     f"{r.wall_s():7.1f}  {verdict} {', '.join(top_rules(r)) or '-'}")
        for f in r.missed:
            best = [d for d in r.detections if matches(d.get("cell", {}), f)]
            why = describe_detection(best[0]) if best else "no detection at all"
            lines.append(f"{'':40s}   missed fake {f.get('name')} ARFCN {f['arfcn']}: {why}")
        for d in r.false_alarms:
            lines.append(f"{'':40s}   false alarm {describe_detection(d)}")
    lines.append(f"{'total':40s} {tot_f:>4d} / {tot_e:<3d} {tot_fa:>10d}")
    return "\n".join(lines)
