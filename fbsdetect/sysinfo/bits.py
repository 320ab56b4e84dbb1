"""Bit-level reading and writing for RR messages and CSN.1 rest octets.

Bits are numbered as in TS 44.018 figures: the most significant bit of an
octet ("bit 8") is sent first. CSN.1 `L`/`H` values (TS 44.018 clause 10.5.2 /
TS 24.007 annex B, "spare padding") are *relative to the padding pattern*
0x2B = 0010 1011: at a bit position where the padding bit is 0, L is 0 and H is
1; where the padding bit is 1, L is 1 and H is 0. Reading past the end of the
rest octets yields L (truncation rule of TS 24.007 B.2: absent components).

Hand-written (no pycrate): this is the primitive under every hand-written
parser and builder in the package, and must be fast.
"""

from __future__ import annotations

PADDING = 0x2B


class BitsExhausted(Exception):
    """A fixed-length field ran past the end of the data (caller maps it to Malformed)."""


class BitReader:
    """MSB-first reader over `data`, starting at bit `pos`."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) * 8 if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def read(self, n: int) -> int:
        """Unsigned integer of the next `n` bits."""
        if n == 0:
            return 0
        if self.pos + n > self.end:
            raise BitsExhausted(f"need {n} bits at bit {self.pos}, only {self.remaining} left")
        v = 0
        data = self.data
        pos = self.pos
        for i in range(pos, pos + n):
            v = (v << 1) | ((data[i >> 3] >> (7 - (i & 7))) & 1)
        self.pos = pos + n
        return v

    def bit(self) -> int:
        return self.read(1)

    def lh(self) -> int:
        """A CSN.1 L/H bit: 1 for H, 0 for L; past the end it reads L (0)."""
        if self.pos >= self.end:
            return 0
        i = self.pos
        b = (self.data[i >> 3] >> (7 - (i & 7))) & 1
        pad = (PADDING >> (7 - (i & 7))) & 1
        self.pos += 1
        return b ^ pad

    def opt(self) -> int:
        """A CSN.1 0/1 presence bit; past the end it reads 0 (absent)."""
        if self.pos >= self.end:
            return 0
        return self.read(1)


class BitWriter:
    """MSB-first writer; `lh` writes L/H relative to the padding pattern."""

    __slots__ = ("bits",)

    def __init__(self) -> None:
        self.bits: list[int] = []

    def __len__(self) -> int:
        return len(self.bits)

    def write(self, value: int, n: int) -> None:
        if value < 0 or (value >= (1 << n) and n > 0):
            raise ValueError(f"value {value} does not fit in {n} bits")
        self.bits.extend((value >> (n - 1 - k)) & 1 for k in range(n))

    def lh(self, h: bool) -> None:
        pos = len(self.bits)
        pad = (PADDING >> (7 - (pos & 7))) & 1
        self.bits.append(pad ^ int(bool(h)))

    def to_bytes(self, n_octets: int, pad: bool = True) -> bytes:
        """The bits as `n_octets` octets, filled with the 0x2B spare padding
        (`pad=True`) or with zeros."""
        if len(self.bits) > n_octets * 8:
            raise ValueError(f"{len(self.bits)} bits do not fit in {n_octets} octets")
        bits = list(self.bits)
        while len(bits) < n_octets * 8:
            pos = len(bits)
            bits.append(((PADDING >> (7 - (pos & 7))) & 1) if pad else 0)
        out = bytearray(n_octets)
        for i, b in enumerate(bits):
            if b:
                out[i >> 3] |= 0x80 >> (i & 7)
        return bytes(out)
