"""Sanity check of a scenario scene with what works without the scan: render a few seconds of it
centred on each group of its cells (`fbsdetect.sim`), decode each rendering with
`fbsdetect decode --json`, and compare the decoded cells with the scene's.

`python tests/e2e/scene_check.py [SCENE.toml ...]` (default: every scene of the suite) prints one
line per cell; exit 1 when a cell is not decoded with its identity. The slow test
`test_scene_render.py` runs it on every scene.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENES_DIR = ROOT / "tests" / "corpus" / "scenes"
FBSDETECT = [sys.executable, "-m", "fbsdetect"]
SPAN_HZ = 1.6e6  # cells of one rendering lie within +-0.8 MHz of its centre (2.4 MS/s)


def scene_paths() -> list[Path]:
    return sorted([*SCENES_DIR.glob("*/scene.toml"), *SCENES_DIR.glob("*/learn.toml")])


@dataclass
class CellResult:
    scene: str
    name: str
    arfcn: int
    label: str
    ok: bool
    detail: str


def windows(freqs: list[float]) -> list[float]:
    """Centre frequencies of renderings that cover every frequency (no carrier at 0 Hz)."""
    out: list[float] = []
    fs = sorted(freqs)
    i = 0
    while i < len(fs):
        j = i
        while j + 1 < len(fs) and fs[j + 1] - fs[i] <= SPAN_HZ:
            j += 1
        c = (fs[i] + fs[j]) / 2
        if any(abs(f - c) < 60e3 for f in fs[i:j + 1]):
            c += 100e3
        out.append(c)
        i = j + 1
    return out


def check_scene(path: Path, *, duration_s: float = 5.0) -> list[CellResult]:
    from fbsdetect.gsm.bands import downlink_hz
    from fbsdetect.sim.output import simulate
    from fbsdetect.sim.scene import load_scene

    scene = load_scene(path)
    # every cell on the air from the start (late starters included), a short rendering
    cells = tuple(dataclasses.replace(c, active=(0.0, 1e9)) for c in scene.cells)
    info = dataclasses.replace(scene.info, duration_s=duration_s)
    freq = {c.index: downlink_hz(c.arfcn) for c in cells}
    results: dict[int, CellResult] = {}
    with tempfile.TemporaryDirectory(prefix="scene-check-") as tmp:
        for k, centre in enumerate(windows(list(freq.values()))):
            rx = dataclasses.replace(scene.receiver, center_freq_hz=centre)
            s = dataclasses.replace(scene, info=info, receiver=rx, cells=cells)
            out = Path(tmp) / f"w{k}"
            r = simulate(s, out)
            p = subprocess.run([*FBSDETECT, "decode", str(r.meta_path), "--json"],
                               capture_output=True, text=True, cwd=ROOT, check=False)
            if p.returncode != 0:
                raise RuntimeError(f"{path}: decode failed: {p.stderr.strip()}")
            obs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
            for c in cells:
                if abs(freq[c.index] - centre) > SPAN_HZ / 2 + 1:
                    continue
                mine = [o for o in obs if o.get("arfcn") == c.arfcn]
                want = (c.mcc, c.mnc, c.lac, c.cid, c.bsic)
                got = [(o.get("mcc"), o.get("mnc"), o.get("lac"), o.get("cid"), o.get("bsic"))
                       for o in mine]
                ok = want in got
                detail = (f"{mine[0].get('power_dbm')} dBm snr {mine[0].get('snr_db')} dB "
                          f"off {mine[0].get('freq_offset_hz')} Hz" if mine else "not decoded")
                if mine and not ok:
                    detail += f" identity {got}"
                results[c.index] = CellResult(scene.info.name, c.name, c.arfcn, c.label, ok, detail)
            extra = {o.get("arfcn") for o in obs} - {c.arfcn for c in cells}
            if extra:
                results[1000 + k] = CellResult(scene.info.name, f"(extra carriers {sorted(extra)})",
                                               -1, "-", False, "decoded but not in the scene")
    return [results[i] for i in sorted(results)]


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or scene_paths()
    bad = 0
    for path in paths:
        for r in check_scene(path):
            bad += not r.ok
            print(f"{r.scene:30s} {r.arfcn:4d} {r.label:5s} {r.name:28s} "
                  f"{'ok ' if r.ok else 'BAD'} {r.detail}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
