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

Hardening for long unattended scans:

- **Async reads, bounded.** When the device has `read_bytes_async` (pyrtlsdr's
  `RtlSdr`), a reader thread streams `ASYNC_BLOCK_BYTES` transfers into a queue
  of at most `queue_blocks` blocks (64 x 32 KiB: 0.48 s at 2.17 MS/s, 2 MiB).
  When decoding falls behind and the queue is full, new blocks are dropped and
  counted (`overflows`, `dropped_samples`); `time_s` jumps over what was
  dropped, so source time stays true. The queue never grows without bound.
  Without `read_bytes_async` (or `async_reads=False`) reads are synchronous.
- **Retunes in a stream.** Each retune or rate change starts a new generation;
  blocks delivered for an older one are discarded, then `RETUNE_SETTLE_S` more
  (a block is 7.5 ms at 2.17 MS/s, so the transfer that was filling during the
  retune falls inside the settling samples).
- **Unplug / replug.** A read that fails with a USB or I/O error (or a stream
  that ends or stalls for `STALL_S`) closes the device, waits (0.5 s doubling
  to `max_backoff_s`), reopens it by serial (the serial learnt at the first
  open when it was opened by index), re-applies rate, frequency, gain, ppm and
  bias tee, and goes on; `reopens` counts it. The outage is counted in
  `time_s` (the back-off slept) and its samples are missing, as for an
  overflow. With `reopen_timeout_s` it gives up with NotAvailable after so
  long; by default it waits for the dongle for as long as the scan runs.
- **Bias tee** (`bias_tee=True`): `set_bias_tee` when this librtlsdr has it
  (RTL-SDR Blog V3/V4 power an LNA or active antenna); else a warning.

