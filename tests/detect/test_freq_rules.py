"""Issue 17: the frequency rules against what a licensed BTS can show.

A licensed cell may sit 0.05 ppm off, the other cells' median as much the other
way, and a moving receiver adds up to 2 v/c f between two cells; a fake BTS of
the published field data sits 229-719 Hz off. The rules take the median of a
cell's looks within a minute, the receiver's speed along its path, and the
noise of the offset estimate measured between close looks. Worlds built by hand
here (a drive round a block, one look per cell per sweep)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fbsdetect.detect.context import RuleContext, Seen, World
from fbsdetect.detect.finding import Finding
from fbsdetect.detect.heuristics import _freq, freq_offset_outlier
from fbsdetect.gsm.bands import downlink_hz
from tests.detect import support as S

C = 299_792_458.0
# (arfcn, BTS error Hz, site) : the worst a licensed network gives, errors at +-0.05 ppm
CELLS = [(92, +45.0, (36.6235, 101.7745)), (93, +40.0, (36.6100, 101.7800)),
         (94, +44.0, (36.6240, 101.7890)), (96, -45.0, (36.6080, 101.7690)),
         (97, +30.0, (36.6255, 101.7680)), (98, -40.0, (36.6090, 101.7900))]
LAP = [(36.6167, 101.7763), (36.6167, 101.7807), (36.6203, 101.7807), (36.6203, 101.7763),
       (36.6167, 101.7763)]


def _lap_position(t: float, period: float = 100.0) -> tuple[float, float, float, float]:
    """(lat, lon, v_north m/s, v_east m/s) at t on the lap (four legs of period/4 s)."""
    leg = int((t % period) // (period / 4))
    f = (t % (period / 4)) / (period / 4)
    (a0, o0), (a1, o1) = LAP[leg], LAP[leg + 1]
    dn = (a1 - a0) * 111_000.0
    de = (o1 - o0) * 111_000.0 * math.cos(math.radians(a0))
    return a0 + f * (a1 - a0), o0 + f * (o1 - o0), dn / (period / 4), de / (period / 4)


def _doppler(arfcn: int, site: tuple[float, float], lat: float, lon: float, vn: float, ve: float) -> float:
    dn = (site[0] - lat) * 111_000.0
    de = (site[1] - lon) * 111_000.0 * math.cos(math.radians(lat))
    r = math.hypot(dn, de) or 1.0
    return (vn * dn + ve * de) / r / C * downlink_hz(arfcn)  # towards the site: higher


def _drive(extra: list[tuple[int, float, tuple[float, float]]] = (), n_sweeps: int = 12,
           period: float = 100.0, noise_hz: float = 4.0) -> World:
    world = World()
    k = 0
    for sw in range(n_sweeps):
        for arfcn, err, site in [*CELLS, *extra]:
            t = sw * 8.0 + (arfcn - 90) * 0.4
            lat, lon, vn, ve = _lap_position(t, period)
            jitter = noise_hz * math.sin(1.7 * k)  # deterministic estimate noise
            k += 1
            off = err + _doppler(arfcn, site, lat, lon, vn, ve) + jitter
            o = S.cell(arfcn, lac=10290, cid=41000 + arfcn, bsic=arfcn % 64, t=t, pos=(lat, lon),
                       offset_hz=off)
            world.add(Seen.of(o, run_id=1, sweep=sw))
    return world


def _findings(world: World, arfcn: int) -> list[Finding]:
    out = []
    for lst in world.by_key.values():
        for s in lst:
            if s.obs.arfcn == arfcn:
                f = freq_offset_outlier.check(s, RuleContext(s, world))
                if f is not None:
                    out.append(f)
    return out


def test_licensed_cells_seen_from_a_car_are_not_outliers() -> None:
    world = _drive()
    for arfcn, _err, _site in CELLS:
        assert not _findings(world, arfcn), arfcn


def test_a_fake_off_by_the_field_data_is_reported_from_a_car() -> None:
    site = (36.6185, 101.7785)  # inside the block: the car circles it
    world = _drive(extra=[(90, +400.0, site)])
    got = _findings(world, 90)
    assert got and all(f.data["residual_hz"] > f.data["threshold_hz"] for f in got)


def test_a_stationary_receiver_reports_the_lowest_field_offset() -> None:
    # parked: no Doppler, the estimate's noise measured small, so 229 Hz (the lowest published fake) is enough
    world = _drive(extra=[(90, +229.0, (36.6185, 101.7785))], period=1e9)
    got = _findings(world, 90)
    assert got
    ev = got[-1].data
    assert ev["speed_m_s"] < 1.0 and ev["sigma_hz"] is not None and ev["sigma_hz"] < 10.0


def test_speed_along_the_path_not_the_displacement() -> None:
    world = _drive()
    s = next(x for lst in world.by_key.values() for x in lst if x.sweep == 6 and x.obs.arfcn == 92)
    ctx = RuleContext(s, world)
    lap_speed = 4 * 400.0 / 100.0  # ~16 m/s; the straight line over +-30 s of a lap reads about half
    assert abs(ctx.receiver_speed_m_s - lap_speed) < 3.0


def test_two_dongles_are_two_clocks() -> None:
    """A multi-dongle scan: the cells of dongle B read 30 ppm (~28 kHz) off those of dongle A, each
    dongle's cells consistent among themselves: no cell is an outlier."""
    world = World()
    for sw in range(6):
        for arfcn, err, _site in CELLS:  # dongle A hears China Mobile's carriers, B China Unicom's
            rx, ppm = ("rtlsdr:A", 12.5) if arfcn < 95 else ("rtlsdr:B", 42.5)
            o = S.cell(arfcn, lac=10290, cid=41000 + arfcn, bsic=arfcn % 64, t=sw * 8.0 + arfcn * 0.1,
                       offset_hz=err, ppm=ppm)
            world.add(Seen.of(replace(o, receiver=rx), run_id=1, sweep=sw))
    for lst in world.by_key.values():
        for s in lst:
            assert freq_offset_outlier.check(s, RuleContext(s, world)) is None, s.obs
    s = next(iter(world.by_key.values()))[0]
    assert _freq.residual_hz(s, RuleContext(s, world).sweep) is not None  # references of its own dongle


def test_noise_is_measured_between_close_looks() -> None:
    world = World()
    noise = np.random.default_rng(7).normal(0.0, 20.0, 60)
    for i, n in enumerate(noise):  # one carrier looked at every second, 20 Hz (1 sigma) of noise
        world.add(Seen.of(S.cell(92, t=1.0 * i, offset_hz=float(n)), run_id=1, sweep=0))
    s = world.by_key[next(iter(world.by_key))][30]
    sigma = _freq.estimate_sigma_hz(RuleContext(s, world))
    assert sigma is not None and 14.0 < sigma < 28.0
    # looks further apart than PAIR_MAX_S measure nothing
    sparse = World()
    for i in range(6):
        sparse.add(Seen.of(S.cell(92, t=20.0 * i, offset_hz=0.0), run_id=1, sweep=i))
    s = sparse.by_key[next(iter(sparse.by_key))][0]
    assert _freq.estimate_sigma_hz(RuleContext(s, sparse)) is None
