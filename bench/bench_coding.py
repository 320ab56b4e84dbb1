"""Channel-coding throughput on one core: xCCH blocks and SCH words encoded and
decoded per second, by batch size (the decoders are vectorised over blocks).

Target (issue 3): >= 5 000 xCCH blocks decoded per second on one core.

    .venv/bin/python bench/bench_coding.py [--quick]
"""

from __future__ import annotations

import os

# one core: keep BLAS (used by the parity matrix products) single-threaded
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

from fbsdetect.gsm import bursts, coding  # noqa: E402
from fbsdetect.gsm.ts0decode import Ts0Decoder, hard_to_soft  # noqa: E402

TARGET_XCCH_PER_S = 5000.0


def rate(fn: Callable[[], object], items: int, min_time_s: float) -> float:
    """Items per second of `fn` (best of repeated runs lasting >= min_time_s in all)."""
    fn()  # warm up
    best = float("inf")
    spent = 0.0
    runs = 0
    while spent < min_time_s or runs < 3:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        runs += 1
    return items / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    args = ap.parse_args()
    min_t = 0.3 if args.quick else 1.5
    rng = np.random.default_rng(1)
    rows: list[tuple[str, int, float]] = []

    for n in (1, 16, 256, 1024, 4096):
        frames = rng.integers(0, 256, (n, 23), dtype=np.uint8)
        coded = coding.xcch_encode(frames)
        soft = (2.0 * coded - 1.0 + rng.normal(0, 0.5, coded.shape)).astype(np.float32)
        rows.append(("xCCH decode (soft, noise sigma 0.5)", n,
                     rate(partial(coding.xcch_decode, soft), n, min_t)))
        rows.append(("xCCH encode", n, rate(partial(coding.xcch_encode, frames), n, min_t)))
    for n in (1, 256, 4096):
        fn = 51 * rng.integers(0, 53248, n) + rng.choice([1, 11, 21, 31, 41], n)
        bsic = rng.integers(0, 64, n)
        e = coding.sch_encode(bsic, fn)
        soft = (2.0 * e - 1.0 + rng.normal(0, 0.5, e.shape)).astype(np.float32)
        rows.append(("SCH decode (soft)", n, rate(partial(coding.sch_decode, soft), n, min_t)))
        rows.append(("SCH encode", n, rate(partial(coding.sch_encode, bsic, fn), n, min_t)))

    # The whole TS0 path of decode-bursts (burst assembly + batched decoding), hard bits
    n_mf = 40
    stream: list[tuple[int, np.ndarray]] = []
    for fn in range(51 * n_mf):
        t3 = fn % 51
        if t3 % 10 == 0 and t3 < 50:
            b = bursts.FCCH_BITS
        elif t3 % 10 == 1:
            b = bursts.sch_burst(coding.sch_encode([7], [fn]))[0]
        elif t3 == 50:
            b = bursts.DUMMY_BITS
        else:
            b = bursts.normal_burst(rng.integers(0, 2, (1, 114)).astype(np.uint8), tsc=7)[0]
        stream.append((fn, hard_to_soft(b)))

    def run_stream() -> None:
        d = Ts0Decoder()
        for fn, s in stream:
            d.push(fn, 0, s)
        d.flush()

    n_blocks = 10 * n_mf
    rows.append(("TS0 stream -> blocks (Ts0Decoder)", n_blocks, rate(run_stream, n_blocks, min_t)))

    print(f"fbsdetect channel coding, one core ({platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, OMP/OPENBLAS threads = {os.environ['OPENBLAS_NUM_THREADS']})")
    print(f"{'operation':40s} {'batch N':>8s} {'per second':>14s}")
    for name, n, r in rows:
        print(f"{name:40s} {n:8d} {r:14,.0f}")
    best = max(r for name, _, r in rows if name.startswith("xCCH decode"))
    verdict = "meets" if best >= TARGET_XCCH_PER_S else "MISSES"
    print(f"\nbest xCCH decode rate {best:,.0f} blocks/s {verdict} the target of "
          f"{TARGET_XCCH_PER_S:,.0f} blocks/s")


if __name__ == "__main__":
    main()
