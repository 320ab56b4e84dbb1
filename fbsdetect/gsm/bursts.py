"""Burst formats of the GSM downlink (TS 45.002 clause 5.2).

Every burst is 148 bits (plus 8.25 guard bits, not represented here). Bit
positions, 0-based within the 148:

Normal burst (5.2.3)::

    0..2      tail bits (0)
    3..59     57 data bits e(0..56)
    60        stealing flag hl = e(57)
    61..86    26-bit training sequence (TSC)
    87        stealing flag hu = e(58)
    88..144   57 data bits e(59..115)
    145..147  tail bits (0)

TS 45.003 4.1.5 maps the interleaved bits i(B, 0..113) of a block onto e:
e(j) = i(j) for j < 57, e(57) = hl, e(58) = hu, e(j) = i(j - 2) for j > 58.
`normal_burst`/`normal_payload` therefore handle 114 data bits and the two
flags separately.

Synchronisation (SCH) burst (5.2.5)::

    0..2      tail bits (0)
    3..41     39 encrypted bits e(0..38)
    42..105   64-bit extended training sequence
    106..144  39 encrypted bits e(39..77)
    145..147  tail bits (0)

Frequency correction burst (FCCH, 5.2.4): 148 zero bits (the 142 fixed bits
are 0, giving a pure tone at +67.7 kHz after GMSK).

Dummy burst (5.2.6): 3 tail bits, 142 fixed bits, 3 tail bits.

Access burst (5.2.7, uplink only; for completeness of the formats)::

    0..7      extended tail bits 0 0 1 1 1 0 1 0
    8..48     41-bit synchronisation sequence (TS0 / training sequence TS1; the
              same bits as gr-gsm's gen_test_ab)
    49..84    36 encrypted bits e(0..35)
    85..87    tail bits (0)
              then 68.25 bits of guard period

Training sequences: set 1 of TS 45.002 5.2.3 (TSC 0..7). The tables below
were cross-checked against real bursts of a live network
(``shared/data/real/vf262-02_a725_ts0_bursts.jsonl``, in tests). Each TSC is a
16-bit core with a 5-bit cyclic extension on both sides (bits 0..4 = 16..20,
bits 21..25 = 5..9), which the tests check. Note: the table built into
Debian's gr-gsm (libgnuradio-gsm) differs from the standard in bit 20 of TSC 1
(and so breaks that cyclic structure); OpenBTS, osmo-trx and the standard agree
with the table here.

Functions are vectorised over a leading axis N and work on hard bits
(uint8) and soft bits (float32) alike. Hand-written tables and slicing (the
standard's tables typed in, checked against real bursts).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BURST_BITS = 148
"""Useful bits of every burst (without the guard period)."""
BURST_PERIOD_BITS = 156.25
"""Symbol periods per timeslot, guard included (TS 45.002 5.2)."""
TAIL_BITS = 3
NORMAL_DATA_BITS = 114
"""Data bits of a normal burst, stealing flags excluded."""
NORMAL_TSC_START = 61
NORMAL_TSC_BITS = 26
NORMAL_HL_POS = 60
NORMAL_HU_POS = 87
SCH_DATA_BITS = 78
SCH_TRAINING_START = 42
SCH_TRAINING_BITS = 64

_TSC_STR = (
    "00100101110000100010010111",
    "00101101110111100010110111",
    "01000011101110100100001110",
    "01000111101101000100011110",
    "00011010111001000001101011",
    "01001110101100000100111010",
    "10100111110110001010011111",
    "11101111000100101110111100",
)
_SCH_TRAINING_STR = "1011100101100010000001000000111100101101010001010111011000011011"
_DUMMY_STR = (
    "000"
    "11111011011101100000101001001110000010010001000000011111000111000101110001011100"
    "010101110100101000110011001110011110100111110001001011111010 10"
    "000"
).replace(" ", "")

# The access burst's 41-bit synchronisation sequence (TS 45.002 5.2.7, TS0).
ACCESS_SYNC_STR = "01001011011111111001100110101010001111000"
ACCESS_TAIL_STR = "00111010"
ACCESS_BURST_BITS = 88
ACCESS_DATA_BITS = 36
ACCESS_SYNC_START = 8


def _bits(s: str) -> npt.NDArray[np.uint8]:
    a = np.frombuffer(s.encode("ascii"), dtype=np.uint8) - ord("0")
    a.setflags(write=False)
    return a


TSC: npt.NDArray[np.uint8] = np.stack([_bits(s) for s in _TSC_STR])
"""Training sequence codes 0..7 of TSC set 1, shape (8, 26)."""
TSC.setflags(write=False)
SCH_TRAINING: npt.NDArray[np.uint8] = _bits(_SCH_TRAINING_STR)
"""The SCH's 64-bit extended training sequence."""
FCCH_BITS: npt.NDArray[np.uint8] = np.zeros(BURST_BITS, dtype=np.uint8)
"""The frequency correction burst: all 148 bits 0."""
FCCH_BITS.setflags(write=False)
DUMMY_BITS: npt.NDArray[np.uint8] = _bits(_DUMMY_STR)
"""The dummy burst, 148 bits with its tail bits."""
ACCESS_SYNC: npt.NDArray[np.uint8] = _bits(ACCESS_SYNC_STR)
"""The access burst's 41-bit synchronisation sequence."""
ACCESS_TAIL: npt.NDArray[np.uint8] = _bits(ACCESS_TAIL_STR)
"""The access burst's 8 extended tail bits."""

