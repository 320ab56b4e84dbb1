"""Sweep time of `fbsdetect scan` on a scene with carriers spread over the
whole E-GSM900 band (ARFCN 975-1023, 0-124), one virtual dongle.

Reports, in simulated radio time: when the identity (BSIC + SI3) of every
carrier above 9 dB SNR was first decoded (target <= 20 s) and when every
such cell's announced SI set was complete (target <= 40 s); tunings, dwell
per tuning, CPU per radio second (total, the simulator's rendering, and the
scan's own); cells found vs the scene. Then grgsm_scanner's default for the
same band, stated from its source (it cannot run on a virtual dongle).

    .venv/bin/python bench/bench_sweep.py [--scene tests/corpus/sweep/spread.toml] [--duration-s 60]
    .venv/bin/python bench/bench_sweep.py --write-scenes     # regenerates tests/corpus/sweep/*.toml

The scenes are generated (seeded) by `spread_scene`: cells at their ARFCNs
around a receiver driving across a town, each cell's EIRP set so that its
mean SNR (thermal + 8-bit rounding noise, as truth.json defines it) is the
target given.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SWEEP_DIR = ROOT / "tests" / "corpus" / "sweep"

# ARFCN, target mean SNR (dB); operators by allocation (cn profile)
SPREAD = [(977, 24), (983, 12), (990, 30), (996, 7), (1003, 18), (1009, 33), (1016, 15), (1022, 27),
          (3, 36), (9, 11), (14, 22), (20, 29), (27, 14), (33, 40), (40, 19), (46, 6), (52, 25), (59, 31),
          (65, 13), (71, 21), (78, 35), (84, 16), (90, 28), (97, 23), (103, 10), (110, 32), (116, 17),
          (122, 26)]
SMALL = [(980, 25), (30, 18), (71, 30), (118, 14)]


def spread_scene(name: str, cells: list[tuple[int, float]], *, duration_s: float, seed: int,
                 moving: bool = True) -> str:
    """A scene TOML (see module docstring)."""
    from fbsdetect.sim.channel import quantisation_noise_fullscale, thermal_noise_dbm
    from fbsdetect.sim.scene import loads_scene
    from fbsdetect.sources.sim import SimSource

    rnd = random.Random(seed)
    lat0, lon0 = 31.2300, 121.4700  # Shanghai, Huangpu
    # a slow drive (~5 m/s, 300 m a minute) among cells 1.5-4 km away: each cell's
    # SNR stays within a few dB of its target over the scene
    k = duration_s / 60.0
    route = ([[lat0, lon0, 0.0], [lat0 + 0.0008 * k, lon0 + 0.0012 * k, duration_s / 2],
              [lat0 + 0.0014 * k, lon0 + 0.0027 * k, duration_s]] if moving else None)
    rx = {"sample_rate": 2400000, "center_freq_hz": 947000000, "format": "cu8", "gain_db": 40.0,
          "noise_figure_db": 7.0, "ppm": 3.5}

    places = []
    for arfcn, _snr in cells:
        cu = 96 <= arfcn <= 124
        brng = rnd.uniform(0, 2 * math.pi)
        dist = rnd.uniform(1500, 4000)
        lat = lat0 + 0.0007 + dist * math.cos(brng) / 111_000
        lon = lon0 + 0.0013 + dist * math.sin(brng) / (111_000 * math.cos(math.radians(lat0)))
        places.append((lat, lon, (1 if cu else rnd.choice([2, 3, 4, 5])) * 8 + rnd.randrange(8)))

    def body(eirps: list[float]) -> str:
        out = [f'[scene]\nname = "{name}"\nseed = {seed}\nduration_s = {duration_s}\n'
               'start_time = "2026-03-02T09:00:00Z"\n', "[receiver]"]
        out += [f"{k} = {json.dumps(v)}" for k, v in rx.items()]
        out.append(f"route = {json.dumps(route)}" if route else f"position = [{lat0}, {lon0}]")
        out.append('\n[propagation]\nmodel = "log-distance"\nexponent = 3.0\nref_distance_m = 100.0\n'
                   'shadowing_db = 0.0\nfading = "none"\n')
        for i, ((arfcn, _snr), eirp) in enumerate(zip(cells, eirps, strict=True)):
            cu = 96 <= arfcn <= 124
            mnc = 1 if cu else 0
            lat, lon, bsic = places[i]
            out.append(f'[[cell]]\nname = "{"cu" if cu else "cmcc"}-{arfcn}"\narfcn = {arfcn}\nmcc = 460\n'
                       f"mnc = {mnc}\nlac = {(42100 if cu else 10200) + i % 3}\ncid = {20000 + 37 * i}\n"
                       f"bsic = {bsic}\nposition = [{lat:.6f}, {lon:.6f}]\neirp_dbm = {eirp:.2f}\n"
                       f"ccch = \"{'combined' if i % 5 == 3 else 'non-combined'}\"\n"
                       f"si2ter = {'true' if i % 7 == 2 else 'false'}\n"
                       f"t3212 = {30 if cu else 20}\nrxlev_access_min = {10 if cu else 8}\n"
                       "paging_rate = 1.5\n")
        return "\n".join(out)

    base = [50.0] * len(cells)
    text = body(base)
    scene = loads_scene(text)
    src = SimSource(scene)
    r = scene.receiver
    thermal = thermal_noise_dbm(r.sample_rate_hz, r.noise_figure_db)
    q = 10 * math.log10(quantisation_noise_fullscale(r.format)) - r.gain_db
    noise = (10 * math.log10(10 ** (thermal / 10) + 10 ** (q / 10))
             - 10 * math.log10(r.sample_rate_hz / 270833.33))
    eirps = []
    for st, (_a, target) in zip(src._renderer.cells, cells, strict=True):
        p = st.link.mean_power_dbm(0.0, duration_s)
        assert p is not None
        eirps.append(50.0 + target - (p - noise))
    head = (f"# Generated by bench/bench_sweep.py --write-scenes (seed {seed}): {len(cells)} GSM cells "
            "spread\n"
            "# over E-GSM900 (China Mobile below ARFCN 95, China Unicom 96-124), EIRP set for the\n"
            f"# target mean SNRs {sorted(s for _a, s in cells)} dB; the receiver "
            f"{'drives slowly through the town' if moving else 'stands still'}.\n\n")
    return head + body(eirps)


def write_scenes() -> None:
    SWEEP_DIR.mkdir(parents=True, exist_ok=True)
    (SWEEP_DIR / "spread.toml").write_text(spread_scene("spread", SPREAD, duration_s=60.0, seed=90001))
    (SWEEP_DIR / "small.toml").write_text(spread_scene("small", SMALL, duration_s=20.0, seed=90002))
    print(f"wrote {SWEEP_DIR}/spread.toml, small.toml")


def expected_snr(scene: Any) -> dict[int, float]:
    """Mean SNR per ARFCN as truth.json defines it (for the report, never for the scan)."""
    from fbsdetect.sim.channel import quantisation_noise_fullscale, thermal_noise_dbm
    from fbsdetect.sources.sim import SimSource

    src = SimSource(scene)
    r = scene.receiver
    thermal = thermal_noise_dbm(r.sample_rate_hz, r.noise_figure_db)
    q = 10 * math.log10(quantisation_noise_fullscale(r.format)) - r.gain_db
    noise = (10 * math.log10(10 ** (thermal / 10) + 10 ** (q / 10))
             - 10 * math.log10(r.sample_rate_hz / 270833.33))
    out = {}
    for st in src._renderer.cells:
        p = st.link.mean_power_dbm(0.0, scene.info.duration_s)
        out[st.cell.arfcn] = -99.0 if p is None else p - noise
    return out


def run(scene_path: Path, duration_s: float | None, max_sweeps: int | None, follow: str | None = None
        ) -> dict[str, Any]:
    from fbsdetect.geo import open_gps
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.scan.runner import ScanRunner
    from fbsdetect.scan.sink import MemorySink
    from fbsdetect.sources.sim import SimSource

    src = SimSource.from_path(scene_path)
    snr = expected_snr(src.scene)
    sink = MemorySink()
    from dataclasses import replace

    prof = load_profile("cn")
    if follow is not None:
        prof = replace(prof, radio=replace(prof.radio, follow_ccch=follow))
    print(f"[radio] follow_ccch = {prof.radio.follow_ccch!r}")
    runner = ScanRunner(src, prof, sink, source_spec=f"sim:{scene_path}",
                        gps=open_gps(None, source=src), max_sweeps=max_sweeps, duration_s=duration_s)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    s = runner.run()
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    found = {c["arfcn"]: c for c in s["cells"]}
    strong = [a for a, v in snr.items() if v > 9.0]
    ident = [found[a]["identity_s"] for a in strong if a in found and found[a]["identity_s"] is not None]
    comp = [found[a]["si_complete_s"] for a in strong if a in found and found[a]["si_complete_s"] is not None]
    dec = s["decode_tunings"]
    print(f"scene {scene_path.name}: {len(snr)} cells, {len(strong)} above 9 dB SNR; scan ran "
          f"{s['radio_s']:.1f} s "
          f"radio ({s['sweeps']} sweeps) in {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"  found {len([a for a in strong if a in found])}/{len(strong)} cells above 9 dB "
          f"(+{len([a for a in found if a not in strong])} weaker ones); "
          f"missed: {sorted((a, round(snr[a], 1)) for a in snr if a not in found)}")
    print(f"  identity of every cell > 9 dB: {max(ident) if len(ident) == len(strong) else None} s radio "
          f"(target <= 20); complete SI: {max(comp) if len(comp) == len(strong) else None} s (target <= 40)")
    missing = [(c["arfcn"], c["si_missing"]) for c in s["cells"] if c["si_complete_s"] is None]
    print(f"  incomplete: {missing}")
    grid = len(s["tunings"])
    n_dwell = sum(t["visits"] for t in dec)
    print(f"  tunings: {grid} power-pass grid tunings per sweep ({s['sample_rate_hz'] / 1e6:.4f} MS/s), "
          f"{len(dec)} decode tunings, {n_dwell} decode dwells, mean dwell "
          f"{sum(t['dwell_s'] for t in dec) / max(1, n_dwell):.2f} s; revisits {s['revisits']}")
    rs = s["radio_s"]
    print(f"  CPU per radio second: {cpu / rs:.3f} total, {s['source_cpu_s'] / rs:.3f} simulator rendering, "
          f"{(cpu - s['source_cpu_s']) / rs:.3f} scan")
    print("grgsm_scanner (Debian's /usr/bin/grgsm_scanner, read from its source): --samp-rate 2e6 and "
          "--speed 15 by default; each window records rec_len = 30 - speed = 15 s and windows step by "
          "samp_rate/200 kHz = 10 channels (2 MHz): E-GSM900 (35 MHz) -> 18 windows -> ~270 s of radio "
          "time for one sweep (plus a flowgraph start per window), identity and SI known only at the end of "
          "each window. It reads an osmosdr device it retunes per window, so it cannot sweep a recording or "
          "the virtual dongle; it was not run here")
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", type=Path, default=SWEEP_DIR / "spread.toml")
    ap.add_argument("--duration-s", type=float, default=None)
    ap.add_argument("--max-sweeps", type=int, default=1)
    ap.add_argument("--write-scenes", action="store_true")
    ap.add_argument("--json", type=Path, help="write the scan summary here")
    from fbsdetect.scan.profile import FOLLOW_MODES

    ap.add_argument("--follow-ccch", choices=FOLLOW_MODES,
                    help="override the profile's [radio] follow_ccch (CCCH decoded in dwells for "
                         "fbsdetect.traffic)")
    a = ap.parse_args()
    if a.write_scenes:
        write_scenes()
        return
    s = run(a.scene, a.duration_s, a.max_sweeps, a.follow_ccch)
    if a.json:
        a.json.write_text(json.dumps(s, indent=1))


if __name__ == "__main__":
    main()
