"""Registry import speed and memory: a synthetic OpenCellID-format file
(default 5 000 000 rows, and a 500 000-row one for comparison, each plain and
gzip) imported into a fresh SQLite database, one subprocess per import so that
each peak RSS (resource.getrusage ru_maxrss) is that import's own. A big file is
read and parsed by a reader process of the import (registry_reader), whose CPU
time and peak RSS are reported beside the importing process's.

    .venv/bin/python bench/bench_registry.py [--rows 5000000] [--small 500000] [--reimport] [--dir DIR]

Goal (issue 10): >= 200 000 rows/s with flat memory. Prints one line per run
(with the 1-minute load average before and after it: on a shared machine the
rows per CPU second of the two processes are the figure to compare) and a JSON
summary on the last line. Files and databases go to a temporary
directory (removed at the end unless --dir is given).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal\n"
# (mcc, lat0, lat1, lon0, lon1): rough country boxes so that bbox/mcc filters have something to do
COUNTRIES = [(460, 22.0, 41.0, 100.0, 122.0), (262, 47.5, 54.8, 6.0, 14.8), (208, 43.0, 50.5, -4.5, 7.5),
             (310, 30.0, 47.0, -120.0, -75.0), (440, 31.0, 43.0, 130.0, 142.0), (234, 50.0, 58.0, -5.5, 1.5),
             (250, 45.0, 60.0, 30.0, 60.0), (404, 10.0, 30.0, 72.0, 88.0)]


def generate(path: Path, rows: int, *, seed: int = 1, bad_every: int = 0) -> None:
    """Writes `rows` OpenCellID rows (GSM 60 %, LTE 30 %, UMTS 10 %), chunk by chunk."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chunk = 100_000
    radios = np.array(["GSM", "LTE", "UMTS"])
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(HEADER)
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            ci = rng.integers(0, len(COUNTRIES), n)
            box = np.array(COUNTRIES, dtype=float)[ci]
            lat = box[:, 1] + rng.random(n) * (box[:, 2] - box[:, 1])
            lon = box[:, 3] + rng.random(n) * (box[:, 4] - box[:, 3])
            r = rng.choice(3, n, p=[0.6, 0.3, 0.1])
            mnc = rng.integers(0, 12, n)
            lac = rng.integers(1, 65535, n)
            cid_gsm = rng.integers(0, 65536, n)
            cid_big = rng.integers(0, 2**28, n)
            cid = np.where(r == 0, cid_gsm, cid_big)
            rang = rng.integers(100, 20000, n)
            samples = rng.integers(1, 500, n)
            created = rng.integers(1_300_000_000, 1_650_000_000, n)
            updated = created + rng.integers(0, 10_000_000, n)
            mccs = box[:, 0].astype(int)
            rad = radios[r]
            lines = [f"{a},{b},{c},{d},{e},0,{g:.6f},{h:.6f},{i},{j},1,{k},{m},0\n"
                     for a, b, c, d, e, g, h, i, j, k, m in zip(
                         rad.tolist(), mccs.tolist(), mnc.tolist(), lac.tolist(), cid.tolist(), lon.tolist(),
                         lat.tolist(), rang.tolist(), samples.tolist(), created.tolist(), updated.tolist(),
                         strict=True)]
            if bad_every:
                for k in range(0, n, bad_every):
                    lines[k] = lines[k].replace(",", ",x", 1)
            f.writelines(lines)
            done += n


def gzip_file(src: Path, dst: Path) -> None:
    gz = shutil.which("gzip")
    if gz:
        with open(dst, "wb") as out:
            subprocess.run([gz, "-c", "-6", str(src)], stdout=out, check=True)
    else:  # pragma: no cover
        import gzip

        with open(src, "rb") as fi, gzip.open(dst, "wb", compresslevel=6) as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)


def _run_one(file: str, db: str) -> None:
    """Child process: one import, prints a JSON line."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fbsdetect.detect.registry import import_registry
    from fbsdetect.store import open_store

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load0 = os.getloadavg()[0]
    store = open_store(db)
    t0 = time.perf_counter()
    c0 = time.process_time()
    rep = import_registry(store, file)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)   # the reader process of a big file
    child_cpu = ch.ru_utime + ch.ru_stime
    print(json.dumps({"file": file, "rows_read": rep.rows_read, "imported": rep.imported,
                      "updated": rep.updated, "rejected": rep.rejected, "elapsed_s": round(dt, 2),
                      "merge_s": round(rep.merge_s, 2), "rows_per_s": round(rep.rows_read / dt),
                      "latlon_index_deferred": rep.latlon_index_deferred, "cpu_s": round(cpu, 2),
                      "rows_per_cpu_s": round(rep.rows_read / (cpu + child_cpu)),
                      "merge_cpu_s": round(rep.merge_cpu_s, 2),
                      "read_cpu_s": round(rep.cpu_s - rep.merge_cpu_s, 2),
                      "reader_cpu_s": round(child_cpu, 2), "peak_rss_mb": round(rss / 1024, 1),
                      "reader_peak_rss_mb": round(ch.ru_maxrss / 1024, 1),
                      "rss_before_import_mb": round(rss0 / 1024, 1),
                      "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--small", type=int, default=500_000)
    ap.add_argument("--dir", help="keep files and databases here")
    ap.add_argument("--reimport", action="store_true", help="also re-import the big plain file (all updates)")
    ap.add_argument("--no-gzip", action="store_true")
    ap.add_argument("--_run", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._run:
        _run_one(*a._run)
        return 0
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="fbsdetect-bench-registry-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in (a.small, a.rows):
            if n <= 0:
                continue
            plain = work / f"ocid_{n}.csv"
            t0 = time.perf_counter()
            if not plain.exists():
                generate(plain, n)
            variants = [plain]
            if not a.no_gzip:
                gz = work / f"ocid_{n}.csv.gz"
                if not gz.exists():
                    gzip_file(plain, gz)
                variants.append(gz)
            print(f"# {n:,} rows: files ready in {time.perf_counter() - t0:.1f} s "
                  f"({plain.stat().st_size / 1e6:.0f} MB plain)", file=sys.stderr)
            for v in variants:
                db = work / f"{v.name}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                runs = [("import", v)]
                if a.reimport and v == plain and n == a.rows:
                    runs.append(("reimport", v))
                for label, f in runs:
                    out = subprocess.run([sys.executable, __file__, "--_run", str(f), f"sqlite:///{db}"],
                                         capture_output=True, text=True, check=False)
                    if out.returncode != 0:
                        print(out.stderr, file=sys.stderr)
                        return 1
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    r["run"] = label
                    r["rows"] = n
                    r["db_mb"] = round(db.stat().st_size / 1e6)
                    results.append(r)
                    print(f"{label:8s} {n:>9,} rows {Path(f).suffix:4s}: {r['rows_per_s']:>8,} rows/s "
                          f"({r['rows_per_cpu_s']:,} per CPU s: stage {r['read_cpu_s']} + merge "
                          f"{r['merge_cpu_s']} CPU s, reader process {r['reader_cpu_s']} CPU s), "
                          f"{r['elapsed_s']:6.1f} s (merge {r['merge_s']:.1f} s), "
                          f"peak RSS {r['peak_rss_mb']} MB (reader {r['reader_peak_rss_mb']} MB), "
                          f"imported {r['imported']:,} updated {r['updated']:,}, "
                          f"load {r['load_before']} -> {r['load_after']}")
    finally:
        if not a.dir:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"bench": "registry_import", "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
