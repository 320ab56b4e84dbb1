"""Field-by-field comparison of our parse with tshark's dissection."""

from __future__ import annotations

import re
from typing import Any

from fbsdetect.sysinfo import immediate_assignment, paging, si1, si2, si2quater, si2ter, si3, si4, si13
from fbsdetect.sysinfo.cell import CellParams
from fbsdetect.sysinfo.common import CellSelection, Lai, SelectionParameters
from tests.sysinfo.tshark import Dissected


def _eq(what: str, ours: Any, theirs: Any) -> None:
    assert ours == theirs, f"{what}: ours {ours!r}, tshark {theirs!r}"


def _lai(lai: Lai, d: Dissected) -> None:
    _eq("mcc", lai.mcc, d.int("e212.lai.mcc"))
    _eq("mnc", lai.mnc, d.int("e212.lai.mnc"))
    _eq("lac", lai.lac, d.int("gsm_a.lac"))


def _cell_selection(c: CellSelection, d: Dissected) -> None:
    _eq("hysteresis", c.cell_reselect_hysteresis, d.int("gsm_a.rr.cell_reselect_hyst"))
    _eq("ms_txpwr_max_cch", c.ms_txpwr_max_cch, d.int("gsm_a.rr.ms_txpwr_max_cch"))
    _eq("rxlev_access_min", c.rxlev_access_min, d.int("gsm_a.rr.rxlev_access_min"))
    _eq("acs", c.acs, d.int("gsm_a.rr.acs"))
    _eq("neci", c.neci, d.int("gsm_a.rr.neci"))


def _selection(sp: SelectionParameters | None, d: Dissected) -> None:
    _eq("selection parameters present", int(sp is not None), d.int("gsm_a.rr.selection_parameters"))
    if sp is not None:
        _eq("cbq", sp.cbq, d.int("gsm_a.rr.cbq"))
        _eq("cro", sp.cell_reselect_offset, d.int("gsm_a.rr.cell_reselect_offset"))
        _eq("temporary_offset", sp.temporary_offset, d.int("gsm_a.rr.temporary_offset"))
        _eq("penalty_time", sp.penalty_time, d.int("gsm_a.rr.penalty_time"))


# tshark's format_id is octet 2 & 0xCE, shifted right by one: for the 1024 range that takes in
# F0 (0x02) and the top bit of W(1) (0x01) too, so all four values mean "1024 range"
FORMAT_ID = {"bitmap0": {0x00}, "range1024": {0x40, 0x41, 0x42, 0x43}, "range512": {0x44}, "range256": {0x45},
             "range128": {0x46}, "variable": {0x47}}


def _format(fl: Any, d: Dissected) -> None:
    fid = d.int("gsm_a.rr.format_id")
    if fl.format == "bitmap0":  # tshark's mask also covers ARFCN 124..122 of bit map 0
        fid &= 0xC0
    assert fid in FORMAT_ID[fl.format], (fl.format, d.one("gsm_a.rr.format_id"))


def _rach(r: Any, d: Dissected) -> None:
    _eq("max retrans", r.max_retrans, d.int("gsm_a.rr.max_retrans"))
    _eq("tx integer", r.tx_integer, d.int("gsm_a.rr.tx_integer"))
    _eq("cell barred", int(r.cell_barred), d.int("gsm_a.rr.cell_barr_access"))
    _eq("re", int(r.re_not_allowed), d.int("gsm_a.rr.re"))


def _power_offset(po: int | None, d: Dissected) -> None:
    _eq("power offset present", int(po is not None), d.int("gsm_a.rr.power_offset.present"))
    if po is not None:
        _eq("power offset", po, d.int("gsm_a.rr.power_offset"))


def _gprs(g: Any, d: Dissected) -> None:
    _eq("gprs indicator", int(g is not None), d.int("gsm_a.rr.gprs_indicator"))
    if g is not None:
        _eq("ra colour", g.ra_colour, d.int("gsm_a.rr.gprs_ra_colour"))
        _eq("si13 position", g.si13_position, d.int("gsm_a.rr.si13_position"))