assert TSC.shape == (8, 26) and SCH_TRAINING.shape == (64,) and DUMMY_BITS.shape == (148,)
assert ACCESS_SYNC.shape == (41,)


def _as2d(a: npt.ArrayLike, width: int, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{what}: expected shape (N, {width}), got {np.shape(a)}")
    return arr


def normal_burst(data114: npt.ArrayLike, tsc: int, hl: int = 1, hu: int = 1) -> np.ndarray:
    """Normal bursts (N, 148) from the interleaved data bits (N, 114).

    `hl`/`hu` are the stealing flags (1 for control channels, TS 45.003 4.1.5).
    The dtype of the input is kept (hard or soft).
    """
    if not 0 <= tsc <= 7:
        raise ValueError(f"training sequence code must be 0..7, got {tsc}")
    d = _as2d(data114, NORMAL_DATA_BITS, "normal_burst data")
    out = np.zeros((d.shape[0], BURST_BITS), dtype=d.dtype)
    out[:, 3:60] = d[:, :57]
    out[:, NORMAL_HL_POS] = hl
    out[:, NORMAL_TSC_START:NORMAL_TSC_START + NORMAL_TSC_BITS] = TSC[tsc]
    out[:, NORMAL_HU_POS] = hu
    out[:, 88:145] = d[:, 57:]
    return out


def normal_payload(bursts148: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data (N, 114), hl (N,), hu (N,)) of normal bursts (N, 148), hard or soft."""
    b = _as2d(bursts148, BURST_BITS, "normal_payload bursts")
    data = np.concatenate([b[:, 3:60], b[:, 88:145]], axis=1)
    return data, b[:, NORMAL_HL_POS].copy(), b[:, NORMAL_HU_POS].copy()


def sch_burst(e78: npt.ArrayLike) -> np.ndarray:
    """SCH bursts (N, 148) from the coded SCH bits (N, 78)."""
    e = _as2d(e78, SCH_DATA_BITS, "sch_burst bits")
    out = np.zeros((e.shape[0], BURST_BITS), dtype=e.dtype)
    out[:, 3:42] = e[:, :39]
    out[:, SCH_TRAINING_START:SCH_TRAINING_START + SCH_TRAINING_BITS] = SCH_TRAINING
    out[:, 106:145] = e[:, 39:]
    return out


def sch_payload(b148: npt.ArrayLike) -> np.ndarray:
    """The 78 coded bits (N, 78) of SCH bursts (N, 148), hard or soft."""
    b = _as2d(b148, BURST_BITS, "sch_payload bursts")
    return np.concatenate([b[:, 3:42], b[:, 106:145]], axis=1)


def access_burst(e36: npt.ArrayLike) -> np.ndarray:
    """Access bursts (N, 88) (guard period not included) from coded bits (N, 36)."""
    e = _as2d(e36, ACCESS_DATA_BITS, "access_burst bits")
    out = np.zeros((e.shape[0], ACCESS_BURST_BITS), dtype=e.dtype)
    out[:, :8] = ACCESS_TAIL
    out[:, ACCESS_SYNC_START:ACCESS_SYNC_START + 41] = ACCESS_SYNC
    out[:, 49:85] = e
    return out


def access_payload(b88: npt.ArrayLike) -> np.ndarray:
    """The 36 coded bits (N, 36) of access bursts (N, 88), hard or soft."""
    return _as2d(b88, ACCESS_BURST_BITS, "access_payload bursts")[:, 49:85].copy()
