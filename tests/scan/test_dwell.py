"""LiveReader: windows over a live source, pulled on demand, bounded look-back, never beyond the cap."""

from __future__ import annotations

import numpy as np

from fbsdetect.scan.dwell import LiveReader, spectrum_dbfs


class Counting:
    """A source whose sample k is k (real part), read in any sizes."""

    sample_rate_hz = 100_000.0
    center_freq_hz = 0.0
    gain_db = None

    def __init__(self) -> None:
        self.n = 0
        self.reads = 0

    @property
    def time_s(self) -> float:
        return self.n / self.sample_rate_hz

    def read(self, k: int) -> np.ndarray:
        self.reads += 1
        out = np.arange(self.n, self.n + k).astype(np.complex64)
        self.n += k
        return out


def test_windows_pull_on_demand_and_keep_a_bounded_span() -> None:
    src = Counting()
    r = LiveReader(src, cap_samples=200_000, keep_s=0.5, block_s=0.02)  # keep 50 000
    w = r(np.array([10, 30_000]), 100)
    assert src.n >= 30_100 and src.n < 30_100 + 2_000 + 1  # pulled just far enough
    assert np.array_equal(w[0].real, np.arange(10, 110))
    assert np.array_equal(w[1].real, np.arange(30_000, 30_100))
    w = r(np.array([120_000]), 50)
    assert np.array_equal(w[0].real, np.arange(120_000, 120_050))
    old = r(np.array([1_000]), 10)  # older than the kept 0.5 s: zeros, counted
    assert not old.any() and r.stale_reads == 1
    edge = r(np.array([199_990]), 50)  # beyond the cap: zeros, the source is not read past it
    assert np.array_equal(edge[0, :10].real, np.arange(199_990, 200_000)) and not edge[0, 10:].any()
    assert src.n == 200_000
    neg = r(np.array([-5]), 10)
    assert not neg.any()


def test_spectrum_of_a_tone() -> None:
    fs, n = 256_000.0, 256 * 64
    t = np.arange(n) / fs
    x = (0.1 * np.exp(2j * np.pi * 50_000 * t)).astype(np.complex64)
    db = spectrum_dbfs(x)
    k = int(np.argmax(db))
    assert abs((k - 128) * fs / 256 - 50_000) <= fs / 256
    assert abs(10 * np.log10(np.sum(10 ** (db / 10))) - 20 * np.log10(0.1)) < 0.5


class Dropping(Counting):
    """Drops 5000 samples (an overflow) after the first read: its clock jumps."""

    def read(self, k: int) -> np.ndarray:
        out = super().read(k)
        if self.reads == 1:
            self.n += 5000
        return out


def test_dropped_samples_keep_index_equal_to_source_time() -> None:
    src = Dropping()
    r = LiveReader(src, cap_samples=50_000, keep_s=0.5, block_s=0.02)
    w = r(np.array([0, 10_000]), 100)
    assert np.array_equal(w[0].real, np.arange(0, 100))
    assert np.array_equal(w[1].real, np.arange(10_000, 10_100))  # sample index = source sample
    assert r.gap_samples == 5000
    assert not r(np.array([2_000]), 100).any()  # the dropped span reads as zeros
