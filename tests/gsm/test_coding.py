"""Round trips of our own coder: encode -> corrupt -> decode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbsdetect.gsm import coding
from fbsdetect.gsm.frames import HYPERFRAME
from fbsdetect.gsm.viterbi import conv_encode, viterbi_decode

FRAME = st.binary(min_size=23, max_size=23)


def _flip_exactly(rng: np.random.Generator, shape: tuple[int, int], n_err: int) -> np.ndarray:
    """(N, L) uint8 masks with exactly n_err ones per row at random places."""
    idx = np.argsort(rng.random(shape), axis=1)[:, :n_err]
    m = np.zeros(shape, dtype=np.uint8)
    np.put_along_axis(m, idx, 1, axis=1)
    return m


def test_parity_matrices_against_polynomial_division() -> None:
    """Our parity matrix equals long division by g(D), done bit by bit."""
    rng = np.random.default_rng(5)
    for n_info, poly, fn in ((184, coding.FIRE_POLY, coding.fire_parity),
                             (25, coding.SCH_POLY, coding.sch_parity)):
        deg = len(poly) - 1
        gen = poly[::-1]  # highest power first
        for _ in range(20):
            d = rng.integers(0, 2, n_info).astype(np.uint8)
            reg = np.concatenate([d, np.zeros(deg, dtype=np.uint8)])
            for i in range(n_info):
                if reg[i]:
                    reg[i:i + deg + 1] ^= gen
            assert np.array_equal(fn(d[None])[0], reg[n_info:] ^ 1)


def test_fire_generator() -> None:
    # (D^23 + 1)(D^17 + D^3 + 1)
    a = np.zeros(24, dtype=np.int64)
    a[[0, 23]] = 1
    b = np.zeros(18, dtype=np.int64)
    b[[0, 3, 17]] = 1
    assert np.array_equal(np.convolve(a, b) % 2, coding.FIRE_POLY)


def test_all_zero_frame_is_not_all_zero_coded() -> None:
    # inverted parity: an all-zero frame gives a non-zero code word
    assert coding.xcch_encode(np.zeros((1, 23), np.uint8)).any()


@settings(max_examples=60, deadline=None)
@given(st.lists(FRAME, min_size=1, max_size=30), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_xcch_corrects_up_to_3_errors(frames: list[bytes], n_err: int, seed: int) -> None:
    """d_free = 7: any 3 channel errors are corrected, wherever they are."""
    rng = np.random.default_rng(seed)
    coded = coding.xcch_encode(frames)
    flips = _flip_exactly(rng, (len(frames), 456), n_err).reshape(-1, 4, 114)
    dec = coding.xcch_decode(2.0 * (coded ^ flips) - 1.0)
    assert dec.ok.all()
    assert [bytes(f) for f in dec.frames] == frames
    assert (dec.bit_errors == n_err).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(0, HYPERFRAME // 51 - 1),
                          st.sampled_from([1, 11, 21, 31, 41])), min_size=1, max_size=30),
       st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_sch_corrects_up_to_3_errors(words: list[tuple[int, int, int]], n_err: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    bsic = np.array([w[0] for w in words])
    fn = np.array([51 * w[1] + w[2] for w in words])
    coded = coding.sch_encode(bsic, fn)
    noisy = coded ^ _flip_exactly(rng, coded.shape, n_err)
    dec = coding.sch_decode(2.0 * noisy - 1.0)
    assert dec.ok.all() and np.array_equal(dec.bsic, bsic) and np.array_equal(dec.fn, fn)
    assert (dec.bit_errors == n_err).all()


def test_xcch_random_errors_beyond_guarantee() -> None:
    """Errors the interleaver spreads are mostly corrected well beyond 3; what
    is not corrected is flagged by the Fire code, never returned as ok."""
    rng = np.random.default_rng(8)
    n = 2000
    frames = rng.integers(0, 256, (n, 23), dtype=np.uint8)
    coded = coding.xcch_encode(frames)
    for n_err, min_rate in ((8, 0.995), (16, 0.95), (24, 0.8)):
        flips = _flip_exactly(rng, (n, 456), n_err).reshape(-1, 4, 114)
        dec = coding.xcch_decode(2.0 * (coded ^ flips) - 1.0)
        right = (dec.frames == frames).all(axis=1)
        assert right.mean() >= min_rate, (n_err, right.mean())
        assert not (dec.ok & ~right).any()


def test_xcch_survives_a_lost_burst() -> None:
    """A whole burst erased (soft 0) or hit by fading costs a quarter of the
    bits, which the interleaving spreads thinly enough for the code."""
    rng = np.random.default_rng(9)
    frames = rng.integers(0, 256, (500, 23), dtype=np.uint8)
    soft = (2.0 * coding.xcch_encode(frames) - 1.0).astype(np.float32)
    for lost in range(4):
        s = soft.copy()
        s[:, lost, :] = 0.0
        dec = coding.xcch_decode(s)
        assert dec.ok.all() and np.array_equal(dec.frames, frames)
        assert (dec.bit_errors == 0).all()  # erasures are not counted as errors


def test_soft_scale_invariance_and_soft_gain() -> None:
    rng = np.random.default_rng(10)
    frames = rng.integers(0, 256, (400, 23), dtype=np.uint8)
    x = 2.0 * coding.xcch_encode(frames) - 1.0
    noisy = (x + rng.normal(0, 0.75, x.shape)).astype(np.float32)
    a = coding.xcch_decode(noisy)
    b = coding.xcch_decode(noisy * 37.5)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.ok, b.ok)
    hard = coding.xcch_decode(np.sign(noisy))
    # soft decisions do at least as well as hard ones (and here clearly better)
    assert a.ok.sum() > hard.ok.sum()


def test_fire_code_undetected_error_rate() -> None:
    """100 000 blocks corrupted beyond what the code corrects (channel bit
    error rates 15 % .. 50 %, i.e. up to pure noise): the fraction that the
    Fire code wrongly accepts must be below 1e-4 (measured: 0)."""
    rng = np.random.default_rng(2026)
    n_total, batch = 100_000, 10_000
    wrong = undetected = 0
    for _ in range(n_total // batch):
        frames = rng.integers(0, 256, (batch, 23), dtype=np.uint8)
        coded = coding.xcch_encode(frames)
        p = rng.uniform(0.15, 0.5, (batch, 1, 1))
        noisy = coded ^ (rng.random(coded.shape) < p)
        dec = coding.xcch_decode(2.0 * noisy - 1.0)
        bad = ~(dec.frames == frames).all(axis=1)
        wrong += int(bad.sum())
        undetected += int((bad & dec.ok).sum())
    assert wrong >= 0.99 * n_total  # they really are beyond correction
    rate = undetected / wrong
    print(f"Fire code: {undetected} undetected of {wrong} wrongly decoded blocks (rate {rate:.2e})")
    assert rate < 1e-4


def test_sch_parity_false_accepts_on_noise() -> None:
    """The SCH has only 10 parity bits: pure noise passes about 2^-10 of the
    time (plus the T2/T3' range check). The receiver must not trust a single
    SCH alone; this measures the rate so that stays known."""
    rng = np.random.default_rng(12)
    noise = rng.normal(0, 1, (50_000, 78)).astype(np.float32)
    rate = coding.sch_decode(noise).ok.mean()
    assert rate < 2.0 / 1024


def test_viterbi_basics() -> None:
    u = np.zeros((1, 10), dtype=np.uint8)
    u[0, 0] = 1
    # impulse response: G0 = 1 + D^3 + D^4 -> 1,0,0,1,1; G1 = 1 + D + D^3 + D^4 -> 1,1,0,1,1
    c = conv_encode(u)[0]
    assert c[0::2][:5].tolist() == [1, 0, 0, 1, 1] and c[1::2][:5].tolist() == [1, 1, 0, 1, 1]
    assert np.array_equal(viterbi_decode(2.0 * c[None] - 1.0), u)
    with pytest.raises(ValueError):
        viterbi_decode(np.zeros((2, 7)))


def test_shapes_and_empty() -> None:
    dec = coding.xcch_decode(np.zeros((0, 4, 114), np.float32))
    assert dec.frames.shape == (0, 23) and dec.ok.shape == (0,)
    with pytest.raises(ValueError):
        coding.xcch_decode(np.zeros((2, 4, 113)))
    with pytest.raises(ValueError):
        coding.sch_encode([64], [1])
    with pytest.raises(ValueError):
        coding.sch_encode([1], [2])  # not an SCH frame
    one = coding.xcch_decode((2.0 * coding.xcch_encode([b"\x01" * 23]) - 1.0)[0])
    assert one.frame_bytes(0) == b"\x01" * 23


def _viterbi_textbook(soft: np.ndarray) -> np.ndarray:
    """Reference: the add-compare-select written from the trellis directly
    (predecessors ((s' & 7) << 1) | x, input s' >> 3, outputs from the
    generators), per block, state-major; x = 1 wins only when strictly better."""
    n, two_l = soft.shape
    length = two_l // 2
    out = np.empty((n, length), np.uint8)
    for i in range(n):
        pm = np.full(16, -np.inf, np.float32)
        pm[0] = 0.0
        dec = np.zeros((length, 16), bool)
        for k in range(length):
            new = np.empty(16, np.float32)
            for sn in range(16):
                b = sn >> 3
                cands = []
                for x in (0, 1):
                    p = ((sn & 7) << 1) | x
                    u1, u3, u4 = (p >> 3) & 1, (p >> 1) & 1, p & 1
                    c0, c1 = b ^ u3 ^ u4, b ^ u1 ^ u3 ^ u4
                    bm = (np.float32(soft[i, 2 * k]) if c0 else -np.float32(soft[i, 2 * k])) \
                        + (np.float32(soft[i, 2 * k + 1]) if c1 else -np.float32(soft[i, 2 * k + 1]))
                    cands.append(np.float32(pm[p] + np.float32(bm)))
                dec[k, sn] = cands[1] > cands[0]
                new[sn] = cands[1] if dec[k, sn] else cands[0]
            pm = new
        st_ = 0
        for k in range(length - 1, -1, -1):
            out[i, k] = st_ >> 3
            st_ = ((st_ & 7) << 1) | int(dec[k, st_])
    return out


def test_viterbi_equals_the_textbook_trellis_ties_included() -> None:
    """The planar, gather-free decoder returns the same bits as a plain
    per-state trellis on noisy, erased and tie-laden (small integer) inputs."""
    rng = np.random.default_rng(5)
    u = rng.integers(0, 2, (6, 40)).astype(np.uint8)
    u[:, -4:] = 0
    c = 2.0 * conv_encode(u) - 1.0
    cases = [c + 0.8 * rng.standard_normal(c.shape),  # noisy
             np.where(rng.random(c.shape) < 0.4, 0.0, c),  # erasures
             rng.integers(-2, 3, c.shape).astype(np.float64)]  # many ties
    for soft in cases:
        s = np.asarray(soft, np.float32)
        assert np.array_equal(viterbi_decode(s), _viterbi_textbook(s))
