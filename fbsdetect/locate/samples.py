"""Power samples (one received power at one GPS fix), the local plane they are
placed in, and the spatial bins the estimators fit.

Why bins: a moving receiver's samples a few metres apart share the same
shadowing (it decorrelates over ~50 m) and, within a wavelength, the same
fading; fitting them one by one would count the same error many times and
give a region far too small. So samples are grouped per sensor into square
cells of `bin_m` (a stationary sensor's samples into one bin per time window)
and averaged in linear power, as a receiver averages a burst. The average of
k independent Rayleigh looks, in dB, is biased by ``10 log10(e) (psi(k) -
ln k)`` (-2.5 dB for one look) and spread by ``10 log10(e) sqrt(psi'(k))``
(5.6 dB for one look). A moving sensor's samples are independent looks at
the fading (they are metres apart, the fading decorrelates over half a
wavelength), so the spread of its samples within bins, pooled over the
sensor, is one sample's error: a bin's mean has that over n; the looks per
sample (hence the bias, taken out) follow from that spread. A stationary
sensor's link keeps its fading (one look, 5.6 dB, bias -2.5 dB) unless its
samples' spread shows otherwise (a moving transmitter): then the looks are
estimated from the spread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from fbsdetect.types import CellObservation

EARTH_RADIUS_M = 6_371_008.8
DB = 10.0 / math.log(10.0)  # 4.343: dB per neper of power
RAYLEIGH_LOOK_VAR_DB2 = DB * DB * math.pi ** 2 / 6  # variance of one Rayleigh look in dB (5.57 dB)^2
MEASUREMENT_VAR_DB2 = 1.0  # a receiver's power reading, per sample
STATIONARY_SPAN_M = 5.0  # a sensor whose fixes stay within this is a fixed node
MAX_GPS_ERROR_M = 100.0  # fixes worse than this are not used


@dataclass(frozen=True)
class PowerSample:
    """One received power of the transmitter at one receiver position."""

    time: float  # seconds (any epoch, increasing); datetimes go through `seconds`
    lat: float
    lon: float
    power_dbm: float
    gps_mode: int = 3  # gpsd's TPV mode: only >= 2 (a 2D or 3D fix) is used
    gps_error_m: float | None = None  # horizontal error; None: taken as 5 m
    sensor: str = ""

    @property
    def usable(self) -> bool:
        return (self.gps_mode >= 2 and math.isfinite(self.lat) and math.isfinite(self.lon)
                and math.isfinite(self.power_dbm)
                and (self.gps_error_m is None or self.gps_error_m <= MAX_GPS_ERROR_M))


def seconds(t: datetime | str | float) -> float:
    """A sample time as POSIX seconds (ISO strings with 'Z' accepted)."""
    if isinstance(t, int | float):
        return float(t)
    if isinstance(t, str):
        t = datetime.fromisoformat(t.replace("Z", "+00:00"))
    return t.timestamp()


def samples_from_observations(observations: Iterable[CellObservation]) -> list[PowerSample]:
    """Power samples of the observations that have a power, a position and a
    2D/3D fix (`gps_mode` >= 2; an observation without a GPS mode is not used:
    its position may be a guess). Powers in dBFS are used as they are: a
    single sensor's offset cancels, several sensors get their own offsets."""
    out = []
    for o in observations:
        if (o.power_dbm is None or o.lat is None or o.lon is None or o.gps_mode is None
                or o.gps_mode < 2 or o.time is None):
            continue
        out.append(PowerSample(time=seconds(o.time), lat=o.lat, lon=o.lon, power_dbm=o.power_dbm,
                               gps_mode=o.gps_mode, gps_error_m=o.gps_error_m,
                               sensor=o.sensor or ""))
    return out


