"""Hypothesis strategies over the parameter space of a cell."""

from __future__ import annotations

from hypothesis import strategies as st

from fbsdetect.sysinfo import freqlist
from fbsdetect.sysinfo.cell import CellSpec


@st.composite
def arfcn_sets(draw: st.DrawFn, max_size: int = 16) -> tuple[int, ...]:
    """ARFCN sets of every shape: P-GSM, one band window, anywhere."""
    kind = draw(st.sampled_from(["pgsm", "window", "any", "empty"]))
    if kind == "empty":
        return ()
    if kind == "pgsm":
        s = draw(st.lists(st.integers(1, 124), min_size=1, max_size=max_size, unique=True))
    elif kind == "window":
        lo = draw(st.integers(0, 1023))
        width = draw(st.sampled_from([111, 127, 255, 511]))
        s = [(lo + d) % 1024 for d in draw(st.lists(st.integers(0, width), min_size=1,
                                                    max_size=max_size, unique=True))]
    else:
        s = draw(st.lists(st.integers(0, 1023), min_size=1, max_size=max_size, unique=True))
    s = sorted(set(s))
    if not freqlist.fits(s, freqlist.choose_format(s) if _any_fits(s) else "range1024"):
        return tuple(s[:8]) if _any_fits(s[:8]) else ()
    return tuple(s)


def _any_fits(s: list[int]) -> bool:
    try:
        freqlist.choose_format(s)
    except freqlist.FreqListError:
        return False
    return True


@st.composite
def cell_specs(draw: st.DrawFn) -> CellSpec:
    digits = draw(st.sampled_from([2, 3]))
    neighbours = draw(arfcn_sets())
    ca = draw(st.one_of(st.none(), arfcn_sets()))
    return CellSpec(
        mcc=draw(st.integers(0, 999)), mnc=draw(st.integers(0, 99 if digits == 2 else 999)),
        mnc_digits=digits, lac=draw(st.integers(0, 0xFFFF)), cid=draw(st.integers(0, 0xFFFF)),
        arfcn=draw(st.integers(0, 1023)), bsic=draw(st.integers(0, 63)),
        ccch=draw(st.sampled_from(["non-combined", "combined"])),
        neighbours=neighbours, cell_allocation=ca or None,
        si2ter=draw(st.booleans()), si2quater=draw(st.booleans()),
        eutran_neighbours=tuple(draw(st.lists(st.integers(0, 0xFFFF), max_size=4, unique=True))),
        gprs=draw(st.booleans()), t3212=draw(st.integers(0, 255)), att=draw(st.booleans()),
        cro=draw(st.integers(0, 63)), temporary_offset=draw(st.integers(0, 7)),
        penalty_time=draw(st.integers(0, 31)), cell_reselect_hysteresis=draw(st.integers(0, 7)),
        rxlev_access_min=draw(st.integers(0, 63)), ms_txpwr_max_cch=draw(st.integers(0, 31)),
        cbq=draw(st.integers(0, 1)), rac=draw(st.integers(0, 255)), ra_colour=draw(st.integers(0, 7)),
        bs_ag_blks_res=draw(st.integers(0, 7)), bs_pa_mfrms=draw(st.integers(2, 9)),
        mscr=draw(st.integers(0, 1)),
    )
