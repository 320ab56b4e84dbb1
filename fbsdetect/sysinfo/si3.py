"""System Information Type 3 (TS 44.018 9.1.35), rest octets 10.5.2.34.

Layout (23 octets)::

    0      L2 pseudo length (18 -> 0x49)
    1-2    0x06 0x1B
    3-4    Cell identity (16 bits)
    5-9    LAI (10.5.1.3)
    10-12  Control Channel Description (10.5.2.11):
           MSCR:1 ATT:1 BS_AG_BLKS_RES:3 CCCH_CONF:3 |
           SI22IND:1 CBQ3:2 spare:2 BS_PA_MFRMS:3 | T3212 (decihours)
    13     Cell Options (BCCH) (10.5.2.3): DN-IND:1 PWRC:1 DTX:2 RADIO-LINK-TIMEOUT:4
    14-15  Cell Selection Parameters (10.5.2.4)
    16-18  RACH Control Parameters (10.5.2.29)
    19-22  SI 3 Rest Octets (CSN.1, L/H relative to 0x2B)::

        { L | H <CBQ:1> <CELL_RESELECT_OFFSET:6> <TEMPORARY_OFFSET:3> <PENALTY_TIME:5> }
        { L | H <POWER_OFFSET:2> }
        < System Information 2ter Indicator : L | H >
        < Early Classmark Sending Control : L | H >
        { L | H <WHERE:3> }                         -- scheduling if and where
        { L | H <RA COLOUR:3> <SI13 POSITION:1> }   -- GPRS indicator
        < 3G Early Classmark Sending Restriction : L | H >
        { L | H <SI2quater POSITION:1> }            -- SI2quater indicator
        < Iu Indicator : L | H ... > < SI 21 Indicator : L | H ... >  -- not decoded
        < spare padding >

`build_rest` refuses fields that leave no room for the last two indicators
(a receiver such as Wireshark then reports the frame malformed).

Rest-octet components past the end of the message read as L (absent).
BS_PA_MFRMS is reported raw (0..7 = 2..9 multiframes); CCCH_CONF raw
(0 = one non-combined CCCH, 1 = combined with SDCCH/4, 2/4/6 = 2/3/4 CCCHs,
3/5/7 reserved); `ccch_timeslots`, `ccch_combined` and `paging_groups` say
what they mean (TS 45.002 6.5).

Hand-written, fixed part and rest octets: a short linear CSN.1 that is parsed
on every BCCH cycle (measured: pycrate 0.85 ms per SI3 frame, ours 26 µs). pycrate and
tshark decode the same frames in tests/sysinfo as independent checks.
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
    _range,
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

MSG_TYPE = 0x1B
NAME = "SI3"
REST_BITS = 32  # octets 19..22


@dataclass(frozen=True)
class ControlChannel:
    mscr: int = 1            # 1 = MSC release 99 onwards
    att: bool = True
    bs_ag_blks_res: int = 1  # 0..7
    ccch_conf: int = 0       # raw CCCH_CONF
    si22ind: int = 0
    cbq3: int = 0
    bs_pa_mfrms: int = 2     # raw 0..7 (= 2..9 multiframes)
    t3212: int = 0           # decihours, 0 = no periodic updating


# CCCH_CONF (10.5.2.11) -> (basic physical channels carrying CCCH, combined with SDCCH/4);
# 3, 5 and 7 are reserved
_CCCH_CONF: dict[int, tuple[int, bool]] = {0: (1, False), 1: (1, True), 2: (2, False), 4: (3, False),
                                           6: (4, False)}
CCCH_BLOCKS_PER_MF = {False: 9, True: 3}  # CCCH blocks in a 51-multiframe on one CCCH (TS 45.002 6.5.1)


def ccch_timeslots(ccch_conf: int) -> int | None:
    """BS_CC_CHANS: the timeslots of C0 that carry a CCCH (TS0, then TS2, TS4, TS6:
    TS 45.002 6.5.1), 1..4; None for a reserved CCCH_CONF."""
    v = _CCCH_CONF.get(ccch_conf)
    return None if v is None else v[0]


def ccch_combined(ccch_conf: int) -> bool | None:
    """BS_CCCH_SDCCH_COMB: the CCCH shares TS0 with SDCCH/4 (CCCH_CONF 1); None
    for a reserved CCCH_CONF."""
    v = _CCCH_CONF.get(ccch_conf)
    return None if v is None else v[1]


def paging_groups(ccch_conf: int, bs_ag_blks_res: int, bs_pa_mfrms: int) -> int | None:
    """The number of paging groups of the cell (TS 45.002 6.5.2): BS_CC_CHANS x N,
    N = (CCCH blocks of a 51-multiframe - BS_AG_BLKS_RES) x BS_PA_MFRMS, with
    `bs_pa_mfrms` the raw field (0..7 = 2..9 multiframes). 0 when the access-grant
    reservation leaves no block to page in (BS_AG_BLKS_RES above 2 on a combined
    CCCH, outside the 0..2 of TS 45.002 clause 7 table 5); None for a reserved
    CCCH_CONF."""
    v = _CCCH_CONF.get(ccch_conf)
    if v is None:
        return None
    n, combined = v
    return n * max(0, CCCH_BLOCKS_PER_MF[combined] - bs_ag_blks_res) * (bs_pa_mfrms + 2)


@dataclass(frozen=True)
class CellOptions:
    dn_ind: int = 0
    pwrc: int = 0
    dtx: int = 1
    radio_link_timeout: int = 5  # raw 0..15 (= 4..64 SACCH blocks)


@dataclass(frozen=True)
class SI3Rest:
    selection: SelectionParameters | None = None
    power_offset: int | None = None
    si2ter: bool = False
    early_classmark: bool = True
    where: int | None = None
    gprs: GprsIndicator | None = None
    three_g_ecsr: bool = False
    si2quater_position: int | None = None  # None = no SI2quater

    @property
    def si2quater(self) -> bool:
        return self.si2quater_position is not None


@dataclass(frozen=True)
class SI3:
    cid: int
    lai: Lai
    control: ControlChannel
    options: CellOptions
    selection: CellSelection
    rach: RachControl
    rest: SI3Rest


def parse_rest(rest: bytes) -> SI3Rest:
    rd = BitReader(rest)
    sel, po = read_selection_and_power_offset(rd)
    si2ter = bool(rd.lh())
    ecsc = bool(rd.lh())
    where = rd.read(3) if rd.lh() else None
    gprs = read_gprs_indicator(rd)
    ecsr = bool(rd.lh())
    si2q = rd.read(1) if rd.lh() else None
    return SI3Rest(sel, po, si2ter, ecsc, where, gprs, ecsr, si2q)


def build_rest(r: SI3Rest) -> bytes:
    wr = BitWriter()
    write_selection_and_power_offset(wr, r.selection, r.power_offset)
    wr.lh(r.si2ter)
    wr.lh(r.early_classmark)
    wr.lh(r.where is not None)
    if r.where is not None:
        wr.write(r.where, 3)
    write_gprs_indicator(wr, r.gprs)
    wr.lh(r.three_g_ecsr)
    wr.lh(r.si2quater_position is not None)
    if r.si2quater_position is not None:
        wr.write(r.si2quater_position & 1, 1)
    if len(wr) > REST_BITS - 2:
        raise ValueError(f"SI3 rest octets of {len(wr)} bits leave no room for the Iu and SI 21 "
                         f"indicators (one L/H bit each, TS 44.018 10.5.2.34): at most {REST_BITS - 2}")
    return wr.to_bytes(REST_BITS // 8)


def parse(frame: bytes) -> SI3 | Malformed:
    try:
        header(frame, MSG_TYPE, NAME)
        need(frame, 23, NAME)
        cc = frame[10:13]
        control = ControlChannel(cc[0] >> 7, bool(cc[0] & 0x40), (cc[0] >> 3) & 7, cc[0] & 7,
                                 cc[1] >> 7, (cc[1] >> 5) & 3, cc[1] & 7, cc[2])
        co = frame[13]
        options = CellOptions(co >> 7, (co >> 6) & 1, (co >> 4) & 3, co & 0xF)
        return SI3((frame[3] << 8) | frame[4], decode_lai(frame[5:10]), control, options,
                   decode_cell_selection(frame[14:16]), decode_rach(frame[16:19]),
                   parse_rest(frame[19:23]))
    except (MalformedError, BitsExhausted) as e:
        return Malformed(NAME, str(e), MSG_TYPE)


def build(cid: int, lai: Lai, control: ControlChannel, options: CellOptions,
          selection: CellSelection, rach: RachControl, rest: SI3Rest) -> bytes:
    _range("cid", cid, 0xFFFF)
    _range("t3212", control.t3212, 255)
    _range("bs_ag_blks_res", control.bs_ag_blks_res, 7)
    _range("ccch_conf", control.ccch_conf, 7)
    _range("bs_pa_mfrms", control.bs_pa_mfrms, 7)
    cc = bytes([(control.mscr & 1) << 7 | int(control.att) << 6 | control.bs_ag_blks_res << 3
                | control.ccch_conf,
                (control.si22ind & 1) << 7 | (control.cbq3 & 3) << 5 | control.bs_pa_mfrms,
                control.t3212])
    co = bytes([(options.dn_ind & 1) << 7 | (options.pwrc & 1) << 6 | (options.dtx & 3) << 4
                | (options.radio_link_timeout & 0xF)])
    body = (bytes([0x06, MSG_TYPE]) + cid.to_bytes(2, "big") + encode_lai(lai) + cc + co
            + encode_cell_selection(selection) + encode_rach(rach))
    return l2_frame(18, body, build_rest(rest))