@dataclass(frozen=True)
class LocalFrame:
    """East/north metres around a reference point (equirectangular: well below a
    metre of error over the few kilometres of a hunt)."""

    lat0: float
    lon0: float

    @property
    def _k(self) -> tuple[float, float]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        return k * math.cos(math.radians(self.lat0)), k

    def to_xy(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[npt.NDArray[np.float64],
                                                                      npt.NDArray[np.float64]]:
        ke, kn = self._k
        return ((np.asarray(lon, dtype=np.float64) - self.lon0) * ke,
                (np.asarray(lat, dtype=np.float64) - self.lat0) * kn)

    def to_latlon(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[np.float64],
                                                                      npt.NDArray[np.float64]]:
        ke, kn = self._k
        return (self.lat0 + np.asarray(y, dtype=np.float64) / kn,
                self.lon0 + np.asarray(x, dtype=np.float64) / ke)


@dataclass(frozen=True)
class Bins:
    """Averaged samples: one row per bin, in a LocalFrame."""

    frame: LocalFrame
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    power_db: npt.NDArray[np.float64]  # fading bias removed
    var_db2: npt.NDArray[np.float64]  # fading + measurement variance of the bin's mean (no shadowing)
    gps_error_m: npt.NDArray[np.float64]
    sensor: npt.NDArray[np.intp]  # index into `sensors`
    sensors: tuple[str, ...]
    time: npt.NDArray[np.float64]  # mean sample time
    count: npt.NDArray[np.intp]
    n_fixes: int  # usable samples behind the bins

    def __len__(self) -> int:
        return int(self.x.size)

    def subset(self, keep: npt.NDArray[np.bool_]) -> Bins:
        return Bins(self.frame, self.x[keep], self.y[keep], self.power_db[keep], self.var_db2[keep],
                    self.gps_error_m[keep], self.sensor[keep], self.sensors, self.time[keep],
                    self.count[keep], int(self.count[keep].sum()))

    @property
    def span_m(self) -> float:
        """Largest distance between two bins (0 for one)."""
        if self.x.size < 2:
            return 0.0
        p = np.stack([self.x, self.y], axis=1)
        hull = p if p.shape[0] <= 400 else p[np.linspace(0, p.shape[0] - 1, 400).astype(int)]
        d = np.hypot(hull[:, None, 0] - hull[None, :, 0], hull[:, None, 1] - hull[None, :, 1])
        return float(d.max())


def is_stationary(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                  err: npt.NDArray[np.float64]) -> bool:
    """A fixed node: its fixes scatter (RMS about their mean) no more than
    `STATIONARY_SPAN_M` or twice their typical GPS error."""
    if x.size < 2:
        return True
    rms = float(np.sqrt(np.mean((x - x.mean()) ** 2 + (y - y.mean()) ** 2)))
    return rms <= max(STATIONARY_SPAN_M, 2.0 * float(np.median(err)))


def fading_looks(spread_var_db2: float, n: int) -> float:
    """Independent fading looks behind n samples whose dB values spread with
    the (unbiased) variance `spread_var_db2` (see the module docstring)."""
    if n <= 1:
        return 1.0
    excess = max(spread_var_db2 - MEASUREMENT_VAR_DB2, 0.0)
    return float(min(max(n * excess / RAYLEIGH_LOOK_VAR_DB2, 1.0), n))


def looks_of_spread(spread_var_db2: float) -> float:
    """Looks k per sample such that the dB spread of one sample's k-look mean,
    ``DB^2 psi'(k)`` plus the measurement error, is `spread_var_db2`."""
    from scipy.special import polygamma

    v = spread_var_db2 - MEASUREMENT_VAR_DB2
    if v >= RAYLEIGH_LOOK_VAR_DB2:
        return 1.0
    if v <= DB * DB * float(polygamma(1, 1000.0)):
        return 1000.0
    lo, hi = 0.0, math.log(1000.0)  # bisection on log k: psi' decreases
    for _ in range(40):
        mid = (lo + hi) / 2
        if DB * DB * float(polygamma(1, math.exp(mid))) > v:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def _look_stats(k: float) -> tuple[float, float]:
    """Bias (dB) and variance (dB^2) of the linear mean of k Rayleigh looks, in dB."""
    from scipy.special import polygamma, psi

    return float(DB * (psi(k) - math.log(k))), float(DB * DB * polygamma(1, k))


def neighbour_spread(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                     p: npt.NDArray[np.float64], t: npt.NDArray[np.float64],
                     mine: npt.NDArray[np.bool_], bin_m: float) -> float:
    """One sample's error when a moving sensor's bins hold one sample each (a
    scan's sweep comes round every 10-30 s, a car covers 100 m meanwhile):
    half the mean squared difference of consecutive samples less than
    `4 bin_m` apart (their fading is independent, their shadowing and path
    loss nearly shared, so this over- rather than underestimates), capped at
    one Rayleigh look. With fewer than 5 such pairs: one Rayleigh look.
    (Always assuming one look made a noise-free or shadowing-only drive look
    5.6 dB noisier per bin than it was: the likelihood became flat enough
    for a loop's mirror position, see posterior.py, to take the estimate.)"""
    default = RAYLEIGH_LOOK_VAR_DB2 + MEASUREMENT_VAR_DB2
    idx = np.nonzero(mine)[0]
    idx = idx[np.argsort(t[idx], kind="stable")]
    if idx.size < 6:
        return default
    dx, dy = np.diff(x[idx]), np.diff(y[idx])
    near = np.hypot(dx, dy) < 4.0 * bin_m
    if int(near.sum()) < 5:
        return default
    dp = np.diff(p[idx])[near]
    return float(min(max(0.5 * float(np.mean(dp * dp)), MEASUREMENT_VAR_DB2), default))


def make_bins(samples: Sequence[PowerSample], *, bin_m: float = 30.0,
              frame: LocalFrame | None = None, window_s: float | None = None) -> Bins:
    """Bins of the usable samples (see the module docstring). A stationary
    sensor's samples make one bin (per `window_s` when given)."""
    use = [s for s in samples if s.usable]
    sensors = tuple(sorted({s.sensor for s in use}))
    if frame is None:
        if use:
            frame = LocalFrame(float(np.mean([s.lat for s in use])), float(np.mean([s.lon for s in use])))
        else:
            frame = LocalFrame(0.0, 0.0)
    if not use:
        z = np.zeros(0)
        return Bins(frame, z, z, z, z, z, np.zeros(0, dtype=np.intp), sensors, z,
                    np.zeros(0, dtype=np.intp), 0)
    lat = np.array([s.lat for s in use])
    lon = np.array([s.lon for s in use])
    x, y = frame.to_xy(lat, lon)
    p = np.array([s.power_dbm for s in use])
    t = np.array([s.time for s in use])
    err = np.array([5.0 if s.gps_error_m is None else s.gps_error_m for s in use])
    sidx = np.array([sensors.index(s.sensor) for s in use], dtype=np.intp)
    stationary = np.array([is_stationary(x[sidx == i], y[sidx == i], err[sidx == i])
                           for i in range(len(sensors))], dtype=bool)
    keys: dict[tuple[int, int, int, int], list[int]] = {}
    for j in range(x.size):
        tw = math.floor(t[j] / window_s) if window_s else 0
        if stationary[sidx[j]]:
            key = (int(sidx[j]), 1 << 30, 0, tw)
        else:
            key = (int(sidx[j]), math.floor(x[j] / bin_m), math.floor(y[j] / bin_m), tw)
        keys.setdefault(key, []).append(j)
    # a moving sensor's samples are independent looks at the fading: the spread
    # within its bins (pooled over the sensor) is the error of one sample
    pooled: dict[int, float] = {}
    for i in range(len(sensors)):
        if stationary[i]:
            continue
        ss, dof = 0.0, 0
        for key, idx in keys.items():
            if key[0] == i and len(idx) > 1:
                pv = p[np.array(idx)]
                ss += float(np.sum((pv - pv.mean()) ** 2))
                dof += len(idx) - 1
        pooled[i] = ss / dof if dof >= 5 else neighbour_spread(x, y, p, t, sidx == i, bin_m)
    sample_bias = {i: _look_stats(looks_of_spread(v))[0] for i, v in pooled.items()}
    rows = []
    for key, idx in keys.items():
        ii = np.array(idx)
        pv = p[ii]
        n = ii.size
        if stationary[key[0]]:
            # a fixed link keeps its fading: its samples share one look unless
            # their spread shows otherwise (the transmitter moves)
            k = fading_looks(float(np.var(pv, ddof=1)) if n > 1 else 0.0, n)
            bias, fvar = _look_stats(k)
            lin = float(np.mean(10.0 ** ((pv - pv.max()) / 10.0)))
            mean_db = pv.max() + 10.0 * math.log10(lin) - bias
            var = fvar + MEASUREMENT_VAR_DB2 / n
        else:
            s2 = pooled[key[0]]
            mean_db = float(pv.mean()) - sample_bias[key[0]]
            var = s2 / n
        rows.append((float(x[ii].mean()), float(y[ii].mean()), mean_db, var,
                     float(np.sqrt(np.mean(err[ii] ** 2))), key[0], float(t[ii].mean()), n))
    rows.sort(key=lambda r: r[6])
    a = np.array(rows, dtype=np.float64)
    return Bins(frame, a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5].astype(np.intp), sensors,
                a[:, 6], a[:, 7].astype(np.intp), len(use))
