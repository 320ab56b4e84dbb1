"""build_cell_si -> CellParams.from_frames gives back the scene parameters."""

from __future__ import annotations

import pytest

from fbsdetect.sysinfo import paging
from fbsdetect.sysinfo.cell import CellParams, CellSpec, build_cell_si
from fbsdetect.sysinfo.dispatch import parse_any, si_key


def test_default_cell_round_trip() -> None:
    spec = CellSpec(mcc=460, mnc=0, lac=10290, cid=41021, arfcn=62, bsic=35)
    frames = build_cell_si(spec)
    assert sorted(frames) == ["1", "13", "2", "2quater", "3", "4"]
    assert all(len(f) == 23 for f in frames.values())
    assert {k: si_key(f) for k, f in frames.items()} == {k: k for k in frames}
    p = CellParams.from_frames(frames)
    assert (p.mcc, p.mnc, p.lac, p.cid) == (460, 0, 10290, 41021)
    assert p.params() == {
        "neighbours": [60, 66, 71], "t3212": 20, "att": True, "cro": 0, "temporary_offset": 0,
        "penalty_time": 0, "cell_reselect_hysteresis": 2, "rxlev_access_min": 8,
        "ms_txpwr_max_cch": 5, "cbq": 0, "gprs": True, "si2ter": False, "si2quater": True,
        "eutran_neighbours": [1300, 1825], "mscr": 1, "ccch_conf": 0, "ccch_timeslots": 1,
        "ccch_combined": False, "bs_ag_blks_res": 1, "bs_pa_mfrms": 4, "paging_groups": 8 * 4,
        "si2quater_on_bcch_ext": False, "si13_on_bcch_ext": False,
    }


def test_lure_cell_round_trip() -> None:
    spec = CellSpec(mcc=460, mnc=1, lac=7, cid=1, arfcn=700, bsic=0, neighbours=(700, 745, 790),
                    si2quater=False, gprs=False, si2ter=True, cro=63, temporary_offset=7,
                    penalty_time=31, cbq=1, t3212=0, att=False, ccch="combined", bs_ag_blks_res=2,
                    bs_pa_mfrms=9, mscr=0)
    frames = build_cell_si(spec)
    assert sorted(frames) == ["1", "2", "2ter", "3", "4"]
    p = CellParams.from_frames({k: v.hex() for k, v in frames.items()})
    assert p.params() == {
        "neighbours": [700, 745, 790], "t3212": 0, "att": False, "cro": 63,
        "temporary_offset": 7, "penalty_time": 31, "cell_reselect_hysteresis": 2,
        "rxlev_access_min": 8, "ms_txpwr_max_cch": 5, "cbq": 1, "gprs": False,
        "si2ter": True, "si2quater": False, "eutran_neighbours": [], "mscr": 0, "ccch_conf": 1,
        "ccch_timeslots": 1, "ccch_combined": True, "bs_ag_blks_res": 2, "bs_pa_mfrms": 9,
        "paging_groups": (3 - 2) * 9, "si2quater_on_bcch_ext": None, "si13_on_bcch_ext": None,
    }


def test_missing_frames_are_none() -> None:
    p = CellParams.from_frames({})
    assert all(v is None for v in p.params().values())


def test_empty_paging_fill_is_the_real_one() -> None:
    assert paging.build_empty().hex() == "1506210001f0" + "2b" * 17
    m = parse_any(paging.build_empty())
    assert isinstance(m, paging.PagingRequest) and m.is_empty


def test_bad_spec_raises() -> None:
    with pytest.raises(ValueError):
        build_cell_si(CellSpec(mcc=460, mnc=0, lac=70000, cid=1, arfcn=1, bsic=1))
    with pytest.raises(ValueError):
        CellSpec(mcc=460, mnc=0, lac=1, cid=1, arfcn=1, bsic=1, ccch="both")


def test_partial_frames_give_none_not_guesses() -> None:
    spec = CellSpec(mcc=460, mnc=0, lac=10290, cid=41021, arfcn=62, bsic=35, cro=10)
    frames = build_cell_si(spec)
    p = CellParams.from_frames({"3": frames["3"]})  # SI3 announces SI2quater, not seen yet
    assert p.si2quater is True and p.eutran_neighbours is None and p.neighbours is None
    assert p.cro == 10 and p.gprs is True
    p4 = CellParams.from_frames({"4": frames["4"]})  # SI4 alone: LAI, selection, no CI
    assert (p4.mcc, p4.lac, p4.cid, p4.cro, p4.t3212) == (460, 10290, None, 10, None)
    assert p4.si2ter is None and p4.si2quater is None


def test_malformed_frames_are_listed() -> None:
    p = CellParams.from_frames({"3": b"\x49\x06\x1b" + b"\xff" * 20, "2": bytes(23)})
    assert p.malformed == ("3", "2") and p.mcc is None


def test_si2quater_instances_merge_in_index_order() -> None:
    from fbsdetect.sysinfo import si2quater

    a = si2quater.build([100, 200], index=1, count=1)
    b = si2quater.build([300], index=0, count=1)
    p = CellParams.from_frames({"2quater": [a, b]})
    assert p.eutran_neighbours == (300, 100, 200)
