"""Built SI and paging frames: our parse gives back every parameter, tshark
dissects them without warnings and agrees field by field, and pycrate (an
independent CSN.1 codec) re-encodes them byte-identically."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbsdetect.sysinfo import paging, parse_any, si3, si4
from fbsdetect.sysinfo.cell import CellParams, CellSpec, build_cell_si
from fbsdetect.sysinfo.common import CellSelection, GprsIndicator, Lai, RachControl, SelectionParameters
from tests.conftest import require_program
from tests.sysinfo.compare import compare
from tests.sysinfo.strategies import cell_specs
from tests.sysinfo.tshark import dissect


def expected_params(spec: CellSpec) -> dict[str, object]:
    return {
        "neighbours": sorted(spec.neighbours), "t3212": spec.t3212, "att": spec.att,
        "cro": spec.cro, "temporary_offset": spec.temporary_offset,
        "penalty_time": spec.penalty_time, "cell_reselect_hysteresis": spec.cell_reselect_hysteresis,
        "rxlev_access_min": spec.rxlev_access_min, "ms_txpwr_max_cch": spec.ms_txpwr_max_cch,
        "cbq": spec.cbq, "gprs": spec.gprs, "si2ter": spec.si2ter, "si2quater": spec.si2quater,
        "eutran_neighbours": list(spec.eutran_neighbours) if spec.si2quater else [],
        "mscr": spec.mscr, "ccch_conf": 0 if spec.ccch == "non-combined" else 1, "ccch_timeslots": 1,
        "ccch_combined": spec.ccch == "combined", "bs_ag_blks_res": spec.bs_ag_blks_res,
        "bs_pa_mfrms": spec.bs_pa_mfrms,
        "paging_groups": max(0, (3 if spec.ccch == "combined" else 9) - spec.bs_ag_blks_res)
        * spec.bs_pa_mfrms,
        "si2quater_on_bcch_ext": False if spec.si2quater else None,  # the builder sends it on BCCH Norm
        "si13_on_bcch_ext": False if spec.gprs else None,
    }


@settings(max_examples=300, deadline=None)
@given(cell_specs())
def test_build_parse_round_trip(spec: CellSpec) -> None:
    frames = build_cell_si(spec)
    assert all(len(f) == 23 for f in frames.values())
    p = CellParams.from_frames(frames)
    assert (p.mcc, p.mnc, p.lac, p.cid) == (spec.mcc, spec.mnc, spec.lac, spec.cid)
    assert p.params() == expected_params(spec)
    ca = parse_any(frames["1"])
    assert list(ca.arfcns) == sorted(spec.cell_allocation or (spec.arfcn,))  # type: ignore[union-attr]
    s3 = parse_any(frames["3"])
    assert s3.control.ccch_conf == (0 if spec.ccch == "non-combined" else 1)  # type: ignore[union-attr]
    assert s3.control.bs_pa_mfrms == spec.bs_pa_mfrms - 2  # type: ignore[union-attr]


def _pycrate_round_trip(frame: bytes) -> bool:
    import pycrate_mobile.TS44018_RR as RR

    m = RR.RRBCCHTypeClasses[frame[2]]()
    m.from_bytes(frame)
    return bool(m.to_bytes() == frame)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(st.lists(cell_specs(), min_size=20, max_size=20))
def test_built_cells_dissect_cleanly_in_tshark(specs: list[CellSpec]) -> None:
    tshark = require_program("tshark")
    frames = [f for spec in specs for f in build_cell_si(spec).values()]
    for d, frame in zip(dissect(tshark, frames), frames, strict=True):
        assert not d.warnings, (frame.hex(), d.warnings)
        assert "gsm_a.ccch" in d.protos
        pads = d.shownames.get("gsm_a.rr.padding_bits", [])
        assert all("Unknown" not in p for p in pads), (frame.hex(), pads)
        compare(parse_any(frame), d)
        assert _pycrate_round_trip(frame), frame.hex()


identities = st.one_of(
    st.builds(paging.MobileIdentity, st.just("tmsi"), st.binary(min_size=4, max_size=4).map(bytes.hex)),
    st.builds(paging.MobileIdentity, st.just("imsi"), st.text("0123456789", min_size=6, max_size=15)),
)
tmsis = st.binary(min_size=4, max_size=4).map(bytes.hex)


@st.composite
def paging_frames(draw: st.DrawFn) -> bytes:
    t = draw(st.sampled_from([1, 2, 3, 0]))
    pm = draw(st.integers(0, 3))
    cn = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    if t == 0:
        return paging.build_empty()
    if t == 1:
        return paging.build_p1(draw(st.lists(identities, min_size=1, max_size=2)), pm, cn)
    if t == 2:
        third = draw(st.one_of(st.none(), identities))
        return paging.build_p2(draw(tmsis), draw(tmsis), third, pm, cn)
    return paging.build_p3(draw(st.lists(tmsis, min_size=4, max_size=4)), pm, cn)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(paging_frames(), min_size=40, max_size=40))
def test_built_paging_dissects_cleanly_in_tshark(frames: list[bytes]) -> None:
    tshark = require_program("tshark")
    for d, frame in zip(dissect(tshark, frames, channel="CCCH"), frames, strict=True):
        assert not d.warnings, (frame.hex(), d.warnings)
        m = parse_any(frame)
        assert isinstance(m, paging.PagingRequest), m
        compare(m, d)
        assert _pycrate_round_trip(frame) or m.is_empty, frame.hex()


@settings(max_examples=200, deadline=None)
@given(paging_frames())
def test_paging_round_trip(frame: bytes) -> None:
    m = parse_any(frame)
    assert isinstance(m, paging.PagingRequest)
    if m.type == 1:
        assert paging.build_p1(m.identities, m.page_mode, m.channel_needed) == frame
    elif m.type == 2:
        third = m.identities[2] if len(m.identities) == 3 else None
        assert paging.build_p2(m.identities[0].value, m.identities[1].value, third, m.page_mode,
                               m.channel_needed) == frame
    else:
        assert paging.build_p3([i.value for i in m.identities], m.page_mode, m.channel_needed) == frame


def test_si4_with_cbch_description() -> None:
    """SI4 carrying the optional CBCH Channel Description (IEI 0x64): the rest
    octets start after it (L2 pseudo length 16), checked against tshark."""
    from fbsdetect.sysinfo import si4
    from fbsdetect.sysinfo.common import CellSelection, Lai, RachControl, SelectionParameters

    plain = si4.build(Lai(460, 0, 10290), CellSelection(2, 5, 0, 1, 8), RachControl(),
                      si4.SI4Rest(SelectionParameters(0, 20, 0, 0), None, None))
    cbch = bytes([0x64, 0x78, 0x00, 0x3E])  # SDCCH/8 sub-channel 7 ... ARFCN 62
    frame = bytes([(16 << 2) | 1]) + plain[1:13] + cbch + plain[13:13 + 6]
    m = si4.parse(frame)
    assert isinstance(m, si4.SI4) and m.cbch == cbch[1:]
    assert m.rest.selection == SelectionParameters(0, 20, 0, 0)
    tshark = require_program("tshark")
    d = dissect(tshark, [frame])[0]
    assert not d.warnings
    compare(m, d)


def test_si1_rest_octets_nch_position_and_band_indicator() -> None:
    """SI1 rest octets (10.5.2.32): NCH position and the 1800/1900 band
    indicator, which the cell builder leaves at their defaults: built, parsed
    back and dissected by tshark without warnings."""
    from fbsdetect.sysinfo import si1

    cases = [(nch, band) for nch in (None, 0, 17, 31) for band in (False, True)]
    frames = [si1.build([62, 66], nch_position=nch, band_1900=band) for nch, band in cases]
    for (nch, band), frame in zip(cases, frames, strict=True):
        m = si1.parse(frame)
        assert isinstance(m, si1.SI1) and (m.nch_position, m.band_1900) == (nch, band)
    tshark = require_program("tshark")
    for d, frame in zip(dissect(tshark, frames), frames, strict=True):
        assert not d.warnings, (frame.hex(), d.warnings)
        compare(parse_any(frame), d)


selection_params = st.one_of(st.none(), st.builds(
    SelectionParameters, st.integers(0, 1), st.integers(0, 63), st.integers(0, 7), st.integers(0, 31)))
gprs_indicators = st.one_of(st.none(), st.builds(GprsIndicator, st.integers(0, 7), st.integers(0, 1)))
si3_rests = st.builds(
    si3.SI3Rest, selection_params, st.one_of(st.none(), st.integers(0, 3)), st.booleans(), st.booleans(),
    st.one_of(st.none(), st.integers(0, 7)), gprs_indicators, st.booleans(),
    st.one_of(st.none(), st.integers(0, 1)))
si4_rests = st.builds(si4.SI4Rest, selection_params, st.one_of(st.none(), st.integers(0, 3)), gprs_indicators)


def _si3(rest: si3.SI3Rest) -> bytes | None:
    """SI3 with these rest octets, None when they do not fit the 4 octets."""
    try:
        return si3.build(41021, Lai(460, 0, 10290), si3.ControlChannel(), si3.CellOptions(),
                         CellSelection(2, 5, 0, 1, 8), RachControl(), rest)
    except ValueError:
        return None


def _si4(rest: si4.SI4Rest) -> bytes | None:
    """SI4 with these rest octets, None when `build` refuses them (first octet an IEI)."""
    try:
        return si4.build(Lai(460, 0, 10290), CellSelection(2, 5, 0, 1, 8), RachControl(), rest)
    except ValueError:
        return None


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(si3_rests, min_size=40, max_size=40), st.lists(si4_rests, min_size=20, max_size=20))
def test_si3_si4_rest_octets_over_their_whole_space(rests3: list[si3.SI3Rest],
                                                    rests4: list[si4.SI4Rest]) -> None:
    """Every SI3/SI4 rest-octet field (selection parameters, power offset,
    SI2ter indicator, early classmark, WHERE, GPRS indicator, 3G ECSR,
    SI2quater position): built, parsed back equal, and agreed field by field
    by tshark without warnings."""
    frames = [f for f in map(_si3, rests3) if f is not None]
    assert len(frames) >= 10  # most combinations fit (test_si3_rest_octets_must_leave_room ...)
    n3 = len(frames)
    frames += [f for f in map(_si4, rests4) if f is not None]
    for frame in frames:
        m = parse_any(frame)
        assert isinstance(m, si3.SI3 | si4.SI4), m
    assert [parse_any(f).rest for f in frames[:n3]] == [r for r in rests3 if _si3(r)]  # type: ignore[union-attr]
    assert [parse_any(f).rest for f in frames[n3:]] == [r for r in rests4 if _si4(r)]  # type: ignore[union-attr]
    tshark = require_program("tshark")
    for d, frame in zip(dissect(tshark, frames), frames, strict=True):
        assert not d.warnings, (frame.hex(), d.warnings)
        compare(parse_any(frame), d)


def test_si3_rest_octets_must_leave_room_for_the_last_indicators() -> None:
    """32 bits of SI3 rest-octet fields leave no bit for the Iu and SI 21
    indicators that the grammar (10.5.2.34) still requires: refused (tshark
    reported such a frame malformed); 30 bits are fine."""
    full = si3.SI3Rest(SelectionParameters(0, 0, 0, 0), 0, False, False, 0, GprsIndicator(0, 0), False, None)
    try:
        si3.build_rest(full)
    except ValueError as e:
        assert "Iu and SI 21" in str(e)
    else:
        raise AssertionError("32 bits of rest-octet fields were accepted")
    assert _si3(si3.SI3Rest(SelectionParameters(0, 0, 0, 0), 0, False, False, None, GprsIndicator(0, 0),
                            False, 0)) is not None  # 30 bits


def test_si4_rest_octets_never_start_with_an_optional_iei() -> None:
    """SI4 rest octets beginning 0x64 / 0x72 are read by Wireshark as the
    optional CBCH elements (power offset "absent", or a malformed frame):
    refused; every other combination of the first rest-octet fields builds."""
    built = refused = 0
    for po in (None, 0, 1, 2, 3):
        for g in [None] + [GprsIndicator(c, p) for c in range(8) for p in (0, 1)]:
            frame = _si4(si4.SI4Rest(None, po, g))
            if frame is None:
                refused += 1
            else:
                built += 1
                assert frame[13] not in (0x64, 0x72)
    assert refused == 4 and built == 5 * 17 - 4


si13_kwargs = st.fixed_dictionaries({
    "rac": st.integers(0, 255), "nmo": st.integers(0, 2), "bcch_change_mark": st.integers(0, 7),
    "si_change_field": st.integers(0, 15), "priority_access_thr": st.sampled_from([0, 3, 4, 5, 6]),
    "network_control_order": st.integers(0, 2), "t3168": st.integers(0, 7), "t3192": st.integers(0, 7),
    "drx_timer_max": st.integers(0, 7), "access_burst_type": st.integers(0, 1),
    "control_ack_type": st.integers(0, 1), "bs_cv_max": st.integers(0, 15), "alpha": st.integers(0, 10),
    "t_avg_w": st.integers(0, 25), "t_avg_t": st.integers(0, 25), "pc_meas_chan": st.integers(0, 1),
    "n_avg_i": st.integers(0, 15), "sgsnr": st.integers(0, 1)})
si2quater_kwargs = st.fixed_dictionaries({
    "eutran_earfcns": st.lists(st.integers(0, 0xFFFF), max_size=4, unique=True),
    "geran_priority": st.integers(0, 7), "eutran_priority": st.integers(0, 7),
    "thresh_eutran_high": st.integers(0, 31), "thresh_gsm_low": st.integers(0, 15),
    "thresh_priority_search": st.integers(0, 15), "index": st.integers(0, 15), "count": st.integers(0, 15),
    "ba_ind": st.integers(0, 1), "ba_ind_3g": st.integers(0, 1), "mp_change_mark": st.integers(0, 1)})


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(si13_kwargs, min_size=25, max_size=25), st.lists(si2quater_kwargs, min_size=25, max_size=25))
def test_si13_and_si2quater_builders_over_their_parameters(k13: list[dict[str, int]],
                                                           k2q: list[dict[str, Any]]) -> None:
    """Every SI13 / SI2quater builder parameter (the cell builder uses their
    defaults): parsed back, dissected by tshark without warnings and agreeing
    field by field, re-encoded byte-identically by pycrate."""
    from fbsdetect.sysinfo import si2quater, si13

    frames = [si13.build(**k) for k in k13] + [si2quater.build(**k) for k in k2q]
    for k, frame in zip(k13, frames, strict=False):
        m = si13.parse(frame)
        assert isinstance(m, si13.SI13)
        assert all(getattr(m, f) == k[f] for f in ("rac", "nmo", "t3168", "t3192", "bs_cv_max", "sgsnr"))
    for k, frame in zip(k2q, frames[len(k13):], strict=True):
        q = si2quater.parse(frame)
        assert isinstance(q, si2quater.SI2quater)
        assert (list(q.eutran_earfcns), q.geran_priority, q.index, q.count) == (
            k["eutran_earfcns"], k["geran_priority"], k["index"], k["count"])
        assert all(n.priority == k["eutran_priority"] and n.thresh_high == k["thresh_eutran_high"]
                   for n in q.eutran)
    tshark = require_program("tshark")
    for d, frame in zip(dissect(tshark, frames), frames, strict=True):
        assert not d.warnings, (frame.hex(), d.warnings)
        compare(parse_any(frame), d)
        assert _pycrate_round_trip(frame), frame.hex()


def _si3_with(control: si3.ControlChannel, rest: si3.SI3Rest | None = None) -> bytes:
    return si3.build(41021, Lai(460, 0, 10290), control, si3.CellOptions(), CellSelection(2, 5, 0, 1, 8),
                     RachControl(), rest or si3.SI3Rest(gprs=GprsIndicator(0, 0), si2quater_position=0))


def test_every_ccch_conf_value_against_tshark() -> None:
    """SI3 with each CCCH_CONF value 0..7 (3, 5, 7 reserved), with access-grant
    reservations, paging periods, MSCR and BCCH Ext positions around them: our parse
    and `CellParams` (timeslots, combined, paging groups, positions) agree with
    tshark's dissection, without warnings."""
    from tests.sysinfo.compare import compare_params, tshark_ccch

    cases = []
    for conf in range(8):
        for ag, mf, mscr, q, s13 in ((0, 0, 0, None, None), (1, 2, 1, 0, 0), (2, 7, 1, 1, 1),
                                     (7, 5, 0, 1, 0)):
            cases.append((si3.ControlChannel(mscr=mscr, att=bool(ag & 1), bs_ag_blks_res=ag, ccch_conf=conf,
                                             cbq3=mf & 3, bs_pa_mfrms=mf, t3212=10 * ag),
                          si3.SI3Rest(gprs=None if s13 is None else GprsIndicator(3, s13),
                                      si2quater_position=q)))
    frames = [_si3_with(c, r) for c, r in cases]
    tshark = require_program("tshark")
    slots_seen = set()
    for (control, rest), frame, d in zip(cases, frames, dissect(tshark, frames), strict=True):
        assert not d.warnings, (frame.hex(), d.warnings)
        m = parse_any(frame)
        assert isinstance(m, si3.SI3) and m.control == control and m.rest == rest
        compare(m, d)
        p = CellParams.from_frames({"3": frame})
        compare_params(p, d, "3")
        slots_seen.add(tshark_ccch(d))
        assert p.ccch_timeslots == {0: 1, 1: 1, 2: 2, 4: 3, 6: 4}.get(control.ccch_conf)
    assert slots_seen == {(1, False), (1, True), (2, False), (3, False), (4, False), (None, None)}


