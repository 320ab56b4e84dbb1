"""System Information Type 2 (TS 44.018 9.1.32) and Type 2bis (9.1.33).

SI2 layout::

    0      L2 pseudo length (22 -> 0x59)
    1-2    0x06 0x1A
    3-18   Neighbour Cell Description (10.5.2.22): BCCH allocation (BA list),
           EXT-IND, BA-IND; formats in `freqlist`
    19     NCC Permitted (10.5.2.27): bit n+1 set = NCC n permitted
    20-22  RACH Control Parameters (10.5.2.29)

SI2bis layout: pseudo length 21 (0x55), type 0x02, the extended Neighbour
Cell Description (octets 3-18), RACH Control Parameters (19-21) and one rest
octet (spare padding).

Hand-written (fixed layout; the frequency list codec is `freqlist`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo import freqlist
from fbsdetect.sysinfo.common import (
    Malformed,
    MalformedError,
    RachControl,
    decode_rach,
    encode_rach,
    header,
    l2_frame,
    need,
)

MSG_TYPE = 0x1A
MSG_TYPE_2BIS = 0x02


@dataclass(frozen=True)
class SI2:
    ba: freqlist.FreqList
    ncc_permitted: int | None  # None for SI2bis
    rach: RachControl
    bis: bool = False

    @property
    def arfcns(self) -> tuple[int, ...]:
        return self.ba.arfcns


def parse(frame: bytes) -> SI2 | Malformed:
    """SI2 or SI2bis (dispatching on the message type)."""
    bis = len(frame) > 2 and frame[2] == MSG_TYPE_2BIS
    name = "SI2bis" if bis else "SI2"
    try:
        header(frame, MSG_TYPE_2BIS if bis else MSG_TYPE, name)
        need(frame, 22 if bis else 23, name)
        ba = freqlist.decode(frame[3:19], "ncd")
        if bis:
            return SI2(ba, None, decode_rach(frame[19:22]), True)
        return SI2(ba, frame[19], decode_rach(frame[20:23]))
    except (MalformedError, freqlist.FreqListError) as e:
        return Malformed(name, str(e), MSG_TYPE_2BIS if bis else MSG_TYPE)


def build(neighbours: list[int] | tuple[int, ...], ncc_permitted: int = 0xFF,
          rach: RachControl | None = None, fmt: str | None = None, ext_ind: int = 0,
          ba_ind: int = 0) -> bytes:
    """SI2 with the BA list `neighbours` (format: `freqlist.choose_format` unless given)."""
    body = (bytes([0x06, MSG_TYPE])
            + freqlist.encode(neighbours, fmt, kind="ncd", ext_ind=ext_ind, ba_ind=ba_ind)
            + bytes([ncc_permitted & 0xFF]) + encode_rach(rach or RachControl()))
    return l2_frame(22, body)


def build_2bis(neighbours: list[int] | tuple[int, ...], rach: RachControl | None = None,
               fmt: str | None = None, ext_ind: int = 1, ba_ind: int = 0) -> bytes:
    body = (bytes([0x06, MSG_TYPE_2BIS])
            + freqlist.encode(neighbours, fmt, kind="ncd", ext_ind=ext_ind, ba_ind=ba_ind)
            + encode_rach(rach or RachControl()))
    return l2_frame(21, body)
