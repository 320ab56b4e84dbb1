"""System Information Type 1 (TS 44.018 9.1.31), rest octets 10.5.2.32.

Layout::

    0      L2 pseudo length (21 -> 0x55)
    1-2    0x06 0x19
    3-18   Cell Channel Description (10.5.2.1b; formats in `freqlist`)
    19-21  RACH Control Parameters (10.5.2.29)
    22     SI 1 Rest Octets: { L | H <NCH Position:5> } <BAND_INDICATOR: L = 1800 | H = 1900>

Hand-written (fixed layout; the frequency list codec is `freqlist`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo import freqlist
from fbsdetect.sysinfo.bits import BitReader, BitsExhausted, BitWriter
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

MSG_TYPE = 0x19
NAME = "SI1"


@dataclass(frozen=True)
class SI1:
    cell_allocation: freqlist.FreqList
    rach: RachControl
    nch_position: int | None
    band_1900: bool

    @property
    def arfcns(self) -> tuple[int, ...]:
        return self.cell_allocation.arfcns


def parse(frame: bytes) -> SI1 | Malformed:
    try:
        header(frame, MSG_TYPE, NAME)
        need(frame, 23, NAME)
        ca = freqlist.decode(frame[3:19], "ccd")
        rd = BitReader(frame[22:23])
        nch = rd.read(5) if rd.lh() else None
        band = bool(rd.lh())
        return SI1(ca, decode_rach(frame[19:22]), nch, band)
    except (MalformedError, freqlist.FreqListError, BitsExhausted) as e:
        return Malformed(NAME, str(e), MSG_TYPE)


def build(cell_allocation: list[int] | tuple[int, ...], rach: RachControl | None = None,
          fmt: str | None = None, nch_position: int | None = None, band_1900: bool = False) -> bytes:
    wr = BitWriter()
    wr.lh(nch_position is not None)
    if nch_position is not None:
        wr.write(nch_position, 5)
    wr.lh(band_1900)
    body = (bytes([0x06, MSG_TYPE]) + freqlist.encode(cell_allocation, fmt, kind="ccd")
            + encode_rach(rach or RachControl()))
    return l2_frame(21, body, wr.to_bytes(1))
