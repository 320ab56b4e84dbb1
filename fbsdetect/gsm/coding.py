"""Channel coding of the SCH and the xCCH (BCCH, CCCH, SDCCH, SACCH), both
directions, vectorised over N blocks (TS 45.003 clauses 4.1 and 4.7).

Bit order of the information bits: the octets of a message are taken in
order, each least significant bit first (TS 44.004 / TS 44.006 "bit 1 first"),
so d(8i + j) = bit j (weight 2^j) of octet i.

xCCH (TS 45.003 4.1), one 23-octet L2 frame per block::

    d(0..183)          the 184 bits of the frame
    p(0..39)           Fire code parity (4.1.2): g(D) = (D^23 + 1)(D^17 + D^3 + 1);
                       p(D) is the remainder of d(D) D^40 / g(D), where
                       d(D) = d(0) D^183 + ... + d(183), inverted (ones' complement)
    u(0..227)          = d(0..183), p(0..39), 4 tail bits 0
    c(0..455)          convolutional code, rate 1/2, K = 5 (4.1.3, `viterbi.py`)
    i(B, j)            block-diagonal interleaving over 4 bursts (4.1.4):
                       c(k) -> burst B = k mod 4, position j = 2 ((49 k) mod 57) + ((k mod 8) div 4)

The stealing flags hl = hu = 1 (4.1.5) are not part of the (N, 4, 114)
arrays: `bursts.normal_burst` adds them.

SCH (TS 45.003 4.7), 25 information bits, packed in four octets as the
"synchronization channel information" message of TS 44.018 9.1.30::

    octet 1: BSIC (bits 8..3), T1 bits 10..9 (bits 2..1)
    octet 2: T1 bits 8..1
    octet 3: T1 bit 0 (bit 8), T2 (bits 7..3), T3' bits 2..1 (bits 2..1)
    octet 4: T3' bit 0 (bit 1)

so, taking each octet LSB first, d(0..24) = T1[9], T1[10], BSIC[0..5],
T1[1..8], T3'[1], T3'[2], T2[0..4], T1[0], T3'[0] (X[i] = bit of weight 2^i).
Then 10 parity bits p(0..9), g(D) = D^10 + D^8 + D^6 + D^5 + D^4 + D^2 + 1,
remainder inverted; 4 tail bits; the same convolutional code -> 78 bits;
no interleaving. This order was checked against real SCH bursts and
libosmocoding's gsm0503_sch_encode (tests).

Hand-written in numpy, vectorised over blocks (parity as a GF(2) matrix
product, interleaving as one gather): libosmocoding (C, GPL) would add a
native dependency to every install and decodes one block per call; it is
loaded with ctypes in tests only, as the independent check of every bit.

Decoding takes soft bits (float32, positive = 1). A block is `ok` when the
re-computed parity of the decoded bits matches (the Fire code is used for
error detection only, never for correction). `bit_errors` counts the
channel bits whose hard decision differs from the re-encoded decoded block
(erasures, soft 0, excluded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fbsdetect.gsm.frames import fn_from_sch, fn_to_t1t2t3, t3_prime
from fbsdetect.gsm.viterbi import conv_encode, viterbi_decode

XCCH_INFO_BITS = 184
XCCH_PARITY_BITS = 40
XCCH_CODED_BITS = 456
XCCH_FRAME_OCTETS = 23
SCH_INFO_BITS = 25
SCH_PARITY_BITS = 10
SCH_CODED_BITS = 78
TAIL = 4

# Generator polynomials, coefficient of D^i at index i.
FIRE_POLY = np.zeros(41, dtype=np.uint8)
FIRE_POLY[[0, 3, 17, 23, 26, 40]] = 1  # (D^23+1)(D^17+D^3+1) = D^40+D^26+D^23+D^17+D^3+1
SCH_POLY = np.zeros(11, dtype=np.uint8)
SCH_POLY[[0, 2, 4, 5, 6, 8, 10]] = 1


def _parity_matrix(n_info: int, poly: np.ndarray) -> npt.NDArray[np.float32]:
    """(n_info, deg) matrix M over GF(2): parity bits (before inversion) of
    info bits d are (d @ M) mod 2, with p(0) the coefficient of D^(deg-1)."""
    deg = len(poly) - 1
    # rems[t] = D^(deg + t) mod g(D), coefficients indexed by power (0..deg-1);
    # D^deg mod g = the lower coefficients of g, then multiply by D step by step.
    r = poly[:deg].copy()
    rems = []
    for _ in range(n_info):
        rems.append(r.copy())
        carry = r[deg - 1]
        r = np.concatenate([[0], r[:-1]]).astype(np.uint8)
        if carry:
            r ^= poly[:deg]
    # Info bit d(i) is the coefficient of D^(deg + n_info - 1 - i) in d(D) D^deg;
    # its row holds that power's remainder, highest power first (p(0) = D^(deg-1)).
    m = np.zeros((n_info, deg), dtype=np.uint8)
    for i in range(n_info):
        m[i] = rems[n_info - 1 - i][::-1]
    return m.astype(np.float32)


_FIRE_M = _parity_matrix(XCCH_INFO_BITS, FIRE_POLY)
_SCH_M = _parity_matrix(SCH_INFO_BITS, SCH_POLY)


def _parity(d: np.ndarray, m: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Inverted CRC parity of info bits d (N, K) -> (N, deg)."""
    acc = d.astype(np.float32) @ m  # exact: small integer sums
    return ((acc.astype(np.int64) & 1) ^ 1).astype(np.uint8)


