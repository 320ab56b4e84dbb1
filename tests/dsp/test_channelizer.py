"""Window channelizer: exact output rate, mixing, filtering, alias protection."""

from __future__ import annotations

import numpy as np
import pytest

from fbsdetect.dsp.channelizer import (
    OUT_SPS,
    SYMBOL_RATE_HZ,
    WindowChannelizer,
    arfcns_in_capture,
    array_reader,
    carrier_is_decodable,
    usable_offset_hz,
)
from fbsdetect.dsp.gmsk import gmsk_demodulate, gmsk_modulate


@pytest.mark.parametrize("fs", [2.4e6, 1e6, 5e5, 2.048e6, 8 * SYMBOL_RATE_HZ])
def test_tone_lands_where_expected(fs: float) -> None:
    n = np.arange(60000)
    carrier, beat = 123456.0, 20000.0
    x = np.exp(2j * np.pi * (carrier + beat) * n / fs).astype(np.complex64)
    ch = WindowChannelizer(array_reader(x), fs, 400)
    assert abs(ch.step_in * OUT_SPS * SYMBOL_RATE_HZ / fs - 1) < 2e-5
    t = np.array([1000.3, 5000.77, 30000.5])
    y = ch.extract(t, carrier)
    k = np.arange(400)
    want = np.exp(2j * np.pi * (carrier + beat) * t[:, None] / fs) * np.exp(
        2j * np.pi * beat * k[None, :] * ch.step_in / fs)
    ratio = y[:, 20:380] / want[:, 20:380]  # the carrier phase of each window is arbitrary
    assert np.abs(ratio - ratio.mean(axis=1, keepdims=True)).max() < 3e-3
    assert np.abs(np.abs(ratio) - 1).max() < 3e-3


def test_adjacent_channel_is_rejected() -> None:
    fs = 2.4e6
    n = np.arange(40000)
    x = (np.exp(2j * np.pi * 200e3 * n / fs) + np.exp(2j * np.pi * 400e3 * n / fs)).astype(np.complex64)
    y = WindowChannelizer(array_reader(x), fs, 400).extract(np.array([5000.0]), 0.0)
    assert np.mean(np.abs(y[0, 20:380]) ** 2) < 1e-6


def test_gmsk_burst_survives_the_channelizer() -> None:
    """Bits modulated at 2.4 MS/s, 300 kHz off centre, come back from the
    OUT_SPS window with the plain coherent demodulator (no equaliser)."""
    fs = 2.4e6
    sps_in = fs / SYMBOL_RATE_HZ
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, 400).astype(np.uint8)
    x = gmsk_modulate(bits, sps_in)
    x = (x * np.exp(2j * np.pi * 300e3 * np.arange(x.size) / fs)).astype(np.complex64)
    ch = WindowChannelizer(array_reader(x), fs, 2 * 300)
    start = 50 * sps_in  # bit 50 is centred here
    y = ch.extract(np.array([start]), 300e3)[0]
    # the window's carrier phase is arbitrary: align it with the bits as modulated from bit 50
    ref = gmsk_modulate(bits[50:350], OUT_SPS)[: y.size]
    y = y * np.exp(-1j * np.angle(np.vdot(ref[10:500], y[10:500])))
    soft = gmsk_demodulate(y, OUT_SPS)
    assert np.array_equal((soft[5:290] > 0).astype(np.uint8), bits[55:340])


def test_windows_outside_the_data_are_zero() -> None:
    x = np.ones(5000, np.complex64)
    y = WindowChannelizer(array_reader(x), 1e6, 100).extract(np.array([-10000.0, 20000.0]), 0.0)
    assert np.all(y == 0)


def test_band_edges() -> None:
    fs = 2.4e6
    assert carrier_is_decodable(1.0e6, fs)
    assert not carrier_is_decodable(1.1e6, fs)
    assert usable_offset_hz(200e3) == 0.0
    slots = arfcns_in_capture(940e6, fs)
    arfcns = [s.arfcn for s in slots]
    assert 20 in arfcns and 29 in arfcns
    edge = [s for s in slots if not s.decodable]
    assert edge and all(abs(s.offset_hz) > usable_offset_hz(fs) for s in edge)


@pytest.mark.parametrize(("datatype", "dtype"), [("cu8", np.uint8), ("ci8", np.int8), ("ci16_le", np.int16)])
def test_recording_reader_matches_the_recordings_scaling(datatype: str, dtype: type) -> None:
    """The reader's 8-bit lookup table (and the generic path for 16 bits) gives
    exactly `to_complex64` of the raw samples, inside and across the ends."""
    from fbsdetect.dsp.channelizer import recording_reader
    from fbsdetect.sources.recording import to_complex64

    info = np.iinfo(dtype)
    raw: np.ndarray = np.random.default_rng(1).integers(info.min, info.max, 2000, endpoint=True).astype(dtype)
    ref = to_complex64(raw.copy(), datatype)[3:]
    read = recording_reader(raw, datatype, 997, offset=3)
    a = read(np.array([0, 10, 500]), 100)
    assert np.array_equal(a[0], ref[:100]) and np.array_equal(a[2], ref[500:600])
    assert np.array_equal(read(np.array([7]), 300)[0], ref[7:307])  # one block: read as a slice
    b = read(np.array([-5, 990]), 20)
    assert np.array_equal(b[0, 5:], ref[:15]) and not b[0, :5].any()
    assert np.array_equal(b[1, :7], ref[990:997]) and not b[1, 7:].any()


def test_exact_ratio_matches_fractions() -> None:
    from fractions import Fraction

    from fbsdetect.dsp.channelizer import SYMBOL_RATE_HZ, _exact_ratio

    for fs in (1e6, 1.0833333e6, 2e6, 2.4e6, 2.048e6, 3.2e6, 2.8e6, 1.92e6, 1e6 / 3, 2.166666664e6):
        r = 2 * SYMBOL_RATE_HZ / fs
        f = Fraction(r).limit_denominator(1 << 16)
        want = (f.numerator, f.denominator) if abs(float(f) - r) <= 1e-12 * r else None
        assert _exact_ratio(r, 1 << 16) == want, fs