@settings(max_examples=300, deadline=None)
@given(st.builds(si3.ControlChannel, st.integers(0, 1), st.booleans(), st.integers(0, 7), st.integers(0, 7),
                 st.integers(0, 1), st.integers(0, 3), st.integers(0, 7), st.integers(0, 255)),
       st.one_of(st.none(), st.integers(0, 1)), st.one_of(st.none(), st.integers(0, 1)))
def test_control_channel_description_round_trip(control: si3.ControlChannel, q: int | None,
                                                s13: int | None) -> None:
    """Every Control Channel Description (10.5.2.11) and BCCH Ext position: built,
    parsed back equal, and `CellParams` says what each means."""
    rest = si3.SI3Rest(gprs=None if s13 is None else GprsIndicator(0, s13), si2quater_position=q)
    m = parse_any(_si3_with(control, rest))
    assert isinstance(m, si3.SI3) and m.control == control and m.rest == rest
    p = CellParams.from_frames({"3": _si3_with(control, rest)})
    assert (p.mscr, p.att, p.ccch_conf, p.bs_ag_blks_res, p.bs_pa_mfrms, p.t3212) == (
        control.mscr, control.att, control.ccch_conf, control.bs_ag_blks_res, control.bs_pa_mfrms + 2,
        control.t3212)
    assert p.ccch_combined == {0: False, 1: True, 2: False, 4: False, 6: False}.get(control.ccch_conf)
    if p.ccch_timeslots is None:
        assert control.ccch_conf in (3, 5, 7) and p.paging_groups is None
    else:
        per_mf = (3 if p.ccch_combined else 9) - control.bs_ag_blks_res
        assert p.paging_groups == p.ccch_timeslots * max(0, per_mf) * p.bs_pa_mfrms
    assert p.si2quater_on_bcch_ext == (None if q is None else q == 1)
    assert p.si13_on_bcch_ext == (None if s13 is None else s13 == 1)
