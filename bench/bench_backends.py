"""Both backends on the same recordings (issue 15): cells found, blocks
decoded, wall time and CPU time (the whole process tree), side by side.

    .venv/bin/python bench/bench_backends.py [--scene scanners/demo.toml --scene-s 8]

fbsdetect runs as `fbsdetect decode --frames --json` would (every TS0 block,
no early stop: the same work gr-gsm does), as a subprocess, so both columns
include process start-up. gr-gsm is the flowgraph of fbsdetect/grgsm/ under
Debian's python3 (one flowgraph for all carriers of the capture).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("FBSDETECT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _timed(cmd: list[str]) -> tuple[str, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, wall, cpu


def native(path: Path, rate: float, freq: float, fmt: str) -> dict[str, object]:
    exe = [sys.executable, "-m", "fbsdetect", "decode", str(path)]
    raw = ["--rate", repr(rate), "--freq", repr(freq), "--format", fmt] if fmt else []
    out, wall, cpu = _timed([*exe, *raw, "--frames"])
    frames = [json.loads(x) for x in out.splitlines() if x.strip()]
    cells_out, _w, _c = _timed([*exe, *raw, "--json"])
    cells = [json.loads(x) for x in cells_out.splitlines() if x.strip()]
    return {"cells": {c["arfcn"]: (c["mcc"], c["mnc"], c["lac"], c["cid"]) for c in cells},
            "blocks": len(frames), "wall_s": wall, "cpu_s": cpu}


def grgsm(path: Path, rate: float, freq: float, fmt: str) -> dict[str, object]:
    from fbsdetect.grgsm.backend import GrgsmProcess, file_args
    from fbsdetect.grgsm.observe import observations_from_frames

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with GrgsmProcess(file_args(path, fmt=fmt or "cf32", sample_rate_hz=rate, center_freq_hz=freq)) as p:
        frames = list(p)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cells = observations_from_frames(frames)
    return {"cells": {c.arfcn: (c.mcc, c.mnc, c.lac, c.cid) for c in cells}, "blocks": len(frames),
            "wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scanners" / "demo.toml"),
                    help="a scene rendered to a file as a third input")
    ap.add_argument("--scene-s", type=float, default=8.0, help="seconds of the scene rendered")
    a = ap.parse_args()
    inputs = [(SHARED / "refgen" / "pub1_single_939M_1000k.cf32", 1e6, 939e6, "cf32"),
              (SHARED / "refgen" / "pub2_multi_940M_2400k.cu8", 2.4e6, 940e6, "cu8")]
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(a.scene).read_text(encoding="utf-8")
        import re

        scene = re.sub(r"(?m)^duration_s\s*=.*$", f"duration_s = {a.scene_s}", scene, count=1)
        (Path(tmp) / "scene.toml").write_text(scene, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "fbsdetect", "simulate", str(Path(tmp) / "scene.toml"),
                        "-o", tmp], check=True, capture_output=True)
        meta = next(Path(tmp).glob("*.sigmf-meta"))
        m = json.loads(meta.read_text())
        data = meta.with_suffix(".sigmf-data")
        fmt = {"cu8": "cu8", "ci8": "ci8", "cf32_le": "cf32"}[m["global"]["core:datatype"]]
        inputs.append((data, float(m["global"]["core:sample_rate"]),
                       float(m["captures"][0]["core:frequency"]), fmt))
        print(f"{'input':<36} {'backend':<9} {'cells':>5} {'blocks':>7} {'wall s':>7} {'cpu s':>7}"
              "  identities")
        for path, rate, freq, fmt in inputs:
            if not path.exists():
                print(f"{path.name:<36} (absent)")
                continue
            n = native(path, rate, freq, fmt)
            g = grgsm(path, rate, freq, fmt)
            for name, r in (("fbsdetect", n), ("gr-gsm", g)):
                cells = r["cells"]
                assert isinstance(cells, dict)
                print(f"{path.name[:36]:<36} {name:<9} {len(cells):>5} {r['blocks']:>7} {r['wall_s']:>7.2f} "
                      f"{r['cpu_s']:>7.2f}  {sorted(cells)}")
            nc, gc = n["cells"], g["cells"]
            assert isinstance(nc, dict) and isinstance(gc, dict)
            same = [k for k in gc if nc.get(k) == gc[k]]
            print(f"{'':<36} agree on {len(same)} of {len(gc)} gr-gsm cells; fbsdetect only: "
                  f"{sorted(set(nc) - set(gc))}; gr-gsm only: {sorted(set(gc) - set(nc))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
