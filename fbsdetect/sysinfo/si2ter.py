"""System Information Type 2ter (TS 44.018 9.1.34), rest octets 10.5.2.33a.

Layout::

    0      L2 pseudo length (0x01 on the networks we saw; the spec says 18)
    1-2    0x06 0x03
    3-18   Neighbour Cell Description 2 (10.5.2.22a): FORMAT-ID:1
           MULTIBAND-REPORTING:2 BA-IND:1, then the list as in `freqlist`
    19-22  SI 2ter Rest Octets::

        { L | H <SI2ter_MP_CHANGE_MARK:1> <SI2ter_3G_CHANGE_MARK:1>
                <SI2ter_INDEX:3> <SI2ter_COUNT:3>
                { 0 | 1 <UTRAN FDD Description> } { 0 | 1 <UTRAN TDD Description> }
                ... } < spare padding >

We decode the list, and from the rest octets the index/count and whether a
UTRAN FDD description is present. Hand-written (fixed layout; the rest
octets are read only up to the two presence bits).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo import freqlist
from fbsdetect.sysinfo.bits import BitReader, BitsExhausted
from fbsdetect.sysinfo.common import Malformed, MalformedError, header, l2_frame, need

MSG_TYPE = 0x03
NAME = "SI2ter"


@dataclass(frozen=True)
class SI2ter:
    ba: freqlist.FreqList
    rest_present: bool
    index: int | None = None
    count: int | None = None
    utran_fdd: bool = False  # a UTRAN FDD Description is present

    @property
    def arfcns(self) -> tuple[int, ...]:
        return self.ba.arfcns


def parse(frame: bytes) -> SI2ter | Malformed:
    try:
        header(frame, MSG_TYPE, NAME)
        need(frame, 23, NAME)
        ba = freqlist.decode(frame[3:19], "ncd2")
        rd = BitReader(frame[19:23])
        if not rd.lh():
            return SI2ter(ba, False)
        rd.read(2)  # MP and 3G change marks
        index, count = rd.read(3), rd.read(3)
        return SI2ter(ba, True, index, count, utran_fdd=bool(rd.opt()))
    except (MalformedError, freqlist.FreqListError, BitsExhausted) as e:
        return Malformed(NAME, str(e), MSG_TYPE)


def build(extended_ba: list[int] | tuple[int, ...] = (), fmt: str | None = None,
          multiband_reporting: int = 0, ba_ind: int = 0) -> bytes:
    """SI2ter with the extended BA list and empty rest octets (all L)."""
    body = bytes([0x06, MSG_TYPE]) + freqlist.encode(
        extended_ba, fmt if extended_ba else (fmt or "bitmap0"), kind="ncd2",
        multiband_reporting=multiband_reporting, ba_ind=ba_ind)
    return l2_frame(0, body)
