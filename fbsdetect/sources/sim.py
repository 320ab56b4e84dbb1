"""The scene simulator as a virtual RTL-SDR dongle (`sim:SCENE.toml`).

`SimSource` implements `IqSource`: it synthesises whatever band it is tuned
to, at the scene receiver's position and the scene time, with the scene's
receiver impairments (noise figure, ppm error of LO and sample clock, gain,
and when the scene sets them DC offset, IQ imbalance and band-edge roll-off)
and, like the dongle, 8-bit samples scaled as a cu8 recording when the
scene's format is cu8/ci8 (cf32 scenes give unquantised samples). A retune
or a change of rate or gain costs `RETUNE_SETTLE_S` of scene time, the stale
samples a real dongle discards. `time_s` is the scene time (seconds from
the scene start) of the next sample; `exhausted` tells when the scene's
`duration_s` has passed.

`SceneGps` is the matching GPS feed: fixes from the receiver's route.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from fbsdetect.errors import BadUsage
from fbsdetect.i18n import _
from fbsdetect.sim.channel import dequantise, quantise
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.render import Renderer
from fbsdetect.sim.routes import EARTH_RADIUS_M, Route
from fbsdetect.sim.scene import Scene, load_scene
from fbsdetect.sources.base import RETUNE_SETTLE_S, SampleQueue, TunedSource

RATE_RANGE_HZ = (200e3, 20e6)
FREQ_RANGE_HZ = (1e6, 6e9)


@dataclass(frozen=True)
class GpsFix:
    time: datetime
    lat: float
    lon: float
    speed_m_s: float
    course_deg: float


class SceneGps:
    """GPS fixes along the scene receiver's route (exact positions)."""

    def __init__(self, route: Route, start_time: datetime) -> None:
        self.route = route
        self.start_time = start_time

    def fix(self, t_s: float) -> GpsFix:
        lat, lon = self.route.position(t_s)
        lat2, lon2 = self.route.position(t_s + 1.0)
        dn = math.radians(lat2 - lat) * EARTH_RADIUS_M
        de = math.radians(lon2 - lon) * EARTH_RADIUS_M * math.cos(math.radians(lat))
        speed = math.hypot(dn, de)
        course = (math.degrees(math.atan2(de, dn)) + 360.0) % 360.0 if speed > 0 else 0.0
        return GpsFix(self.start_time + timedelta(seconds=t_s), lat, lon, speed, course)


class SimSource(TunedSource):
    """A virtual dongle in a scene (see module docstring)."""

    serial: str | None = None  # a virtual dongle has no serial number (sources/open.py contract)

    def __init__(self, scene: Scene, *, center_freq_hz: float | None = None,
                 sample_rate_hz: float | None = None, gain_db: float | None = None) -> None:
        self.scene = scene
        rx = scene.receiver
        self._frames = {c.index: cell_frames(c, source=scene.path) for c in scene.cells}
        self._rate = self._check_rate(sample_rate_hz if sample_rate_hz is not None else rx.sample_rate_hz)
        self._freq = self._check_freq(center_freq_hz if center_freq_hz is not None else rx.center_freq_hz)
        self._gain: float | None = gain_db
        self._renderer = Renderer(scene, self._frames, center_freq_hz=self._freq,
                                  sample_rate_hz=self._rate, gain_db=self._effective_gain())
        self._queue = SampleQueue()  # rendered, not yet read
        self._n_epoch = 0  # samples read in the current epoch
        self.gps = SceneGps(rx.route, scene.info.start_time)
        self._closed = False

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], **kwargs: float | None) -> SimSource:
        return cls(load_scene(path), **kwargs)

    # -- IqSource (sample_rate_hz, center_freq_hz, gain_db: TunedSource) ---------
    @property
    def time_s(self) -> float:
        return self._renderer.time_of_output(self._n_epoch)

    @property
    def duration_s(self) -> float:
        return self.scene.info.duration_s

    @property
    def exhausted(self) -> bool:
        return self.time_s >= self.scene.info.duration_s

    def tune(self, center_freq_hz: float) -> None:
        self._freq = self._check_freq(center_freq_hz)
        self._new_epoch()

    def set_sample_rate(self, sample_rate_hz: float) -> None:
        self._rate = self._check_rate(sample_rate_hz)
        self._new_epoch()

    def set_gain(self, gain_db: float | None) -> None:
        self._gain = None if gain_db is None else float(gain_db)
        self._new_epoch()

    def read(self, n_samples: int) -> np.ndarray:
        if self._closed:
            raise BadUsage(_("the simulated source is closed"))
        out = self._queue.take(n_samples, self._render_block)
        self._n_epoch += n_samples
        return out

    def position(self) -> tuple[float, float] | None:
        return self.scene.receiver.route.position(self.time_s)

    def close(self) -> None:
        self._closed = True
        self._queue.clear()

    # -- internals ---------------------------------------------------------------
    def _effective_gain(self) -> float:
        """Manual gain, or for 'automatic' the scene's receiver gain."""
        return self._gain if self._gain is not None else self.scene.receiver.gain_db

    def _render_block(self, _n_missing: int) -> np.ndarray:
        """The next rendered block, through the 8-bit format of the scene's receiver."""
        y = self._renderer.next_block()
        fmt = self.scene.receiver.format
        if fmt != "cf32":
            y = dequantise(quantise(y, fmt)[0], fmt)
        return y.astype(np.complex64, copy=False)

    def _new_epoch(self) -> None:
        t = self.time_s + RETUNE_SETTLE_S
        self._renderer.retune(self._freq, self._rate, self._effective_gain(), t_s=t)
        self._queue.clear()
        self._n_epoch = 0

    @staticmethod
    def _check_rate(hz: float) -> float:
        lo, hi = RATE_RANGE_HZ
        if not lo <= hz <= hi:
            raise BadUsage(_("sample rate {hz:.0f} Hz is outside the simulator's range ({lo:.0f} kS/s to "
                            "{hi:.0f} MS/s)").format(
                hz=hz, lo=lo / 1000.0, hi=hi / 1000000.0))
        return float(hz)

    @staticmethod
    def _check_freq(hz: float) -> float:
        lo, hi = FREQ_RANGE_HZ
        if not lo <= hz <= hi:
            raise BadUsage(_("{mhz:.3f} MHz is outside the simulator's range").format(mhz=hz / 1000000.0))
        return float(hz)
