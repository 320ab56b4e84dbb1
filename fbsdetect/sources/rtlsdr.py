"""The RTL-SDR dongle as an `IqSource`, through pyrtlsdr (imported lazily:
the dongle is optional at run time and nothing opens it at import time).

Facts this module relies on (design.md): librtlsdr accepts 225-300 kS/s and
0.9-3.2 MS/s, 2.56 MS/s being the highest rate most hosts sustain without
loss; R820T/R828D tuners reach about 24-1766 MHz; after a retune the first
~60 ms of samples are stale (they sit in the driver's buffers) and are
discarded. librtlsdr is read in whole 512-byte USB packets; what a read
brings beyond the caller's request is kept for the next read, so the sample
stream has no gaps. `time_s` counts every sample taken from the dongle since
it was opened and settled (read or discarded after a retune, each at the rate
it was taken at), as the simulated dongle counts scene time. Samples are
scaled exactly as a `cu8` recording is ((u8 - 127.5) / 127.5), so a live
scan and a recording of it give the same numbers.

`pip install 'fbsdetect[sdr]'` brings pyrtlsdr and pyrtlsdrlib (bundled
librtlsdr builds; Debian's librtlsdr0 0.6.0 lacks RTL-SDR Blog V4 support).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.sources.base import RETUNE_SETTLE_S, SampleQueue
from fbsdetect.sources.recording import to_complex64

log = logging.getLogger(__name__)

SYMBOL_RATE_HZ = 1625000 / 6
DEFAULT_SAMPLE_RATE_HZ = 8 * SYMBOL_RATE_HZ  # 2.1667 MS/s: an integer multiple of the GSM symbol rate
RATE_RANGES_HZ = ((225_001.0, 300_000.0), (900_001.0, 3_200_000.0))
TUNER_RANGE_HZ = (24e6, 1766e6)
READ_CHUNK_BYTES = 16 * 16384  # librtlsdr reads whole USB transfers; multiples of 16 KiB are safe


def check_sample_rate(sample_rate_hz: float) -> float:
    if not any(lo <= sample_rate_hz <= hi for lo, hi in RATE_RANGES_HZ):
        raise BadUsage(f"sample rate {sample_rate_hz:.0f} Hz is not one an RTL-SDR accepts "
                       "(225-300 kS/s or 0.9-3.2 MS/s)")
    if sample_rate_hz > 2.56e6:
        log.warning("sample rate %.0f Hz is above 2.56 MS/s: most hosts lose samples", sample_rate_hz)
    return float(sample_rate_hz)


def check_frequency(center_freq_hz: float) -> float:
    lo, hi = TUNER_RANGE_HZ
    if not lo <= center_freq_hz <= hi:
        raise BadUsage(f"{center_freq_hz / 1e6:.3f} MHz is outside an RTL-SDR tuner's range "
                       f"({lo / 1e6:.0f}-{hi / 1e6:.0f} MHz; DCS/PCS need an upconverter)")
    return float(center_freq_hz)


def _open_device(serial: str | None, index: int | None = None) -> Any:
    try:
        from rtlsdr import RtlSdr  # lazy: loads librtlsdr with ctypes on import
    except (ImportError, OSError, AttributeError) as exc:
        # AttributeError: pyrtlsdr found a librtlsdr older than it expects (Debian's 0.6.0 lacks
        # rtlsdr_set_dithering); pyrtlsdrlib's bundled builds avoid that.
        raise NotAvailable("pyrtlsdr/librtlsdr is not usable "
                           f"({exc}); install with: pip install 'fbsdetect[sdr]'") from None
    try:
        return RtlSdr(serial_number=serial) if serial else RtlSdr(device_index=index or 0)
    except Exception as exc:  # LibUSBError, IOError: no dongle, busy, or permissions
        which = f"with serial {serial}" if serial else f"at index {index or 0}"
        raise NotAvailable(f"cannot open the RTL-SDR {which}: {exc} (is it plugged in, not claimed "
                           "by the DVB driver, and allowed by the udev rules in udev/?)") from None


class RtlSdrSource:
    """A live dongle. `device_factory` exists so tests can exercise this
    class's logic with a stand-in device; real use leaves it None."""

    def __init__(self, serial: str | None = None, *, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
                 center_freq_hz: float = 947.4e6, gain_db: float | None = None, ppm: int = 0,
                 index: int | None = None,
                 device_factory: Callable[[str | None], Any] | None = None) -> None:
        self.serial = serial
        self.exhausted = False
        self._dev = device_factory(serial) if device_factory else _open_device(serial, index)
        self._t_s = 0.0  # time of the samples taken from the device, queued ones included
        self._queue = SampleQueue()  # taken from the device, not yet read
        self._rate = check_sample_rate(sample_rate_hz)
        self._dev.sample_rate = self._rate
        if ppm:
            self._dev.freq_correction = int(ppm)
        self._gain: float | None = None
        self.set_gain(gain_db)
        self._freq = 0.0
        self.tune(center_freq_hz)
        self._t_s = self._queue.size / self._rate  # time 0: the first sample after opening

    # -- IqSource ---------------------------------------------------------------
    @property
    def sample_rate_hz(self) -> float:
        return self._rate

    @property
    def center_freq_hz(self) -> float:
        return self._freq

    @property
    def gain_db(self) -> float | None:
        return self._gain

    @property
    def time_s(self) -> float:
        return self._t_s - self._queue.size / self._rate

    def tune(self, center_freq_hz: float) -> None:
        self._dev.center_freq = check_frequency(center_freq_hz)
        self._freq = float(center_freq_hz)
        self._discard(RETUNE_SETTLE_S)

    def set_sample_rate(self, sample_rate_hz: float) -> None:
        rate = check_sample_rate(sample_rate_hz)
        self._queue.clear()  # taken at the old rate: stale, their time counted
        self._dev.sample_rate = rate
        self._rate = rate
        self._discard(RETUNE_SETTLE_S)

    def set_gain(self, gain_db: float | None) -> None:
        if gain_db is None:
            self._dev.gain = "auto"
            self._gain = None
            return
        gains = [g / 10 for g in self._dev.get_gains()] or [float(gain_db)]
        nearest = min(gains, key=lambda g: abs(g - gain_db))
        self._dev.gain = nearest
        self._gain = nearest

    def read(self, n_samples: int) -> np.ndarray:
        return self._queue.take(n_samples, self._from_device)

    def position(self) -> tuple[float, float] | None:
        return None  # a dongle knows no position; the scan pairs it with a GPS source

    def close(self) -> None:
        self._dev.close()

    # -- internals --------------------------------------------------------------
    def _from_device(self, n_missing: int) -> np.ndarray:
        """Whole USB packets from the device, at most READ_CHUNK_BYTES."""
        want = min(READ_CHUNK_BYTES, 2 * n_missing)
        want += (-want) % 512
        raw = np.frombuffer(bytes(self._dev.read_bytes(want)), dtype=np.uint8)
        iq = to_complex64(raw[: raw.size & ~1], "cu8")
        if iq.size == 0:
            raise NotAvailable("the RTL-SDR returned no samples (unplugged?)")
        self._t_s += iq.size / self._rate
        return iq

    def _discard(self, seconds: float) -> None:
        """Drops what is queued (from before the change) and `seconds` of new samples."""
        self._queue.clear()
        self._queue.take(int(seconds * self._rate), self._from_device)
