"""Independent check of our coder against libosmocore's (libosmocoding,
Debian `libosmocoding0`), loaded with ctypes here only. Both directions:
our encoding equals theirs, our decoder decodes theirs, theirs decodes ours.

The library's burst layout is 4 x 116 bits (57 data, hl, hu, 57 data) and its
soft bits are sbit_t (int8) with negative meaning 1.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbsdetect.gsm import coding
from fbsdetect.gsm.frames import HYPERFRAME, fn_to_t1t2t3, t3_prime

_LIB_NAMES = ("libosmocoding.so.0", "/usr/lib/x86_64-linux-gnu/libosmocoding.so.0")


def _load() -> ctypes.CDLL | None:
    found = ctypes.util.find_library("osmocoding")
    for name in ((found,) if found else ()) + _LIB_NAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        u8p, s8p, ip = (ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(ctypes.c_int8),
                        ctypes.POINTER(ctypes.c_int))
        lib.gsm0503_xcch_encode.argtypes = [u8p, u8p]
        lib.gsm0503_xcch_decode.argtypes = [u8p, s8p, ip, ip]
        lib.gsm0503_sch_encode.argtypes = [u8p, u8p]
        lib.gsm0503_sch_decode.argtypes = [u8p, s8p]
        for f in ("gsm0503_xcch_encode", "gsm0503_xcch_decode", "gsm0503_sch_encode",
                  "gsm0503_sch_decode"):
            getattr(lib, f).restype = ctypes.c_int
        return lib
    return None


LIB = _load()
pytestmark = pytest.mark.skipif(LIB is None,
                                reason="libosmocoding.so.0 is absent (apt install libosmocoding0)")


def osmo_xcch_encode(frame: bytes) -> np.ndarray:
    """-> (4, 114) data bits (stealing flags checked and dropped)."""
    assert LIB is not None
    out = (ctypes.c_uint8 * 464)()
    assert LIB.gsm0503_xcch_encode(out, (ctypes.c_uint8 * 23).from_buffer_copy(frame)) == 0
    b = np.frombuffer(bytes(out), dtype=np.uint8).reshape(4, 116)
    assert (b[:, 57] == 1).all() and (b[:, 58] == 1).all()
    return np.concatenate([b[:, :57], b[:, 59:]], axis=1)


def osmo_xcch_decode(data: np.ndarray) -> tuple[int, bytes, int]:
    """(4, 114) hard bits -> (rc, frame, n_errors)."""
    assert LIB is not None
    b = np.ones((4, 116), dtype=np.uint8)
    b[:, :57], b[:, 59:] = data[:, :57], data[:, 57:]
    soft = np.where(b.ravel() == 1, -127, 127).astype(np.int8)
    dec = (ctypes.c_uint8 * 23)()
    ne, nb = ctypes.c_int(0), ctypes.c_int(0)
    rc = LIB.gsm0503_xcch_decode(dec, (ctypes.c_int8 * 464).from_buffer_copy(soft.tobytes()),
                                 ctypes.byref(ne), ctypes.byref(nb))
    return rc, bytes(dec), ne.value


def sb_info(bsic: int, fn: int) -> bytes:
    """The 4 SCH information octets, TS 44.018 9.1.30 (as libosmocoding takes them)."""
    t1, t2, _ = fn_to_t1t2t3(fn)
    t3p = t3_prime(fn)
    return bytes([((bsic & 0x3F) << 2) | (t1 >> 9), (t1 >> 1) & 0xFF,
                  ((t1 & 1) << 7) | (t2 << 2) | (t3p >> 1), t3p & 1])


def osmo_sch_encode(bsic: int, fn: int) -> np.ndarray:
    assert LIB is not None
    out = (ctypes.c_uint8 * 78)()
    assert LIB.gsm0503_sch_encode(out, (ctypes.c_uint8 * 4).from_buffer_copy(sb_info(bsic, fn))) == 0
    return np.frombuffer(bytes(out), dtype=np.uint8)


def osmo_sch_decode(bits78: np.ndarray) -> tuple[int, bytes]:
    assert LIB is not None
    soft = np.where(bits78 == 1, -127, 127).astype(np.int8)
    dec = (ctypes.c_uint8 * 4)()
    rc = LIB.gsm0503_sch_decode(dec, (ctypes.c_int8 * 78).from_buffer_copy(soft.tobytes()))
    return rc, bytes(dec)


def _check_xcch(frames: list[bytes]) -> None:
    ours = coding.xcch_encode(frames)
    theirs = np.stack([osmo_xcch_encode(f) for f in frames])
    assert np.array_equal(ours, theirs)
    dec = coding.xcch_decode(2.0 * theirs - 1.0)
    assert dec.ok.all() and (dec.bit_errors == 0).all()
    assert [bytes(r) for r in dec.frames] == frames
    for f, o in zip(frames, ours, strict=True):
        rc, back, ne = osmo_xcch_decode(o)
        assert rc == 0 and back == f and ne == 0


# Each example is a batch of frames (our coder is vectorised): ~5000 frames in all.
@settings(max_examples=250, deadline=None)
@given(st.lists(st.binary(min_size=23, max_size=23), min_size=1, max_size=40))
def test_xcch_identical_to_libosmocoding(frames: list[bytes]) -> None:
    _check_xcch(frames)


def test_xcch_identical_bulk() -> None:
    rng = np.random.default_rng(2026)
    frames = [bytes(r) for r in rng.integers(0, 256, (3000, 23), dtype=np.uint8)]
    frames += [b"\x00" * 23, b"\xff" * 23, b"\x2b" * 23]
    _check_xcch(frames)


SCH_FN = st.integers(0, HYPERFRAME // 51 - 1).flatmap(
    lambda m: st.sampled_from([51 * m + t for t in (1, 11, 21, 31, 41)]))


@settings(max_examples=250, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), SCH_FN), min_size=1, max_size=40))
def test_sch_identical_to_libosmocoding(words: list[tuple[int, int]]) -> None:
    bsic = [b for b, _ in words]
    fn = [f for _, f in words]
    ours = coding.sch_encode(bsic, fn)
    theirs = np.stack([osmo_sch_encode(b, f) for b, f in words])
    assert np.array_equal(ours, theirs)
    dec = coding.sch_decode(2.0 * theirs - 1.0)
    assert dec.ok.all() and dec.bsic.tolist() == bsic and dec.fn.tolist() == fn
    for (b, f), o in zip(words, ours, strict=True):
        rc, info = osmo_sch_decode(o)
        assert rc == 0 and info == sb_info(b, f)


def test_sch_identical_bulk() -> None:
    rng = np.random.default_rng(7)
    fn = 51 * rng.integers(0, HYPERFRAME // 51, 3000) + rng.choice([1, 11, 21, 31, 41], 3000)
    bsic = rng.integers(0, 64, 3000)
    ours = coding.sch_encode(bsic, fn)
    theirs = np.stack([osmo_sch_encode(int(b), int(f)) for b, f in zip(bsic, fn, strict=True)])
    assert np.array_equal(ours, theirs)
    dec = coding.sch_decode(2.0 * theirs - 1.0)
    assert dec.ok.all() and np.array_equal(dec.bsic, bsic) and np.array_equal(dec.fn, fn)


def test_decoders_agree_on_corrupted_blocks() -> None:
    """Both decoders accept or reject noisy blocks alike and agree on the frame."""
    rng = np.random.default_rng(11)
    frames = [bytes(r) for r in rng.integers(0, 256, (400, 23), dtype=np.uint8)]
    coded = coding.xcch_encode(frames)
    flips = rng.random(coded.shape) < rng.uniform(0.0, 0.12, (400, 1, 1))
    noisy = coded ^ flips.astype(np.uint8)
    ours = coding.xcch_decode(2.0 * noisy - 1.0)
    agree = 0
    for i in range(len(frames)):
        rc, back, _ne = osmo_xcch_decode(noisy[i])
        if rc == 0:
            assert back == frames[i]
        if ours.ok[i]:
            assert ours.frame_bytes(i) == frames[i]
        agree += (rc == 0) == bool(ours.ok[i])
    assert ours.ok.sum() > 100 and (~ours.ok).sum() > 50
    assert agree >= 0.97 * len(frames)
