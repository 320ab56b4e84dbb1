"""The soft-output MLSE: the compiled kernel equals the numpy formulation, and
on a known ISI channel it returns exact max-log LLRs (checked by brute force)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fbsdetect.dsp import equalizer
from fbsdetect.dsp.equalizer import hypothesis_symbols, mlse_soft, mlse_soft_numpy


def _case(rng: np.random.Generator, t_len: int, b_len: int, p: int, lh: int) -> tuple[np.ndarray, ...]:
    shape = (t_len, b_len, p)
    obs = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    h = (rng.standard_normal((b_len, p, lh)) + 1j * rng.standard_normal((b_len, p, lh))).astype(np.complex64)
    sigma2 = rng.uniform(0.5, 3.0, b_len).astype(np.float32)
    init = rng.integers(0, 1 << (lh - 1), b_len)
    known = np.full(t_len, -1, dtype=np.int8)
    known[t_len - 6 : t_len - 3] = 0
    valid = np.ones((t_len, b_len), dtype=bool)
    valid[-2:, :3] = False
    return obs, h, sigma2, init, known, valid


@pytest.mark.skipif(not equalizer.HAVE_NUMBA, reason="numba is not installed")
@pytest.mark.parametrize(("p", "lh"), [(1, 5), (2, 5), (2, 4), (4, 3)])
def test_compiled_kernel_matches_numpy(p: int, lh: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(p * 10 + lh)
    args = _case(rng, 40, 300, p, lh)  # more sequences than one kernel chunk
    monkeypatch.setenv("FBSDETECT_NUMBA", "1")
    assert equalizer.use_numba()
    a = mlse_soft(*args)
    b = mlse_soft_numpy(*args)
    finite = np.abs(b) < 1e20  # known (tail) steps carry +-huge values
    assert np.array_equal(finite, np.abs(a) < 1e20)
    assert np.max(np.abs(a[finite] - b[finite])) < 1e-3 * max(1.0, float(np.max(np.abs(b[finite]))))


def test_llr_equals_brute_force_max_log() -> None:
    """For a short sequence, the LLR of every symbol is the difference of the
    best path metrics with that symbol 1 and 0, found by enumerating all paths."""
    rng = np.random.default_rng(3)
    t_len, p, lh = 8, 2, 3
    memory = lh - 1
    obs, h, sigma2, _, _, _ = _case(rng, t_len, 1, p, lh)
    init = np.array([2])  # x[-1] = 1, x[-2] = 0
    known = np.full(t_len, -1, dtype=np.int8)
    valid = np.ones((t_len, 1), dtype=bool)
    llr = mlse_soft(obs, h, sigma2, init, known, valid)[:, 0]
    prev = [(init[0] >> (memory - 1 - j)) & 1 for j in range(memory)]  # x[-1], x[-2]
    best = {(m, v): -np.inf for m in range(t_len) for v in (0, 1)}
    for path in itertools.product((0, 1), repeat=t_len):
        x = list(reversed(prev)) + list(path)  # x[-2], x[-1], x[0], ...
        c = 2.0 * np.array(x) - 1.0
        metric = 0.0
        for m in range(t_len):
            sym = c[m + memory - np.arange(lh)]  # c[m], c[m-1], ...
            e = h[0] @ sym
            metric -= float(np.sum(np.abs(obs[m, 0] - e) ** 2)) / float(sigma2[0])
        for m in range(t_len):
            key = (m, path[m])
            best[key] = max(best[key], metric)
    expected = np.array([best[(m, 1)] - best[(m, 0)] for m in range(t_len)])
    assert np.allclose(llr, expected, rtol=1e-4, atol=1e-3)


def test_hypothesis_symbols_layout() -> None:
    sym = hypothesis_symbols(2)  # hyp = x[m] x[m-1] x[m-2], x[m] the MSB
    assert sym.shape == (3, 8)
    assert sym[:, 0b100].tolist() == [1.0, -1.0, -1.0]
    assert sym[:, 0b011].tolist() == [-1.0, 1.0, 1.0]


@pytest.mark.skipif(not equalizer.HAVE_NUMBA, reason="numba is not installed")
def test_chanest_compiled_matches_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    from fbsdetect.dsp import chanest

    rng = np.random.default_rng(5)
    n, n_per, p, lh = 50, 152, 2, 5
    sym = np.sign(rng.standard_normal((148, n))).astype(np.float32)  # planar: (period, burst)
    h = (rng.standard_normal((n, p, lh)) + 1j * rng.standard_normal((n, p, lh))).astype(np.complex64)
    z = np.zeros((n_per, p, n), dtype=np.complex64)
    for i in range(lh):
        z[lh - 1 : 148] += h[:, :, i].T[None, :, :] * sym[lh - 1 - i : 148 - i, None, :]
    z += 0.1 * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)).astype(np.complex64)
    zr = np.ascontiguousarray(z.real, dtype=np.float32)
    zi = np.ascontiguousarray(z.imag, dtype=np.float32)
    ok = np.ones((n_per, n), dtype=np.float32)
    ok[140:, :5] = 0.0
    monkeypatch.setenv("FBSDETECT_NUMBA", "1")
    fast = chanest.ls_channel(zr, zi, ok, sym, lh, lh - 1, 148)
    fast_d = chanest.residual_and_drift(zr, zi, ok, sym, h, lh - 1, 148)
    monkeypatch.delenv("FBSDETECT_NUMBA")
    assert not equalizer.use_numba()
    slow = chanest.ls_channel(zr, zi, ok, sym, lh, lh - 1, 148)
    slow_d = chanest.residual_and_drift(zr, zi, ok, sym, h, lh - 1, 148)
    assert np.allclose(fast[0], slow[0], atol=1e-4) and np.allclose(fast[1], slow[1], rtol=1e-3)
    assert np.allclose(fast[0], h, atol=0.07)  # the estimate finds the channel (std ~0.012)
    assert np.allclose(fast[1], 0.02, rtol=0.2)  # and the noise variance (2 * 0.1^2)
    for a, b in zip(fast_d, slow_d, strict=True):
        assert np.allclose(a, b, rtol=1e-3, atol=1e-2)


@pytest.mark.skipif(not equalizer.HAVE_NUMBA, reason="numba is not installed")
def test_whole_demodulator_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-numpy path (the default) gives the same soft bits as the compiled one."""
    from fbsdetect.dsp import burst
    from fbsdetect.gsm.bursts import normal_burst
    from tests.dsp.synth import PRE, make_windows

    rng = np.random.default_rng(3)
    data = rng.integers(0, 2, (60, 114), dtype=np.uint8)
    w = make_windows(normal_burst(data, 1), 2, 7.0, rng, offset_sym=0.7, channel=((0, 1.0), (1.2, 0.5j)))
    monkeypatch.setenv("FBSDETECT_NUMBA", "1")
    fast = burst.demod_normal(w, 1, 2, PRE * 2)
    monkeypatch.delenv("FBSDETECT_NUMBA")
    assert not equalizer.use_numba()
    slow = burst.demod_normal(w, 1, 2, PRE * 2)
    assert np.allclose(fast.data, slow.data, atol=1e-2)
    assert np.allclose(fast.snr_db, slow.snr_db, atol=1e-3)
    assert np.allclose(fast.freq_hz, slow.freq_hz, atol=0.1)
