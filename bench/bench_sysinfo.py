"""sysinfo parse throughput and the nightly fuzz run.

Throughput: frames parsed per second on one core, per message type, for our
parser (uncached) and pycrate (the reference codec), and for the real frame
stream of the Vodafone cell (vf262-02, 293 frames) through `parse_any` with
its cache, as a receiver sees it.

Fuzz (issue 6: 100 000 cases nightly): random frames and mutated real frames
through every parser; prints the outcome counts and the slowest case. Any
exception is a bug and stops the run with the offending frame.

    .venv/bin/python bench/bench_sysinfo.py [--fuzz N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fbsdetect.sysinfo import parse_any
from fbsdetect.sysinfo.dispatch import ALL_PARSERS, PARSERS, _parse_cached

SAMPLES = {
    "SI1": "5506198fe900200000000000000000000000007900002b",
    "SI2": "59061a8f6d181080000000000000000000000078b90000",
    "SI2ter": "01060360000000000004155010000000000aa82b2b2b2b",
    "SI2quater": "05060700e046e508007e5170c1879fe259742c5e182d53",
    "SI3": "49061b2bd962f220013ec8070a156009b90000e81f461b",
    "SI4": "31061c62f220013e6009b90000e81f732b2b2b2b2b2b2b",
    "SI13": "010600c0005847eb4a9243406284eb2b2b2b2b2b2b2b2b",
    "P1 fill": "1506210001f02b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b",
    "IA": "35063f0178b18207ec1704021fff2b2b2b2b2b2b2b2b2b",
}
DATA = Path(os.environ.get("FBSDETECT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def per_s(fn: Callable[[], object], n: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def throughput() -> None:
    import pycrate_mobile.TS44018_RR as RR

    print(f"{'message':<10} {'ours/s':>10} {'pycrate/s':>10}")
    for name, h in SAMPLES.items():
        b = bytes.fromhex(h)

        def ours_fn(b: bytes = b) -> object:
            return _parse_cached.__wrapped__(b)

        ours = per_s(ours_fn, 300)

        def pc(b: bytes = b) -> None:
            m = RR.RRBCCHTypeClasses[b[2]]()
            m.from_bytes(b)

        print(f"{name:<10} {ours:>10.0f} {per_s(pc, 100):>10.0f}")
    p = DATA / "real" / "vf262-02_a725_ts0_frames_grgsm.jsonl"
    if p.exists():
        frames = [bytes.fromhex(json.loads(x)["hex"]) for x in p.read_text().splitlines()]
        _parse_cached.cache_clear()
        t0 = time.perf_counter()
        for _ in range(20):
            for f in frames:
                parse_any(f)
        dt = time.perf_counter() - t0
        print(f"real stream (vf262-02, {len(frames)} frames x 20, cached parse_any): "
              f"{20 * len(frames) / dt:.0f} frames/s; a busy cell sends ~40 frames/s")


def fuzz(n: int, seed: int) -> None:
    rng = random.Random(seed)
    seeds = [bytes.fromhex(h) for h in SAMPLES.values()]
    types = sorted(PARSERS)
    outcomes: Counter[str] = Counter()
    slowest = (0.0, b"")
    t_start = time.perf_counter()
    for i in range(n):
        if i % 3 == 0:
            f = bytes(rng.randrange(256) for _ in range(rng.choice([23, 23, 23, rng.randrange(40)])))
        else:
            b = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 6)):
                pos = rng.randrange(23)
                if rng.random() < 0.5:
                    b[pos] = rng.randrange(256)
                else:
                    b[pos] ^= 1 << rng.randrange(8)
            if rng.random() < 0.3:
                b[2] = rng.choice(types)
            f = bytes(b)
        t0 = time.perf_counter()
        for parse in ALL_PARSERS:
            parse(f)
        r = _parse_cached.__wrapped__(f)
        dt = time.perf_counter() - t0
        if dt > slowest[0]:
            slowest = (dt, f)
        kind = type(r).__name__
        if kind == "Malformed" and "parser error" in r.reason:  # type: ignore[union-attr]
            raise SystemExit(f"parser raised on {f.hex()}: {r}")
        outcomes[kind] += 1
    total = time.perf_counter() - t_start
    print(f"fuzz: {n} cases in {total:.1f} s, no exception; slowest case {slowest[0] * 1e3:.1f} ms "
          f"({slowest[1].hex()})")
    for k, v in outcomes.most_common():
        print(f"  {k:<22} {v:>8}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fuzz", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    throughput()
    if a.fuzz:
        fuzz(a.fuzz, a.seed)


if __name__ == "__main__":
    main()
