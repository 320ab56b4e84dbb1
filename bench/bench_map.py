"""Map size and render time in Chromium for a large store (issue 11):
100 000 observations of a month of drives (40 cells, 3 suspects), written
straight into a SQLite store (Core inserts: this measures the map, not the
scan), then `fbsdetect map --offline`, then headless Chromium loading the
page (time to the screenshot, with a 10 s JavaScript budget).

    .venv/bin/python bench/bench_map.py [--n 100000] [--png out.png]

The page stays usable because every layer is aggregated: power points are
binned per suspect (~20 m), coverage per ~100 m, tracks decimated, the time
slider capped (fbsdetect/mapping/data.py).
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill(url: str, n: int, seed: int = 1) -> None:
    from sqlalchemy import insert

    from fbsdetect.store import open_store
    from fbsdetect.store.models import Detection, GpsFixRow, Observation, ScanRun, Sensor

    rng = random.Random(seed)
    with open_store(url) as store:
        with store.session() as s:
            sensor = Sensor(name="bench-car")
            s.add(sensor)
            s.flush()
            run = ScanRun(sensor_id=sensor.id, source="bench", profile="cn", software_version="bench",
                          started_at=datetime(2026, 3, 1, tzinfo=UTC))
            s.add(run)
            dets = [Detection(mcc=460, mnc=0, lac=9000 + k, cid=k + 1, arfcn=80 + k, bsic=37, severity=sev,
                              score=sc, rules=[{"id": "unknown-cell", "score": 0.3, "evidence": "bench"}],
                              position={"lat": 36.62 + 0.01 * k, "lon": 101.78, "error_m": 80.0,
                                        "method": "grid"})
                    for k, (sev, sc) in enumerate((("high", 0.9), ("medium", 0.6), ("low", 0.2)))]
            s.add_all(dets)
            s.flush()
            run_id, sensor_id, det_ids = run.id, sensor.id, [d.id for d in dets]
        t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
        rows, fixes = [], []
        cells = [(460, k % 2, 10000 + k // 8, 40000 + k, 1 + k * 3) for k in range(40)]
        for i in range(n):
            t = t0 + timedelta(seconds=2.5 * i)
            a = 2 * math.pi * i / 4000.0
            lat = 36.62 + 0.03 * math.sin(a) + 0.004 * math.sin(7 * a)
            lon = 101.78 + 0.04 * math.cos(a) + 0.004 * math.cos(5 * a)
            if i % 10 == 0:
                fixes.append({"run_id": run_id, "time": t, "lat": lat, "lon": lon, "mode": 3, "error_m": 3.0,
                              "source": "bench"})
            k = i % 43
            if k >= 40:  # a suspect
                j = k - 40
                mcc, mnc, lac, cid, arfcn = 460, 0, 9000 + j, j + 1, 80 + j
                det = det_ids[j]
            else:
                mcc, mnc, lac, cid, arfcn = cells[k]
                det = None
            rows.append({"run_id": run_id, "sensor_id": sensor_id, "time": t, "kind": "dwell", "arfcn": arfcn,
                         "mcc": mcc, "mnc": mnc, "lac": lac, "cid": cid, "bsic": 35,
                         "power_dbm": -90 + 30 * rng.random(), "power_ref": "dBm", "snr_db": 20.0, "lat": lat,
                         "lon": lon, "gps_mode": 3, "gps_error_m": 3.0, "detection_id": det, "blocks_ok": 10,
                         "blocks_bad": 0, "si": {}, "params": {}})
            if len(rows) >= 5000:
                with store.engine.begin() as conn:
                    conn.execute(insert(Observation), rows)
                    if fixes:
                        conn.execute(insert(GpsFixRow), fixes)
                rows, fixes = [], []
        with store.engine.begin() as conn:
            if rows:
                conn.execute(insert(Observation), rows)
            if fixes:
                conn.execute(insert(GpsFixRow), fixes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="observations (default 100000)")
    ap.add_argument("--png", help="also keep the screenshot here")
    a = ap.parse_args()
    from tests.support.browser import external, render

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        t = time.perf_counter()
        fill(url, a.n)
        print(f"store: {a.n} observations written in {time.perf_counter() - t:.1f} s")
        out = Path(tmp) / "map.html"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fbsdetect", "map", "-o", str(out), "--offline", "--db", url],
                       check=True, capture_output=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"fbsdetect map --offline: {wall:.1f} s wall, {after.ru_maxrss / 1024:.0f} MB peak RSS "
              f"(children), page {out.stat().st_size / 1e6:.2f} MB")
        png = Path(a.png) if a.png else Path(tmp) / "map.png"
        t = time.perf_counter()
        run = render(out, png, wait_ms=10_000)
        print(f"chromium: page loaded and drawn in {time.perf_counter() - t:.1f} s (virtual-time budget "
              f"10 s), {len(run.errors)} JavaScript errors, {len(external(run.urls))} requests leaving "
              "the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
