"""FCCH: wideband search and refinement on synthetic and real signals."""

from __future__ import annotations

import numpy as np
import pytest

from fbsdetect.dsp.channelizer import OUT_SPS, SYMBOL_RATE_HZ, WindowChannelizer, array_reader
from fbsdetect.dsp.fcch import FCCH_TONE_HZ, refine, search_wideband
from fbsdetect.dsp.gmsk import gmsk_modulate
from tests.conftest import shared_file


def _carrier(rng: np.random.Generator, fs: float, nsym: int, fcch_at: list[int],
             offset_hz: float) -> np.ndarray:
    bits = rng.integers(0, 2, nsym).astype(np.uint8)
    for s in fcch_at:
        bits[s:s + 148] = 0
    x = gmsk_modulate(bits, fs / SYMBOL_RATE_HZ)
    return x * np.exp(2j * np.pi * offset_hz * np.arange(x.size) / fs)


def _noise(rng: np.random.Generator, n: int, power: float) -> np.ndarray:
    return np.sqrt(power / 2) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))


@pytest.mark.parametrize("snr_db", [30.0, 12.0])
def test_two_carriers_found_and_refined(snr_db: float) -> None:
    fs = 2.4e6
    rng = np.random.default_rng(7)
    nsym = 20000
    a = _carrier(rng, fs, nsym, [3000, 15500], -400e3 + 1234.0)
    b = _carrier(rng, fs, nsym, [9000], 600e3 - 321.0)
    n = min(a.size, b.size)
    # Eb/N0 of the stronger carrier (noise in the symbol-rate bandwidth, as refgen
    # defines it); the other is 6 dB weaker
    noise = _noise(rng, n, fs / SYMBOL_RATE_HZ * 10 ** (-snr_db / 10))
    x = (a[:n] + 0.5 * b[:n] + noise).astype(np.complex64)
    ev = search_wideband(x, fs)
    assert len(ev) == 3
    sps = fs / SYMBOL_RATE_HZ
    for e, (sym, off) in zip(ev, [(3000, -400e3 + 1234.0), (9000, 600e3 - 321.0), (15500, -400e3 + 1234.0)],
                             strict=True):
        assert abs(e.tone_hz - FCCH_TONE_HZ - off) < 1.5 * fs / 1024
        assert abs(e.start_sample / sps - sym) < 40
    ch = WindowChannelizer(array_reader(x), fs, (148 + 80) * OUT_SPS)
    starts = np.array([e.start_sample - 40 * sps for e in ev])
    mixes = np.array([e.tone_hz - FCCH_TONE_HZ for e in ev])
    for r, w0, mix, sym, off in zip(refine(ch.extract(starts, mixes)), starts, mixes,
                                       [3000, 9000, 15500], [-400e3 + 1234.0, 600e3 - 321.0, -400e3 + 1234.0],
                                       strict=True):
        assert r.found
        assert abs(mix + r.freq_error_hz - off) < (20.0 if snr_db > 20 else 100.0)
        assert abs((w0 + r.start * ch.step_in) / sps - sym) < 3.0  # the SCH search refines it


def test_noise_data_and_steady_tones_are_not_fcch() -> None:
    fs = 1e6
    rng = np.random.default_rng(1)
    n = 150_000
    data = _carrier(rng, fs, int(n / fs * SYMBOL_RATE_HZ) + 10, [], 100e3)[:n]
    cw = np.exp(2j * np.pi * 250e3 * np.arange(n) / fs)
    x = (data + cw + _noise(rng, n, 0.01)).astype(np.complex64)
    assert search_wideband(x, fs) == []
    assert search_wideband(_noise(rng, n, 1.0).astype(np.complex64), fs) == []
    assert search_wideband(np.zeros(100, np.complex64), fs) == []


def test_real_cell() -> None:
    """The 2007 Irish cell (ARFCN 93, +8.7 kHz): three FCCHs, 46.2 ms apart."""
    p = shared_file("real/gsmsp_953.6M_500k.cf32")
    x = np.fromfile(p, np.complex64)
    ev = search_wideband((x - x.mean()).astype(np.complex64), 5e5)
    assert len(ev) == 3
    for e in ev:
        assert abs(e.tone_hz - FCCH_TONE_HZ - 8700) < 1000
    gaps = np.diff([e.start_sample for e in ev]) / 5e5
    assert np.allclose(gaps, 10 * 60e-3 / 13, atol=0.6e-3)
