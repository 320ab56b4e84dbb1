"""System Information Type 4 (TS 44.018 9.1.36), rest octets 10.5.2.35.

Layout::

    0      L2 pseudo length (12, or more with the CBCH elements)
    1-2    0x06 0x1C
    3-7    LAI (10.5.1.3)
    8-9    Cell Selection Parameters (10.5.2.4)
    10-12  RACH Control Parameters (10.5.2.29)
    [0x64 CBCH Channel Description (10.5.2.5), 3 octets]
    [0x72 CBCH Mobile Allocation (10.5.2.21), TLV]
    ...    SI 4 Rest Octets up to octet 22::

        { L | H <CBQ:1> <CELL_RESELECT_OFFSET:6> <TEMPORARY_OFFSET:3> <PENALTY_TIME:5> }
        { L | H <POWER_OFFSET:2> }
        { L | H <RA COLOUR:3> <SI13 POSITION:1> }       -- GPRS indicator
        { L <Break indicator> | H <SI4 Rest Octets_S> }  -- not decoded
        < spare padding >

The rest octets start right after the pseudo length (octet 1 + length).
`build` refuses rest octets whose first octet is 0x64 or 0x72 (no selection
parameters, power offset 2 or 3, particular GPRS indicators): receivers that
look for the optional CBCH elements by IEI instead of by pseudo length, as
Wireshark does, misread them.
Hand-written (as SI3, same reasons).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo.bits import BitReader, BitsExhausted, BitWriter
from fbsdetect.sysinfo.common import (
    CellSelection,
    GprsIndicator,
    Lai,
    Malformed,
    MalformedError,
    RachControl,
    SelectionParameters,
    decode_cell_selection,
    decode_lai,
    decode_rach,
    encode_cell_selection,
    encode_lai,
    encode_rach,
    header,
    l2_frame,
    need,
    read_gprs_indicator,
    read_selection_and_power_offset,
    write_gprs_indicator,
    write_selection_and_power_offset,
)

MSG_TYPE = 0x1C
NAME = "SI4"
IEI_CBCH_CHANNEL = 0x64  # CBCH Channel Description (10.5.2.5), TV 4
IEI_CBCH_MA = 0x72       # CBCH Mobile Allocation (10.5.2.21), TLV


@dataclass(frozen=True)
class SI4Rest:
    selection: SelectionParameters | None = None
    power_offset: int | None = None
    gprs: GprsIndicator | None = None


@dataclass(frozen=True)
class SI4:
    lai: Lai
    selection: CellSelection
    rach: RachControl
    cbch: bytes | None  # CBCH channel description value (3 octets) when present
    rest: SI4Rest


def parse(frame: bytes) -> SI4 | Malformed:
    try:
        plen = header(frame, MSG_TYPE, NAME)
        need(frame, 23, NAME)
        if plen < 12 or plen > 22:
            raise MalformedError(f"SI4: L2 pseudo length {plen}")
        end = 1 + plen
        pos = 13
        cbch = None
        while pos < end:
            iei = frame[pos]
            if iei == IEI_CBCH_CHANNEL:
                cbch = bytes(frame[pos + 1:pos + 4])
                pos += 4
            elif iei == IEI_CBCH_MA:
                pos += 2 + frame[pos + 1]
            else:
                raise MalformedError(f"SI4: unexpected IEI 0x{iei:02x}")
        if pos > end:
            raise MalformedError("SI4: optional elements overrun the pseudo length")
        rd = BitReader(frame[end:23])
        rest = SI4Rest(*read_selection_and_power_offset(rd), read_gprs_indicator(rd))
        return SI4(decode_lai(frame[3:8]), decode_cell_selection(frame[8:10]),
                   decode_rach(frame[10:13]), cbch, rest)
    except (MalformedError, BitsExhausted, IndexError) as e:
        return Malformed(NAME, str(e), MSG_TYPE)


def build(lai: Lai, selection: CellSelection, rach: RachControl, rest: SI4Rest) -> bytes:
    wr = BitWriter()
    write_selection_and_power_offset(wr, rest.selection, rest.power_offset)
    write_gprs_indicator(wr, rest.gprs)
    rest_octets = wr.to_bytes(10)
    if rest_octets[0] in (IEI_CBCH_CHANNEL, IEI_CBCH_MA):
        raise ValueError(f"SI4 rest octets would start with 0x{rest_octets[0]:02x}, the IEI of an optional "
                         "CBCH element: ambiguous for receivers that ignore the pseudo length")
    body = (bytes([0x06, MSG_TYPE]) + encode_lai(lai) + encode_cell_selection(selection)
            + encode_rach(rach))
    return l2_frame(12, body, rest_octets)
