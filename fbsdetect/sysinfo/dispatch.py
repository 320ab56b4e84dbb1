"""`parse_any(frame)`: one BCCH/CCCH L2 frame -> a typed message or an outcome.

Dispatch on the RR message type (octet 2) after checking the L2 pseudo length
octet and the protocol discriminator (TS 44.018 10.1-10.4):

    0x19 SI1   0x1A SI2   0x02 SI2bis   0x03 SI2ter   0x07 SI2quater
    0x1B SI3   0x1C SI4   0x00 SI13     0x21/0x22/0x24 Paging Request 1/2/3
    0x3F Immediate Assignment

Outcomes that are not messages: `L2Fill` (pseudo length 0 and only 0x2B, or
an all-0x2B frame), `Unsupported` (another message type, a non-RR PD, a
non-zero skip indicator, a short-PD message without pseudo length) and
`Malformed` (a known type that does not parse). Nothing raises for any input
bytes. Results are cached by frame content (BCCH repeats the same SI frames
every few seconds, and idle CCCH repeats the same fill). Hand-written table.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Union

from fbsdetect.sysinfo import immediate_assignment, paging, si1, si2, si2quater, si2ter, si3, si4, si13
from fbsdetect.sysinfo.common import RR_NAMES, L2Fill, Malformed, Unsupported

Message = Union[  # noqa: UP007 - readable alias
    si1.SI1, si2.SI2, si2ter.SI2ter, si2quater.SI2quater, si3.SI3, si4.SI4, si13.SI13,
    paging.PagingRequest, immediate_assignment.ImmediateAssignment,
]
Outcome = Union[Message, L2Fill, Unsupported, Malformed]  # noqa: UP007

PARSERS: dict[int, Callable[[bytes], Any]] = {
    si1.MSG_TYPE: si1.parse,
    si2.MSG_TYPE: si2.parse,
    si2.MSG_TYPE_2BIS: si2.parse,
    si2ter.MSG_TYPE: si2ter.parse,
    si2quater.MSG_TYPE: si2quater.parse,
    si3.MSG_TYPE: si3.parse,
    si4.MSG_TYPE: si4.parse,
    si13.MSG_TYPE: si13.parse,
    paging.P1: paging.parse,
    paging.P2: paging.parse,
    paging.P3: paging.parse,
    immediate_assignment.MSG_TYPE: immediate_assignment.parse,
}

ALL_PARSERS: tuple[Callable[[bytes], Any], ...] = tuple(dict.fromkeys(PARSERS.values()))
"""Each message parser once (for fuzzing and benchmarks)."""

# SI type key (contracts.md section 4 "si") of each SI message type
SI_KEYS: dict[int, str] = {
    si1.MSG_TYPE: "1", si2.MSG_TYPE: "2", si2.MSG_TYPE_2BIS: "2bis", si2ter.MSG_TYPE: "2ter",
    si2quater.MSG_TYPE: "2quater", si3.MSG_TYPE: "3", si4.MSG_TYPE: "4", si13.MSG_TYPE: "13",
}


def si_key(frame: bytes) -> str | None:
    """"1", "2", "2bis", "2ter", "2quater", "3", "4", "13" for an SI frame, else None."""
    if len(frame) < 3 or frame[0] & 3 != 1 or frame[1] != 0x06:
        return None
    return SI_KEYS.get(frame[2])


def _is_fill(frame: bytes) -> bool:
    if all(b == 0x2B for b in frame):
        return True
    return frame[0] in (0x01, 0x03) and all(b == 0x2B for b in frame[1:])


@lru_cache(maxsize=4096)
def _parse_cached(frame: bytes) -> Outcome:
    if len(frame) != 23:
        return Malformed("", f"frame of {len(frame)} octets, expected 23")
    if _is_fill(frame):
        return L2Fill()
    if frame[0] & 3 != 1:
        return Unsupported("no L2 pseudo length (short PD or SACCH format)")
    if frame[1] & 0x0F != 0x06:
        return Unsupported(f"protocol discriminator {frame[1] & 0xF}, not RR")
    if frame[1] >> 4:
        return Unsupported(f"skip indicator {frame[1] >> 4}")
    mt = frame[2]
    parser = PARSERS.get(mt)
    if parser is None:
        return Unsupported("message type not decoded", mt, RR_NAMES.get(mt, f"RR 0x{mt:02x}"))
    try:
        return parser(frame)
    except Exception as e:  # a parser bug must not stop a scan; counted as malformed
        return Malformed(RR_NAMES.get(mt, ""), f"parser error {type(e).__name__}: {e}", mt)


def parse_any(frame: bytes | bytearray | memoryview) -> Outcome:
    """Parse one 23-octet BCCH/CCCH frame; never raises."""
    return _parse_cached(bytes(frame))
