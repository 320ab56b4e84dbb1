"""Export throughput and memory: 100 000 synthetic observations (a drive with
GPS, two sensors, a few detections, realistic SI/params JSON) in a fresh
SQLite database, exported as CSV, GeoJSON, KML and (for 20 000 frames)
pcapng, one subprocess per export so that each peak RSS (ru_maxrss) is that
export's own; the same child with no export gives the baseline (Python +
SQLAlchemy + fbsdetect imports).

    .venv/bin/python bench/bench_export.py [--rows 100000] [--frames 20000] [--dir DIR]

Prints one line per export (rows per wall-clock second, and per CPU second of
the export's process: the second is the steadier figure on a shared machine)
and a JSON summary on the last line. The rows go
in through Core bulk inserts (the point is the exports; the scan's write
path and its audit entries are measured by the store's own tests) and are
then sealed in the audit log once, so `verify --db` is timed as well.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def populate(url: str, rows: int, frames: int) -> None:
    from sqlalchemy import insert

    from fbsdetect.store import open_store
    from fbsdetect.store.models import Detection, FrameRow, Observation, ScanRun, Sensor

    store = open_store(url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    si = {k: "49" * 23 for k in ("1", "2", "2quater", "3", "4", "13")}
    params = {"t3212": 20, "cro": 0, "neighbours": [60, 66, 71], "rxlev_access_min": 8, "gprs": True}
    with store.engine.begin() as conn:
        conn.execute(insert(Sensor.__table__), [{"name": "laptop-1", "kind": "laptop", "created_at": t0},
                                                {"name": "node-7", "kind": "node", "created_at": t0}])
        conn.execute(insert(ScanRun.__table__), [{"sensor_id": 1, "source": "sim:drive.toml", "profile": "cn",
                                                  "software_version": "bench", "started_at": t0,
                                                  "learn": False}])
        conn.execute(insert(Detection.__table__), [
            {"mcc": 460, "mnc": 0, "lac": 10999, "cid": 40000 + k, "arfcn": 70 + k, "bsic": 7,
             "severity": ("low", "medium", "high")[k % 3], "score": 0.5, "n_observations": 0,
             "position": {"lat": 36.6 + k * 0.01, "lon": 101.7, "error_m": 80.0}, "status": "open",
             "updated_at": t0} for k in range(10)])
        batch: list[dict[str, object]] = []
        for i in range(rows):
            batch.append({
                "run_id": 1, "sensor_id": 1 + (i % 2), "time": t0 + timedelta(seconds=i), "radio_s": float(i),
                "kind": "dwell", "arfcn": 60 + i % 40, "band": "E-GSM900", "freq_hz": 947e6, "bsic": i % 64,
                "mcc": 460, "mnc": i % 2, "lac": 10290 + i % 7, "cid": 41000 + i % 300,
                "power_dbm": -60.0 - (i % 30), "power_ref": "dBm", "snr_db": 20.0 + (i % 10) / 10,
                "freq_offset_hz": 120.0, "blocks_ok": 30, "blocks_bad": 1, "si": si, "params": params,
                "lat": 36.6 + (i % 5000) * 1e-5, "lon": 101.7 + (i % 5000) * 2e-5, "gps_mode": 3,
                "gps_error_m": 2.5, "detection_id": (1 + i % 10) if i % 97 == 0 else None})
            if len(batch) == 10_000:
                conn.execute(insert(Observation.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(Observation.__table__), batch)
        fb = []
        for j in range(frames):
            fb.append({"observation_id": 1 + j // 20, "fn": 1000 + 51 * j, "ts": 0, "channel": "BCCH",
                       "data": bytes.fromhex("49061b" + "00" * 20), "time": t0 + timedelta(seconds=j // 20),
                       "power_dbm": -60.0, "snr_db": 20.0})
            if len(fb) == 10_000:
                conn.execute(insert(FrameRow.__table__), fb)
                fb = []
        if fb:
            conn.execute(insert(FrameRow.__table__), fb)
    store.close()


def child(fmt: str, url: str, out: str) -> None:
    """One export in this process; prints {seconds, rows, maxrss_kb}."""
    from fbsdetect.store import open_store

    store = open_store(url)
    t = time.perf_counter()
    c0 = time.process_time()
    n = 0
    if fmt == "csv":
        from fbsdetect.export.csv_export import write_csv

        with open(out, "w", newline="") as f:
            n = write_csv(store, f)
    elif fmt == "geojson":
        from fbsdetect.export.geojson import write_geojson

        with open(out, "w") as f:
            n = write_geojson(store, f).features
    elif fmt == "kml":
        from fbsdetect.export.kml import write_kml

        with open(out, "w") as f:
            c = write_kml(store, f)
            n = c["observations"] + c["detections"]
    elif fmt == "pcap":
        from fbsdetect.export.pcap_store import write_pcap

        n = write_pcap(store, out)
    elif fmt == "seal":
        from fbsdetect.store.audit import seal_existing

        with store.engine.begin() as conn:
            n = seal_existing(conn)
    elif fmt == "verify":
        from fbsdetect.store.audit import verify_db

        rep = verify_db(store)
        assert rep.ok, rep.lines()[:5]
        n = sum(rep.rows.values())
    elif fmt != "none":
        raise SystemExit(f"unknown format {fmt}")
    dt = time.perf_counter() - t
    cpu = time.process_time() - c0
    store.close()
    print(json.dumps({"seconds": dt, "cpu_s": cpu, "rows": n,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def run_child(fmt: str, url: str, out: Path) -> dict[str, float]:
    p = subprocess.run([sys.executable, __file__, "--child", fmt, url, str(out)], capture_output=True,
                       text=True, cwd=ROOT, check=False)
    if p.returncode != 0:
        raise SystemExit(f"{fmt}: child failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--dir")
    ap.add_argument("--child", nargs=3, metavar=("FORMAT", "URL", "OUT"))
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    d = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-export-"))
    d.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{d / 'bench.db'}"
    t = time.perf_counter()
    populate(url, a.rows, a.frames)
    print(f"populate: {a.rows} observations, {a.frames} frames in {time.perf_counter() - t:.1f} s "
          f"({(d / 'bench.db').stat().st_size / 1e6:.0f} MB)")
    results: dict[str, dict[str, float]] = {}
    base = run_child("none", url, d / "none")
    results["baseline"] = base
    print(f"baseline (imports, open_store): peak RSS {base['maxrss_kb'] / 1024:.0f} MB")
    for fmt, ext in (("csv", "csv"), ("geojson", "geojson"), ("kml", "kml"), ("pcap", "pcapng"),
                     ("seal", "x"), ("verify", "x")):
        r = run_child(fmt, url, d / f"out.{ext}")
        size = (d / f"out.{ext}").stat().st_size / 1e6 if (d / f"out.{ext}").exists() else 0.0
        r["rows_per_s"] = r["rows"] / r["seconds"] if r["seconds"] else 0.0
        r["rows_per_cpu_s"] = r["rows"] / r["cpu_s"] if r["cpu_s"] else 0.0
        r["file_mb"] = size
        results[fmt] = r
        print(f"{fmt:8s} {r['rows']:>8.0f} rows in {r['seconds']:6.2f} s = {r['rows_per_s']:>9.0f} rows/s "
              f"({r['rows_per_cpu_s']:.0f} per CPU second), "
              f"peak RSS {r['maxrss_kb'] / 1024:.0f} MB (+{(r['maxrss_kb'] - base['maxrss_kb']) / 1024:.0f} "
              f"over baseline), file {size:.1f} MB")
    print(json.dumps({"rows": a.rows, "frames": a.frames, "results": results}))
    if not a.dir:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