`pip install 'fbsdetect[sdr]'` brings pyrtlsdr and pyrtlsdrlib (bundled
librtlsdr builds; Debian's librtlsdr0 0.6.0 lacks RTL-SDR Blog V4 support).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fbsdetect.dsp.constants import SYMBOL_RATE_HZ
from fbsdetect.dsp.samples import to_complex64
from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.i18n import _
from fbsdetect.sources.base import RETUNE_SETTLE_S, Lost, StreamedSource

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE_HZ = 8 * SYMBOL_RATE_HZ  # 2.1667 MS/s: an integer multiple of the GSM symbol rate
RATE_RANGES_HZ = ((225_001.0, 300_000.0), (900_001.0, 3_200_000.0))
TUNER_RANGE_HZ = (24e6, 1766e6)
READ_CHUNK_BYTES = 16 * 16384  # librtlsdr reads whole USB transfers; multiples of 16 KiB are safe
ASYNC_BLOCK_BYTES = 2 * 16384  # one async transfer: 16 384 samples, 7.5 ms at 2.17 MS/s
QUEUE_BLOCKS = 64
MAX_BACKOFF_S = 30.0
STALL_S = 2.0  # an async stream that delivers nothing for this long is treated as lost
TUNER_NAMES = {0: "unknown", 1: "E4000", 2: "FC0012", 3: "FC0013", 4: "FC2580", 5: "R820T", 6: "R828D"}


def check_sample_rate(sample_rate_hz: float) -> float:
    if not any(lo <= sample_rate_hz <= hi for lo, hi in RATE_RANGES_HZ):
        raise BadUsage(_("sample rate {sample_rate_hz:.0f} Hz is not one an RTL-SDR accepts (225-300 kS/s "
                        "or 0.9-3.2 MS/s)").format(
            sample_rate_hz=sample_rate_hz))
    if sample_rate_hz > 2.56e6:
        log.warning("sample rate %.0f Hz is above 2.56 MS/s: most hosts lose samples", sample_rate_hz)
    return float(sample_rate_hz)


def check_frequency(center_freq_hz: float) -> float:
    lo, hi = TUNER_RANGE_HZ
    if not lo <= center_freq_hz <= hi:
        raise BadUsage(_("{mhz:.3f} MHz is outside an RTL-SDR tuner's range ({lo:.0f}-{hi:.0f} "
                        "MHz; DCS/PCS need an upconverter)").format(
            mhz=center_freq_hz / 1000000.0, lo=lo / 1000000.0, hi=hi / 1000000.0))
    return float(center_freq_hz)


def _open_device(serial: str | None, index: int | None = None) -> Any:
    try:
        from rtlsdr import RtlSdr  # lazy: loads librtlsdr with ctypes on import
    except (ImportError, OSError, AttributeError) as exc:
        # AttributeError: pyrtlsdr found a librtlsdr older than it expects (Debian's 0.6.0 lacks
        # rtlsdr_set_dithering); pyrtlsdrlib's bundled builds avoid that.
        raise NotAvailable(_("pyrtlsdr/librtlsdr is not usable ({error}); install with: pip install "
                            "'fbsdetect[sdr]'").format(
            error=exc)) from None
    try:
        return RtlSdr(serial_number=serial) if serial else RtlSdr(device_index=index or 0)
    except Exception as exc:  # LibUSBError, IOError: no dongle, busy, or permissions
        which = f"with serial {serial}" if serial else f"at index {index or 0}"
        raise NotAvailable(_("cannot open the RTL-SDR {which}: {error} (is it plugged in, not claimed by "
                            "the DVB driver, and allowed by the udev rules in udev/?)").format(
            which=which, error=exc)) from None


def _serial_at(dev: Any, index: int) -> str | None:
    """The USB serial of the device at `index` (to reopen the same dongle after a replug)."""
    try:
        serials = type(dev).get_device_serial_addresses()
        return str(serials[index]) if 0 <= index < len(serials) else None
    except Exception:  # no such call on a stand-in, or a USB error: reopen by index then
        return None


class RtlSdrSource(StreamedSource):
    """A live dongle (module docstring). `device_factory(serial)` exists so tests
    can hand in a stand-in device; real use leaves it None (pyrtlsdr)."""

    exhausted = False

    def __init__(self, serial: str | None = None, *, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
                 center_freq_hz: float = 947.4e6, gain_db: float | None = None, ppm: int = 0,
                 index: int | None = None, bias_tee: bool = False, async_reads: bool = True,
                 queue_blocks: int = QUEUE_BLOCKS, block_bytes: int = ASYNC_BLOCK_BYTES,
                 max_backoff_s: float = MAX_BACKOFF_S, reopen_timeout_s: float | None = None,
                 device_factory: Callable[[str | None], Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.serial = serial
        self._index = index
        self._factory = device_factory
        self._ppm = int(ppm)
        self._bias_tee = bool(bias_tee)
        self._async_wanted = async_reads
        self._block_bytes = int(block_bytes) + (-int(block_bytes)) % 512
        self._reopen_timeout_s = reopen_timeout_s
        # counted outcomes (and overflows, dropped_samples: StreamedSource)
        self.reopens = 0
        self.read_errors = 0
        self.tuner = "unknown"
        self._init_stream(queue_blocks, max_backoff_s=max_backoff_s, sleep=sleep)
        self._rate = check_sample_rate(sample_rate_hz)
        self._freq = check_frequency(center_freq_hz)
        self._gain: float | None = gain_db
        self._dev = self._open()
        if self.serial is None and self._factory is None:
            self.serial = _serial_at(self._dev, index or 0)
        self._configure()
        self._start_stream()
        self._settled(RETUNE_SETTLE_S)  # time 0: the first sample after opening and settling

    # -- IqSource (the tuning properties, time_s, read: StreamedSource) ---------
    @property
    def is_async(self) -> bool:
        return self._reader is not None

    @property
    def stats(self) -> dict[str, int]:
        return {"reopens": self.reopens, "overflows": self.overflows,
                "dropped_samples": self.dropped_samples, "read_errors": self.read_errors}

    def tune(self, center_freq_hz: float) -> None:
        freq = check_frequency(center_freq_hz)
        self._gen += 1
        self._freq = freq
        self._device_call(lambda d: setattr(d, "center_freq", freq))
        self._discard(RETUNE_SETTLE_S)

    def set_sample_rate(self, sample_rate_hz: float) -> None:
        rate = check_sample_rate(sample_rate_hz)
        self._queue.clear()  # taken at the old rate: stale, their time counted
        self._gen += 1
        self._rate = rate
        self._device_call(lambda d: setattr(d, "sample_rate", rate))
        self._discard(RETUNE_SETTLE_S)

    def set_gain(self, gain_db: float | None) -> None:
        self._gain = gain_db
        self._device_call(self._apply_gain)

    def close(self) -> None:
        self._closing = True
        self._stop_stream()
        try:
            self._dev.close()
        except Exception as exc:  # already closed by pyrtlsdr after a USB error
            log.debug("closing the RTL-SDR: %s", exc)

    # -- device -----------------------------------------------------------------
    def _open(self) -> Any:
        if self._factory is not None:
            return self._factory(self.serial)
        return _open_device(self.serial, None if self.serial else self._index)

    def _configure(self) -> None:
        """Applies every setting to a freshly opened device."""
        dev = self._dev
        dev.sample_rate = self._rate
        if self._ppm:
            dev.freq_correction = self._ppm
        self._apply_gain(dev)
        dev.center_freq = self._freq
        if self._bias_tee:
            self._apply_bias_tee(dev)
        try:
            self.tuner = TUNER_NAMES.get(int(dev.get_tuner_type()), "unknown")
        except Exception:
            self.tuner = "unknown"

    def _apply_gain(self, dev: Any) -> None:
        if self._gain is None:
            dev.gain = "auto"
            return
        gains = [g / 10 for g in dev.get_gains()] or [float(self._gain)]
        nearest = min(gains, key=lambda g: abs(g - float(self._gain or 0.0)))
        dev.gain = nearest
        self._gain = nearest

    def _apply_bias_tee(self, dev: Any) -> None:
        setter = getattr(dev, "set_bias_tee", None)
        try:
            if setter is None:
                raise AttributeError("set_bias_tee")
            setter(True)
        except (AttributeError, OSError) as exc:
            log.warning("bias tee requested but this librtlsdr/dongle cannot switch it (%s); "
                        "pyrtlsdrlib's librtlsdr has rtlsdr_set_bias_tee", exc)

    def _device_call(self, fn: Callable[[Any], None]) -> None:
        """A setting change; a USB error here is a lost device like a failed read."""
        try:
            fn(self._dev)
        except OSError as exc:
            self.read_errors += 1
            log.warning("RTL-SDR %s: %s; reopening", self.serial or "", exc)
            self._reopen()  # re-applies every setting, the new one included

    # -- streaming --------------------------------------------------------------
    def _start_stream(self) -> None:
        self._lost.clear()
        if not self._async_wanted or not hasattr(self._dev, "read_bytes_async"):
            self._reader = None
            return
        self._stream_id += 1
        self._reader = threading.Thread(target=self._reader_main, args=(self._dev, self._stream_id),
                                        name=f"rtlsdr {self.serial or ''}", daemon=True)
        self._reader.start()

    def _reader_main(self, dev: Any, stream_id: int) -> None:
        def on_block(values: Any, context: Any = None) -> None:
            if stream_id == self._stream_id:
                self._on_block(values, context)

        try:
            dev.read_bytes_async(on_block, self._block_bytes)
        except Exception as exc:  # LibUSBError/IOError: unplugged, or cancelled mid-error
            if not self._closing:
                log.warning("RTL-SDR %s stream ended: %s", self.serial or "", exc)
        finally:
            if stream_id == self._stream_id:
                self._lost.set()  # the stream is over: expected after a cancel, a loss otherwise

    def _on_block(self, values: Any, _context: Any = None) -> None:
        """librtlsdr's async callback (its thread): copy, tag, and queue without waiting."""
        self._queue_block(bytes(values))

    def _stop_stream(self) -> None:
        reader, self._reader = self._reader, None
        if reader is None:
            return
        try:
            self._dev.cancel_read_async()
        except Exception as exc:
            log.debug("cancel_read_async: %s", exc)
        reader.join(timeout=2.0)

    def _produce(self, n_missing: int) -> np.ndarray:
        while True:
            try:
                iq = self._take_block(STALL_S) if self._reader is not None else self._take_sync(n_missing)
                if self._skip:  # settling after a reopen: dropped, its time counted
                    iq = self._drop_skipped(iq)
                    if not iq.size:
                        continue
                return iq
            except Lost as lost:
                if self._closing:
                    raise NotAvailable(_("the RTL-SDR source is closed")) from None
                self.read_errors += 1
                log.warning("RTL-SDR %s lost (%s); reopening", self.serial or "", lost)
                self._reopen()

    def _take_sync(self, n_missing: int) -> np.ndarray:
        """Whole USB packets from the device, at most READ_CHUNK_BYTES."""
        want = min(READ_CHUNK_BYTES, 2 * n_missing)
        want += (-want) % 512
        try:
            raw = np.frombuffer(bytes(self._dev.read_bytes(want)), dtype=np.uint8)
        except OSError as exc:  # LibUSBError, short read: pyrtlsdr has closed the device
            raise Lost(str(exc)) from None
        iq = to_complex64(raw[: raw.size & ~1], "cu8")
        if iq.size == 0:
            raise Lost("the RTL-SDR returned no samples")
        self._t_s += iq.size / self._rate
        return iq

    def _reopen(self) -> None:
        """Close, back off, reopen by serial and re-apply the settings (module docstring)."""
        self._stop_stream()
        try:
            self._dev.close()
        except Exception as exc:
            log.debug("closing the lost RTL-SDR: %s", exc)
        self._queue.clear()

        def attempt(_waited: float) -> None:
            self._dev = self._open()
            self._configure()

        def not_back(exc: BaseException, next_delay_s: float) -> None:
            log.info("RTL-SDR %s not back yet (%s); next try in %.1f s", self.serial or "", exc, next_delay_s)

        timeout = self._reopen_timeout_s
        waited = self._back_off(attempt, (NotAvailable, OSError), timeout_s=timeout, not_back=not_back,
                                gave_up=f"the RTL-SDR {self.serial or ''} was lost and did not come back "
                                        f"within {timeout or 0:.0f} s")
        self.reopens += 1
        log.warning("RTL-SDR %s reopened after %.1f s", self.serial or "", waited)
        # the outage is source time too; its samples are missing (as for an overflow)
        self._t_s = max(self._t_s, self._cb_t) + waited
        self._gen += 1
        self._skip = int(RETUNE_SETTLE_S * self._rate)
        self._new_blocks()
        self._cb_t = self._t_s
        self._start_stream()
