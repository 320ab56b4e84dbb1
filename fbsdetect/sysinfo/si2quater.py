"""System Information Type 2quater (TS 44.018 9.1.34a), rest octets 10.5.2.33b.

Layout: 0x05 (L2 pseudo length 1), 0x06 0x07, then 20 rest octets (CSN.1)::

    BA_IND:1 3G_BA_IND:1 MP_CHANGE_MARK:1 SI2quater_INDEX:4 SI2quater_COUNT:4
    {0|1 <Measurement_Parameters Description>} {0|1 <GPRS_Real Time Difference>}
    {0|1 <GPRS_BSIC Description>} {0|1 <GPRS_REPORT PRIORITY>}
    {0|1 <GPRS_MEASUREMENT_Parameters>} {0|1 <NC Measurement Parameters>}
    {0|1 <extension length:6> <SI2q Extension Information>}
    {0|1 <3G Neighbour Cell Description>}            -- UTRAN FDD/TDD lists
    {0|1 <3G Measurement Parameters>} {0|1 <GPRS_3G_MEASUREMENT Parameters>}
    { L | H   -- Rel-5
      {0|1 <3G Additional Measurement Parameters>} {0|1 <... 2>}
      { L | H <3G_CCN_ACTIVE:1>   -- Rel-6
        { L | H {0|1 <700_REPORTING>} {0|1 <810_REPORTING>}   -- Rel-7
          { L | H   -- Rel-8
            {0|1 <Priority and E-UTRAN Parameters Description>}
            {0|1 <3G CSG Description>} {0|1 <E-UTRAN CSG Description>}
            { L | H ... Rel-9 } }}}} <spare padding>

    Priority and E-UTRAN Parameters Description ::=
      {0|1 <Serving Cell Priority Parameters: GERAN_PRIORITY:3
            THRESH_Priority_Search:4 THRESH_GSM_low:4 H_PRIO:2 T_Reselection:2>}
      {0|1 <3G Priority Parameters Description>}
      {0|1 <E-UTRAN Parameters Description ::= E-UTRAN_CCN_ACTIVE:1
            E-UTRAN_Start:1 E-UTRAN_Stop:1 {0|1 <E-UTRAN Measurement Parameters>}
            {0|1 <GPRS E-UTRAN Measurement Parameters>}
            {1 <Repeated E-UTRAN Neighbour Cells ::=
                {1 <EARFCN:16> {0|1 <Measurement Bandwidth:3>}}** 0
                {0|1 <E-UTRAN_PRIORITY:3>} <THRESH_E-UTRAN_high:5>
                {0|1 <THRESH_E-UTRAN_low:5>} {0|1 <E-UTRAN_QRXLEVMIN:5>}>}** 0
            {1 <Repeated E-UTRAN Not Allowed Cells>}** 0
            {1 <Repeated E-UTRAN PCID to TA mapping>}** 0>}

Parsing: pycrate's CSN.1 decoder (`pycrate_csn1dir.si2quater_rest_octets`),
walked by field name (`_csn1`): this message is a deep CSN.1 tree where a
hand-written parser is most likely to go wrong, and pycrate re-encodes the
real frames byte-identically (tests). It costs ~5 ms per frame (pycrate
decode + walk), so `dispatch.parse_any` caches results by frame content: a
cell repeats the same SI2quater every few seconds. Building: hand-written (`bits.BitWriter`) for
the subset a simulated cell needs (serving-cell priority and E-UTRAN
neighbours); the tests parse built frames with pycrate and tshark.
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.sysinfo import _csn1
from fbsdetect.sysinfo.bits import BitWriter
from fbsdetect.sysinfo.common import Malformed, l2_frame

MSG_TYPE = 0x07
NAME = "SI2quater"
MAX_EARFCN_PER_MESSAGE = 4  # what fits one instance with the layout `build` uses


@dataclass(frozen=True)
class EutranNeighbour:
    earfcn: int
    priority: int | None = None
    thresh_high: int | None = None
    measurement_bandwidth: int | None = None


@dataclass(frozen=True)
class SI2quater:
    ba_ind: int
    ba_ind_3g: int
    mp_change_mark: int
    index: int
    count: int
    utran_fdd: bool                     # a UTRAN FDD neighbour description is present
    utran_tdd: bool                     # a UTRAN TDD neighbour description is present
    utran_fdd_uarfcns: tuple[int, ...]
    utran_tdd_uarfcns: tuple[int, ...]
    geran_priority: int | None          # serving cell priority, when sent
    eutran: tuple[EutranNeighbour, ...]

    @property
    def eutran_earfcns(self) -> tuple[int, ...]:
        return tuple(n.earfcn for n in self.eutran)


def parse(frame: bytes) -> SI2quater | Malformed:
    entries = _csn1.decode_rest_octets(frame, MSG_TYPE, NAME, "si2quater_rest_octets")
    if isinstance(entries, Malformed):
        return entries
    top: dict[str, int] = {}
    names: set[str] = set()
    fdd: list[int] = []
    tdd: list[int] = []
    geran_priority = None
    groups: list[dict[str, object]] = []
    for path, name, value in entries:
        names.add(name)
        if len(path) == 1 and value is not None and isinstance(value, int):
            top.setdefault(name, value)
        if name == "fdd_arfcn" and value is not None:
            fdd.append(int(value))
        elif name == "tdd_arfcn" and value is not None:
            tdd.append(int(value))
        elif name == "geran_priority" and value is not None:
            geran_priority = int(value)
        elif name == "repeated_e_utran_neighbour_cells_struct" and value is None:
            groups.append({"earfcns": []})
        elif groups and "repeated_e_utran_neighbour_cells_struct" in path:
            g = groups[-1]
            if name == "earfcn":
                g["earfcns"].append([int(value), None])  # type: ignore[attr-defined]
            elif name == "measurement_bandwidth" and g["earfcns"]:
                g["earfcns"][-1][1] = int(value)  # type: ignore[index]
            elif name in ("e_utran_priority", "thresh_e_utran_high") and value is not None:
                g[name] = int(value)
    eutran = tuple(
        EutranNeighbour(e, g.get("e_utran_priority"), g.get("thresh_e_utran_high"), bw)  # type: ignore[arg-type]
        for g in groups for e, bw in g["earfcns"]  # type: ignore[attr-defined]
    )
    try:
        return SI2quater(top["ba_ind"], top["_3g_ba_ind"], top["mp_change_mark"],
                         top["si2quater_index"], top["si2quater_count"],
                         "utran_fdd_description" in names, "utran_tdd_description" in names,
                         tuple(fdd), tuple(tdd), geran_priority, eutran)
    except KeyError as e:
        return Malformed(NAME, f"rest octets lack {e}", MSG_TYPE)


def build(eutran_earfcns: list[int] | tuple[int, ...] = (), *, geran_priority: int = 0,
          eutran_priority: int = 5, thresh_eutran_high: int = 10, thresh_gsm_low: int = 15,
          thresh_priority_search: int = 15, index: int = 0, count: int = 0,
          ba_ind: int = 0, ba_ind_3g: int = 1, mp_change_mark: int = 0) -> bytes:
    """One SI2quater instance announcing `eutran_earfcns` (all in one group with
    `eutran_priority` and `thresh_eutran_high`) and the serving-cell priority.

    Defaults: THRESH_GSM_low 15 and THRESH_Priority_Search 15 (always search),
    E-UTRAN priority 5 above GERAN priority 0, the usual operator setting that
    sends idle phones back to LTE.
    """
    earfcns = [int(e) for e in eutran_earfcns]
    if len(earfcns) > MAX_EARFCN_PER_MESSAGE:
        raise ValueError(f"{len(earfcns)} EARFCNs exceed {MAX_EARFCN_PER_MESSAGE} per SI2quater")
    if any(not 0 <= e <= 0xFFFF for e in earfcns):
        raise ValueError("EARFCN outside 0..65535")
    wr = BitWriter()
    wr.write(ba_ind, 1)
    wr.write(ba_ind_3g, 1)
    wr.write(mp_change_mark, 1)
    wr.write(index, 4)
    wr.write(count, 4)
    for _ in range(10):  # measurement ... GPRS_3G measurement parameters: absent
        wr.write(0, 1)
    wr.lh(True)        # Rel-5 additions
    wr.write(0, 1)     # 3G additional measurement parameters
    wr.write(0, 1)     # 3G additional measurement parameters 2
    wr.lh(True)        # Rel-6 additions
    wr.write(0, 1)     # 3G_CCN_ACTIVE
    wr.lh(True)        # Rel-7 additions
    wr.write(0, 1)     # 700_REPORTING
    wr.write(0, 1)     # 810_REPORTING
    wr.lh(True)        # Rel-8 additions
    wr.write(1, 1)     # Priority and E-UTRAN Parameters Description
    wr.write(1, 1)     # Serving Cell Priority Parameters
    wr.write(geran_priority, 3)
    wr.write(thresh_priority_search, 4)
    wr.write(thresh_gsm_low, 4)
    wr.write(0, 2)     # H_PRIO
    wr.write(0, 2)     # T_Reselection
    wr.write(0, 1)     # 3G Priority Parameters
    if earfcns:
        wr.write(1, 1)  # E-UTRAN Parameters Description
        wr.write(0, 1)  # E-UTRAN_CCN_ACTIVE
        wr.write(1, 1)  # E-UTRAN_Start
        wr.write(1, 1)  # E-UTRAN_Stop
        wr.write(0, 1)  # E-UTRAN Measurement Parameters
        wr.write(0, 1)  # GPRS E-UTRAN Measurement Parameters
        wr.write(1, 1)  # one Repeated E-UTRAN Neighbour Cells group
        for e in earfcns:
            wr.write(1, 1)
            wr.write(e, 16)
            wr.write(0, 1)  # no measurement bandwidth
        wr.write(0, 1)
        wr.write(1, 1)  # E-UTRAN_PRIORITY present
        wr.write(eutran_priority, 3)
        wr.write(thresh_eutran_high, 5)
        wr.write(0, 1)  # THRESH_E-UTRAN_low
        wr.write(0, 1)  # E-UTRAN_QRXLEVMIN
        wr.write(0, 1)  # end of neighbour groups
        wr.write(0, 1)  # no Not Allowed Cells
        wr.write(0, 1)  # no PCID to TA mapping
    else:
        wr.write(0, 1)
    wr.write(0, 1)     # 3G CSG Description
    wr.write(0, 1)     # E-UTRAN CSG Description
    wr.lh(False)       # no Rel-9 additions
    return l2_frame(1, bytes([0x06, MSG_TYPE]), wr.to_bytes(20))
