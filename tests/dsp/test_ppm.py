"""Receiver ppm from the FCCH offsets of several carriers (kalibrate method)."""

from __future__ import annotations

import pytest

from fbsdetect.dsp.ppm import clock_scale, estimate_ppm


def test_common_error_is_found_and_one_odd_cell_does_not_pull_it() -> None:
    freqs = [935.2e6, 937.0e6, 940.4e6, 944.8e6, 951.0e6]
    ppm = 37.5
    offsets = [-ppm * 1e-6 * f for f in freqs]
    offsets[2] += 9000.0  # a transmitter on its own (bad) oscillator
    est = estimate_ppm(freqs, offsets)
    assert est is not None
    assert est.ppm == pytest.approx(ppm, abs=1e-6)
    assert est.n_cells == 5
    assert est.offset_hz(940e6) == pytest.approx(-ppm * 1e-6 * 940e6)


def test_no_cells() -> None:
    assert estimate_ppm([], []) is None


def test_clock_scale_follows_the_offset() -> None:
    # a carrier seen 80 ppm low: its symbols are 80 ppm longer in samples
    assert clock_scale(-80e-6 * 950e6, 950e6) == pytest.approx(1 + 80e-6)


def test_median_matches_numpy() -> None:
    import math

    import numpy as np

    from fbsdetect.dsp.ppm import median

    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 10, 11):
        v = rng.normal(size=n)
        assert median(v.tolist()) == float(np.median(v))
    assert math.isnan(median([]))
