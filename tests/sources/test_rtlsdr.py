"""The RTL-SDR source's own logic (rate/frequency checks, gain snapping, retune
settling, sample scaling), exercised with a stand-in device since no dongle is
in the room. The stand-in records what librtlsdr would have been asked."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections import deque
from typing import Any

import numpy as np
import pytest

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.sources.base import IqSource
from fbsdetect.sources.rtlsdr import DEFAULT_SAMPLE_RATE_HZ, RtlSdrSource, _open_device


class FakeDevice:
    def __init__(self) -> None:
        self.sample_rate = 0.0
        self.center_freq = 0.0
        self.gain: Any = None
        self.freq_correction = 0
        self.reads: list[int] = []
        self.closed = False
        self._counter = 0

    def get_gains(self) -> list[int]:
        return [0, 9, 14, 27, 37, 77, 87, 125, 144, 157, 166, 197, 207, 229, 254, 280, 297, 328, 338,
                364, 372, 386, 402, 421, 434, 439, 445, 480, 496]

    def read_bytes(self, n: int) -> bytes:
        assert n % 512 == 0, "librtlsdr reads whole USB packets"
        self.reads.append(n)
        data = (np.arange(self._counter, self._counter + n) % 256).astype(np.uint8)
        self._counter += n
        return data.tobytes()

    def close(self) -> None:
        self.closed = True


def make(**kw: Any) -> tuple[RtlSdrSource, FakeDevice]:
    dev = FakeDevice()
    src = RtlSdrSource(device_factory=lambda serial: dev, **kw)
    return src, dev


def test_is_an_iq_source() -> None:
    src, _ = make()
    assert isinstance(src, IqSource)
    assert src.sample_rate_hz == DEFAULT_SAMPLE_RATE_HZ


def test_retune_discards_stale_samples() -> None:
    src, dev = make()
    dev.reads.clear()
    src.tune(935.2e6)
    assert dev.center_freq == 935.2e6
    assert sum(dev.reads) >= 2 * int(0.06 * DEFAULT_SAMPLE_RATE_HZ)
    # the discarded samples are not the caller's, but they took time to arrive (the
    # unread rest of the last USB packet before the retune, too: under 256 samples)
    settle = int(0.06 * DEFAULT_SAMPLE_RATE_HZ) / DEFAULT_SAMPLE_RATE_HZ
    assert 0 <= src.time_s - settle < 256 / DEFAULT_SAMPLE_RATE_HZ
    assert src.read(1).size == 1 and sum(dev.reads) % 512 == 0


def test_read_scales_like_cu8_and_counts_time() -> None:
    src, _dev = make()
    x = src.read(1000)
    assert x.dtype == np.complex64 and len(x) == 1000
    assert np.all(np.abs(x.real) <= 1.0) and np.all(np.abs(x.imag) <= 1.0)
    assert src.time_s == pytest.approx(1000 / DEFAULT_SAMPLE_RATE_HZ)


def test_gain_snaps_to_tuner_steps_and_auto() -> None:
    src, dev = make(gain_db=30.0)
    assert src.gain_db == 29.7 and dev.gain == 29.7
    src.set_gain(None)
    assert dev.gain == "auto" and src.gain_db is None


@pytest.mark.parametrize("rate", [100e3, 600e3, 3.3e6])
def test_rejects_rates_the_dongle_cannot_do(rate: float) -> None:
    with pytest.raises(BadUsage):
        make(sample_rate_hz=rate)


def test_rejects_frequencies_out_of_tuner_range() -> None:
    src, _ = make()
    with pytest.raises(BadUsage, match="upconverter"):
        src.tune(1842.6e6)


def test_no_dongle_is_a_clear_error() -> None:
    """No dongle is in this room: with or without librtlsdr installed, opening
    one says why (NotAvailable, exit 1) instead of crashing."""
    with pytest.raises(NotAvailable, match=r"RTL-SDR|pyrtlsdr"):
        _open_device("no-such-serial")


def test_reads_of_any_size_are_contiguous() -> None:
    """librtlsdr is read in whole USB packets (512 bytes); the samples beyond
    what the caller asked for are kept for the next read, not dropped."""
    a, _ = make()
    b, _ = make()
    whole = a.read(3 * 1000 + 7)
    parts = np.concatenate([b.read(1000), b.read(1000), b.read(7), b.read(1000)])
    assert np.array_equal(whole, parts)
    assert b.time_s == pytest.approx(3007 / DEFAULT_SAMPLE_RATE_HZ)


def test_time_counts_settling_and_each_rate() -> None:
    """time_s is the source time of the next sample: the samples discarded after a
    retune took time to arrive (as the simulated dongle counts them), and samples
    read before a rate change count at the rate they were taken."""
    src, _ = make()
    src.read(1000)
    src.tune(935.2e6)
    settle = int(0.06 * DEFAULT_SAMPLE_RATE_HZ)
    t1 = (1000 + settle) / DEFAULT_SAMPLE_RATE_HZ
    assert 0 <= src.time_s - t1 < 256 / DEFAULT_SAMPLE_RATE_HZ
    src.set_sample_rate(1e6)
    src.read(5000)
    assert 0 <= src.time_s - (t1 + 0.06 + 5000 / 1e6) < 512 / DEFAULT_SAMPLE_RATE_HZ


# -- against a test double of pyrtlsdr's RtlSdr (the librtlsdr boundary) ----------------------
# The double is installed as the `rtlsdr` module, so everything of ours runs: opening by index
# or serial, the async reader thread, the bounded queue, retunes, reopening after an unplug.


SERIAL = "00000123"


class LibUSBError(IOError):
    def __init__(self, errno: int, msg: str = "") -> None:
        super().__init__(f"<LIBUSB_ERROR {errno}: {msg}>")


class FakeBus:
    """The USB bus: which dongles are plugged in, and every device opened."""

    def __init__(self) -> None:
        self.plugged = {SERIAL: True}
        self.devices: list[FakeRtlSdr] = []
        self.block_interval_s = 0.0005
        self.latency_blocks = 3  # transfers already filled when a retune happens


class FakeRtlSdr:
    """pyrtlsdr's RtlSdr as far as RtlSdrSource uses it. Samples: I = a running counter
    (mod 256), Q = the MHz of the frequency the device was tuned to when the sample was taken."""

    bus: FakeBus

    def __init__(self, device_index: int = 0, test_mode_enabled: bool = False,
                 serial_number: str | None = None, dithering_enabled: bool = True) -> None:
        present = [s for s, on in self.bus.plugged.items() if on]
        if serial_number is not None:
            if serial_number not in present:
                raise LibUSBError(-5, f"no device with serial {serial_number}")
            self.serial = serial_number
        elif device_index >= len(present):
            raise LibUSBError(-1, "no device")
        else:
            self.serial = present[device_index]
        self.opened_with = (device_index, serial_number)
        self.sample_rate = 0.0
        self.center_freq = 0.0
        self.gain: Any = None
        self.freq_correction = 0
        self.bias_tee = False
        self.closed = False
        self._cancel = False
        self._counter = 0
        self.bus.devices.append(self)

    @staticmethod
    def get_device_serial_addresses() -> list[str]:
        return [s for s, on in FakeRtlSdr.bus.plugged.items() if on]

    def get_gains(self) -> list[int]:
        return [0, 9, 14, 27, 37, 77, 87, 125, 144, 157, 166, 197, 207, 229, 254, 280, 297, 328]

    def get_tuner_type(self) -> int:
        return 5

    def set_bias_tee(self, enabled: bool) -> int:
        self.bias_tee = bool(enabled)
        return 0

    def _block(self, n_bytes: int) -> bytes:
        i = (np.arange(self._counter, self._counter + n_bytes // 2) % 256).astype(np.uint8)
        self._counter += n_bytes // 2
        q = np.full(i.size, int(self.center_freq // 1e6) % 256, np.uint8)
        return np.stack([i, q], axis=1).tobytes()

    def _check(self) -> None:
        if not self.bus.plugged.get(self.serial) or self.closed:
            self.closed = True
            raise LibUSBError(-4, "LIBUSB_ERROR_NO_DEVICE")

    def read_bytes(self, n: int) -> bytes:
        self._check()
        return self._block(n)

    def read_bytes_async(self, callback: Any, num_bytes: int = 1024, context: Any = None) -> None:
        pending: deque[bytes] = deque()
        while not self._cancel:
            self._check()
            pending.append(self._block(num_bytes))
            if len(pending) > self.bus.latency_blocks:
                callback(pending.popleft(), context)
            time.sleep(self.bus.block_interval_s)

    def cancel_read_async(self) -> None:
        self._cancel = True

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> FakeBus:
    b = FakeBus()
    FakeRtlSdr.bus = b
    mod = types.ModuleType("rtlsdr")
    mod.RtlSdr = FakeRtlSdr  # type: ignore[attr-defined]
    mod.LibUSBError = LibUSBError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rtlsdr", mod)
    return b


def iq_bytes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.rint(x.real * 127.5 + 127.5).astype(int), np.rint(x.imag * 127.5 + 127.5).astype(int))


def test_async_stream_by_index_learns_the_serial_and_is_contiguous(bus: FakeBus) -> None:
    src = RtlSdrSource(index=0, center_freq_hz=947.4e6, gain_db=30.0, bias_tee=True)
    try:
        assert src.is_async and src.serial == SERIAL and src.tuner == "R820T"
        dev = bus.devices[-1]
        assert dev.bias_tee and dev.gain == 29.7 and dev.center_freq == 947.4e6
        assert src.time_s == 0.0
        x = np.concatenate([src.read(40_000), src.read(33), src.read(70_000)])
        i, q = iq_bytes(x)
        assert np.all(np.diff(i) % 256 == 1)  # no sample lost or repeated
        assert np.all(q == 947 % 256)
        assert src.overflows == 0 and src.time_s == pytest.approx(x.size / src.sample_rate_hz)
    finally:
        src.close()
    assert bus.devices[-1].closed


def test_async_retune_discards_the_stale_transfers(bus: FakeBus) -> None:
    src = RtlSdrSource(SERIAL, center_freq_hz=947.4e6)
    try:
        src.read(20_000)
        t = src.time_s
        src.tune(935.2e6)
        assert src.time_s - t >= 0.06
        _, q = iq_bytes(src.read(100_000))
        assert np.all(q == 935 % 256)  # nothing from 947 MHz after the retune
    finally:
        src.close()


def test_overflow_when_decoding_is_slow_is_dropped_and_counted(bus: FakeBus) -> None:
    src = RtlSdrSource(SERIAL, queue_blocks=4)
    try:
        rate = src.sample_rate_hz
        n_read = src.read(10_000).size
        lag0 = src.time_s * rate - n_read
        before = src.dropped_samples
        time.sleep(0.2)  # "decoding" far slower than the dongle: ~400 transfers arrive
        assert src._blocks.qsize() <= 4  # bounded: never more than queue_blocks waiting
        n_read += src.read(200_000).size
        lag1 = src.time_s * rate - n_read
        # the reader thread goes on dropping while we look: a consistent snapshot of its two counters
        for _ in range(1000):
            o, d = src.overflows, src.dropped_samples
            if d == o * 16384 and src.overflows == o:
                break
            time.sleep(0.001)
        assert o > 0 and d == o * 16384
        # source time jumped over whole dropped transfers: those before the read position (transfers
        # dropped since the last block read lie ahead of it and are counted already)
        jump = lag1 - lag0
        assert jump > 0 and jump == pytest.approx(round(jump / 16384) * 16384, abs=1.0)
        assert jump <= d - before + 1.0
    finally:
        src.close()


def test_unplug_during_a_read_reopens_by_serial_with_back_off(bus: FakeBus) -> None:
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        if len(slept) == 3:
            bus.plugged[SERIAL] = True  # replugged while we wait

    src = RtlSdrSource(index=0, center_freq_hz=939e6, gain_db=20.0, bias_tee=True, ppm=-3, sleep=sleep)
    try:
        src.read(20_000)
        t = src.time_s
        bus.plugged[SERIAL] = False  # unplugged mid-stream
        x = src.read(150_000)
        assert x.size == 150_000
        assert src.reopens == 1 and src.read_errors == 1
        assert slept == [0.5, 1.0, 2.0]
        new = bus.devices[-1]
        assert new.opened_with == (0, SERIAL)  # reopened by serial, not by index
        assert (new.center_freq, new.gain, new.freq_correction, new.bias_tee) == (939e6, 19.7, -3, True)
        assert src.time_s - t >= 3.5  # the outage counts as source time
        _, q = iq_bytes(x[-50_000:])
        assert np.all(q == 939 % 256)
    finally:
        src.close()


def test_sync_reads_survive_an_unplug_too(bus: FakeBus) -> None:
    def sleep(s: float) -> None:
        bus.plugged[SERIAL] = True

    src = RtlSdrSource(SERIAL, async_reads=False, sleep=sleep)
    try:
        assert not src.is_async
        src.read(1000)
        bus.plugged[SERIAL] = False
        assert src.read(300_000).size == 300_000 and src.reopens == 1
    finally:
        src.close()


def test_gives_up_after_the_reopen_timeout(bus: FakeBus) -> None:
    src = RtlSdrSource(SERIAL, reopen_timeout_s=5.0, sleep=lambda s: None)
    bus.plugged[SERIAL] = False
    with pytest.raises(NotAvailable, match="did not come back"):
        src.read(300_000)
    src.close()


def test_bias_tee_without_support_warns(bus: FakeBus, caplog: pytest.LogCaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(FakeRtlSdr, "set_bias_tee")
    src = RtlSdrSource(SERIAL, bias_tee=True)
    src.close()
    assert "bias tee" in caplog.text


def test_a_stalled_stream_is_treated_as_lost(bus: FakeBus, monkeypatch: pytest.MonkeyPatch) -> None:
    import fbsdetect.sources.rtlsdr as mod

    monkeypatch.setattr(mod, "STALL_S", 0.2)
    src = RtlSdrSource(SERIAL, sleep=lambda s: None)
    try:
        hung = threading.Event()
        dev = bus.devices[-1]
        orig = dev._block

        def block(n: int) -> bytes:
            if hung.is_set():
                while not dev._cancel:
                    time.sleep(0.01)
                raise LibUSBError(-1, "cancelled")
            return orig(n)

        dev._block = block  # type: ignore[method-assign]
        hung.set()
        assert src.read(200_000).size == 200_000 and src.reopens == 1
    finally:
        src.close()
