"""The RTL-SDR source's own logic (rate/frequency checks, gain snapping, retune
settling, sample scaling), exercised with a stand-in device since no dongle is
in the room. The stand-in records what librtlsdr would have been asked."""

from __future__ import annotations

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
