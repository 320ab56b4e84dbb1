"""LAPDm (TS 44.006) on SDCCH and SACCH, downlink, as a receiver sees it:
frame parsing and reassembly of segmented layer-3 messages. Hand-written (a
few fixed octets; pycrate has no LAPDm).

Frame (format B, 23 octets on SDCCH; on SACCH after the 2-octet L1 header)::

    address   spare:1 LPD:2 SAPI:3 C/R:1 EA:1      (SAPI 0 signalling, 3 SMS)
    control   I: N(R):3 P:1 N(S):3 0 | S: N(R):3 P/F:1 SS:2 01 | U: MMM P/F MM 11
              (SABM 0x2F, UA 0x63, DM 0x0F, DISC 0x43, UI 0x03; P/F = 0x10)
    length    L:6 M:1 EL:1   (M = more segments follow)
    info      L octets, then fill 0x2B

Reassembly: per SAPI, I frames are appended in N(S) order; a frame whose
N(S) repeats the last one accepted is a retransmission (counted, dropped); a
gap (a frame lost to a bad block) drops the partial message and the rest of
it (counted; a single-frame message right after a gap is kept). A UA
carrying information (contention resolution) returns that information as a
message (it echoes the phone's first message: Paging Response, LU Request).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

FILL = 0x2B
SDCCH_INFO = 20
SACCH_INFO = 18

U_SABM, U_UA, U_DM, U_DISC, U_UI = 0x2F, 0x63, 0x0F, 0x43, 0x03


@dataclass(frozen=True)
class LapdmFrame:
    sapi: int
    cr: int
    kind: str            # "I" | "S" | "U"
    name: str            # I, RR, RNR, REJ, SABM, UA, DM, DISC, UI, U?
    ns: int | None
    nr: int | None
    pf: bool
    more: bool
    info: bytes


def parse_frame(data: bytes, sacch: bool = False) -> LapdmFrame | str:
    """A LapdmFrame, or a string naming why it is malformed."""
    if sacch:
        data = data[2:]
    if len(data) < 3:
        return "short"
    a, c, ln = data[0], data[1], data[2]
    if not a & 1 or not ln & 1:
        return "extended address or length"
    length = ln >> 2
    if length > len(data) - 3 or length > (SACCH_INFO if sacch else SDCCH_INFO):
        return "length beyond the frame"
    info = bytes(data[3:3 + length])
    sapi, cr, more = (a >> 2) & 7, (a >> 1) & 1, bool(ln & 2)
    pf = bool(c & 0x10)
    if not c & 1:
        return LapdmFrame(sapi, cr, "I", "I", (c >> 1) & 7, c >> 5, pf, more, info)
    if c & 3 == 1:
        name = {0: "RR", 1: "RNR", 2: "REJ"}.get((c >> 2) & 3, "S?")
        return LapdmFrame(sapi, cr, "S", name, None, c >> 5, pf, more, info)
    u = c & ~0x10
    name = {U_SABM: "SABM", U_UA: "UA", U_DM: "DM", U_DISC: "DISC", U_UI: "UI"}.get(u, "U?")
    return LapdmFrame(sapi, cr, "U", name, None, None, pf, more, info)


def build_frames(sapi: int, l3: bytes, *, ns0: int = 0, nr: int = 0, cr: int = 1,
                 sacch: bool = False) -> list[bytes]:
    """The I frames carrying `l3` (segmented, N(S) from ns0), 23 octets each
    (SACCH: with a zero L1 header). For the simulator and tests."""
    n = SACCH_INFO if sacch else SDCCH_INFO
    chunks = [l3[i:i + n] for i in range(0, len(l3), n)] or [b""]
    out = []
    for k, ch in enumerate(chunks):
        more = k < len(chunks) - 1
        a = (sapi << 2) | (cr << 1) | 1
        c = ((nr & 7) << 5) | (((ns0 + k) & 7) << 1)
        ln = (len(ch) << 2) | (2 if more else 0) | 1
        body = bytes([a, c, ln]) + ch
        out.append(_pad((b"\x00\x00" if sacch else b"") + body))
    return out


def build_u(sapi: int, u: int, *, pf: bool = True, cr: int = 1, info: bytes = b"") -> bytes:
    a = (sapi << 2) | (cr << 1) | 1
    return _pad(bytes([a, u | (0x10 if pf else 0), (len(info) << 2) | 1]) + info)


def _pad(b: bytes) -> bytes:
    return b + bytes([FILL]) * (23 - len(b))


@dataclass
class Reassembler:
    """Per-SAPI reassembly of one followed channel's downlink. `push` returns
    the complete layer-3 messages (sapi, bytes) the frame finishes."""

    stats: Counter[str] = field(default_factory=Counter)
    _buf: dict[int, bytearray] = field(default_factory=dict)
    _last_ns: dict[int, int] = field(default_factory=dict)
    _skip: set[int] = field(default_factory=set)

    def push(self, data: bytes, sacch: bool = False) -> list[tuple[int, bytes]]:
        f = parse_frame(data, sacch)
        if isinstance(f, str):
            self.stats["lapdm_malformed"] += 1
            return []
        if f.kind == "U":
            if f.name == "SABM":
                self._buf.pop(f.sapi, None)
                self._last_ns.pop(f.sapi, None)
                self._skip.discard(f.sapi)
            if f.name in ("UA", "SABM", "UI") and f.info:
                return [(f.sapi, f.info)]
            if f.name in ("DISC", "DM"):
                self._buf.pop(f.sapi, None)
                self._last_ns.pop(f.sapi, None)
            return []
        if f.kind == "S":
            return []
        assert f.ns is not None
        last = self._last_ns.get(f.sapi)
        if last is not None and f.ns == last:
            self.stats["lapdm_retransmission"] += 1
            return []
        self._last_ns[f.sapi] = f.ns
        if last is not None and f.ns != (last + 1) % 8:
            # frames were lost: what arrives may be the middle of a message
            self.stats["lapdm_gap"] += 1
            self._buf.pop(f.sapi, None)
            if f.more:
                self._skip.add(f.sapi)
                return []
        if f.sapi in self._skip:
            if not f.more:
                self._skip.discard(f.sapi)
                self.stats["lapdm_dropped"] += 1
            return []
        buf = self._buf.setdefault(f.sapi, bytearray())
        buf += f.info
        if len(buf) > 4096:
            self.stats["lapdm_too_long"] += 1
            del self._buf[f.sapi]
            return []
        if f.more:
            return []
        del self._buf[f.sapi]
        return [(f.sapi, bytes(buf))]


def pseudonymise_frame(data: bytes, key: bytes, sacch: bool = False) -> bytes:
    """A 23-octet frame with the Mobile Identity of the message it carries or
    starts (the UA's echo of the phone's first message, a TMSI Reallocation, the
    first segment of an LU Accept that also lists equivalent PLMNs ...) replaced
    by a keyed pseudonym (`identity.pseudonymise_l3`). The identity sits within
    the first 18 octets of every message that carries one, so the first
    segment of a segmented message holds it whole; one cut off by an odd
    segmentation becomes fill."""
    from fbsdetect.l3.identity import pseudonymise_l3

    f = parse_frame(data, sacch)
    if isinstance(f, str) or not f.info:
        return data
    new = pseudonymise_l3(f.info, key, segment=f.more)
    if new == f.info:
        return data
    start = (2 if sacch else 0) + 3
    return data[:start] + new + data[start + len(new):]
