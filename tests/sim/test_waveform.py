"""The table-driven GMSK sampler against dsp/gmsk.py's exact modulator
(closed-form phase, TS 45.004), at integer and arbitrary sample instants."""

from __future__ import annotations

import numpy as np
import pytest

from fbsdetect.dsp.gmsk import gmsk_at, gmsk_modulate
from fbsdetect.sim.waveform import GmskStream


def _bits(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n).astype(np.uint8)


def test_equals_exact_gmsk_at_arbitrary_instants() -> None:
    bits = _bits(6000)
    s = GmskStream()
    for k in range(0, bits.size, 997):  # appended in odd pieces
        s.append(bits[k:k + 997])
    t = 12.3 + np.arange(13000) * 0.4513
    err = np.abs(gmsk_at(bits, t) - s.sample(12.3, 0.4513, t.size))
    assert err.max() < 0.0062  # rounding to 1/128 symbol: <= pi/2 / 256 rad
    assert 10 * np.log10(np.mean(err**2)) < -50


def test_equals_integer_sps_modulator() -> None:
    bits = _bits(2000, seed=2)
    s = GmskStream()
    s.append(bits)
    ref = gmsk_modulate(bits, 4)
    got = s.sample(0.0, 0.25, ref.size - 16)
    assert np.max(np.abs(ref[: got.size] - got)) < 1e-5  # on-grid instants are table entries


def test_out_of_range_and_forget() -> None:
    s = GmskStream()
    s.append(_bits(1000))
    with pytest.raises(ValueError):
        s.sample(990.0, 1.0, 20)
    x = s.sample(500.0, 0.5, 100)
    s.forget(400.0)
    assert np.array_equal(s.sample(500.0, 0.5, 100), x)
    with pytest.raises(ValueError):
        s.sample(300.0, 0.5, 10)
    s.append(_bits(100000, seed=3))  # grows past the initial buffer after forgetting
    assert s.n_bits == 101000 and s.t_end == pytest.approx(101000 - 3)
