"""Scene rendering speed and memory (target: >= 5x real time for a 2.4 MS/s,
8-cell scene on one core; memory bounded for long scenes).

Renders scenes block by block exactly as `fbsdetect simulate` does (cells,
noise, 8-bit quantisation; the file write is left out unless --write) and
prints, per case: scene seconds, CPU seconds (process time, one thread),
MS/s rendered per CPU second and the multiple of real time; then the peak
resident memory growth while rendering a long scene.

    .venv/bin/python bench/bench_render.py [--seconds 10] [--long 120] [--write DIR] [--grgsm-sweep]

With --grgsm-sweep it also renders one cell (1 MS/s cf32, 4 s) at several
Eb/N0 and prints how many BCCH blocks Debian's gr-gsm decodes: the noise
calibration checked against an independent decoder (refgen's README gives
17/17 at 9 dB, 8/17 at 6 dB, 0/17 at 3 dB for its own recordings).

The process is pinned to one thread for numpy/scipy (OMP/MKL/OpenBLAS
variables) so the figure is one core's.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from fbsdetect.sim.channel import quantise  # noqa: E402
from fbsdetect.sim.content import cell_frames  # noqa: E402
from fbsdetect.sim.output import simulate  # noqa: E402
from fbsdetect.sim.render import Renderer  # noqa: E402
from fbsdetect.sim.scene import Scene, loads_scene  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CELL = """
[[cell]]
name = "c{i}"
arfcn = {arfcn}
mcc = 460
mnc = {mnc}
lac = {lac}
cid = {cid}
bsic = {bsic}
position = [{lat:.5f}, {lon:.5f}]
eirp_dbm = {eirp}
ccch = "{ccch}"
paging_rate = 3.0
"""


DONGLE = """dc_offset_dbfs = -32.0
iq_imbalance_db = 0.6
iq_phase_deg = 2.5
band_edge_rolloff_db = 8.0
"""


def eight_cells(rate: float, fmt: str, *, moving: bool = False, fading: str = "none",
                shadowing: float = 0.0, dongle: bool = False) -> str:
    rx = ("route = [[36.6150, 101.7700, 0.0], [36.6190, 101.7830, 120.0]]" if moving
          else "position = [36.6171, 101.7782]")
    head = f"""