def compare(m: Any, d: Dissected) -> str:
    """Assert agreement; return the kind compared."""
    if isinstance(m, si3.SI3):
        _eq("cid", m.cid, d.int("gsm_a.bssmap.cell_ci"))
        _lai(m.lai, d)
        _eq("t3212", m.control.t3212, d.int("gsm_a.rr.t3212"))
        _eq("att", int(m.control.att), d.int("gsm_a.rr.att"))
        _eq("mscr", m.control.mscr, d.int("gsm_a.rr.mscr"))
        _eq("cbq3", m.control.cbq3, d.int("gsm_a.rr.cbq3"))
        _eq("bs_ag_blks_res", m.control.bs_ag_blks_res, d.int("gsm_a.rr.bs_ag_blks_res"))
        _eq("ccch_conf", m.control.ccch_conf, d.int("gsm_a.rr.ccch_conf"))
        # tshark 4.0 shows BS-PA-MFRMS as "number of multiframes" (raw + 2) wrapped into the 3-bit field
        _eq("bs_pa_mfrms", (m.control.bs_pa_mfrms + 2) & 7, d.int("gsm_a.rr.bs_pa_mfrms"))
        _eq("radio link timeout", m.options.radio_link_timeout, d.int("gsm_a.rr.radio_link_timeout"))
        _cell_selection(m.selection, d)
        _rach(m.rach, d)
        _selection(m.rest.selection, d)
        _power_offset(m.rest.power_offset, d)
        _eq("si2ter", int(m.rest.si2ter), d.int("gsm_a.rr.system_information_type_2ter"))
        _eq("early classmark", int(m.rest.early_classmark), d.int("gsm_a.rr.early_classmark_sending"))
        _eq("where present", int(m.rest.where is not None), d.int("gsm_a.rr.scheduling_if_and_where"))
        if m.rest.where is not None:
            _eq("where", m.rest.where, d.int("gsm_a.rr.where"))
        _gprs(m.rest.gprs, d)
        _eq("3g ecsr", int(m.rest.three_g_ecsr), d.int("gsm_a.rr.3g_early_classmark_sending_restriction"))
        _eq("si2quater indicator", int(m.rest.si2quater), d.int("gsm_a.rr.si2quater_indicator"))
        if m.rest.si2quater:
            _eq("si2quater position", m.rest.si2quater_position, d.int("gsm_a.rr.si2quater_position"))
        return "SI3"
    if isinstance(m, si4.SI4):
        _lai(m.lai, d)
        _cell_selection(m.selection, d)
        _rach(m.rach, d)
        _selection(m.rest.selection, d)
        _power_offset(m.rest.power_offset, d)
        _gprs(m.rest.gprs, d)
        return "SI4"
    if isinstance(m, si1.SI1):
        _eq("cell allocation", list(m.arfcns), d.arfcn_lists()[0])
        _format(m.cell_allocation, d)
        _rach(m.rach, d)
        _eq("nch position present", int(m.nch_position is not None), d.int("gsm_a.rr.nch_position.present"))
        if m.nch_position is not None:
            _eq("nch position", m.nch_position, d.int("gsm_a.rr.nch_position"))
        _eq("band indicator", int(m.band_1900), d.int("gsm_a.rr.band_indicator"))
        return "SI1"
    if isinstance(m, si2.SI2):
        _eq("BA list", list(m.arfcns), d.arfcn_lists()[0])
        _eq("ext_ind", m.ba.ext_ind, d.int("gsm_a.rr.ext_ind"))
        _eq("ba_ind", m.ba.ba_ind, d.int("gsm_a.rr.ba_ind"))
        _format(m.ba, d)
        _rach(m.rach, d)
        if not m.bis:
            _eq("ncc permitted", m.ncc_permitted, d.int("gsm_a.rr.ncc_permitted"))
        return "SI2bis" if m.bis else "SI2"
    if isinstance(m, si2ter.SI2ter):
        _eq("extended BA list", list(m.arfcns), d.arfcn_lists()[0])
        _format(m.ba, d)
        _eq("multiband reporting", m.ba.multiband_reporting, d.int("gsm_a.rr.multiband_reporting"))
        _eq("ba_ind", m.ba.ba_ind, d.int("gsm_a.rr.ba_ind"))
        _eq("rest octets", int(m.rest_present), d.int("gsm_a.rr.si2ter_mp_change_mark.present"))
        return "SI2ter"
    if isinstance(m, si2quater.SI2quater):
        _eq("earfcns", list(m.eutran_earfcns), d.ints("gsm_a.rr.earfcn"))
        _eq("uarfcns", list(m.utran_fdd_uarfcns), d.ints("gsm_a.rr.fdd_uarfcn"))
        _eq("index", m.index, d.int("gsm_a.rr.si2quater_index"))
        _eq("count", m.count, d.int("gsm_a.rr.si2quater_count"))
        _eq("3g ba ind", m.ba_ind_3g, d.int("gsm_a.rr.3g_ba_ind"))
        prios = d.ints("gsm_a.rr.eutran_priority")
        _eq("eutran priorities", sorted({n.priority for n in m.eutran if n.priority is not None}),
            sorted(set(prios)))
        return "SI2quater"
    if isinstance(m, si13.SI13):
        _eq("si13 contents", int(m.present), d.int("gsm_a.rr.si13_contents"))
        if m.present:
            for ours, theirs in (("bcch_change_mark", "bcch_change_mark"), ("rac", "rac"),
                                 ("nmo", "nmo"), ("t3168", "t3168"), ("t3192", "t3192"),
                                 ("bs_cv_max", "bs_cv_max"), ("drx_timer_max", "drx_timer_max"),
                                 ("priority_access_thr", "priority_access_thr"),
                                 ("network_control_order", "network_control_order"),
                                 ("sgsnr", "sgsnr")):
                _eq(ours, getattr(m, ours), d.int("gsm_a.rr." + theirs))
            _eq("pbcch", int(m.pbcch), d.int("gsm_a.rr.pbcch"))
        return "SI13"
    if isinstance(m, paging.PagingRequest):
        _eq("page mode", m.page_mode, d.int("gsm_a.rr.page_mode"))
        tshark_tmsis = d.ints("gsm_a.tmsi") + d.ints("3gpp.tmsi")  # P2/P3 plain TMSIs, then IEs
        _eq("tmsi count", m.n_tmsi, len(tshark_tmsis))
        _eq("tmsis", [int(i.value, 16) for i in m.identities if i.kind == "tmsi"], tshark_tmsis)
        _eq("imsi count", m.n_imsi, len(d.fields.get("e212.imsi", [])))
        _eq("imsis", [i.value for i in m.identities if i.kind == "imsi"], d.fields.get("e212.imsi", []))
        if m.type == 1:
            codes = {0: "none", 1: "imsi", 4: "tmsi"}
            _eq("identity types", [i.kind for i in m.identities],
                [codes.get(c, "?") for c in d.ints("gsm_a.ie.mobileid.type")])
        return f"P{m.type}"
    if isinstance(m, immediate_assignment.ImmediateAssignment):
        _eq("page mode", m.page_mode, d.int("gsm_a.rr.page_mode"))
        _eq("ra", m.ra, d.int("gsm_a.rr.ra"))
        _eq("timing advance", m.timing_advance, d.int("gsm_a.rr.timing_adv"))
        _eq("timeslot", m.timeslot, d.int("gsm_a.rr.timeslot"))
        _eq("tsc", m.tsc, d.int("gsm_a.rr.training_sequence"))
        if not m.tbf:
            key = {"SDCCH/8": "gsm_a.rr.sdcch8_sdcchc8_cbch", "SDCCH/4": "gsm_a.rr.sdcch4_sdcchc4_cbch",
                   "TCH/F": "gsm_a.rr.tch_facch_sacchf", "TCH/H": "gsm_a.rr.tch_facch_sacchm"}
            assert key[m.channel_type] in d.fields, f"channel type {m.channel_type}"
            if m.subchannel is not None:
                mask = {"SDCCH/8": 7, "SDCCH/4": 3, "TCH/H": 1}[m.channel_type]
                _eq("subchannel", m.subchannel, d.int(key[m.channel_type]) & mask)
        return "IA"
    raise AssertionError(f"no comparison for {type(m).__name__}")


