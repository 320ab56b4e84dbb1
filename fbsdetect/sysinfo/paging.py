"""Paging Request Type 1, 2 and 3 (TS 44.018 9.1.22, 9.1.23, 9.1.24) and the
Mobile Identity (TS 24.008 10.5.1.4).

Layouts (after the L2 pseudo length and 0x06 <type>)::

    P1 (0x21): PAGE MODE:4 (low) CHANNEL NEEDED:4 (high) | Mobile Identity 1 (LV)
               | [0x17 Mobile Identity 2 (TLV)] | P1 Rest Octets
    P2 (0x22): PAGE MODE/CHANNEL NEEDED | TMSI 1 (4) | TMSI 2 (4)
               | [0x17 Mobile Identity 3 (TLV)] | P2 Rest Octets
    P3 (0x24): PAGE MODE/CHANNEL NEEDED | TMSI 1..4 (4 each) | P3 Rest Octets

    Mobile Identity value: digit 1:4 | odd/even:1 | type:3 (1 IMSI, 2 IMEI,
    3 IMEISV, 4 TMSI/P-TMSI, 0 no identity), then BCD digits (low nibble
    first, 0xF filler) or the 4-octet TMSI.

The empty paging that fills idle CCCH blocks is a P1 with the "no identity"
identity: 15 06 21 00 01 F0 2B ... (its L2 pseudo length counts up to the
identity). Hand-written: tiny fixed layouts on the busiest channel (most CCCH
blocks are paging), where speed matters (measured: 5 µs per P1 frame, pycrate
4.8 ms); pycrate also re-encodes the empty-paging identity 0xF0 as 0x00.
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo.common import Malformed, MalformedError, header, l2_frame

P1, P2, P3 = 0x21, 0x22, 0x24
NAME = {P1: "P1", P2: "P2", P3: "P3"}
ID_TYPES = {0: "none", 1: "imsi", 2: "imei", 3: "imeisv", 4: "tmsi", 5: "tmgi"}


@dataclass(frozen=True)
class MobileIdentity:
    kind: str          # "imsi" | "tmsi" | "imei" | "imeisv" | "none" | "tmgi" | "unknown"
    value: str = ""    # digits for IMSI/IMEI, 8 hex digits for a TMSI

    def encode(self) -> bytes:
        """The value part (without length)."""
        if self.kind == "none":
            return b"\xf0"
        if self.kind == "tmsi":
            t = bytes.fromhex(self.value)
            if len(t) != 4:
                raise ValueError("a TMSI is 4 octets (8 hex digits)")
            return b"\xf4" + t
        code = {"imsi": 1, "imei": 2, "imeisv": 3}.get(self.kind)
        if code is None or not self.value.isdigit() or not 1 <= len(self.value) <= 16:
            raise ValueError(f"cannot encode identity {self.kind}:{self.value!r}")
        d = [int(c) for c in self.value]
        odd = len(d) % 2
        out = [(d[0] << 4) | (odd << 3) | code]
        rest = d[1:] + ([] if odd else [0xF])
        for i in range(0, len(rest), 2):
            out.append((rest[i + 1] << 4) | rest[i])
        return bytes(out)


def decode_identity(v: bytes) -> MobileIdentity:
    if not v:
        raise MalformedError("empty mobile identity")
    t = v[0] & 7
    kind = ID_TYPES.get(t, "unknown")
    if kind == "tmsi":
        if len(v) != 5:
            raise MalformedError(f"TMSI identity of {len(v)} octets")
        return MobileIdentity("tmsi", v[1:5].hex())
    if kind in ("imsi", "imei", "imeisv"):
        digits = [v[0] >> 4]
        for b in v[1:]:
            digits += [b & 0xF, b >> 4]
        if not v[0] & 8:  # even number of digits: last nibble is the filler
            if digits[-1] != 0xF:
                raise MalformedError("even identity without 0xF filler")
            digits = digits[:-1]
        if any(d > 9 for d in digits):
            raise MalformedError("identity digits are not BCD")
        return MobileIdentity(kind, "".join(map(str, digits)))
    return MobileIdentity(kind)


@dataclass(frozen=True)
class PagingRequest:
    type: int                  # 1, 2 or 3
    page_mode: int
    channel_needed: tuple[int, int]
    identities: tuple[MobileIdentity, ...]

    @property
    def n_imsi(self) -> int:
        return sum(1 for i in self.identities if i.kind == "imsi")

    @property
    def n_tmsi(self) -> int:
        return sum(1 for i in self.identities if i.kind == "tmsi")

    @property
    def is_empty(self) -> bool:
        return all(i.kind == "none" for i in self.identities)


def _tlv_identity(frame: bytes, pos: int, end: int) -> tuple[MobileIdentity | None, int]:
    if pos >= end:
        return None, pos
    if frame[pos] != 0x17:
        raise MalformedError(f"unexpected IEI 0x{frame[pos]:02x}")
    n = frame[pos + 1]
    if pos + 2 + n > end:
        raise MalformedError("mobile identity overruns the message")
    return decode_identity(frame[pos + 2:pos + 2 + n]), pos + 2 + n


def parse(frame: bytes) -> PagingRequest | Malformed:
    mt = frame[2] if len(frame) > 2 else -1
    name = NAME.get(mt, "P?")
    try:
        plen = header(frame, mt, name)
        end = 1 + plen
        if mt not in NAME:
            raise MalformedError(f"not a paging request (0x{mt:02x})")
        if end > len(frame) or len(frame) < 23:
            raise MalformedError(f"{name}: L2 pseudo length {plen} for {len(frame)} octets")
        pm = frame[3]
        page_mode, cn = pm & 3, ((pm >> 4) & 3, (pm >> 6) & 3)
        ids: list[MobileIdentity] = []
        if mt == P1:
            n = frame[4]
            if 5 + n > end or n == 0:
                raise MalformedError(f"P1: identity length {n} overruns the message")
            ids.append(decode_identity(frame[5:5 + n]))
            second, pos = _tlv_identity(frame, 5 + n, end)
            if second is not None:
                ids.append(second)
            typ = 1
        elif mt == P2:
            if end < 12:
                raise MalformedError("P2: too short")
            ids += [MobileIdentity("tmsi", frame[4:8].hex()), MobileIdentity("tmsi", frame[8:12].hex())]
            third, pos = _tlv_identity(frame, 12, end)
            if third is not None:
                ids.append(third)
            typ = 2
        else:
            if end < 20:
                raise MalformedError("P3: too short")
            ids += [MobileIdentity("tmsi", frame[4 + 4 * k:8 + 4 * k].hex()) for k in range(4)]
            pos = 20
            typ = 3
        if mt != P3 and pos != end:
            raise MalformedError(f"{name}: {end - pos} octets left before the rest octets")
        return PagingRequest(typ, page_mode, cn, tuple(ids))
    except (MalformedError, IndexError) as e:
        return Malformed(name, str(e), mt if mt >= 0 else None)


def _pm(page_mode: int, channel_needed: tuple[int, int]) -> int:
    return (page_mode & 3) | (channel_needed[0] & 3) << 4 | (channel_needed[1] & 3) << 6


def build_p1(identities: list[MobileIdentity] | tuple[MobileIdentity, ...], page_mode: int = 0,
             channel_needed: tuple[int, int] = (0, 0)) -> bytes:
    """Paging Request Type 1 with one or two identities (IMSI, TMSI or none)."""
    if not 1 <= len(identities) <= 2:
        raise ValueError("P1 carries one or two mobile identities")
    v1 = identities[0].encode()
    body = bytes([0x06, P1, _pm(page_mode, channel_needed), len(v1)]) + v1
    if len(identities) == 2:
        v2 = identities[1].encode()
        body += bytes([0x17, len(v2)]) + v2
    return l2_frame(len(body), body)


def build_p2(tmsi1: str, tmsi2: str, third: MobileIdentity | None = None, page_mode: int = 0,
             channel_needed: tuple[int, int] = (0, 0)) -> bytes:
    body = (bytes([0x06, P2, _pm(page_mode, channel_needed)]) + bytes.fromhex(tmsi1)
            + bytes.fromhex(tmsi2))
    if len(body) != 11:
        raise ValueError("TMSIs are 4 octets (8 hex digits)")
    if third is not None:
        v = third.encode()
        body += bytes([0x17, len(v)]) + v
    return l2_frame(len(body), body)


def build_p3(tmsis: list[str] | tuple[str, ...], page_mode: int = 0,
             channel_needed: tuple[int, int] = (0, 0)) -> bytes:
    if len(tmsis) != 4:
        raise ValueError("P3 carries four TMSIs")
    body = bytes([0x06, P3, _pm(page_mode, channel_needed)]) + b"".join(bytes.fromhex(t) for t in tmsis)
    if len(body) != 19:
        raise ValueError("TMSIs are 4 octets (8 hex digits)")
    return l2_frame(19, body)


def build_empty() -> bytes:
    """The idle-CCCH fill: P1 with the 'no identity' identity (15 06 21 00 01 F0 2B ...)."""
    return build_p1([MobileIdentity("none")])
