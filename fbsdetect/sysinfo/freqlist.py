"""Frequency lists of 16 octets: Cell Channel Description, Neighbour Cell
Description and Neighbour Cell Description 2 (BA lists), both directions.

Spec: TS 44.018 10.5.2.1b (Cell Channel Description, SI1), 10.5.2.22
(Neighbour Cell Description, SI2/SI2bis), 10.5.2.22a (Neighbour Cell
Description 2, SI2ter) and 10.5.2.13 (the list formats), Annex J (range
encoding algorithm).

Layout of the 16 value octets (bit 0 = bit 8 of the first octet)::

    bit 0..1   FORMAT-ID (CCD/NCD); NCD2 has one FORMAT-ID bit (bit 0) where
               0 = bit map 0 and 1 = the "10" formats, then
               MULTIBAND REPORTING (bits 1..2) and BA-IND (bit 3)
    bit 2      spare (CCD) | EXT-IND (NCD)
    bit 3      spare (CCD) | BA-IND (NCD)
    bit map 0 (FORMAT-ID 00): bits 4..127 flag ARFCN 124 .. 1 (ARFCN = 128 - bit)
    "10" formats, bits 4.. :
        0 F0 W(1):10 W(2..3):9 W(4..7):8 W(8..15):7 W(16):6   1024 range
        100 ORIG-ARFCN:10 W(k):9-floor(log2 k)                  512 range
        101 ORIG-ARFCN:10 W(k):8-floor(log2 k)                  256 range
        110 ORIG-ARFCN:10 W(k):7-floor(log2 k)                  128 range
        111 ORIG-ARFCN:10 RRFCN(1..111)                         variable bit map

Range formats (10.5.2.13.3-6) code a balanced binary tree of W values; a W of
0 ends the list. W(k) has exactly the bits of its sub-range (R/J - 1 at most,
J = 2^floor(log2 k)), so no received value is out of range. Decoding follows
the F(K) procedure of 10.5.2.13.3, with `x smod m = (x - 1) mod m + 1`:

    left child : N := (N + W(parent) - R/J) smod (2R/J - 1)
    right child: N := (N + W(parent))       smod (2R/J - 1)

and F(K) = N (1024 range; F0 adds ARFCN 0) or (ORIG-ARFCN + N) mod 1024 (the
others; ORIG-ARFCN itself is in the list). Encoding is Annex J: the pivot of a
sub-range of size m is the element whose half-window ahead, (v - p) mod m in
1..(m-1)/2, holds floor((n-1)/2) elements (the right subtree, child index
INDEX + 2J); the rest form the left subtree (child index INDEX + J).

Hand-written: pycrate decodes these lists (`CellChan.decode()`) but has no
encoder, and its decoder hides errors by returning []; ours reports a
malformed list. The tests compare ours with pycrate's decoder and tshark.
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo.bits import BitReader, BitsExhausted, BitWriter

FORMATS = ("bitmap0", "range1024", "range512", "range256", "range128", "variable")
_RANGE_BASE = {"range1024": 10, "range512": 9, "range256": 8, "range128": 7}
_RANGE_R = {"range1024": 1024, "range512": 512, "range256": 256, "range128": 128}
_EXT_CODE = {"range512": 0b100, "range256": 0b101, "range128": 0b110, "variable": 0b111}
_CODE_EXT = {v: k for k, v in _EXT_CODE.items()}
N_BITS = 128


class FreqListError(ValueError):
    """A frequency list that cannot be decoded or encoded as asked."""


@dataclass(frozen=True)
class FreqList:
    """A decoded frequency list: the format and the sorted ARFCNs."""

    format: str
    arfcns: tuple[int, ...]
    ext_ind: int = 0  # NCD only: 1 = only part of the BA
    ba_ind: int = 0   # NCD/NCD2
    multiband_reporting: int = 0  # NCD2 only


def _gp2(index: int) -> int:
    """GREATEST_POWER_OF_2_LESSER_OR_EQUAL_TO(index)."""
    return 1 << (index.bit_length() - 1)


def _w_width(fmt: str, k: int) -> int:
    return _RANGE_BASE[fmt] - (k.bit_length() - 1)


def _f_k(k: int, w: list[int], r: int) -> int:
    """N of element K (10.5.2.13.3); w is 1-based (w[0] unused)."""
    index = k
    j = _gp2(index)
    n = w[index]
    while index > 1:
        m = 2 * r // j - 1
        if 2 * index < 3 * j:  # left child
            index -= j // 2
            n = (n + w[index] - r // j - 1) % m + 1
        else:  # right child
            index -= j
            n = (n + w[index] - 1) % m + 1
        j //= 2
    return n


def _read_ws(rd: BitReader, fmt: str) -> list[int]:
    w = [0]
    k = 1
    while True:
        width = _w_width(fmt, k)
        if width <= 0 or rd.remaining < width:
            break
        v = rd.read(width)
        if v == 0:
            break
        w.append(v)
        k += 1
    return w


def decode(value: bytes, kind: str = "ncd") -> FreqList:
    """Decode the 16 value octets of a CCD ('ccd'), NCD ('ncd') or NCD2 ('ncd2')."""
    if len(value) < 16:
        raise FreqListError(f"frequency list needs 16 octets, got {len(value)}")
    value = bytes(value[:16])
    rd = BitReader(value)
    ext_ind = ba_ind = mb = 0
    if kind == "ncd2":
        fid = 0b10 if rd.read(1) else 0b00
        mb = rd.read(2)
        ba_ind = rd.read(1)
    else:
        fid = rd.read(2)
        b2, b3 = rd.read(1), rd.read(1)
        if kind == "ncd":
            ext_ind, ba_ind = b2, b3
    if fid == 0b00:
        arfcns = [128 - b for b in range(4, N_BITS) if (value[b >> 3] >> (7 - (b & 7))) & 1]
        return FreqList("bitmap0", tuple(sorted(arfcns)), ext_ind, ba_ind, mb)
    if fid != 0b10:
        raise FreqListError(f"undefined FORMAT-ID {fid:02b}")
    try:
        if rd.read(1) == 0:
            fmt = "range1024"
            f0 = rd.read(1)
            w = _read_ws(rd, fmt)
            out = {_f_k(k, w, 1024) for k in range(1, len(w))}
            if f0:
                out.add(0)
            return FreqList(fmt, tuple(sorted(out)), ext_ind, ba_ind, mb)
        code = 0b100 | rd.read(2)
        fmt = _CODE_EXT[code]
        orig = rd.read(10)
        if fmt == "variable":
            out = {orig}
            for i in range(1, 112):
                if rd.read(1):
                    out.add((orig + i) % 1024)
            return FreqList(fmt, tuple(sorted(out)), ext_ind, ba_ind, mb)
        w = _read_ws(rd, fmt)
        r = _RANGE_R[fmt]
        out = {orig} | {(orig + _f_k(k, w, r)) % 1024 for k in range(1, len(w))}
        return FreqList(fmt, tuple(sorted(out)), ext_ind, ba_ind, mb)
    except BitsExhausted as e:  # cannot happen with 16 octets, kept as a guard
        raise FreqListError(str(e)) from e


# ----------------------------------------------------------------------------- encoding

def _encode_subtree(index: int, values: list[int], m: int, w: dict[int, int]) -> None:
    """Annex J ENCODE_SUBTREE over values in 0..m-1 (a circular range of size m);
    W(INDEX) = 1 + pivot."""
    if not values:
        return
    n = len(values)
    half = (m - 1) // 2
    pivot = None
    for p in values:
        ahead = sum(1 for v in values if (v - p) % m <= half)
        if ahead - 1 == (n - 1) // 2:
            pivot = p
            break
    if pivot is None:  # pragma: no cover - Annex J guarantees a pivot
        raise FreqListError("no pivot found")
    w[index] = pivot + 1
    right = [(v - pivot - 1) % m for v in values if 1 <= (v - pivot) % m <= half]
    left = [(v - pivot - 1 - half) % m for v in values if (v - pivot) % m > half]
    j = _gp2(index)
    _encode_subtree(index + j, left, half, w)
    _encode_subtree(index + 2 * j, right, half, w)


def _max_ws(fmt: str, header_bits: int) -> int:
    bits = N_BITS - header_bits
    k = 0
    while True:
        width = _w_width(fmt, k + 1)
        if width <= 0 or bits < width:
            return k
        bits -= width
        k += 1


def _range_ws(fmt: str, values: list[int]) -> list[int]:
    r = _RANGE_R[fmt]
    w: dict[int, int] = {}
    _encode_subtree(1, sorted(values), r - 1, w)
    n = len(values)
    if sorted(w) != list(range(1, n + 1)):  # pragma: no cover - balanced tree property
        raise FreqListError("range tree is not dense")
    return [w[k] for k in range(1, n + 1)]


def _origin_for(arfcns: list[int], span: int) -> int | None:
    """An element o of the set such that all lie in o .. o+span (mod 1024)."""
    s = sorted(set(arfcns))
    for o in s:
        if all((a - o) % 1024 <= span for a in s):
            return o
    return None


def fits(arfcns: list[int] | tuple[int, ...], fmt: str) -> bool:
    try:
        encode(arfcns, fmt)
    except FreqListError:
        return False
    return True


def choose_format(arfcns: list[int] | tuple[int, ...]) -> str:
    """Bit map 0 when every ARFCN is in 1..124 (P-GSM), else the smallest
    range format that holds the set (variable bit map, 128, 256, 512, 1024)."""
    s = sorted(set(arfcns))
    if all(1 <= a <= 124 for a in s):
        return "bitmap0"
    for fmt in ("variable", "range128", "range256", "range512", "range1024"):
        if fits(s, fmt):
            return fmt
    raise FreqListError(f"{len(s)} ARFCNs fit no 16-octet frequency list format")


def encode(arfcns: list[int] | tuple[int, ...], fmt: str | None = None, kind: str = "ncd",
           ext_ind: int = 0, ba_ind: int = 0, multiband_reporting: int = 0) -> bytes:
    """16 value octets holding `arfcns` in format `fmt` (None: `choose_format`)."""
    s = sorted(set(int(a) for a in arfcns))
    if any(a < 0 or a > 1023 for a in s):
        raise FreqListError("ARFCN outside 0..1023")
    if fmt is None:
        fmt = choose_format(s)
    if fmt not in FORMATS:
        raise FreqListError(f"unknown format {fmt!r}")
    wr = BitWriter()
    if kind == "ncd2":
        wr.write(0 if fmt == "bitmap0" else 1, 1)
        wr.write(multiband_reporting, 2)
        wr.write(ba_ind, 1)
    else:
        wr.write(0b00 if fmt == "bitmap0" else 0b10, 2)
        wr.write(ext_ind if kind == "ncd" else 0, 1)
        wr.write(ba_ind if kind == "ncd" else 0, 1)
    if fmt == "bitmap0":
        if any(a < 1 or a > 124 for a in s):
            raise FreqListError("bit map 0 holds ARFCN 1..124 only")
        flags = set(s)
        for b in range(4, N_BITS):
            wr.write(1 if (128 - b) in flags else 0, 1)
        return wr.to_bytes(16, pad=False)
    if fmt == "range1024":
        wr.write(0, 1)
        wr.write(1 if 0 in s else 0, 1)
        rest = [a for a in s if a != 0]
        if len(rest) > _max_ws(fmt, 6):
            raise FreqListError(f"{len(rest)} ARFCNs exceed the 1024 range capacity")
        ws = _range_ws(fmt, [a - 1 for a in rest])
    else:
        wr.write(_EXT_CODE[fmt], 3)
        if not s:
            raise FreqListError(f"{fmt} needs at least one ARFCN (the origin)")
        if fmt == "variable":
            o = _origin_for(s, 111)
            if o is None:
                raise FreqListError("ARFCNs span more than the variable bit map's 111 channels")
            wr.write(o, 10)
            flags = {(a - o) % 1024 for a in s}
            for i in range(1, 112):
                wr.write(1 if i in flags else 0, 1)
            return wr.to_bytes(16, pad=False)
        r = _RANGE_R[fmt]
        o = _origin_for(s, r - 1)
        if o is None:
            raise FreqListError(f"ARFCNs span more than the {fmt} window")
        wr.write(o, 10)
        rest = [(a - o) % 1024 - 1 for a in s if a != o]
        if len(rest) > _max_ws(fmt, 17):
            raise FreqListError(f"{len(rest)} ARFCNs exceed the {fmt} capacity")
        ws = _range_ws(fmt, rest)
    for k, v in enumerate(ws, start=1):
        wr.write(v, _w_width(fmt, k))
    return wr.to_bytes(16, pad=False)
