"""Detection cost per observation: every enabled rule on every observation of
a synthetic drive (cells of two operators around a moving receiver, one
observation per cell per sweep, plus a fake cell), as the live detector and
`fbsdetect analyze` run them (in memory; no database).

    .venv/bin/python bench/bench_detect.py [--cells 40] [--sweeps 30]

Prints the mean and worst cost per observation and the five most expensive
rules (mean per call).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fbsdetect.detect.context import InMemoryRegistry, RegCell, Seen, unix_to_iso
from fbsdetect.detect.engine import Engine
from fbsdetect.gsm.bands import downlink_hz
from fbsdetect.types import CellObservation

T0 = 1_772_359_200.0  # 2026-03-01 10:00 UTC


def scene(n_cells: int, n_sweeps: int, seed: int = 1) -> tuple[list[CellObservation], InMemoryRegistry]:
    rng = random.Random(seed)
    cells = []
    for i in range(n_cells):
        mnc = i % 2
        arfcn = (1 + i * 2) if mnc == 0 else (96 + i % 28)
        cells.append(dict(mnc=mnc, arfcn=arfcn, lac=10290 + (i // 8) if mnc == 0 else 42101 + (i // 8),
                          cid=40000 + i, bsic=rng.randrange(64),
                          site=(36.60 + rng.random() * 0.05, 101.75 + rng.random() * 0.06)))
    reg = InMemoryRegistry([RegCell(460, c["mnc"], c["lac"], c["cid"], c["site"][0], c["site"][1], 1000.0)
                            for c in cells])
    obs = []
    for k in range(n_sweeps):
        lat, lon = 36.61 + 0.0003 * k, 101.76 + 0.0006 * k
        for c in [*cells, dict(mnc=0, arfcn=90, lac=9999, cid=1, bsic=37, site=(lat, lon))]:
            fake = c["cid"] == 1
            f = downlink_hz(c["arfcn"])
            obs.append(CellObservation(
                arfcn=c["arfcn"], band="E-GSM900", freq_hz=f, bsic=c["bsic"], mcc=460, mnc=c["mnc"],
                lac=c["lac"], cid=c["cid"], power_dbm=-45.0 if fake else -60 - rng.random() * 30,
                freq_offset_hz=-12.5e-6 * f + (400.0 if fake else rng.gauss(0, 20)), blocks_ok=20,
                params={"neighbours": [x["arfcn"] for x in cells[:6]], "t3212": 1 if fake else 20,
                        "cro": 40 if fake else 0, "temporary_offset": 0, "penalty_time": 0,
                        "cell_reselect_hysteresis": 2, "rxlev_access_min": 0 if fake else 8,
                        "ms_txpwr_max_cch": 5, "cbq": 0, "att": True, "gprs": not fake, "si2ter": False,
                        "si2quater": not fake},
                time=unix_to_iso(T0 + 20.0 * k + rng.random() * 15), lat=lat, lon=lon, gps_mode=3,
                sensor="bench"))
    return obs, reg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=40)
    ap.add_argument("--sweeps", type=int, default=30)
    a = ap.parse_args(argv)
    obs, reg = scene(a.cells, a.sweeps)
    eng = Engine(None, registry=reg)
    per_rule: dict[str, float] = defaultdict(float)
    costs = []
    rules = eng.rules
    for k, o in enumerate(obs):
        s = Seen.of(o, run_id=1, sweep=k // (a.cells + 1))
        eng.add(s)
        t0 = time.perf_counter()
        ctx = eng.context(s)
        for r in rules:
            t1 = time.perf_counter()
            r.run(s, ctx)
            per_rule[r.id] += time.perf_counter() - t1
        costs.append(time.perf_counter() - t0)
    n = len(obs)
    print(f"{n} observations ({a.cells} cells + 1 fake, {a.sweeps} sweeps), {len(rules)} rules")
    print(f"cost per observation: mean {1e3 * sum(costs) / n:.2f} ms, last sweep "
          f"{1e3 * sum(costs[-(a.cells + 1):]) / (a.cells + 1):.2f} ms, worst {1e3 * max(costs):.1f} ms")
    for rid, t in sorted(per_rule.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {rid:<28} {1e6 * t / n:8.0f} us/observation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
