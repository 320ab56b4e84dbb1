"""Immediate Assignment (TS 44.018 9.1.18): which channel the network gives.

Layout (after pseudo length and 0x06 0x3F)::

    3      PAGE MODE:4 (low nibble) | DEDICATED MODE OR TBF:4 (high nibble,
           10.5.2.25b: bit 1 T/D = 1 for a TBF, bit 2 downlink)
    4-6    Channel Description (10.5.2.5) or Packet Channel Description
           (10.5.2.25a): CHANNEL TYPE AND TDMA OFFSET:5 TN:3 | TSC:3 H:1 ...
    7-9    Request Reference (RA, T1'/T3/T2)
    10     Timing Advance
    11     Mobile Allocation (LV), [0x7C Starting Time], IA Rest Octets

    Channel type (5 bits): 00001 TCH/F, 0001T TCH/H, 001TT SDCCH/4,
    01TTT SDCCH/8 (T = sub-channel); for a TBF, 00001 = PDCH.

Hand-written (short fixed layout).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo.common import Malformed, MalformedError, header

MSG_TYPE = 0x3F
NAME = "IA"


@dataclass(frozen=True)
class ImmediateAssignment:
    page_mode: int
    tbf: bool              # a packet (TBF) assignment rather than a dedicated channel
    downlink: bool
    channel_type: str      # "TCH/F" | "TCH/H" | "SDCCH/4" | "SDCCH/8" | "PDCH" | "unknown"
    subchannel: int | None
    timeslot: int
    tsc: int
    hopping: bool
    ra: int
    timing_advance: int


def channel_type(code: int, tbf: bool) -> tuple[str, int | None]:
    if code == 0b00001:
        return ("PDCH" if tbf else "TCH/F"), None
    if code >> 1 == 0b0001:
        return "TCH/H", code & 1
    if code >> 2 == 0b001:
        return "SDCCH/4", code & 3
    if code >> 3 == 0b01:
        return "SDCCH/8", code & 7
    return "unknown", None


def parse(frame: bytes) -> ImmediateAssignment | Malformed:
    try:
        plen = header(frame, MSG_TYPE, NAME)
        if len(frame) < 23 or plen < 9:
            raise MalformedError(f"IA: L2 pseudo length {plen}")
        dm = frame[3] >> 4
        tbf, dl = bool(dm & 1), bool(dm & 2)
        ct, sub = channel_type(frame[4] >> 3, tbf)
        return ImmediateAssignment(frame[3] & 3, tbf, dl, ct, sub, frame[4] & 7, frame[5] >> 5,
                                   bool(frame[5] & 0x10), frame[7], frame[10] & 0x3F)
    except MalformedError as e:
        return Malformed(NAME, str(e), MSG_TYPE)