[scene]
name = "bench"
seed = 5
duration_s = 1000.0
[receiver]
sample_rate = {rate}
center_freq_hz = 954000000
format = "{fmt}"
gain_db = 20.0
ppm = 7.5
{rx}
{DONGLE if dongle else ""}
[propagation]
shadowing_db = {shadowing}
fading = "{fading}"
"""
    cells = []
    for i, arfcn in enumerate((90, 91, 92, 93, 94, 96, 97, 98)):
        cells.append(CELL.format(i=i, arfcn=arfcn, mnc=0 if arfcn < 95 else 1, lac=100 + i,
                                 cid=1000 + i, bsic=(i * 9 + 3) % 64, lat=36.612 + 0.0015 * i,
                                 lon=101.771 + 0.002 * (i % 4), eirp=48 + (i % 3) * 2,
                                 ccch="combined" if i == 3 else "non-combined"))
    return head + "".join(cells)


def render_cpu_s(scene: Scene, seconds: float) -> tuple[float, float]:
    frames = {c.index: cell_frames(c) for c in scene.cells}
    r = Renderer(scene, frames)
    n = round(seconds * scene.receiver.sample_rate_hz)
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    done = 0
    while done < n:
        y = r.next_block()[: n - done]
        quantise(y, scene.receiver.format)
        done += y.size
    return time.process_time() - t_cpu, time.perf_counter() - t_wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="scene seconds per case")
    ap.add_argument("--long", type=float, default=120.0,
                    help="scene seconds for the memory check (written to a temporary file)")
    ap.add_argument("--write", metavar="DIR", help="also time `simulate` writing to DIR")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per case; the fastest is shown (the machine may be shared)")
    ap.add_argument("--grgsm-sweep", action="store_true", help="gr-gsm BCCH blocks vs Eb/N0")
    args = ap.parse_args()
    if args.grgsm_sweep:
        grgsm_sweep()
    cases = [
        ("8 cells, 2.4 MS/s cu8, fixed", eight_cells(2.4e6, "cu8")),
        ("8 cells, 2.4 MS/s cu8, fixed, DC+IQ+roll-off", eight_cells(2.4e6, "cu8", dongle=True)),
        ("8 cells, 2.1667 MS/s cu8, fixed", eight_cells(2166666.67, "cu8")),
        ("8 cells, 2.4 MS/s cu8, moving rx + shadowing", eight_cells(2.4e6, "cu8", moving=True,
                                                                    shadowing=4.0)),
        ("8 cells, 2.4 MS/s cu8, moving rx + rayleigh", eight_cells(2.4e6, "cu8", moving=True,
                                                                   fading="rayleigh")),
        ("8 cells, 1 MS/s cf32, fixed", eight_cells(1e6, "cf32")),
        ("demo scene (scanners/demo.toml)", (ROOT / "scanners" / "demo.toml").read_text()),
    ]
    print(f"{'case (best of ' + str(args.repeat) + ')':48s} {'scene s':>8s} {'CPU s':>7s} {'wall s':>7s} "
          f"{'MS/s/CPU':>9s} {'x real':>7s}")
    for name, text in cases:
        scene = loads_scene(text)
        cpu, wall = min(render_cpu_s(scene, args.seconds) for _ in range(args.repeat))
        rate = scene.receiver.sample_rate_hz
        print(f"{name:48s} {args.seconds:8.1f} {cpu:7.2f} {wall:7.2f} "
              f"{args.seconds * rate / cpu / 1e6:9.2f} {args.seconds / cpu:7.1f}")

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        text = eight_cells(2.4e6, "cu8").replace("duration_s = 1000.0", f"duration_s = {args.long}")
        scene = loads_scene(text)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.process_time()
        out = simulate(scene, args.write or tmp)
        cpu = time.process_time() - t0
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size = out.data_path.stat().st_size
        print(f"\nsimulate {args.long:.0f} s (2.4 MS/s cu8, 8 cells) -> {size / 1e6:.0f} MB data file "
              f"in {cpu:.1f} CPU s ({args.long / cpu:.1f}x real time); peak RSS grew by "
              f"{(rss1 - rss0) / 1024:.0f} MB (from {rss0 / 1024:.0f} MB)")


def grgsm_sweep() -> None:
    import sys
    import tempfile

    sys.path.insert(0, str(ROOT))
    from tests.sim.scenes import ONE_CELL
    from tests.support import grgsm

    reason = grgsm.unavailable_reason()
    if reason:
        print(f"gr-gsm sweep skipped: {reason}")
        return
    base = ONE_CELL.format(duration=4.0)
    with tempfile.TemporaryDirectory() as d:
        snr0 = simulate(loads_scene(base.replace("duration_s = 4.0", "duration_s = 0.01")),
                        d).truth["cells"][0]["snr_db"]
    print(f"{'Eb/N0 dB':>9s} {'BCCH blocks decoded by gr-gsm':>30s} {'frames':>7s}")
    for target in (3.0, 4.5, 6.0, 7.5, 9.0, 12.0):
        with tempfile.TemporaryDirectory() as d:
            text = base.replace("eirp_dbm = 30.0", f"eirp_dbm = {30.0 - (snr0 - target):.2f}")
            out = simulate(loads_scene(text), d)
            cell = out.truth["cells"][0]
            frames = grgsm.decode(out.data_path, sample_rate_hz=1e6, center_freq_hz=939e6, fmt="cf32")
            got = {(f.fn, f.hex) for f in frames}
            bcch = [b for b in cell["blocks"] if b["channel"] == "BCCH" and b["t_s"] > 0.25]
            ok = sum((b["fn"], b["hex"]) in got for b in bcch)
            print(f"{cell['snr_db']:9.1f} {ok:>24d}/{len(bcch):<5d} {len(frames):7d}")
    print()


if __name__ == "__main__":
    main()