def fire_parity(d184: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The 40 Fire code parity bits (inverted remainder) of d (N, 184)."""
    return _parity(np.asarray(d184, dtype=np.uint8), _FIRE_M)


def sch_parity(d25: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The 10 SCH parity bits (inverted remainder) of d (N, 25)."""
    return _parity(np.asarray(d25, dtype=np.uint8), _SCH_M)


# Interleaving (TS 45.003 4.1.4): coded bit k -> (burst, position).
_K = np.arange(XCCH_CODED_BITS)
XCCH_BURST_OF = (_K % 4).astype(np.intp)
XCCH_POS_OF = (2 * ((49 * _K) % 57) + ((_K % 8) // 4)).astype(np.intp)
_FLAT = XCCH_BURST_OF * 114 + XCCH_POS_OF  # index into the (4*114) flattened bursts
assert len(set(_FLAT.tolist())) == XCCH_CODED_BITS  # not np.unique: it imports numpy.ma (15 ms at start-up)


def bytes_to_bits(frames: npt.ArrayLike, n_octets: int) -> npt.NDArray[np.uint8]:
    """(N, n_octets) octets -> (N, 8 n_octets) bits, each octet LSB first."""
    a = np.asarray(frames, dtype=np.uint8)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n_octets:
        raise ValueError(f"expected (N, {n_octets}) octets, got shape {np.shape(frames)}")
    return np.unpackbits(a, axis=1, bitorder="little")


def bits_to_bytes(bits: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """(N, 8m) bits, each octet LSB first -> (N, m) octets."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), axis=1, bitorder="little")


def frames_array(frames: list[bytes] | npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """A list of 23-octet bytes objects (or an (N, 23) array) as (N, 23) uint8."""
    if isinstance(frames, list) and frames and isinstance(frames[0], bytes | bytearray):
        return np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(len(frames), -1)
    return np.asarray(frames, dtype=np.uint8)


# ---------------------------------------------------------------- xCCH


@dataclass(frozen=True)
class XcchDecoded:
    """Result of `xcch_decode` for N blocks."""

    frames: npt.NDArray[np.uint8]  # (N, 23)
    ok: npt.NDArray[np.bool_]  # (N,) parity matched
    bit_errors: npt.NDArray[np.int64]  # (N,) channel bits corrected

    def frame_bytes(self, i: int) -> bytes:
        return bytes(self.frames[i])


def xcch_encode_coded(frames: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The 456 coded bits c(0..455) (N, 456) of 23-octet frames (N, 23), before
    interleaving."""
    d = bytes_to_bits(frames, XCCH_FRAME_OCTETS)
    n = d.shape[0]
    u = np.zeros((n, XCCH_INFO_BITS + XCCH_PARITY_BITS + TAIL), dtype=np.uint8)
    u[:, :XCCH_INFO_BITS] = d
    u[:, XCCH_INFO_BITS:XCCH_INFO_BITS + XCCH_PARITY_BITS] = fire_parity(d)
    return conv_encode(u)


def xcch_interleave(coded: npt.ArrayLike) -> np.ndarray:
    """c (N, 456) -> i (N, 4, 114) (TS 45.003 4.1.4); keeps the dtype."""
    c = np.asarray(coded)
    out = np.empty((c.shape[0], 4 * 114), dtype=c.dtype)
    out[:, _FLAT] = c
    return out.reshape(c.shape[0], 4, 114)


def xcch_deinterleave(bursts: npt.ArrayLike) -> np.ndarray:
    """i (N, 4, 114) -> c (N, 456); keeps the dtype (hard or soft)."""
    b = np.asarray(bursts)
    if b.ndim == 2:
        b = b[None]
    if b.shape[1:] != (4, 114):
        raise ValueError(f"expected (N, 4, 114) burst bits, got shape {np.shape(bursts)}")
    return b.reshape(b.shape[0], 4 * 114)[:, _FLAT]


def xcch_encode(frames: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """23-octet L2 frames (N, 23) -> the data bits of their 4 bursts (N, 4, 114)."""
    return xcch_interleave(xcch_encode_coded(frames_array(frames)))


def _count_errors(soft: np.ndarray, recoded: np.ndarray) -> npt.NDArray[np.int64]:
    hard = soft > 0
    return ((hard != recoded.astype(bool)) & (soft != 0)).sum(axis=1).astype(np.int64)


def xcch_decode(soft: npt.ArrayLike) -> XcchDecoded:
    """Soft bits of 4 bursts (N, 4, 114) (positive = 1) -> decoded frames."""
    c = xcch_deinterleave(np.asarray(soft, dtype=np.float32))
    u = viterbi_decode(c)
    d = u[:, :XCCH_INFO_BITS]
    ok = (fire_parity(d) == u[:, XCCH_INFO_BITS:XCCH_INFO_BITS + XCCH_PARITY_BITS]).all(axis=1)
    errors = _count_errors(c, conv_encode(u))
    return XcchDecoded(frames=bits_to_bytes(d), ok=ok, bit_errors=errors)


# ---------------------------------------------------------------- SCH


@dataclass(frozen=True)
class SchDecoded:
    """Result of `sch_decode` for N SCH bursts. Fields of blocks that are not
    `ok` are meaningless. `fn` is the frame number of the SCH burst itself."""

    ok: npt.NDArray[np.bool_]
    bsic: npt.NDArray[np.int64]
    t1: npt.NDArray[np.int64]
    t2: npt.NDArray[np.int64]
    t3p: npt.NDArray[np.int64]
    fn: npt.NDArray[np.int64]
    bit_errors: npt.NDArray[np.int64]


def sch_info_bits(bsic: npt.ArrayLike, t1: npt.ArrayLike, t2: npt.ArrayLike,
                  t3p: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The 25 SCH information bits d(0..24) (N, 25) (module docstring)."""
    b, a1, a2, a3 = (np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (bsic, t1, t2, t3p))
    cols = (
        [(a1 >> 9) & 1, (a1 >> 10) & 1]
        + [(b >> i) & 1 for i in range(6)]
        + [(a1 >> i) & 1 for i in range(1, 9)]
        + [(a3 >> 1) & 1, (a3 >> 2) & 1]
        + [(a2 >> i) & 1 for i in range(5)]
        + [a1 & 1, a3 & 1]
    )
    return np.stack(np.broadcast_arrays(*cols), axis=1).astype(np.uint8)


def _sch_fields(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = d.astype(np.int64)

    def val(idx: list[int]) -> np.ndarray:  # idx[i] = position of the bit of weight 2^i
        return sum((d[:, p] << i for i, p in enumerate(idx)), np.zeros(d.shape[0], dtype=np.int64))

    bsic = val([2, 3, 4, 5, 6, 7])
    t1 = val([23, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1])
    t2 = val([18, 19, 20, 21, 22])
    t3p = val([24, 16, 17])
    return bsic, t1, t2, t3p


def sch_encode(bsic: npt.ArrayLike, fn: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """The 78 coded bits (N, 78) of the SCH sent in frame(s) `fn` by a cell with
    BSIC `bsic` (0..63). `fn` must be an SCH frame (fn mod 51 in 1, 11, 21, 31, 41)."""
    f = np.atleast_1d(np.asarray(fn, dtype=np.int64))
    b = np.atleast_1d(np.asarray(bsic, dtype=np.int64))
    if np.any((b < 0) | (b > 63)):
        raise ValueError("BSIC must be 0..63")
    if np.any((f < 0) | (f >= 26 * 51 * 2048)):
        raise ValueError("frame number must be 0..2715647")
    if np.any(f % 51 % 10 != 1):
        raise ValueError("the SCH is only sent in frames with fn mod 51 in {1, 11, 21, 31, 41}")
    t1, t2, _ = fn_to_t1t2t3(f)
    d = sch_info_bits(b, t1, t2, t3_prime(f))
    n = d.shape[0]
    u = np.zeros((n, SCH_INFO_BITS + SCH_PARITY_BITS + TAIL), dtype=np.uint8)
    u[:, :SCH_INFO_BITS] = d
    u[:, SCH_INFO_BITS:SCH_INFO_BITS + SCH_PARITY_BITS] = sch_parity(d)
    return conv_encode(u)


def sch_decode(soft: npt.ArrayLike) -> SchDecoded:
    """Soft SCH bits (N, 78) (positive = 1) -> BSIC and reduced frame number.

    `ok` requires the parity to match and T2 <= 25, T3' <= 4 (values the
    standard cannot send)."""
    s = np.asarray(soft, dtype=np.float32)
    if s.ndim == 1:
        s = s[None]
    if s.ndim != 2 or s.shape[1] != SCH_CODED_BITS:
        raise ValueError(f"expected (N, 78) soft bits, got shape {np.shape(soft)}")
    u = viterbi_decode(s)
    d = u[:, :SCH_INFO_BITS]
    ok = (sch_parity(d) == u[:, SCH_INFO_BITS:SCH_INFO_BITS + SCH_PARITY_BITS]).all(axis=1)
    bsic, t1, t2, t3p = _sch_fields(d)
    ok &= (t2 <= 25) & (t3p <= 4)
    fn = np.where(ok, fn_from_sch(t1, t2 % 26, np.minimum(t3p, 4)), -1)
    return SchDecoded(ok=ok, bsic=bsic, t1=t1, t2=t2, t3p=t3p, fn=fn,
                      bit_errors=_count_errors(s, conv_encode(u)))
