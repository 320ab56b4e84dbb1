"""Throughput of the GMSK modulator and of the burst demodulator on one core.

Prints a table: modulator samples/s at several oversampling factors (the
simulator's budget), and bursts/s of demod_normal / demod_sch for batches of
1000 bursts at 1, 2 and 4 samples/symbol (the receiver's budget: 10 carriers
at 20x real time is ~ 10 * 20 * 217 = 43 000 TS0 bursts/s, i.e. ~23 us/burst
for everything, so the demodulator should take well under that).

With --ber it also prints the bit error rate of demod_normal (2 samples/symbol,
random timing within +-2 symbols) against Eb/N0 on AWGN, on a 3-path channel
(0, 1.0, 2.5 symbols) and on a long one (0, 3.2, 4.3 symbols), with and
without the refinement pass.

Usage: .venv/bin/python bench/bench_demod.py [--batch 1000] [--repeat 3] [--ber]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the targets say
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from fbsdetect.dsp.burst import demod_normal, demod_sch
from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ, GmskModulator, gmsk_at, gmsk_modulate
from fbsdetect.gsm.bursts import normal_burst, sch_burst


def _windows(bursts: np.ndarray, sps: int, rng: np.random.Generator, pre: int = 24) -> np.ndarray:
    """Bursts in windows, modulated as one stream (fast), with noise at ~15 dB."""
    n = bursts.shape[0]
    slot = pre + 148 + 24
    stream = np.concatenate(
        [np.concatenate([rng.integers(0, 2, pre, dtype=np.uint8), b, rng.integers(0, 2, 24, dtype=np.uint8)])
         for b in bursts]
    )
    iq = gmsk_modulate(stream, sps).reshape(n, slot * sps)
    iq = iq + 0.1 * (rng.standard_normal(iq.shape) + 1j * rng.standard_normal(iq.shape))
    return iq.astype(np.complex64)


def _best_time(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU time of `repeat` runs (process time: the machine may be shared)."""
    fn()  # warm up (caches, JIT)
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def _ber_table(rng: np.random.Generator, n: int = 300) -> None:
    sps, pre = 2, 24
    channels = {
        "awgn": ((0.0, 1.0),),
        "3-path": ((0.0, 1.0), (1.0, 0.6j), (2.5, -0.4)),
        "long": ((0.0, 1.0), (3.2, 0.5j), (4.3, -0.3)),
    }
    levels = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0)
    print(f"\nBER of demod_normal, sps 2, {n} bursts per point (Eb/N0 in dB)")
    print(f"{'channel':>8} {'refine':>7} " + " ".join(f"{e:>8.0f}" for e in levels))
    for name, ch in channels.items():
        rows: dict[bool, list[float]] = {True: [], False: []}
        for ebn0 in levels:
            data = rng.integers(0, 2, (n, 114), dtype=np.uint8)
            bursts = normal_burst(data, 2)
            length = (pre + 148 + 24) * sps
            w = np.empty((n, length), dtype=np.complex64)
            offs = rng.uniform(-2, 2, n)
            for i in range(n):
                bits = np.concatenate([rng.integers(0, 2, pre + 8, dtype=np.uint8), bursts[i],
                                       rng.integers(0, 2, 32, dtype=np.uint8)])
                t = np.arange(length) / sps - offs[i] + 8
                sig = sum(g * gmsk_at(bits, t - d) for d, g in ch)
                noise = rng.standard_normal(length) + 1j * rng.standard_normal(length)
                w[i] = sig * np.exp(2j * np.pi * rng.uniform()) + np.sqrt(sps / 10 ** (ebn0 / 10) / 2) * noise
            for refine in (True, False):
                r = demod_normal(w, 2, sps, pre * sps, refine=refine)
                rows[refine].append(float(np.mean((r.data > 0) != data)))
        for refine in (True, False):
            print(f"{name:>8} {'yes' if refine else 'no':>7} " + " ".join(f"{b:>8.1e}" for b in rows[refine]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ber", action="store_true", help="also print BER against Eb/N0 (slower)")
    args = ap.parse_args()
    rng = np.random.default_rng(1)

    print("GMSK modulator (GmskModulator.modulate, blocks of 100 000 bits)")
    print(f"{'sps':>6} {'Msamples/s':>12} {'x real time':>12}")
    bits = rng.integers(0, 2, 1_000_000, dtype=np.uint8)
    for sps in (1, 2, 4, 8):
        def run(sps: int = sps) -> None:
            mod = GmskModulator(sps)
            for i in range(0, bits.size, 100_000):
                mod.modulate(bits[i : i + 100_000])
        dt = _best_time(run, args.repeat)
        rate = bits.size * sps / dt
        print(f"{sps:>6} {rate / 1e6:>12.1f} {rate / (SYMBOL_RATE_HZ * sps):>12.0f}")
    dt = _best_time(lambda: GmskModulator(2.5).modulate(bits[:100_000]), 1)
    rate = 100_000 * 2.5 / dt
    x_rt = rate / (SYMBOL_RATE_HZ * 2.5)
    print(f"{2.5:>6} {rate / 1e6:>12.1f} {x_rt:>12.0f}  (non-integer sps: exact phase per sample)")

    n = args.batch
    print(f"\nburst demodulator, batches of {n} (CPU time, +-8 symbols timing search)")
    print(f"{'kind':>8} {'sps':>4} {'refine':>7} {'bursts/s':>10} {'us/burst':>9}")
    data = rng.integers(0, 2, (n, 114), dtype=np.uint8)
    normal = np.concatenate([normal_burst(data[i : i + 1], i % 8) for i in range(n)])
    sch = sch_burst(rng.integers(0, 2, (n, 78), dtype=np.uint8))
    tsc = np.arange(n) % 8
    for sps in (1, 2, 4):
        wn = _windows(normal, sps, rng)
        ws = _windows(sch, sps, rng)
        for kind, refine, fn in (
            ("normal", "yes", lambda wn=wn, sps=sps: demod_normal(wn, tsc, sps, 24 * sps)),
            ("normal", "no", lambda wn=wn, sps=sps: demod_normal(wn, tsc, sps, 24 * sps, refine=False)),
            ("sch", "yes", lambda ws=ws, sps=sps: demod_sch(ws, sps, 24 * sps)),
            ("sch", "no", lambda ws=ws, sps=sps: demod_sch(ws, sps, 24 * sps, refine=False)),
        ):
            dt = _best_time(fn, args.repeat)
            print(f"{kind:>8} {sps:>4} {refine:>7} {n / dt:>10.0f} {dt / n * 1e6:>9.1f}")
    if args.ber:
        _ber_table(rng)


if __name__ == "__main__":
    main()