_CCCH_TEXT = re.compile(r"CCCH-CONF: (?:(\d) basic physical channels? used for CCCH, "
                        r"(not )?combined with SDCCHs|(Reserved)) \(\d\)$")


def tshark_ccch(d: Dissected) -> tuple[int | None, bool | None]:
    """(timeslots with a CCCH, combined with SDCCH/4) as tshark's text for CCCH-CONF
    says them ("2 basic physical channels used for CCCH, not combined with SDCCHs";
    (None, None) for "Reserved")."""
    shown = d.shownames.get("gsm_a.rr.ccch_conf", [])
    assert len(shown) == 1, shown
    m = _CCCH_TEXT.search(shown[0])
    assert m is not None, shown[0]
    if m.group(3):
        return None, None
    return int(m.group(1)), m.group(2) is None


def tshark_bs_pa_mfrms(d: Dissected) -> int:
    """BS_PA_MFRMS in multiframes: tshark 4.0 shows raw + 2 wrapped into 3 bits (8 -> 0, 9 -> 1)."""
    v = d.int("gsm_a.rr.bs_pa_mfrms")
    return v if v >= 2 else v + 8


def compare_params(p: CellParams, d: Dissected, kind: str) -> None:
    """The SI3 (kind "3") or SI4 (kind "4") fields of `CellParams.from_frames({kind: frame})`
    against tshark's dissection of that frame; the derived ones (CCCH timeslots, combined,
    paging groups) against tshark's own wording and fields."""
    gprs = d.int("gsm_a.rr.gprs_indicator")
    _eq("si13 on BCCH Ext", p.si13_on_bcch_ext,
        None if not gprs else d.int("gsm_a.rr.si13_position") == 1)
    if kind == "4":
        for k in ("mscr", "ccch_conf", "ccch_timeslots", "ccch_combined", "bs_ag_blks_res", "bs_pa_mfrms",
                  "paging_groups", "si2quater_on_bcch_ext"):
            _eq(f"{k} from SI4 alone", getattr(p, k), None)  # SI4 has no Control Channel Description
        return
    _eq("att", p.att, d.int("gsm_a.rr.att") == 1)
    _eq("mscr", p.mscr, d.int("gsm_a.rr.mscr"))
    _eq("ccch_conf", p.ccch_conf, d.int("gsm_a.rr.ccch_conf"))
    slots, combined = tshark_ccch(d)
    _eq("ccch_timeslots", p.ccch_timeslots, slots)
    _eq("ccch_combined", p.ccch_combined, combined)
    ag = d.int("gsm_a.rr.bs_ag_blks_res")
    _eq("bs_ag_blks_res", p.bs_ag_blks_res, ag)
    mf = tshark_bs_pa_mfrms(d)
    _eq("bs_pa_mfrms", p.bs_pa_mfrms, mf)
    _eq("paging_groups", p.paging_groups,
        None if slots is None else slots * max(0, (3 if combined else 9) - ag) * mf)
    q = d.int("gsm_a.rr.si2quater_indicator")
    _eq("si2quater on BCCH Ext", p.si2quater_on_bcch_ext,
        None if not q else d.int("gsm_a.rr.si2quater_position") == 1)
