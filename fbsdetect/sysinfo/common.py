"""Pieces shared by the message modules: the L2 pseudo-length/RR header, the
parse outcomes `Malformed` / `Unsupported` / `L2Fill`, and the information
elements that several SI messages carry.

Frame layout on BCCH/CCCH (TS 44.018 9.1, 10.1, 10.5.2.19; TS 44.006 for the
B4 format): 23 octets::

    octet 0   L2 pseudo length: bits 8..3 = length of the message up to (not
              including) its rest octets, bits 2..1 = 01
    octet 1   skip indicator (bits 8..5, must be 0) | protocol discriminator
              (bits 4..1, 0110 = RR)
    octet 2   message type
    octet 3.. message body, then rest octets, then 0x2B spare padding to 23

Information elements (TS 44.018 10.5, TS 24.008 10.5.1):

    LAI 10.5.1.3 (5 oct): MCC2|MCC1, MNC3|MCC3, MNC2|MNC1 (BCD, MNC3 = F for
        a two-digit MNC), LAC (16 bits)
    Cell Selection Parameters 10.5.2.4 (2 oct):
        CELL-RESELECT-HYSTERESIS:3 MS-TXPWR-MAX-CCH:5 | ACS:1 NECI:1 RXLEV-ACCESS-MIN:6
    RACH Control Parameters 10.5.2.29 (3 oct):
        MAX-RETRANS:2 TX-INTEGER:4 CELL_BAR_ACCESS:1 RE:1 | AC15..AC8 | AC7..AC0
        (bit 3 of octet 2 is EC, access class 10)

Hand-written: these are fixed octet layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo.bits import BitReader, BitWriter

FRAME_LEN = 23
PD_RR = 0x6
PAD = 0x2B


class MalformedError(ValueError):
    """Internal: raised by a parser, turned into a `Malformed` outcome."""


@dataclass(frozen=True)
class Malformed:
    """A frame that claims to be a known message but does not parse."""

    message: str  # our name of the message type ("SI3", "P1", ...) or "" if unknown
    reason: str
    msg_type: int | None = None


@dataclass(frozen=True)
class Unsupported:
    """A frame we do not decode (other message type, short PD, non-RR ...)."""

    reason: str
    msg_type: int | None = None
    name: str = ""


@dataclass(frozen=True)
class L2Fill:
    """An L2 fill frame (pseudo length 0 and nothing but 0x2B padding)."""

    kind: str = "fill"


# RR message types seen on BCCH/CCCH (TS 44.018 10.4) that we name but do not decode
RR_NAMES: dict[int, str] = {
    0x00: "SI13", 0x01: "SI14", 0x02: "SI2bis", 0x03: "SI2ter", 0x04: "SI9", 0x05: "SI5bis",
    0x06: "SI5ter", 0x07: "SI2quater", 0x09: "VGCS uplink grant", 0x18: "SI8", 0x19: "SI1",
    0x1A: "SI2", 0x1B: "SI3", 0x1C: "SI4", 0x1D: "SI5", 0x1E: "SI6", 0x1F: "SI7",
    0x20: "Notification/NCH", 0x21: "Paging Request Type 1", 0x22: "Paging Request Type 2",
    0x24: "Paging Request Type 3", 0x39: "Immediate Assignment Extended",
    0x3A: "Immediate Assignment Reject", 0x3D: "SI16", 0x3E: "SI17",
    0x3F: "Immediate Assignment", 0x40: "SI18", 0x41: "SI19", 0x42: "SI20", 0x43: "SI15",
    0x44: "SI13alt", 0x45: "SI2n", 0x46: "SI21", 0x47: "SI22", 0x4F: "SI23",
    0x69: "Immediate Packet Assignment", 0x6A: "EC Immediate Assignment Type 1",
}


def header(frame: bytes, msg_type: int, name: str) -> int:
    """Check the L2 pseudo length, PD and message type; return the pseudo length."""
    if len(frame) < 3:
        raise MalformedError(f"{name}: frame of {len(frame)} octets")
    if frame[0] & 0x03 != 0x01:
        raise MalformedError(f"{name}: octet 0 is not an L2 pseudo length")
    if frame[1] != PD_RR:
        raise MalformedError(f"{name}: not an RR message with skip indicator 0")
    if frame[2] != msg_type:
        raise MalformedError(f"{name}: message type 0x{frame[2]:02x}")
    return frame[0] >> 2


def need(frame: bytes, n: int, name: str) -> None:
    if len(frame) < n:
        raise MalformedError(f"{name}: needs {n} octets, frame has {len(frame)}")


def l2_frame(pseudo_length: int, body: bytes, rest: bytes = b"") -> bytes:
    """pseudo-length octet + body (+ rest octets), padded to 23 octets with 0x2B."""
    out = bytes([(pseudo_length << 2) | 0x01]) + body + rest
    if len(out) > FRAME_LEN:
        raise ValueError(f"message of {len(out)} octets exceeds {FRAME_LEN}")
    return out + bytes([PAD]) * (FRAME_LEN - len(out))


# ----------------------------------------------------------------------------- LAI

def decode_plmn(b: bytes) -> tuple[int, int, int]:
    """(mcc, mnc, mnc_digits) from the 3 BCD octets; raises MalformedError."""
    d = [b[0] & 0xF, b[0] >> 4, b[1] & 0xF, b[1] >> 4, b[2] & 0xF, b[2] >> 4]
    mcc_d, mnc3, mnc12 = d[0:3], d[3], d[4:6]
    if any(x > 9 for x in mcc_d + mnc12) or (mnc3 > 9 and mnc3 != 0xF):
        raise MalformedError(f"PLMN octets {b.hex()} are not BCD")
    mcc = mcc_d[0] * 100 + mcc_d[1] * 10 + mcc_d[2]
    if mnc3 == 0xF:
        return mcc, mnc12[0] * 10 + mnc12[1], 2
    return mcc, mnc12[0] * 100 + mnc12[1] * 10 + mnc3, 3


def encode_plmn(mcc: int, mnc: int, mnc_digits: int = 2) -> bytes:
    if not (0 <= mcc <= 999) or not (0 <= mnc <= (99 if mnc_digits == 2 else 999)):
        raise ValueError(f"MCC {mcc} / MNC {mnc} out of range")
    m1, m2, m3 = mcc // 100, mcc // 10 % 10, mcc % 10
    if mnc_digits == 2:
        n1, n2, n3 = mnc // 10, mnc % 10, 0xF
    else:
        n1, n2, n3 = mnc // 100, mnc // 10 % 10, mnc % 10
    return bytes([(m2 << 4) | m1, (n3 << 4) | m3, (n2 << 4) | n1])


@dataclass(frozen=True)
class Lai:
    mcc: int
    mnc: int
    lac: int
    mnc_digits: int = 2


def decode_lai(b: bytes) -> Lai:
    mcc, mnc, nd = decode_plmn(b[0:3])
    return Lai(mcc, mnc, (b[3] << 8) | b[4], nd)


def encode_lai(lai: Lai) -> bytes:
    if not 0 <= lai.lac <= 0xFFFF:
        raise ValueError(f"LAC {lai.lac} out of range")
    return encode_plmn(lai.mcc, lai.mnc, lai.mnc_digits) + lai.lac.to_bytes(2, "big")


# ----------------------------------------------------------------------------- cell selection

@dataclass(frozen=True)
class CellSelection:
    cell_reselect_hysteresis: int  # 0..7 (2 dB steps)
    ms_txpwr_max_cch: int          # 0..31
    acs: int                       # 0..1
    neci: int                      # 0..1
    rxlev_access_min: int          # 0..63


def decode_cell_selection(b: bytes) -> CellSelection:
    return CellSelection(b[0] >> 5, b[0] & 0x1F, b[1] >> 7, (b[1] >> 6) & 1, b[1] & 0x3F)


def encode_cell_selection(c: CellSelection) -> bytes:
    _range("cell_reselect_hysteresis", c.cell_reselect_hysteresis, 7)
    _range("ms_txpwr_max_cch", c.ms_txpwr_max_cch, 31)
    _range("rxlev_access_min", c.rxlev_access_min, 63)
    return bytes([(c.cell_reselect_hysteresis << 5) | c.ms_txpwr_max_cch,
                  (c.acs & 1) << 7 | (c.neci & 1) << 6 | c.rxlev_access_min])


@dataclass(frozen=True)
class RachControl:
    max_retrans: int = 2       # 0..3 -> 1, 2, 4, 7 retransmissions
    tx_integer: int = 14       # 0..15 -> 3..50 slots (14 = 32 slots)
    cell_barred: bool = False  # CELL_BAR_ACCESS
    re_not_allowed: bool = True  # RE: 1 = call re-establishment not allowed
    access_classes: int = 0    # 16 bits, a 1 bars the class (AC15..AC0, EC at bit 10)


def decode_rach(b: bytes) -> RachControl:
    return RachControl(b[0] >> 6, (b[0] >> 2) & 0xF, bool(b[0] & 2), bool(b[0] & 1),
                       (b[1] << 8) | b[2])


def encode_rach(r: RachControl) -> bytes:
    _range("max_retrans", r.max_retrans, 3)
    _range("tx_integer", r.tx_integer, 15)
    return bytes([(r.max_retrans << 6) | (r.tx_integer << 2) | (int(r.cell_barred) << 1)
                  | int(r.re_not_allowed)]) + (r.access_classes & 0xFFFF).to_bytes(2, "big")


# ----------------------------------------------------------------------------- rest-octet pieces

@dataclass(frozen=True)
class SelectionParameters:
    """Optional selection parameters of SI3/SI4 rest octets (10.5.2.34/35)."""

    cbq: int = 0
    cell_reselect_offset: int = 0  # CRO, 2 dB steps, 0..63
    temporary_offset: int = 0      # 0..7 (10 dB steps, 7 = infinity)
    penalty_time: int = 0          # 0..31 (20 s steps + 20 s; 31 = CRO ignored)


@dataclass(frozen=True)
class GprsIndicator:
    ra_colour: int = 0     # 0..7
    si13_position: int = 0  # 0 = BCCH Norm, 1 = BCCH Ext


def read_selection_parameters(rd: BitReader) -> SelectionParameters | None:
    if not rd.lh():
        return None
    return SelectionParameters(rd.read(1), rd.read(6), rd.read(3), rd.read(5))


def write_selection_parameters(wr: BitWriter, sp: SelectionParameters | None) -> None:
    if sp is None:
        wr.lh(False)
        return
    _range("cbq", sp.cbq, 1)
    _range("cro", sp.cell_reselect_offset, 63)
    _range("temporary_offset", sp.temporary_offset, 7)
    _range("penalty_time", sp.penalty_time, 31)
    wr.lh(True)
    wr.write(sp.cbq, 1)
    wr.write(sp.cell_reselect_offset, 6)
    wr.write(sp.temporary_offset, 3)
    wr.write(sp.penalty_time, 5)


def read_selection_and_power_offset(rd: BitReader) -> tuple[SelectionParameters | None, int | None]:
    """The head shared by SI3 and SI4 rest octets (10.5.2.34/35):
    <Optional selection parameter> <Optional Power offset: L | H <POWER_OFFSET:2>>."""
    return read_selection_parameters(rd), (rd.read(2) if rd.lh() else None)


def write_selection_and_power_offset(wr: BitWriter, sp: SelectionParameters | None,
                                     power_offset: int | None) -> None:
    write_selection_parameters(wr, sp)
    wr.lh(power_offset is not None)
    if power_offset is not None:
        wr.write(power_offset, 2)


def read_gprs_indicator(rd: BitReader) -> GprsIndicator | None:
    if not rd.lh():
        return None
    return GprsIndicator(rd.read(3), rd.read(1))


def write_gprs_indicator(wr: BitWriter, g: GprsIndicator | None) -> None:
    if g is None:
        wr.lh(False)
        return
    _range("ra_colour", g.ra_colour, 7)
    wr.lh(True)
    wr.write(g.ra_colour, 3)
    wr.write(g.si13_position & 1, 1)


def _range(name: str, value: int, hi: int) -> None:
    if not 0 <= value <= hi:
        raise ValueError(f"{name} = {value} outside 0..{hi}")
