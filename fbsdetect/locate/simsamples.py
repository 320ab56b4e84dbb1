"""Power samples from the simulator's channel model (sim/channel.py), for the
localization bench and tests: the `Link` gain (path loss, the scene's
path extensions, shadowing field, Clarke fading) at the receiver's positions,
averaged in linear power over the bursts of a dwell (`bursts` bursts spread
over `dwell_s`, default 8 over 0.5 s: a scan's power reading of one carrier)
or of one block (`dwell_s` = 0: four consecutive TDMA frames), plus a
measurement error (Gaussian in dB). Readings below
the receiver's decode threshold are dropped (no observation is made).

This is the channel the rendered IQ carries, evaluated at the sample
instants instead of rendered and measured: the same numbers the renderer
multiplies its waveform by, without the cost of rendering minutes of IQ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from fbsdetect.locate.samples import PowerSample
from fbsdetect.sim.channel import Link
from fbsdetect.sim.routes import Route
from fbsdetect.sim.scene import PropagationConfig

BURST_SPACING_S = 0.004615  # one TDMA frame: a block's four bursts are in consecutive frames
DECODE_THRESHOLD_DBM = -108.0


def make_link(tx: Route, rx: Route, *, eirp_dbm: float, prop: PropagationConfig,
              origin: tuple[float, float], seed: int, key: int = 0, freq_hz: float = 947.4e6) -> Link:
    """A link in a world shared by every receiver with the same origin and
    seed (same shadowing and fading fields)."""
    return Link(tx=tx, rx=rx, eirp_dbm=eirp_dbm, freq_hz=freq_hz, active=(-1.0, 1e9), prop=prop,
                origin=origin, seed=seed, key=key)


def power_samples(link: Link, times_s: Sequence[float] | np.ndarray, *, rng: np.random.Generator,
                  sensor: str = "", meas_sd_db: float = 1.0, bursts: int = 8, dwell_s: float = 0.5,
                  gps_error_m: float = 2.5, gps_noise: bool = True,
                  threshold_dbm: float = DECODE_THRESHOLD_DBM) -> list[PowerSample]:
    """One reading per time: the mean power over `bursts` bursts within
    `dwell_s` (consecutive frames when 0), in dBm, with
    a measurement error; the reported fix has `gps_error_m` of Gaussian error
    (per axis / sqrt 2) when `gps_noise`."""
    t = np.asarray(times_s, dtype=np.float64)
    if t.size == 0:
        return []
    step = dwell_s / bursts if dwell_s > 0 else BURST_SPACING_S
    tb = (t[:, None] + np.arange(bursts)[None, :] * step).ravel()
    g = link.gains(tb, gated=False)
    p_lin = (np.abs(g.amplitude) ** 2).reshape(t.size, bursts).mean(axis=1)
    p = 10.0 * np.log10(np.maximum(p_lin, 1e-30)) + rng.normal(0.0, meas_sd_db, t.size)
    lat, lon = link.rx.positions(t)
    if gps_noise and gps_error_m > 0:
        k = math.pi / 180.0 * 6_371_008.8
        e = rng.normal(0.0, gps_error_m / math.sqrt(2), (2, t.size))
        lat = lat + e[0] / k
        lon = lon + e[1] / (k * np.cos(np.radians(lat)))
    return [PowerSample(time=float(t[i]), lat=float(lat[i]), lon=float(lon[i]), power_dbm=float(p[i]),
                        gps_mode=3, gps_error_m=gps_error_m, sensor=sensor)
            for i in range(t.size) if p[i] >= threshold_dbm]


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point east_m, north_m from (lat, lon)."""
    k = math.pi / 180.0 * 6_371_008.8
    return lat + north_m / k, lon + east_m / (k * math.cos(math.radians(lat)))


def route_from_xy(lat0: float, lon0: float, pts_m: Sequence[tuple[float, float]],
                  speed_m_s: float, t0_s: float = 0.0) -> Route:
    """A route through points (east, north metres from lat0, lon0) at a constant speed."""
    lats, lons, ts = [], [], []
    t = t0_s
    prev = None
    for e, n in pts_m:
        if prev is not None:
            t += max(math.hypot(e - prev[0], n - prev[1]) / speed_m_s, 1e-3)
        la, lo = offset(lat0, lon0, e, n)
        lats.append(la)
        lons.append(lo)
        ts.append(t)
        prev = (e, n)
    return Route(tuple(lats), tuple(lons), tuple(ts))


def walk_hunt(seed: int, start_m: float = 300.0, shadowing_db: float = 4.0, max_steps: int = 40,
         step_m: float = 40.0, cells: int = 40) -> tuple[bool, float, int]:
    """A walk from `start_m` away that follows `guidance.suggest`: a reading a
    second at 1.4 m/s, re-estimated (omnidirectional model) and re-planned
    every `step_m`; (reached within 50 m, final distance, steps). The
    transmitter's bearing, the exponent (2.8-3.8) and the first 100 m leg are
    drawn from `seed`."""
    from fbsdetect.locate.estimate import locate
    from fbsdetect.locate.guidance import suggest
    from fbsdetect.sim.routes import distance_m

    lat0, lon0 = 36.60, 101.70
    rng = np.random.default_rng([seed, 6])
    ang = rng.uniform(0, 2 * math.pi)
    tx = offset(lat0, lon0, start_m * math.cos(ang), start_m * math.sin(ang))
    prop = PropagationConfig(exponent=float(rng.uniform(2.8, 3.8)), shadowing_db=shadowing_db,
                             fading="rayleigh")
    b0 = math.radians(rng.uniform(0, 360))
    pts = [(0.0, 0.0), (100.0 * math.sin(b0), 100.0 * math.cos(b0))]
    samples: list[PowerSample] = []
    t = 0.0
    d_tx = start_m
    for step in range(max_steps):
        r = route_from_xy(lat0, lon0, pts[-2:], 1.4, t0_s=t)
        link = make_link(Route.fixed(*tx), r, eirp_dbm=37.0, prop=prop, origin=(lat0, lon0), seed=seed)
        samples += power_samples(link, np.arange(t, r.t_s[-1], 1.0), rng=rng, sensor="walker")
        t = r.t_s[-1]
        x, y = pts[-1]
        here = offset(lat0, lon0, x, y)
        d_tx = float(distance_m(*here, *tx))
        if d_tx <= 50.0:
            return True, d_tx, step
        est = locate(samples, moving="never", cells=cells, antenna=False)
        if not est.ok or est.posterior is None:
            pts.append((x + step_m, y))
            continue
        g = suggest(est.posterior, *here)
        st = min(step_m, g.distance_m) if g.distance_m > 5.0 else step_m
        pts.append((x + st * math.sin(math.radians(g.bearing_deg)),
                    y + st * math.cos(math.radians(g.bearing_deg))))
    return False, d_tx, max_steps
