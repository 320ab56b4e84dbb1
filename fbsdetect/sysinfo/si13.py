"""System Information Type 13 (TS 44.018 9.1.43a), rest octets 10.5.2.37b.

Layout: 0x01 (L2 pseudo length 0), 0x06 0x00, then 20 rest octets::

    { L | H <BCCH_CHANGE_MARK:3> <SI_CHANGE_FIELD:4>
        {0 | 1 <SI13_CHANGE_MARK:2> <GPRS Mobile Allocation>}
        { 0 <RAC:8> <SPGC_CCCH_SUP:1> <PRIORITY_ACCESS_THR:3>
            <NETWORK_CONTROL_ORDER:2> <GPRS Cell Options (TS 44.060 12.24)>
            <GPRS Power Control Parameters>
        | 1 <PSI1_REPEAT_PERIOD:4> <PBCCH Description> }
        { null | L | H <SGSNR:1> { L | H <SI_STATUS_IND:1> ... } }
    } <spare padding>

    GPRS Cell Options ::= NMO:2 T3168:3 T3192:3 DRX_TIMER_MAX:3
        ACCESS_BURST_TYPE:1 CONTROL_ACK_TYPE:1 BS_CV_MAX:4
        {0 | 1 <PAN_DEC:3> <PAN_INC:3> <PAN_MAX:3>}
        {0 | 1 <Extension Length:6> <extension bits>}
    GPRS Power Control Parameters ::= ALPHA:4 T_AVG_W:5 T_AVG_T:5 PC_MEAS_CHAN:1 N_AVG_I:4

NMO is raw (0 = network mode of operation I, 1 = II, 2 = III).

Parsing: pycrate's CSN.1 decoder (`pycrate_csn1dir.si_13_rest_octets`)
walked by field name, for the same reasons as SI2quater (deep, rarely-hand-
written-right CSN.1; cached by frame). Building: hand-written for the
no-PBCCH case every current network uses; tests check it with pycrate and
tshark.
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo import _csn1
from fbsdetect.sysinfo.bits import BitWriter
from fbsdetect.sysinfo.common import Malformed, _range, l2_frame

MSG_TYPE = 0x00
NAME = "SI13"


@dataclass(frozen=True)
class SI13:
    present: bool  # False when the rest octets are empty (L)
    bcch_change_mark: int | None = None
    si_change_field: int | None = None
    pbcch: bool = False
    rac: int | None = None
    spgc_ccch_sup: int | None = None
    priority_access_thr: int | None = None
    network_control_order: int | None = None
    nmo: int | None = None
    t3168: int | None = None
    t3192: int | None = None
    drx_timer_max: int | None = None
    bs_cv_max: int | None = None
    sgsnr: int | None = None


_FIELDS = ("bcch_change_mark", "si_change_field", "rac", "spgc_ccch_sup", "priority_access_thr",
           "network_control_order", "nmo", "t3168", "t3192", "drx_timer_max", "bs_cv_max", "sgsnr")


def parse(frame: bytes) -> SI13 | Malformed:
    entries = _csn1.decode_rest_octets(frame, MSG_TYPE, NAME, "si_13_rest_octets")
    if isinstance(entries, Malformed):
        return entries
    vals: dict[str, int] = {}
    names: set[str] = set()
    for _path, name, value in entries:
        names.add(name)
        if name in _FIELDS and isinstance(value, int):
            vals.setdefault(name, value)
    if "bcch_change_mark" not in vals:
        return SI13(False)
    return SI13(True, pbcch="pbcch_description" in names or "psi1_repeat_period" in names,
                **{k: vals.get(k) for k in _FIELDS})


def build(rac: int = 0, *, nmo: int = 1, bcch_change_mark: int = 0, si_change_field: int = 0,
          priority_access_thr: int = 6, network_control_order: int = 0, t3168: int = 4,
          t3192: int = 0, drx_timer_max: int = 7, access_burst_type: int = 0,
          control_ack_type: int = 1, bs_cv_max: int = 6, alpha: int = 0, t_avg_w: int = 12,
          t_avg_t: int = 10, pc_meas_chan: int = 0, n_avg_i: int = 2, sgsnr: int = 1) -> bytes:
    """SI13 without PBCCH. Defaults are common operator settings: NMO II,
    T3168 1000 ms (4), T3192 500 ms (0), DRX_TIMER_MAX 7, BS_CV_MAX 6,
    PRIORITY_ACCESS_THR 6 (all priorities may access), PAN fields present."""
    _range("rac", rac, 255)
    _range("nmo", nmo, 3)
    wr = BitWriter()
    wr.lh(True)
    wr.write(bcch_change_mark, 3)
    wr.write(si_change_field, 4)
    wr.write(0, 1)  # no SI13_CHANGE_MARK / GPRS Mobile Allocation
    wr.write(0, 1)  # no PBCCH
    wr.write(rac, 8)
    wr.write(0, 1)  # SPGC_CCCH_SUP
    wr.write(priority_access_thr, 3)
    wr.write(network_control_order, 2)
    wr.write(nmo, 2)
    wr.write(t3168, 3)
    wr.write(t3192, 3)
    wr.write(drx_timer_max, 3)
    wr.write(access_burst_type, 1)
    wr.write(control_ack_type, 1)
    wr.write(bs_cv_max, 4)
    wr.write(1, 1)  # PAN_DEC/INC/MAX
    wr.write(1, 3)
    wr.write(2, 3)
    wr.write(4, 3)
    wr.write(0, 1)  # no extension
    wr.write(alpha, 4)
    wr.write(t_avg_w, 5)
    wr.write(t_avg_t, 5)
    wr.write(pc_meas_chan, 1)
    wr.write(n_avg_i, 4)
    wr.lh(True)     # Rel-99
    wr.write(sgsnr, 1)
    wr.lh(False)    # no SI_STATUS_IND
    return l2_frame(0, bytes([0x06, MSG_TYPE]), wr.to_bytes(20))
